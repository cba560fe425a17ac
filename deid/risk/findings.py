"""Residual-risk findings for one file after one profile: what stays risky, and why.

Findings are read from the file's plan (:mod:`deid.transform.plan`), so they describe the values
the de-identified copy holds, at their own element paths (file meta and nested items included).
An element is flagged when the profile leaves, or only partly transforms, something risky:

1. a catalogued attribute (direct, linkage or quasi-identifier, or free text that PS3.15
   removes or cleans), or any person name, written unchanged (or only cleaned, rounded or
   truncated: one severity lower);
2. any value left inside such a sequence that is kept (``ReferringPhysicianIdentification
   Sequence`` item by item): the element, its path and its kind;
3. a private element that is kept, unless PS3.15 Table E.3.10-1 lists it as safe;
4. any value written (nested, private, free text, after ``clean``) that contains the
   patient's own names, IDs, birth date or accession number found elsewhere in the file
   (the strongest finding on that element);
5. a UID that is the original one, or that keeps the original's organisation root;
6. a date or date-time kept exactly;
7. BurnedInAnnotation or RecognizableVisualFeatures ``YES``, or PatientIdentityRemoved not
   ``YES``.

Evidence is masked: never the whole original value.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, Final, NamedTuple

from deid.ingest.decode import tag_text
from deid.ingest.tree import Node, Unread, per_tree, remembered
from deid.policy.actions import Action
from deid.policy.resolver import safe_private_meaning
from deid.risk.catalogue import Catalogue, CatalogueEntry, RiskKind, Severity, catalogue
from deid.tags import is_private_creator, is_private_group
from deid.transform import semantics
from deid.transform.markers import PATIENT_IDENTITY_REMOVED
from deid.transform.outcome import KEPT, REMOVED, Added, Outcome
from deid.transform.plan import FilePlan
from deid.transform.values import NOTHING_VALUES

PARTIAL_ACTIONS: Final = frozenset({Action.CLEAN, Action.ROUND, Action.TRUNCATE_DATE})
_WELL_KNOWN_UID_ROOT: Final = "1.2.840.10008."
#: UIDs that name software or encodings, not the patient's instances.
_NOT_INSTANCE_UIDS: Final = frozenset({0x00020010, 0x00020012, 0x00020002})
_MIN_IDENTIFIER: Final = 3
_MIN_ROOT_COMPONENTS: Final = 4
_NOT_PER_ELEMENT: Final = (RiskKind.FLAG, RiskKind.PRIVATE)
_FLAGS: Final = ((0x00280301, "BurnedInAnnotation"), (0x00280302, "RecognizableVisualFeatures"))
#: The top-level elements the flag findings read.
_FLAG_TAGS: Final = frozenset({*(tag for tag, _ in _FLAGS), PATIENT_IDENTITY_REMOVED})
#: This tool's own file meta identity: it names the writer, not a site.
_WRITER_VALUES: Final = frozenset({semantics.DEFAULT_WRITER.source_ae_title,
                                   semantics.DEFAULT_WRITER.implementation_version_name,
                                   semantics.DEFAULT_WRITER.implementation_class_uid})
_STRUCTURE_VRS: Final = frozenset({"CS", "AT", "UI", "DS", "IS", "FL", "FD", "SS", "US", "SL", "UL",
                                   "SV", "UV", "OB", "OW", "OF", "OD", "OL", "OV", "UN"})


class Finding(NamedTuple):
    """One residual risk in one file (or the cohort) after one profile (a named tuple: a file
    and profile have a few dozen, made in the planner's loop)."""

    profile_id: str
    file: str
    element_path: str
    tag: str
    keyword: str
    risk_kind: RiskKind
    severity: Severity
    reason: str
    evidence: str

    def row(self) -> tuple[str, ...]:
        """The finding as plain values, in the residual_risk table's column order."""
        return (self.profile_id, self.file, self.element_path, self.tag, self.keyword,
                self.risk_kind.value, self.severity.value, self.reason, self.evidence)


def mask(text: str, limit: int = 24) -> str:
    """A masked form: first and last character and the length, e.g. ``Q…r (12 characters)``."""
    text = str(text)
    if len(text) <= 2:
        return "*" * len(text) + f" ({len(text)} characters)"
    return f"{text[0]}…{text[-1]} ({len(text)} characters)"[: limit + 20]


@dataclass(frozen=True)
class Identifier:
    """One of the patient's own identifying strings and what it is."""

    text: str
    what: str

    def __reduce__(self) -> tuple[type[Identifier], tuple[str, str]]:
        return Identifier, (self.text, self.what)


_IDENTIFIER_SOURCES: Final = {
    "PatientName": "name", "OtherPatientNames": "name", "PatientBirthName": "name",
    "PatientID": "patient ID", "OtherPatientIDs": "patient ID",
    "AccessionNumber": "accession number", "PatientBirthDate": "birth date",
}


@per_tree
def patient_identifiers(body: list[Node]) -> tuple[Identifier, ...]:
    """The patient's own names, IDs, birth date (common spellings) and accession number."""
    found: dict[str, str] = {}

    def add(text: str, what: str) -> None:
        text = text.strip()
        if text.upper() in NOTHING_VALUES:
            return  # a dummy is nobody's identifier
        shortest = 2 if not text.isascii() else _MIN_IDENTIFIER
        if (len(text) >= shortest and not text.isdigit()) or len(text) >= 6:
            found.setdefault(text, what)

    for node in semantics.walk_values(body):
        what = _IDENTIFIER_SOURCES.get(semantics.keyword_for(node.tag))
        if what is None:
            continue
        values = node.value if isinstance(node.value, list) else [node.value]
        for text in (str(value) for value in values if value is not None):
            if what == "name":
                for spelling in semantics.name_spellings(text):
                    add(spelling, what)
            elif what == "birth date":
                for spelling in semantics.birth_date_spellings(text):
                    add(spelling, what)
            else:
                add(text, what)
    ordered = sorted(found.items(), key=lambda item: (-len(item[0]), item[0]))
    return tuple(Identifier(text, what) for text, what in ordered)


@per_tree
def _folded_identifiers(body: list[Node]) -> tuple[tuple[str, Identifier], ...]:
    """:func:`patient_identifiers`, each with its case-folded text (what values are searched
    for)."""
    return tuple((identifier.text.casefold(), identifier)
                 for identifier in patient_identifiers(body))


#: Values at most this long are remembered case-folded, or as dummies, for the files' other
#: profiles (longer free text is rarely repeated, and is not worth keeping).
_REMEMBERED_LENGTH: Final = 256


def _folded_text(value: Any) -> str:
    """A value's text case-folded (short texts once for all profiles)."""
    if type(value) is str and len(value) <= _REMEMBERED_LENGTH:
        return remembered(_FOLDED, value, str.casefold, _TEXTS_REMEMBERED)
    return _text_of(value).casefold()


#: At most this many short texts are remembered case-folded, and whether each stands for
#: nothing (then they start over).
_TEXTS_REMEMBERED: Final = 4096
_FOLDED: Final[dict[str, str]] = {}
_NOTHING: Final[dict[str, bool]] = {}


class Written(NamedTuple):
    """One element of the de-identified copy: its path, tag, VR, value and private creator."""

    path: str
    tag: int
    vr: str
    value: Any
    creator: str | None


def written_values(plan: FilePlan) -> Iterator[Written]:
    """Every non-sequence element the de-identified copy holds (file meta first), with the
    value it holds."""
    yield from _written(plan.meta)
    for added in plan.added_meta:
        yield from _added(added, "")
    yield from _written(plan.body)
    for added in plan.added:
        yield from _added(added, "")


def _written(outcomes: Iterable[Outcome]) -> Iterator[Written]:
    for outcome in outcomes:
        if outcome.removed:
            continue
        if outcome.items is not None:
            for item in outcome.items:
                yield from _written(item)
            continue
        yield Written(outcome.path, outcome.tag, outcome.vr, outcome.output_value,
                      outcome.node.creator)


def _added(element: Added, prefix: str) -> Iterator[Written]:
    path = prefix + tag_text(element.tag)
    if element.vr == "SQ":
        for number, item in enumerate(element.value):
            for child in item:
                yield from _added(child, f"{path}[{number}].")
        return
    yield Written(path, element.tag, element.vr, element.value, None)


def _original_uids(plan: FilePlan, body: list[Node]) -> set[str]:
    """The original instance UIDs of the elements the plan has an outcome for (those of the
    items of a sequence it removes or empties are not)."""
    found: set[str] = set()
    _add_original_uids(plan.meta, found)
    levels = _uid_levels(body)
    if not _add_level_uids(plan.body, body, levels, found):
        _add_original_uids(plan.body, found)  # outcomes not one per node: walk them all
    return found


def _add_original_uids(outcomes: list[Outcome], found: set[str]) -> None:
    for outcome in outcomes:
        if outcome.items is not None:
            for item in outcome.items:
                _add_original_uids(item, found)
        found.update(_instance_uids(outcome.node))


def _instance_uids(node: Node) -> Iterator[str]:
    if node.vr != "UI" or node.tag in _NOT_INSTANCE_UIDS or node.items is not None:
        return
    values = node.value if isinstance(node.value, list) else [node.value]
    yield from (str(v) for v in values if v and not str(v).startswith(_WELL_KNOWN_UID_ROOT))


#: A level's instance UIDs and the positions of its sequences, by the level's id.
UidLevels = dict[int, tuple[frozenset[str], tuple[int, ...]]]


@per_tree
def _uid_levels(body: list[Node]) -> UidLevels:
    """What each level of a file holds of original UIDs, filled as levels are met (one file's
    plans, one per profile, share it)."""
    return {}


def _add_level_uids(outcomes: list[Outcome], nodes: list[Node], levels: UidLevels,
                    found: set[str]) -> bool:
    """Add the UIDs of a level and of the items of the sequences its outcomes walk; False if
    the outcomes are not one per node, in order."""
    if len(outcomes) != len(nodes):
        return False
    known = levels.get(id(nodes))
    if known is None:
        known = levels[id(nodes)] = (
            frozenset(uid for node in nodes for uid in _instance_uids(node)),
            tuple(index for index, node in enumerate(nodes) if node.items is not None))
    uids, sequences = known
    found.update(uids)
    for index in sequences:
        outcome, node = outcomes[index], nodes[index]
        if outcome.node is not node:
            return False
        for item_outcomes, item_nodes in zip(outcome.items or (), node.items or (),
                                             strict=False):
            if not _add_level_uids(item_outcomes, item_nodes, levels, found):
                return False
    return True


def organisation_root(uids: AbstractSet[str]) -> tuple[str, ...]:
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


def _root_of(uids: set[str]) -> tuple[str, ...]:
    """:func:`organisation_root`, remembered (a file's plans, one per profile, mostly hold the
    same original UIDs; at most :data:`_ROOTS_REMEMBERED` sets are kept)."""
    return remembered(_ROOTS, frozenset(uids), organisation_root, _ROOTS_REMEMBERED)


_ROOTS_REMEMBERED: Final = 1024
_ROOTS: Final[dict[frozenset[str], tuple[str, ...]]] = {}


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
    """Findings of one file, at most one per element path and kind (the first added wins,
    so stronger findings are added first)."""

    def __init__(self, profile_id: str, file: str, as_found: bool = False) -> None:
        self.profile_id = profile_id
        self.file = file
        #: How reasons say that a value is there: after a profile, or in a file as found.
        self.kept = "is in the file" if as_found else "is kept"
        self.as_found = as_found
        self.findings: dict[tuple[str, RiskKind], Finding] = {}

    def add(self, path: str, tag: int, keyword: str, kind: RiskKind, severity: Severity,
            reason: str, evidence: str) -> None:
        """Add a finding on the element at ``path`` (whose tag is ``tag``)."""
        key = (path, kind)
        if key in self.findings:
            return
        self.findings[key] = Finding(self.profile_id, self.file, path, tag_text(tag), keyword,
                                     kind, severity, reason, evidence)


def _name(outcome: Outcome) -> str:
    return semantics.keyword_for(outcome.tag) or tag_text(outcome.tag)


def _shown(outcome: Outcome) -> str:
    return _display_text(outcome.output_value)


def _display_text(value: Any) -> str:
    """A written value as text (a multi-valued one joined by backslashes)."""
    if isinstance(value, list):
        return "\\".join(str(item) for item in value)
    return "" if value is None else str(value)


def _left(outcome: Outcome) -> str | None:
    """'kept' or 'partly' when the element's value is written unchanged or only partly
    transformed (and is not empty); None otherwise."""
    value = outcome.value
    if value is REMOVED or outcome.items is not None:
        return None
    if value is KEPT:
        value = outcome.node.value
    if value is None or value == "" or value == [] or isinstance(value, Unread):
        return None
    if _stands_for_nothing(value):
        return None  # a dummy stands for nothing
    if not outcome.modified:
        return "kept"
    return "partly" if outcome.action in PARTIAL_ACTIONS else None


def _stands_for_nothing(value: Any) -> bool:
    """True for a value shown as a dummy (``ANONYMOUS``, ``UNKNOWN``, ...)."""
    if type(value) is str and len(value) <= _REMEMBERED_LENGTH:
        return remembered(_NOTHING, value, _is_nothing, _TEXTS_REMEMBERED)
    return _is_nothing(_display_text(value))


def _is_nothing(text: str) -> bool:
    return text.strip().upper() in NOTHING_VALUES


def _catalogued(outcome: Outcome, entry: CatalogueEntry | None, found: _Collector) -> None:
    if entry is None or entry.kind in _NOT_PER_ELEMENT:
        return
    if found.as_found and (outcome.items is not None or outcome.vr == "UI"
                           or _shown(outcome) in _WRITER_VALUES):
        return  # as found, a sequence or UID may be new or old: the export checks judge them
    if outcome.items is not None:
        if _walked(outcome) and outcome.items:
            found.add(outcome.path, outcome.tag, _name(outcome), entry.kind, entry.severity,
                      f"{_name(outcome)} {found.kept} with {len(outcome.items)} item(s); each "
                      f"value left in it is listed on its own. {entry.reason}",
                      f"{len(outcome.items)} item(s)")
        return
    left = _left(outcome)
    if left == "kept":
        found.add(outcome.path, outcome.tag, _name(outcome), entry.kind, entry.severity,
                  f"{_name(outcome)} {found.kept}. {entry.reason}", mask(_shown(outcome)))
    elif left == "partly":
        found.add(outcome.path, outcome.tag, _name(outcome), entry.kind, entry.severity.lower(),
                  f"{_name(outcome)} is only partly transformed ({outcome.action.value}). "
                  f"{entry.reason}", mask(_shown(outcome)))


def _walked(outcome: Outcome) -> bool:
    """A sequence kept (or cleaned) with its items: what is inside is left for a reader."""
    return not outcome.removed and outcome.action in (Action.KEEP, Action.CLEAN)


def _inside(outcome: Outcome, ancestor: Outcome, entry: CatalogueEntry,
            found: _Collector) -> None:
    """A value left inside a kept sequence the catalogue lists as risky (coded values, numbers
    and UIDs are structure: the UID rule looks at UIDs)."""
    if outcome.items is not None or outcome.vr in _STRUCTURE_VRS or _left(outcome) is None:
        return
    found.add(outcome.path, outcome.tag, _name(outcome), entry.kind, entry.severity,
              f"{_name(outcome)} ({outcome.vr}) {found.kept} inside {_name(ancestor)}. "
              f"{entry.reason}", mask(_shown(outcome)))


def _person_name(outcome: Outcome, found: _Collector) -> None:
    if outcome.vr == "PN" and _left(outcome) is not None:
        found.add(outcome.path, outcome.tag, _name(outcome), RiskKind.DIRECT_IDENTIFIER,
                  Severity.MEDIUM,
                  f"{_name(outcome)} keeps a person's name (patient or staff); names "
                  "identify people and link to the patient's care.", mask(_shown(outcome)))


def _private(outcome: Outcome, found: _Collector, table: Catalogue) -> None:
    node = outcome.node
    if not is_private_group(node.tag) or is_private_creator(node.tag):
        return
    if outcome.removed or outcome.modified or outcome.items is not None:
        return
    if safe_private_meaning(node.tag, node.creator) is None:
        found.add(outcome.path, outcome.tag, "", RiskKind.PRIVATE, table.private.severity,
                  f"Private element of {node.creator or 'an unnamed creator'!r}: it "
                  f"{found.kept}. "
                  f"{table.private.reason}", mask(outcome.after or ""))


def _dates(outcome: Outcome, found: _Collector) -> None:
    if outcome.vr in ("DA", "DT") and _left(outcome) == "kept":
        found.add(outcome.path, outcome.tag, _name(outcome), RiskKind.QUASI_IDENTIFIER,
                  Severity.MEDIUM,
                  f"{_name(outcome)} is an exact date that {found.kept}: exact dates help single a "
                  "patient out and link to hospital records.", mask(_shown(outcome)))


def _text_of(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("latin-1")
    if isinstance(value, (list, tuple)):
        return "\\".join(str(v) for v in value)
    return str(value) if value is not None else ""


class _Values:
    """What the value checks compare a written value with: the patient's identifying strings
    and the file's original instance UIDs and their organisation root."""

    __slots__ = ("found", "identifiers", "originals", "root", "scanned", "top_tags")

    def __init__(self, found: _Collector, identifiers: tuple[tuple[str, Identifier], ...],
                 originals: set[str], scanned: frozenset[str],
                 top_tags: frozenset[int] = frozenset()) -> None:
        self.found = found
        self.identifiers = identifiers
        self.originals = originals
        self.root = _root_of(originals)
        self.scanned = scanned
        #: The tags whose top-level values are gathered.
        self.top_tags = top_tags

    def check(self, path: str, tag: int, vr: str, value: Any) -> None:
        """The checks of one written value: the patient's identifiers in it, and a UID that
        is the original or keeps its root."""
        if vr in self.scanned or tag >> 16 & 1:
            _content(path, tag, value, self.identifiers, self.found)
        if vr == "UI":
            _uid(path, tag, value, self.originals, self.root, self.found)


def _content(path: str, tag: int, value: Any,
             identifiers: tuple[tuple[str, Identifier], ...], found: _Collector) -> None:
    """The patient's identifiers (with their case-folded texts) in a value of a scanned VR or
    a private element."""
    if not identifiers or isinstance(value, Unread):
        return
    text = _folded_text(value)
    for folded, identifier in identifiers:
        if folded in text:
            kind = RiskKind.PRIVATE if tag >> 16 & 1 else RiskKind.FREE_TEXT
            found.add(path, tag, semantics.keyword_for(tag), kind, Severity.HIGH,
                      f"The value contains the patient's {identifier.what}, found elsewhere "
                      "in the original file.", mask(identifier.text))
            return


def _uid(path: str, tag: int, value: Any, originals: set[str], root: tuple[str, ...],
         found: _Collector) -> None:
    if not value or tag in _NOT_INSTANCE_UIDS:
        return
    values = value if isinstance(value, list) else [value]
    for text in (str(v) for v in values):
        if text.startswith(_WELL_KNOWN_UID_ROOT):
            continue
        keyword = semantics.keyword_for(tag)
        if text in originals:
            found.add(path, tag, keyword, RiskKind.LINKAGE, Severity.MEDIUM,
                      "The original UID is kept: it is stored in the hospital PACS and links "
                      "back to the patient's study.", mask(text))
        elif _shares_root(text, root):
            found.add(path, tag, keyword, RiskKind.LINKAGE, Severity.LOW,
                      "The new UID keeps the original organisation's UID root, which names "
                      "the hospital or vendor.", mask(".".join(root)))


def _flags(top: dict[int, Any], found: _Collector) -> None:
    for tag, keyword in _FLAGS:
        if str(_text_of(top.get(tag, ""))).strip().upper() == "YES":
            found.add(tag_text(tag), tag, keyword, RiskKind.FLAG, Severity.HIGH,
                      catalogue().by_tag[tag].reason, "YES")
    marker = str(_text_of(top.get(PATIENT_IDENTITY_REMOVED, "")) or "").strip()
    if marker.upper() != "YES":
        found.add(tag_text(PATIENT_IDENTITY_REMOVED), PATIENT_IDENTITY_REMOVED,
                  "PatientIdentityRemoved", RiskKind.FLAG,
                  Severity.MEDIUM, catalogue().by_tag[PATIENT_IDENTITY_REMOVED].reason,
                  marker or "missing")


def _elements(outcomes: list[Outcome], found: _Collector, table: Catalogue,
              ancestor: tuple[Outcome, CatalogueEntry] | None, values: _Values,
              top: dict[int, Any] | None = None) -> None:
    """The checks of each element of a level (and of the items of its sequences): its
    written value first (the strongest findings), then what is done to it. At the top level,
    the values of the tags ``top`` asks for (:func:`findings_and_top`) are put in it."""
    by_tag = table.by_tag
    for outcome in outcomes:
        if outcome.value is REMOVED:
            continue  # not written: nothing to find (every check reads what is written)
        node = outcome.node
        tag, vr = node.tag, node.vr
        if outcome.items is None:
            value = node.value if outcome.value is KEPT else outcome.value
            if top is not None and tag in values.top_tags:
                top[tag] = value
            values.check(outcome.path, tag, vr, value)
        entry = by_tag.get(tag)
        if ancestor is not None:
            _inside(outcome, ancestor[0], ancestor[1], found)
        if entry is not None:
            _catalogued(outcome, entry, found)
        if vr == "PN":
            _person_name(outcome, found)
        if tag >> 16 & 1:
            _private(outcome, found, table)
        if vr == "DA" or vr == "DT":
            _dates(outcome, found)
        if outcome.items:
            inner = ancestor
            if inner is None and entry is not None and entry.kind not in _NOT_PER_ELEMENT \
                    and _walked(outcome) and not found.as_found:
                inner = (outcome, entry)
            for item in outcome.items:
                _elements(item, found, table, inner, values)


def find_risks(plan: FilePlan, *, file: str, body: list[Node],
               table: Catalogue | None = None) -> list[Finding]:
    """Residual-risk findings of one file after one profile (see the module docstring).

    ``body`` is the file's original data set tree (the patient's identifiers come from it).
    """
    return findings_and_top(plan, file=file, body=body, table=table)[0]


def findings_and_top(plan: FilePlan, *, file: str, body: list[Node],
                     table: Catalogue | None = None,
                     tags: frozenset[int] = frozenset()) -> tuple[list[Finding], dict[int, Any]]:
    """:func:`find_risks`, and the top-level values the copy holds of ``tags`` (and of the
    flags the findings read), by tag."""
    table = table or catalogue()
    found = _Collector(plan.profile.id, file, plan.as_found)
    originals = set() if plan.as_found else _original_uids(plan, body)  # as found: unknown
    values = _Values(found, _folded_identifiers(body), originals, table.scanned_vrs,
                     tags | _FLAG_TAGS)
    top: dict[int, Any] = {}
    _elements(plan.meta, found, table, None, values, top)
    _added_values(plan.added_meta, values, top)
    _elements(plan.body, found, table, None, values, top)
    _added_values(plan.added, values, top)
    _flags(top, found)
    return sorted(found.findings.values(), key=_FINDING_ORDER), top


#: The order of a file's findings: by element path, then kind.
_FINDING_ORDER: Final = attrgetter("element_path", "risk_kind")


def _added_values(added: list[Added], values: _Values, top: dict[int, Any]) -> None:
    """The value checks of the elements the de-identifier adds at the top level (and of their
    items' elements); the values of the tags asked for are put in ``top``."""
    for element in added:
        if element.vr != "SQ" and element.tag in values.top_tags:
            top[element.tag] = element.value
        for written in _added(element, ""):
            values.check(written.path, written.tag, written.vr, written.value)
