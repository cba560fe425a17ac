"""The residual-risk catalogue: which attributes, VRs and classes are risky, how, and why.

The catalogue is data (``catalogue.csv`` beside this module), validated when read: every row
names a matcher (``(gggg,eeee)``, ``vr:XX`` or ``private``), a risk kind, a severity, whether
it is one of the 50 attributes evaluated by Aryanto et al. (2015), and a reason a DPO
understands. Errors name the file, line and field.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path

from deid.errors import DeidError
from deid.policy.dictionary import info_for_tag, keyword_to_tag
from deid.policy.standard import E11Row, table_e1_1
from deid.tags import parse_tag

CATALOGUE_PATH = Path(__file__).with_name("catalogue.csv")
_COLUMNS = ("matcher", "keyword", "kind", "severity", "aryanto_2015", "reason")


class RiskKind(StrEnum):
    """Why an element is a residual risk (DESIGN.md, "Residual risk")."""

    DIRECT_IDENTIFIER = "direct_identifier"
    LINKAGE = "linkage"
    QUASI_IDENTIFIER = "quasi_identifier"
    FREE_TEXT = "free_text"
    PRIVATE = "private"
    FLAG = "flag"


class Severity(StrEnum):
    """How bad a finding is; ``lower`` gives the next level down."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    def lower(self) -> Severity:
        order = list(Severity)
        return order[min(order.index(self) + 1, len(order) - 1)]


class CatalogueError(DeidError):
    """The risk catalogue file is invalid."""


@dataclass(frozen=True, slots=True)
class CatalogueEntry:
    """One catalogue row."""

    matcher: str
    keyword: str
    kind: RiskKind
    severity: Severity
    aryanto_2015: bool
    reason: str
    tag: int | None


@dataclass(frozen=True)
class Catalogue:
    """The catalogue indexed for look-up."""

    entries: tuple[CatalogueEntry, ...]
    by_tag: Mapping[int, CatalogueEntry]
    scanned_vrs: frozenset[str]
    private: CatalogueEntry

    def aryanto(self) -> tuple[CatalogueEntry, ...]:
        """The 50 attributes of Aryanto et al. (2015)."""
        return tuple(entry for entry in self.entries if entry.aryanto_2015)


def _entry(record: dict[str, str], path: Path, line: int) -> CatalogueEntry:
    def fail(field: str, message: str) -> CatalogueError:
        return CatalogueError(f"{path}: line {line}, field {field!r}: {message}")

    try:
        kind = RiskKind(record["kind"])
    except ValueError:
        raise fail("kind", f"unknown risk kind {record['kind']!r}") from None
    try:
        severity = Severity(record["severity"])
    except ValueError:
        raise fail("severity", f"unknown severity {record['severity']!r}") from None
    if record["aryanto_2015"] not in ("Y", "N"):
        raise fail("aryanto_2015", "must be Y or N")
    if not record["reason"].strip():
        raise fail("reason", "every row needs a reason")
    matcher = record["matcher"]
    tag = None
    if matcher.startswith("("):
        try:
            tag = parse_tag(matcher)
        except ValueError as error:
            raise fail("matcher", str(error)) from error
        if record["keyword"] and keyword_to_tag(record["keyword"]) not in (None, tag):
            raise fail("keyword", f"{record['keyword']} is not {matcher}")
    elif not (matcher.startswith("vr:") or matcher == "private"):
        raise fail("matcher", "expected (gggg,eeee), vr:XX or private")
    return CatalogueEntry(matcher, record["keyword"], kind, severity,
                          record["aryanto_2015"] == "Y", record["reason"], tag)


