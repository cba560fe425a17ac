"""Consistency checks of an export on its own: do its markers tell the truth, do its UIDs still
name an organisation, are its dates plausible, does one pseudonym stand for two patients.

Each problem is a residual-risk finding (profile ``export``), so it lands in the same table as
the risk model's findings on the exported values.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path

from deid.ingest.decode import tag_text
from deid.ingest.tree import Node
from deid.policy.resolver import OPTION_TITLES
from deid.policy.standard import e11_row_for
from deid.risk.catalogue import RiskKind, Severity
from deid.risk.findings import Finding, mask, organisation_root
from deid.transform.markers import CID_7050
from deid.transform.semantics import is_empty, keyword_for, walk_values
from deid.transform.values import NOTHING_VALUES

EXPORT_PROFILE = "export"
ROOTS_PATH = Path(__file__).with_name("uid_roots.csv")
_CODE_TO_OPTION = {code: option for option, code in CID_7050.items() if option != "basic"}
_EARLIEST, _LATEST = "18500101", "21000101"
_INSTANCE_UIDS = (0x00080018, 0x0020000D, 0x0020000E)


@cache
def known_roots() -> tuple[tuple[str, str], ...]:
    """(UID root, whose it is) of well-known organisations, longest first."""
    with ROOTS_PATH.open(encoding="utf-8") as handle:
        rows = [(row["root"], row["organisation"]) for row in csv.DictReader(
            line for line in handle if not line.startswith("#"))]
    return tuple(sorted(rows, key=lambda row: -len(row[0])))


def _value(body: Sequence[Node], tag: int) -> str:
    node = next((node for node in body if node.tag == tag), None)
    if node is None or node.value is None:
        return ""
    value = node.value
    return "\\".join(str(v) for v in value) if isinstance(value, list) else str(value).strip()


def _finding(file: str, tag: int, kind: RiskKind, severity: Severity, reason: str,
             evidence: str) -> Finding:
    text = tag_text(tag) if tag else ""
    return Finding(EXPORT_PROFILE, file, text, text, keyword_for(tag) if tag else "", kind,
                   severity, reason, evidence)


def marker_findings(file: str, body: Sequence[Node]) -> list[Finding]:
    """A Basic Profile code (113100) next to an attribute the Basic Profile removes."""
    codes = [str(node.value) for item in _code_items(body) for node in item
             if node.tag == 0x00080100]
    if CID_7050["basic"] not in codes:
        return []
    options = {_CODE_TO_OPTION[code] for code in codes if code in _CODE_TO_OPTION}
    found = []
    for node in body:
        row = e11_row_for(node.tag)
        if row is None or row.basic_profile != "X" or node.tag >> 16 & 1:
            continue
        if (node.items is None and is_empty(node.value)) or node.items == []:
            continue
        if node.items is None and _value(body, node.tag).upper() in NOTHING_VALUES:
            continue  # a dummy replaces the value, as the Basic Profile may for conformance
        if any(row.options.get(option) in ("K", "C") for option in options):
            continue
        claimed = ", ".join(["Basic", *sorted(OPTION_TITLES[o] for o in options)])
        found.append(_finding(file, node.tag, RiskKind.FLAG, Severity.MEDIUM,
                              f"The file claims {claimed} (DeidentificationMethodCodeSequence) "
                              f"but holds {keyword_for(node.tag)}, which the Basic Profile "
                              "removes (X) and no option claimed keeps: the markers are not "
                              "truthful.", "present"))
    return found


def _code_items(body: Sequence[Node]) -> list[list[Node]]:
    node = next((node for node in body if node.tag == 0x00120064), None)
    return node.items or [] if node is not None else []


def uid_root_findings(file: str, body: Sequence[Node]) -> list[Finding]:
    """Instance UIDs under a well-known organisation's root."""
    found = []
    for tag in _INSTANCE_UIDS:
        uid = _value(body, tag)
        for root, organisation in known_roots():
            if uid.startswith(root + "."):
                found.append(_finding(file, tag, RiskKind.LINKAGE, Severity.MEDIUM,
                                      f"The UID carries the root of {organisation} ({root}): "
                                      "it may be the original UID, which links back to the "
                                      "hospital's PACS.", mask(uid)))
                break
    return found


