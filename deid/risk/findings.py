"""Residual-risk findings for one file after one profile: what stays risky, and why.

An element is flagged when the profile leaves, or only partly transforms, something risky:

1. a catalogued direct, linkage or quasi-identifier, or any person name, that is kept (or
   only cleaned, rounded or truncated: one severity lower);
2. a private element that is kept, unless PS3.15 Table E.3.10-1 lists it as safe;
3. any value (nested, private, free text, after ``clean``) that contains the patient's own
   names, IDs, birth date or accession number found elsewhere in the original file;
4. a UID that is the original one, or that keeps the original's organisation root;
5. a date or date-time kept exactly;
6. BurnedInAnnotation or RecognizableVisualFeatures ``YES``, or PatientIdentityRemoved not
   ``YES``.

Evidence is masked: never the whole original value.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset

from deid.policy.actions import Action
from deid.policy.resolver import safe_private_meaning
from deid.risk.catalogue import Catalogue, RiskKind, Severity, catalogue
from deid.tags import format_tag, is_private_group, parse_tag
from deid.transform.clean import birth_date_spellings, readable_elements
from deid.transform.engine import DeidResult, ElementEffect

PARTIAL_ACTIONS = frozenset({Action.CLEAN, Action.ROUND, Action.TRUNCATE_DATE})
_WELL_KNOWN_UID_ROOT = "1.2.840.10008."
#: UIDs that name software or encodings, not the patient's instances.
_NOT_INSTANCE_UIDS = frozenset({0x00020010, 0x00020012, 0x00020002})
_MIN_IDENTIFIER = 3
_MIN_ROOT_COMPONENTS = 4
_NOT_PER_ELEMENT = (RiskKind.FLAG, RiskKind.FREE_TEXT, RiskKind.PRIVATE)


@dataclass(frozen=True, slots=True)
class Finding:
    """One residual risk in one file (or the cohort) after one profile."""

    profile_id: str
    file: str
    element_path: str
    tag: str
    keyword: str
    risk_kind: RiskKind
    severity: Severity
    reason: str
    evidence: str


def mask(text: str, limit: int = 24) -> str:
    """A masked form: first and last character and the length, e.g. ``Q…r (12 characters)``."""
    text = str(text)
    if len(text) <= 2:
        return "*" * len(text) + f" ({len(text)} characters)"
    return f"{text[0]}…{text[-1]} ({len(text)} characters)"[: limit + 20]


@dataclass(frozen=True)
class _Identifier:
    text: str
    what: str


def patient_identifiers(original: Dataset) -> tuple[_Identifier, ...]:
    """The patient's own names, IDs, birth date (common spellings) and accession number."""
    found: dict[str, str] = {}

    def add(text: str, what: str) -> None:
        text = text.strip()
        shortest = 2 if not text.isascii() else _MIN_IDENTIFIER
        if (len(text) >= shortest and not text.isdigit()) or len(text) >= 6:
            found.setdefault(text, what)

    for element in readable_elements(original):
        keyword, value = element.keyword, element.value
        values = [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]
        for text in values:
            if keyword in ("PatientName", "OtherPatientNames", "PatientBirthName"):
                for spelling in name_spellings(text):
                    add(spelling, "name")
            elif keyword in ("PatientID", "OtherPatientIDs"):
                add(text, "patient ID")
            elif keyword == "AccessionNumber":
                add(text, "accession number")
            elif keyword == "PatientBirthDate":
                for spelling in birth_date_spellings(text):
                    add(spelling, "birth date")
    ordered = sorted(found.items(), key=lambda item: (-len(item[0]), item[0]))
    return tuple(_Identifier(text, what) for text, what in ordered)


def name_spellings(name: str) -> list[str]:
    """A PN value and the ways its parts appear in text: each component group (alphabetic,
    ideographic, phonetic) whole, with spaces, run together, and each part."""
    spellings = [name]
    for group in name.split("="):
        parts = [part for part in group.split("^") if part]
        spellings += [group, " ".join(parts), "".join(parts), *parts]
        spellings += [part for part in re.split(r"[ ,]+", " ".join(parts)) if part]
    return spellings


