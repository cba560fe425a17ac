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


def k_anonymity(records: Sequence[Record], names: Sequence[str], k: int = DEFAULT_K, *,
                left: Iterable[str] | None = None) -> KAnonymity:
    """The smallest equivalence class and the records in classes smaller than ``k``.

    ``left`` names the quasi-identifiers whose real values (or generalisations) the profile
    leaves; the others (removed, emptied, dummied, hashed, pseudonymised, shifted) cannot be
    linked to outside data and do not split classes. By default all of ``names`` are left.
    """
    if k < 1:
        raise ValueError("k must be at least 1")
    kept = tuple(name for name in names if left is None or name in set(left))
    keys = [tuple(record.values.get(name, "") for name in kept) for record in records]
    sizes = Counter(keys)
    below = tuple((record, sizes[key]) for record, key in zip(records, keys, strict=True)
                  if sizes[key] < k)
    by_size = Counter(sizes.values())
    distribution = tuple((size, size * count) for size, count in sorted(by_size.items()))
    return KAnonymity(qi_name(names), len(records), min(sizes.values(), default=0),
                      len(below), k, kept, below, distribution)