def date_findings(file: str, body: Sequence[Node]) -> list[Finding]:
    """Dates outside 1850-2100 (a shift gone wrong, or a value that is not a date)."""
    found = []
    for node in walk_values(body):
        if node.vr not in ("DA", "DT") or not isinstance(node.value, str) or not node.value:
            continue
        for text in node.value.split("-"):
            date = text.strip()[:8]
            if len(date) == 8 and date.isdigit() and not _EARLIEST <= date < _LATEST:
                found.append(_finding(file, node.tag, RiskKind.QUASI_IDENTIFIER, Severity.LOW,
                                      "A date outside 1850-2100: a date shift that went wrong, "
                                      "or a value that is not a date.", mask(date)))
                break
    return found


#: PatientID -> (sex, birth date) -> the first file with them, over some files of an export.
PseudonymIndex = dict[str, dict[tuple[str, str], str]]


def pseudonym_index(files: Iterable[tuple[str, Sequence[Node]]]) -> PseudonymIndex:
    """Who each PatientID stands for, file by file (the first file of each)."""
    seen: PseudonymIndex = defaultdict(dict)
    for file, body in files:
        patient_id = _value(body, 0x00100020)
        if patient_id:
            who = (_value(body, 0x00100040), _value(body, 0x00100030))
            seen[patient_id].setdefault(who, file)
    return dict(seen)


def merge_pseudonyms(parts: Iterable[PseudonymIndex]) -> PseudonymIndex:
    """The index of several sets of files, in the order given (the first file wins)."""
    merged: PseudonymIndex = {}
    for part in parts:
        for patient_id, people in part.items():
            mine = merged.setdefault(patient_id, {})
            for who, file in people.items():
                mine.setdefault(who, file)
    return merged


def pseudonym_findings(seen: PseudonymIndex) -> list[Finding]:
    """One PatientID for files whose patients differ (sex or birth date): two patients may
    share one pseudonym."""
    found = []
    for patient_id, people in seen.items():
        distinct = {who for who in people if any(who)}
        if len(distinct) > 1:
            for file in sorted(people.values()):
                found.append(_finding(file, 0x00100020, RiskKind.LINKAGE, Severity.HIGH,
                                      f"PatientID is shared by {len(distinct)} patients whose "
                                      "sex or birth date differ: one pseudonym may stand for "
                                      "two patients.", mask(patient_id)))
    return found


def shared_pseudonyms(files: Iterable[tuple[str, Sequence[Node]]]) -> list[Finding]:
    """:func:`pseudonym_findings` of these files."""
    return pseudonym_findings(pseudonym_index(files))


def instance_uids(files: Iterable[tuple[str, Sequence[Node]]]) -> set[str]:
    """The instance UIDs of the files (SOP, study and series)."""
    return {_value(body, tag) for _, body in files for tag in _INSTANCE_UIDS} - {""}


def root_sample(uids: set[str]) -> set[str]:
    """At most three of ``uids`` that share exactly the root all of them share: the first and
    last in dotted order (their common prefix is everyone's) and a shortest one (it limits
    the root). Samples of parts of an export merge by union, then sampling again."""
    if not uids:
        return set()
    split = {uid: uid.split(".") for uid in uids}
    return {min(uids, key=split.__getitem__), max(uids, key=split.__getitem__),
            min(uids, key=lambda uid: (len(split[uid]), split[uid]))}


def root_findings(uids: set[str]) -> list[Finding]:
    """Instance UIDs of the whole export that share one organisation's root (other than the
    2.25 UUID arc), as original UIDs of one hospital do."""
    root = organisation_root(uids)
    if len(uids) < 2 or not root or root[:2] == ("2", "25"):
        return []
    text = ".".join(root)
    return [Finding(EXPORT_PROFILE, "cohort", "", "", "", RiskKind.LINKAGE, Severity.MEDIUM,
                    f"Every instance UID of the export starts with {text}: they may be the "
                    "originals, which link back to the hospital's PACS.", mask(text))]


def shared_root_findings(files: Sequence[tuple[str, Sequence[Node]]]) -> list[Finding]:
    """:func:`root_findings` of these files' instance UIDs."""
    return root_findings(instance_uids(files))


def file_findings(file: str, body: Sequence[Node]) -> list[Finding]:
    """The checks of one file on its own: markers, UID roots, dates."""
    return marker_findings(file, body) + uid_root_findings(file, body) + date_findings(file,
                                                                                        body)


def export_findings(files: Sequence[tuple[str, Sequence[Node]]]) -> list[Finding]:
    """Every consistency check over the files of one export."""
    found: list[Finding] = []
    for file, body in files:
        found += file_findings(file, body)
    return found + shared_pseudonyms(files) + shared_root_findings(files)
