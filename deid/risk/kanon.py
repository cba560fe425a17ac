"""k-anonymity of the quasi-identifier combinations a profile leaves in a cohort.

One record per patient (:func:`deid.transform.semantics.patient_key`: IssuerOfPatientID and
PatientID, else PatientName and PatientBirthDate, else the file). Its quasi-identifiers are read
from the de-identified output, so what a profile removes, empties, rounds or truncates counts as
it is left; ``PostalCode`` is derived from the output's PatientAddress. A missing or empty value
is a value of its own. Only quasi-identifiers the profile leaves split the cohort: values it
removes, replaces or transforms with a secret (shifted dates, hashes) cannot be linked to
outside data. k is the size of the smallest equivalence class; records in classes
smaller than the threshold are the ones a combination singles out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from deid.policy.dictionary import keyword_to_tag
from deid.risk.postal import postal_code

POSTAL_CODE = "PostalCode"
DEFAULT_K = 5
#: Combinations evaluated when the user names none (documented in the README).
DEFAULT_QI_SETS = (
    "PatientAge+PatientSex+PostalCode",
    "PatientAge+PatientSex",
    "PatientBirthDate+PatientSex+PostalCode",
    "PatientAge+PatientSex+PatientSize+PatientWeight",
    "EthnicGroup+PatientAge+PatientSex",
    "InstitutionName+PatientAge+PatientSex",
    "PatientSex+PostalCode+StudyDate",
)


def parse_qi_set(text: str) -> tuple[str, ...]:
    """``"PatientSex+PatientAge"`` -> ``("PatientAge", "PatientSex")`` (sorted, checked)."""
    names = [name.strip() for name in text.split("+") if name.strip()]
    if not names:
        raise ValueError(f"empty quasi-identifier set {text!r}: name keywords joined by +")
    for name in names:
        if name != POSTAL_CODE and keyword_to_tag(name) is None:
            raise ValueError(f"unknown keyword {name!r} in quasi-identifier set {text!r}: use "
                             f"DICOM keywords or {POSTAL_CODE}")
    if len(set(names)) != len(names):
        raise ValueError(f"a keyword is repeated in quasi-identifier set {text!r}")
    return tuple(sorted(names))


def qi_name(names: Sequence[str]) -> str:
    """The set's name: keywords in sorted order joined by ``+``."""
    return "+".join(sorted(names))


@dataclass(frozen=True)
class Record:
    """One patient of the cohort after a profile: its file and quasi-identifier values."""

    key: str
    file: str
    values: Mapping[str, str]

    def __reduce__(self) -> tuple[type[Record], tuple[str, str, Mapping[str, str]]]:
        # Pickled by its fields (a compiled frozen class is not restored field by field).
        return Record, (self.key, self.file, self.values)


def qi_values(top: Mapping[str, Any], names: Iterable[str]) -> dict[str, str]:
    """The quasi-identifier values left in a de-identified file ('' when absent), from its
    top-level values by keyword."""
    values = {}
    for name in names:
        if name == POSTAL_CODE:
            values[name] = postal_code(_text(top.get("PatientAddress"))) or ""
        else:
            values[name] = _text(top.get(name)).strip()
    return values


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return "\\".join(str(item) for item in value)
    return str(value)


def patient_records(items: Iterable[tuple[str, str, Mapping[str, Any]]], names: Iterable[str]
                    ) -> list[Record]:
    """One record per patient from ``(file, patient key, top-level output values by keyword)``
    items; the first file of a patient stands for it, a file without a key for itself."""
    wanted = sorted(set(names))
    records: dict[str, Record] = {}
    for file, key, output in items:
        patient = key or f"file:{file}"
        if patient not in records:
            records[patient] = Record(patient, file, qi_values(output, wanted))
    return list(records.values())


@dataclass(frozen=True)
class KAnonymity:
    """k-anonymity of one quasi-identifier set over a cohort."""

    quasi_identifiers: str
    n_records: int
    k_min: int
    n_records_below_k: int
    k_threshold: int
    left: tuple[str, ...]
    below_k: tuple[tuple[Record, int], ...]
    #: ``(class size, records in classes of that size)``, smallest first.
    class_sizes: tuple[tuple[int, int], ...] = ()

    def __reduce__(self) -> tuple[type[KAnonymity], tuple[object, ...]]:
        # Pickled by its fields (a compiled frozen class is not restored field by field).
        return KAnonymity, (self.quasi_identifiers, self.n_records, self.k_min,
                            self.n_records_below_k, self.k_threshold, self.left, self.below_k,
                            self.class_sizes)


ClassKey = tuple[str, ...]


def kept_names(names: Sequence[str], left: Iterable[str] | None = None) -> tuple[str, ...]:
    """The names of a set that split the cohort: those the profile leaves (all by default)."""
    if left is None:
        return tuple(names)
    leaving = set(left)
    return tuple(name for name in names if name in leaving)


def class_key(record: Record, kept: Sequence[str]) -> ClassKey:
    """The equivalence class of a record: its values of the ``kept`` quasi-identifiers."""
    return tuple(record.values.get(name, "") for name in kept)


def class_counts(records: Iterable[Record], kept: Sequence[str]) -> Counter[ClassKey]:
    """Records per equivalence class. Counts of disjoint sets of patients (partitions of a
    cohort) add up to the cohort's: merge them with ``+`` (memory: one entry per class)."""
    return Counter(class_key(record, kept) for record in records)


def summarize(counts: Mapping[ClassKey, int], names: Sequence[str], k: int,
              kept: Sequence[str], below_k: tuple[tuple[Record, int], ...] = ()) -> KAnonymity:
    """k-anonymity of one set from its class counts (merged over every partition)."""
    by_size = Counter(counts.values())
    distribution = tuple((size, size * count) for size, count in sorted(by_size.items()))
    n_below = sum(size * count for size, count in by_size.items() if size < k)
    return KAnonymity(qi_name(names), sum(counts.values()), min(counts.values(), default=0),
                      n_below, k, tuple(kept), below_k, distribution)


def records_below_k(records: Iterable[Record], counts: Mapping[ClassKey, int],
                    kept: Sequence[str], k: int) -> tuple[tuple[Record, int], ...]:
    """``(record, class size)`` of the records in classes smaller than ``k``; ``counts`` are
    the whole cohort's (a partition's records are judged against every partition) and may
    hold only the classes smaller than ``k``."""
    found = []
    for record in records:
        size = counts.get(class_key(record, kept))
        if size is not None and size < k:
            found.append((record, size))
    return tuple(found)


def k_anonymity(records: Sequence[Record], names: Sequence[str], k: int = DEFAULT_K, *,
                left: Iterable[str] | None = None) -> KAnonymity:
    """The smallest equivalence class and the records in classes smaller than ``k``.

    ``left`` names the quasi-identifiers whose real values (or generalisations) the profile
    leaves; the others (removed, emptied, dummied, hashed, pseudonymised, shifted) cannot be
    linked to outside data and do not split classes. By default all of ``names`` are left.
    The same aggregation runs partition by partition on a cluster (:func:`class_counts`,
    merged, then :func:`summarize` and :func:`records_below_k`).
    """
    if k < 1:
        raise ValueError("k must be at least 1")
    kept = kept_names(names, left)
    counts = class_counts(records, kept)
    return summarize(counts, names, k, kept, records_below_k(records, counts, kept, k))