def output_values(dataset: Dataset, prefix: str = "") -> Iterator[tuple[str, DataElement]]:
    """Every element of an output data set (file meta first) with its element path."""
    if not prefix:
        meta = getattr(dataset, "file_meta", None)
        if meta is not None:
            for element in meta:
                yield format_tag(int(element.tag)), element
    for element in dataset:
        path = f"{prefix}{format_tag(int(element.tag))}"
        if element.VR == "SQ":
            for index, item in enumerate(element.value or []):
                yield from output_values(item, f"{path}[{index}].")
        else:
            yield path, element


def _uids(dataset: Dataset) -> set[str]:
    found: set[str] = set()
    for element in readable_elements(dataset):
        if element.VR == "UI" and element.value and int(element.tag) not in _NOT_INSTANCE_UIDS:
            values = element.value if isinstance(element.value, list) else [element.value]
            found.update(str(v) for v in values if not str(v).startswith(_WELL_KNOWN_UID_ROOT))
    meta = getattr(dataset, "file_meta", None)
    if meta is not None and meta.get("MediaStorageSOPInstanceUID"):
        found.add(str(meta.MediaStorageSOPInstanceUID))
    return found


def _organisation_root(uids: set[str]) -> tuple[str, ...]:
    """The dotted prefix all original instance UIDs share (empty when under four parts)."""
    if not uids:
        return ()
    split = [uid.split(".") for uid in uids]
    common: list[str] = []
    for parts in zip(*split, strict=False):
        if len(set(parts)) != 1:
            break
        common.append(parts[0])
    if len(common) >= len(min(split, key=len)):
        common = common[:-1]
    return tuple(common) if len(common) >= _MIN_ROOT_COMPONENTS else ()


def _shares_root(value: str, root: tuple[str, ...]) -> bool:
    """True when ``value`` starts with all but at most the last part of the original root."""
    if not root:
        return False
    parts = value.split(".")
    shared = 0
    for mine, theirs in zip(parts, root, strict=False):
        if mine != theirs:
            break
        shared += 1
    return shared >= max(_MIN_ROOT_COMPONENTS, len(root) - 1)


class _Collector:
    """Findings of one file, at most one per element path and kind."""

    def __init__(self, profile_id: str, file: str) -> None:
        self.profile_id = profile_id
        self.file = file
        self.findings: dict[tuple[str, RiskKind], Finding] = {}
        self.paths: set[str] = set()

    def add(self, path: str, keyword: str, kind: RiskKind, severity: Severity, reason: str,
            evidence: str) -> None:
        key = (path, kind)
        if key in self.findings:
            return
        tag = path.rsplit(".", 1)[-1].split("[")[0]
        self.findings[key] = Finding(self.profile_id, self.file, path, tag, keyword, kind,
                                     severity, reason, evidence)
        self.paths.add(path)


def _tag_of(path: str) -> int:
    return parse_tag(path.rsplit(".", 1)[-1].split("[")[0])


def _catalogued(effect: ElementEffect, found: _Collector, table: Catalogue) -> None:
    entry = table.by_tag.get(_tag_of(effect.path))
    if not effect.after or entry is None or entry.kind in _NOT_PER_ELEMENT:
        return
    if effect.action is Action.KEEP:
        found.add(effect.path, effect.keyword, entry.kind, entry.severity,
                  f"{effect.keyword or effect.tag} is kept. {entry.reason}",
                  mask(effect.after or ""))
    elif effect.action in PARTIAL_ACTIONS:
        found.add(effect.path, effect.keyword, entry.kind, entry.severity.lower(),
                  f"{effect.keyword or effect.tag} is only partly transformed "
                  f"({effect.action.value}). {entry.reason}", mask(effect.after or ""))


def _person_name(effect: ElementEffect, found: _Collector) -> None:
    if effect.vr == "PN" and effect.after and effect.action in (Action.KEEP, *PARTIAL_ACTIONS):
        found.add(effect.path, effect.keyword, RiskKind.DIRECT_IDENTIFIER, Severity.MEDIUM,
                  f"{effect.keyword or effect.tag} keeps a person's name (patient or staff); "
                  "names identify people and link to the patient's care.", mask(effect.after))