def read_catalogue(path: Path = CATALOGUE_PATH) -> Catalogue:
    """Read and validate a catalogue file."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise CatalogueError(f"{path}: cannot read the risk catalogue ({error})") from error
    numbered = [(number, text) for number, text in enumerate(lines, start=1)
                if text and not text.startswith("#")]
    reader = csv.DictReader(text for _, text in numbered)
    if tuple(reader.fieldnames or ()) != _COLUMNS:
        raise CatalogueError(f"{path}: the header must be {','.join(_COLUMNS)}")
    entries = tuple(_entry(record, path, numbered[index + 1][0])
                    for index, record in enumerate(reader))
    by_tag = {entry.tag: entry for entry in entries if entry.tag is not None}
    private = [entry for entry in entries if entry.matcher == "private"]
    if len(private) != 1:
        raise CatalogueError(f"{path}: exactly one 'private' row is needed")
    scanned = frozenset(entry.matcher[3:] for entry in entries
                        if entry.matcher.startswith("vr:"))
    return Catalogue(entries, by_tag, scanned, private[0])


#: PS3.15 Table E.1-1 option columns whose attributes the catalogue covers when it does not
#: list them itself: (option, kind, severity, what the option retains).
_STANDARD_CLASSES = (
    ("retain_device_identity", RiskKind.LINKAGE, Severity.MEDIUM, "device identity"),
    ("retain_institution_identity", RiskKind.QUASI_IDENTIFIER, Severity.MEDIUM,
     "institution identity"),
    ("retain_patient_characteristics", RiskKind.QUASI_IDENTIFIER, Severity.LOW,
     "patient characteristics"),
)


_TEXT_VRS = frozenset({"LO", "LT", "SH", "ST", "UC", "UT"})
_DATE_VRS = frozenset({"DA", "DT", "TM"})


def _kind_for_vr(vr: str) -> tuple[RiskKind, Severity]:
    """The risk of an attribute PS3.15 changes that the catalogue does not name, by its VR."""
    if vr == "PN":
        return RiskKind.DIRECT_IDENTIFIER, Severity.MEDIUM
    if vr == "UI":
        return RiskKind.LINKAGE, Severity.LOW
    if vr in _DATE_VRS:
        return RiskKind.QUASI_IDENTIFIER, Severity.LOW
    if vr in _TEXT_VRS:
        return RiskKind.FREE_TEXT, Severity.MEDIUM
    if vr == "SQ":
        return RiskKind.DIRECT_IDENTIFIER, Severity.MEDIUM
    return RiskKind.QUASI_IDENTIFIER, Severity.LOW


def with_standard_classes(table: Catalogue) -> Catalogue:
    """Add what the catalogue file does not list: the attributes PS3.15 calls device identity,
    institution identity and patient characteristics (Table E.1-1 option columns), then every
    other attribute the Basic Profile changes (its kind by VR: names are direct identifiers,
    UIDs linkage, dates and numbers quasi-identifiers, text free text)."""
    by_tag = dict(table.by_tag)
    added = []
    for row in table_e1_1():
        if "x" in row.tag or " " in row.tag:
            continue
        tag = parse_tag(row.tag)
        if tag in by_tag:
            continue
        entry = _standard_entry(row, tag)
        if entry is not None:
            by_tag[tag] = entry
            added.append(entry)
    return Catalogue(table.entries + tuple(added), by_tag, table.scanned_vrs, table.private)


def _standard_entry(row: E11Row, tag: int) -> CatalogueEntry | None:
    for option, kind, severity, what in _STANDARD_CLASSES:
        if option in row.options:
            return CatalogueEntry(row.tag, "", kind, severity, False,
                                  f"PS3.15 counts {row.attribute_name} as {what} (Table "
                                  f"E.1-1, {option} column).", tag)
    if row.basic_profile == "K":
        return None
    info = info_for_tag(tag)
    vr = info.vr.split(" or ")[0] if info is not None and info.vr else "UN"
    if vr == "SQ" and "U" in row.basic_profile:
        return None  # the Basic Profile keeps the sequence and remaps the UIDs inside
    kind, severity = _kind_for_vr(vr)
    return CatalogueEntry(row.tag, "", kind, severity, False,
                          f"The PS3.15 Basic Profile changes {row.attribute_name} "
                          f"({row.basic_profile}, Table E.1-1): it can identify the patient "
                          "or link back to the hospital.", tag)


@cache
def catalogue() -> Catalogue:
    """The shipped catalogue, with the PS3.15 option classes it does not list itself."""
    return with_standard_classes(read_catalogue())
