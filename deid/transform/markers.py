"""Record in the output what de-identification was done, as PS3.15 E.1.1 requires, and no more.

The markers are derived from what the plan did to this file's elements, never from what the
profile says it is:

- PatientIdentityRemoved ``YES``, or ``NO`` when a direct identifier of the patient (name, ID,
  address, telephone, other IDs and names) is written unchanged;
- DeidentificationMethodCodeSequence holds CID 7050 code 113100 (Basic Application
  Confidentiality Profile) only when every element of the file that PS3.15 Table E.1-1 lists
  was treated at least as protectively as the Basic Profile or as an option the profile
  declares allows, and then the code of each declared option whose column the treatment
  needed in this file; without 113100 no code is written;
- DeidentificationMethod names the profile and, when the Basic Profile is not met, each
  deviation (e.g. ``PatientSex kept``);
- LongitudinalTemporalInformationModified ``MODIFIED`` when a date left in the file was shifted
  or truncated, ``UNMODIFIED`` when dates are left as they were, ``REMOVED`` otherwise.

Treatments are compared by how much of the value they leave: replaced (remove, empty, dummy,
hash, pseudonym, uid) < cleaned (clean, shift_date, truncate_date, round) < kept. Codes of
Table E.1-1 allow: X, Z, D, U replaced; C cleaned; K kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableSequence
from functools import lru_cache
from types import MappingProxyType
from typing import Final, NamedTuple

from deid.ingest.tree import Node
from deid.policy.actions import Action, resolve_compound
from deid.policy.resolver import ODD_GROUP_ROW, OPTION_TITLES, Decision, safe_private_meaning
from deid.policy.standard import OPTION_IDS, E11Row, e11_row_for
from deid.tags import is_private_creator
from deid.transform.outcome import KEPT, REMOVED, Added, Outcome
from deid.transform.semantics import is_empty, keyword_for, same_value

#: DICOM PS3.16 CID 7050 "De-identification Method" codes (scheme DCM).
CID_7050: Final[Mapping[str, str]] = MappingProxyType({
    "basic": "113100",
    "clean_graphics": "113103",
    "clean_structured_content": "113104",
    "clean_descriptors": "113105",
    "retain_long_full_dates": "113106",
    "retain_long_modified_dates": "113107",
    "retain_patient_characteristics": "113108",
    "retain_device_identity": "113109",
    "retain_uids": "113110",
    "retain_safe_private": "113111",
    "retain_institution_identity": "113112",
})
BASIC_MEANING: Final = "Basic Application Confidentiality Profile"
PATIENT_IDENTITY_REMOVED: Final = 0x00120062
DEIDENTIFICATION_METHOD: Final = 0x00120063
DEIDENTIFICATION_METHOD_CODES: Final = 0x00120064
TEMPORAL_MODIFIED: Final = 0x00280303
MARKER_TAGS: Final = frozenset({PATIENT_IDENTITY_REMOVED, DEIDENTIFICATION_METHOD,
                                DEIDENTIFICATION_METHOD_CODES, TEMPORAL_MODIFIED})
#: Direct identifiers of the patient: PatientIdentityRemoved is NO when one is left unchanged.
PATIENT_IDENTITY_TAGS: Final = frozenset({
    0x00100010, 0x00100020, 0x00101000, 0x00101001, 0x00101002, 0x00101005, 0x00101040,
    0x00102154, 0x00101060, 0x00380400, 0x00101090, 0x00102155,
})
_MAX_DEVIATIONS: Final = 12
_REPLACED, _CLEANED, _KEPT = 0, 2, 3
_LEVEL: Final = {Action.REMOVE: _REPLACED, Action.EMPTY: _REPLACED, Action.DUMMY: _REPLACED,
                 Action.HASH: _REPLACED, Action.PSEUDONYM: _REPLACED, Action.UID: _REPLACED,
                 Action.CLEAN: _CLEANED, Action.SHIFT_DATE: _CLEANED,
                 Action.TRUNCATE_DATE: _CLEANED, Action.ROUND: _CLEANED, Action.KEEP: _KEPT}
#: Actions that replace a value (when they change it).
_REPLACING: Final = frozenset(action for action, level in _LEVEL.items()
                              if level == _REPLACED and action is not Action.KEEP)
_CODE_LEVEL: Final = {"X": _REPLACED, "Z": _REPLACED, "D": _REPLACED, "U": _REPLACED, "C": _CLEANED,
                      "K": _KEPT}


class Conformance(NamedTuple):
    """What a file's outcomes meet: the Basic Profile or not, the options needed, and the
    deviations (``PatientSex kept``)."""

    basic: bool
    options: tuple[str, ...]
    deviations: tuple[str, ...]


def write_markers(profile_id: str, options: frozenset[str], body: MutableSequence[Outcome],
                  levels: Iterable[list[Outcome]]) -> list[Added]:
    """The marker elements to add for a file planned under a profile that declares PS3.15
    ``options``, from its outcomes (``levels``: the file meta's and the data set's, surveyed
    first); a marker element the file already has is then replaced in ``body`` (its top-level
    outcomes) instead."""
    survey = _Survey(options)
    survey.add_levels(levels)
    conformance = survey.conformance()
    identity = "NO" if survey.identity_left else "YES"
    text, codes = _method(profile_id, conformance)
    markers = [
        Added(PATIENT_IDENTITY_REMOVED, "CS", identity),
        Added(DEIDENTIFICATION_METHOD, "LO", list(text)),
    ]
    if codes:
        markers.append(Added(DEIDENTIFICATION_METHOD_CODES, "SQ", [
            [Added(0x00080100, "SH", value), Added(0x00080102, "SH", "DCM"),
             Added(0x00080104, "LO", meaning)] for value, meaning in codes]))
    markers.append(Added(TEMPORAL_MODIFIED, "CS", survey.dates))
    positions = {outcome.node.tag: index for index, outcome in enumerate(body)
                 if outcome.node.tag in MARKER_TAGS}
    added = []
    for marker in markers:
        index = positions.pop(marker.tag, None)
        if index is not None and marker.vr != "SQ":
            body[index] = _marker_outcome(body[index], marker.value)
            continue
        if index is not None:
            body[index] = _replaced(body[index])
        added.append(marker)
    index = positions.get(DEIDENTIFICATION_METHOD_CODES)
    if index is not None:  # the file had codes this file's treatment does not support
        body[index] = _replaced(body[index])
    return added


@lru_cache(maxsize=256)
def _method(profile_id: str, conformance: Conformance) -> tuple[tuple[str, ...],
                                                                tuple[tuple[str, str], ...]]:
    """:func:`method_text` and :func:`method_codes` (the files of a profile mostly meet the
    same)."""
    return tuple(method_text(profile_id, conformance)), tuple(method_codes(conformance))


_MARKER_DECISION: Final = Decision(
    Action.DUMMY, MappingProxyType({}), "De-identification marker, written from what was done "
    "(PS3.15 E.1.1).", "DICOM PS3.15 E.1.1", "marker", False)


def _marker_outcome(old: Outcome, value: object) -> Outcome:
    changed = not same_value(old.node.value, value)
    return old._replace(decision=_MARKER_DECISION,
                        action=Action.DUMMY if changed else Action.KEEP, modified=changed,
                        value=value if changed else KEPT, items=None,
                        note="de-identification marker")


def _replaced(old: Outcome) -> Outcome:
    return old._replace(decision=_MARKER_DECISION, action=Action.REMOVE, modified=True,
                        value=REMOVED, items=None,
                        note="replaced by the marker the de-identifier writes")


# -- what the outcomes meet ------------------------------------------------------------------

class _Survey:
    """What a file's outcomes meet and leave, gathered in one pass (see the module docstring):
    the Basic Profile and the declared options that allow what was done (what only an
    undeclared option would allow is a deviation), whether a direct identifier of the patient
    is left, and what was done to the dates left."""

    __slots__ = ("dates", "declared", "deviations", "identity_left", "needed", "verdicts")

    def __init__(self, declared: frozenset[str]) -> None:
        self.declared = declared
        self.needed: dict[str, None] = {}
        self.deviations: dict[str, None] = {}
        self.verdicts = _verdicts_under(declared)
        self.identity_left = False
        #: LongitudinalTemporalInformationModified: REMOVED, UNMODIFIED or MODIFIED (the
        #: strongest state of a date left so far).
        self.dates = "REMOVED"

    def add_levels(self, levels: Iterable[list[Outcome]]) -> None:
        """Survey the outcomes of ``levels`` and of their sequences' items (an outcome before
        its items: deviations are listed in that order)."""
        for level in levels:
            self.add_level(level)

    def add_level(self, outcomes: list[Outcome]) -> None:
        judged = _JUDGED
        for outcome in outcomes:
            node = outcome.node
            if outcome.value is not REMOVED:  # removed: as protective as any code allows
                tag, vr = node.tag, node.vr
                if vr == "DA" or vr == "DT":
                    self._dated(outcome, node)
                modified = outcome.modified
                # replacing is as protective as any code: only what is not replaced is judged
                if not modified or outcome.action not in _REPLACING or node.items is not None:
                    if not modified and tag in PATIENT_IDENTITY_TAGS \
                            and not is_empty(node.value):
                        self.identity_left = True
                    listed = judged.get(tag)
                    if listed is None:
                        if len(judged) >= _MAX_JUDGED:
                            judged.clear()
                        listed = judged[tag] = _row_for_tag(tag) is not None
                    if listed:  # else PS3.15 allows any treatment
                        self._judge(outcome, node)
            if outcome.items:
                for item in outcome.items:
                    self.add_level(item)

    def _judge(self, outcome: Outcome, node: Node) -> None:
        """The verdict on an element PS3.15 lists, written with (some of) its value."""
        key = (node.tag, node.creator, outcome.action, outcome.modified,
               node.items is None, _carries_nothing(outcome))
        verdicts = self.verdicts
        if key not in verdicts:  # per-frame items repeat the same elements many times
            verdicts[key] = _verdict(outcome, self.declared)
        verdict = verdicts[key]
        if isinstance(verdict, tuple):
            self.needed.update(dict.fromkeys(verdict))
        elif verdict is not None:
            self.deviations[verdict] = None

    def _dated(self, outcome: Outcome, node: Node) -> None:
        if self.dates == "MODIFIED" or node.tag in MARKER_TAGS:
            return
        if outcome.action in (Action.SHIFT_DATE, Action.TRUNCATE_DATE) and outcome.modified:
            self.dates = "MODIFIED"
        elif not outcome.modified and outcome.after:
            self.dates = "UNMODIFIED"

    def conformance(self) -> Conformance:
        ordered = tuple(option for option in OPTION_IDS if option in self.needed)
        return Conformance(not self.deviations, ordered, tuple(self.deviations))


Verdict = tuple[str, ...] | str | None
#: Verdicts by declared options, then by what decides them (an element's tag, creator, action,
#: whether it changed, is a value, carries nothing): the same in every file.
_VERDICTS: Final[dict[frozenset[str], dict[tuple[object, ...], Verdict]]] = {}
_MAX_VERDICTS: Final = 200_000


def _verdicts_under(declared: frozenset[str]) -> dict[tuple[object, ...], Verdict]:
    """The verdicts reached so far under ``declared`` (forgotten when they grow too many)."""
    verdicts = _VERDICTS.get(declared)
    if verdicts is None or len(verdicts) > _MAX_VERDICTS:
        verdicts = _VERDICTS[declared] = {}
    return verdicts


def _verdict(outcome: Outcome, declared: frozenset[str]) -> Verdict:
    """None if the Basic Profile allows what was done to this element, the declared options
    that allow it, or the deviation it is."""
    row = _row_for_tag(outcome.tag)
    if row is None or _carries_nothing(outcome):
        return None
    level = _level_of(outcome, row)
    if level <= _basic_level(row):
        return None
    options = tuple(option for option in _options_allowing(row, level, outcome)
                    if option in declared)
    return options or _deviation(outcome)


def _carries_nothing(outcome: Outcome) -> bool:
    """An element whose original value was empty leaves nothing, whatever is done to it."""
    node = outcome.node
    if node.items is not None:
        return not node.items
    return outcome.action is Action.KEEP and is_empty(node.value)


def _level_of(outcome: Outcome, row: E11Row) -> int:
    if not outcome.modified and outcome.action is not Action.KEEP and outcome.node.items is None:
        return _KEPT  # an action that left the value as it was kept it
    if outcome.node.items is not None and outcome.action is Action.KEEP:
        return _REPLACED if "U" in _codes(row.basic_profile) else _KEPT
    return _LEVEL[outcome.action]


def _basic_level(row: E11Row) -> int:
    return max(_CODE_LEVEL[code] for code in _codes(row.basic_profile))


def _codes(code: str) -> set[str]:
    return {part.rstrip("*") for part in code.split("/")} | {resolve_compound(code)}


def _options_allowing(row: E11Row, level: int, outcome: Outcome) -> list[str]:
    if row.tag == ODD_GROUP_ROW:
        safe = safe_private_meaning(outcome.tag, outcome.node.creator) is not None
        return ["retain_safe_private"] if safe and level <= _KEPT else []
    allowing = [(option, _CODE_LEVEL[code]) for option, code in row.options.items()
                if code in _CODE_LEVEL and _CODE_LEVEL[code] >= level]
    if not allowing:
        return []
    least = min(code_level for _, code_level in allowing)
    return [option for option, code_level in allowing if code_level == least]


_PAST: Final = {Action.KEEP: "kept", Action.CLEAN: "cleaned", Action.SHIFT_DATE: "shifted",
                Action.TRUNCATE_DATE: "truncated", Action.ROUND: "rounded"}


def _deviation(outcome: Outcome) -> str:
    name = keyword_for(outcome.tag) or outcome.path.rsplit(".", 1)[-1]
    if outcome.tag >> 16 & 1:
        name = f"private {outcome.path.rsplit('.', 1)[-1]}"
    verb = "kept" if not outcome.modified else _PAST.get(outcome.action, outcome.action.value)
    return f"{name} {verb}"


#: Whether Table E.1-1 has a row for a tag, by tag (at most this many tags, then it starts
#: over).
_JUDGED: dict[int, bool] = {}
_MAX_JUDGED = 1 << 16


def _row_for_tag(tag: int) -> E11Row | None:
    """The PS3.15 Table E.1-1 row that says what may be done to the element (none for group
    lengths and private creators)."""
    if tag & 0xFFFF == 0 or is_private_creator(tag):
        return None
    return e11_row_for(tag)


# -- the marker values -----------------------------------------------------------------------

def method_codes(conformance: Conformance) -> list[tuple[str, str]]:
    """(code value, meaning) of CID 7050 for what was done: none without the Basic Profile."""
    if not conformance.basic:
        return []
    return [(CID_7050["basic"], BASIC_MEANING),
            *[(CID_7050[option], OPTION_TITLES[option]) for option in conformance.options]]


def method_text(profile_id: str, conformance: Conformance) -> list[str]:
    """DeidentificationMethod values (LO, at most 64 characters each)."""
    values = [f"deid profile {profile_id}"[:64]]
    deviations = list(conformance.deviations)
    if deviations:
        values.append("not the PS3.15 Basic Profile:")
        values += [text[:64] for text in deviations[:_MAX_DEVIATIONS]]
        if len(deviations) > _MAX_DEVIATIONS:
            values.append(f"and {len(deviations) - _MAX_DEVIATIONS} more deviations")
    return values