def _private(effect: ElementEffect, found: _Collector, table: Catalogue) -> None:
    if effect.action is not Action.KEEP or not effect.after or effect.keyword == "PrivateCreator":
        return
    if safe_private_meaning(_tag_of(effect.path), effect.private_creator) is None:
        found.add(effect.path, effect.keyword, RiskKind.PRIVATE, table.private.severity,
                  f"Private element of {effect.private_creator or 'an unnamed creator'!r} "
                  f"kept. {table.private.reason}", mask(effect.after or ""))


def _dates(effect: ElementEffect, found: _Collector) -> None:
    if effect.vr in ("DA", "DT") and effect.action is Action.KEEP and effect.after:
        found.add(effect.path, effect.keyword, RiskKind.QUASI_IDENTIFIER, Severity.MEDIUM,
                  f"{effect.keyword or effect.tag} is a date kept exactly: exact dates help "
                  "single a patient out and link to hospital records.", mask(effect.after))


def _text_of(element: DataElement) -> str:
    value = element.value
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("latin-1")
    if isinstance(value, (list, tuple)):
        return "\\".join(str(v) for v in value)
    return str(value) if value is not None else ""


def _content(path: str, element: DataElement, identifiers: tuple[_Identifier, ...],
             found: _Collector, table: Catalogue) -> None:
    private = is_private_group(int(element.tag))
    if element.VR not in table.scanned_vrs and not private:
        return
    text = _text_of(element).casefold()
    for identifier in identifiers:
        if identifier.text.casefold() in text:
            kind = RiskKind.PRIVATE if private else RiskKind.FREE_TEXT
            found.add(path, element.keyword, kind, Severity.HIGH,
                      f"The value contains the patient's {identifier.what}, found elsewhere "
                      "in the original file.", mask(identifier.text))
            return


def _uid(path: str, element: DataElement, originals: set[str], root: tuple[str, ...],
         found: _Collector) -> None:
    if element.VR != "UI" or not element.value or int(element.tag) in _NOT_INSTANCE_UIDS:
        return
    values = element.value if isinstance(element.value, list) else [element.value]
    for value in (str(v) for v in values):
        if value.startswith(_WELL_KNOWN_UID_ROOT):
            continue
        if value in originals:
            found.add(path, element.keyword, RiskKind.LINKAGE, Severity.MEDIUM,
                      "The original UID is kept: it is stored in the hospital PACS and links "
                      "back to the patient's study.", mask(value))
        elif _shares_root(value, root):
            found.add(path, element.keyword, RiskKind.LINKAGE, Severity.LOW,
                      "The new UID keeps the original organisation's UID root, which names "
                      "the hospital or vendor.", mask(".".join(root)))


def _flags(output: Dataset, found: _Collector) -> None:
    for keyword in ("BurnedInAnnotation", "RecognizableVisualFeatures"):
        if str(output.get(keyword, "")).upper() == "YES":
            path = format_tag(int(output.data_element(keyword).tag))  # type: ignore[union-attr]
            found.add(path, keyword, RiskKind.FLAG, Severity.HIGH,
                      catalogue().by_tag[parse_tag(path)].reason, "YES")
    if str(output.get("PatientIdentityRemoved", "")).upper() != "YES":
        found.add("(0012,0062)", "PatientIdentityRemoved", RiskKind.FLAG, Severity.MEDIUM,
                  catalogue().by_tag[0x00120062].reason,
                  str(output.get("PatientIdentityRemoved", "missing")) or "missing")


def find_risks(original: Dataset, result: DeidResult, *, profile_id: str, file: str,
               table: Catalogue | None = None) -> list[Finding]:
    """Residual-risk findings of one file after one profile (see the module docstring)."""
    table = table or catalogue()
    found = _Collector(profile_id, file)
    for effect in result.effects:
        if effect.after is None:
            continue
        _catalogued(effect, found, table)
        _person_name(effect, found)
        if effect.private_creator is not None and is_private_group(_tag_of(effect.path)):
            _private(effect, found, table)
        _dates(effect, found)
    identifiers = patient_identifiers(original)
    originals = _uids(original)
    root = _organisation_root(originals)
    for path, element in output_values(result.dataset):
        _content(path, element, identifiers, found, table)
        _uid(path, element, originals, root, found)
    _flags(result.dataset, found)
    return sorted(found.findings.values(), key=lambda f: (f.element_path, f.risk_kind))
