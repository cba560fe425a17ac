"""Every rule that follows the resolver: what happens to one element in its context.

The resolver (:mod:`deid.policy.resolver`) says what a profile's rules say about a tag. What
happens to an element in a file is decided here, once, and every executor (the pydicom engine,
the effects table, the byte writer, the risk model, the comparison) calls this module:

- group lengths are dropped (they would be wrong); SpecificCharacterSet is always kept (the
  remaining text cannot be decoded without it); inside a cleaned sequence, text and dates no rule
  names are cleaned;
- file meta follows PS3.10: the writer sets its own Implementation Class UID, Implementation
  Version Name and Source AE Title (the copy comes from this writer); other AE titles,
  presentation addresses and private information are removed unless a profile rule names
  their tag (then they are reviewed like any element);
- an action that cannot change a value of the element's VR is resolved to what it does: a
  whole-day date shift leaves a time of day (TM) as it is, ``clean`` keeps numbers and binary
  values, shifts dates, remaps UIDs and replaces person names;
- the effect is what happened to the value: ``keep`` whenever the result equals the input;
- one patient key (IssuerOfPatientID + PatientID, else PatientName + PatientBirthDate) for date
  offsets, ``{patient}`` templates and k-anonymity;
- the identifiers collected for cleaning, and the displayed value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType
from typing import Any, Final

from deid.ingest.decode import display, keyword_of
from deid.ingest.tree import UNDECODABLE, Node, Unread
from deid.policy.actions import BINARY_VRS, DATE_VRS, NUMBER_VRS, TEXT_VRS, Action
from deid.policy.resolver import Decision, Resolver
from deid.tags import is_private_creator
from deid.transform.values import NOTHING_VALUES

__all__ = ["display"]

GROUP_LENGTH_SOURCE: Final = "DICOM PS3.5 7.2 (group length is optional)"
SPECIFIC_CHARACTER_SET: Final = 0x00080005
SOP_INSTANCE_UID: Final = 0x00080018
SOP_CLASS_UID: Final = 0x00080016
MEDIA_STORAGE_SOP_INSTANCE_UID: Final = 0x00020003
IMPLEMENTATION_CLASS_UID: Final = 0x00020012
IMPLEMENTATION_VERSION_NAME: Final = 0x00020013
SOURCE_AE_TITLE: Final = 0x00020016
#: File meta elements a readable file needs, kept as they are (PS3.10 7.1).
REQUIRED_META: Final = frozenset({0x00020001, 0x00020002, 0x00020010})
OVERLAY_DATA_ELEMENT: Final = 0x3000
_NO_PARAMS: Final[Mapping[str, Any]] = MappingProxyType({})
_META_SOURCE: Final = "DICOM PS3.10 7.1 (File Meta Information)"

#: This tool's Implementation Class UID (a 2.25 UUID-derived UID, fixed for the tool).
IMPLEMENTATION_UID: Final = "2.25.157914262331617512069474052470389367101"
_AE_RE: Final = re.compile(r"^[\x20-\x5B\x5D-\x7E]{1,16}$")


@dataclass(frozen=True)
class WriterIdentity:
    """What the writer puts in the file meta of every copy it writes (PS3.10 7.1)."""

    source_ae_title: str = "DEID_REVIEW"
    implementation_version_name: str = "DEID_REVIEW_0_2"
    implementation_class_uid: str = IMPLEMENTATION_UID

    def __post_init__(self) -> None:
        if not _AE_RE.match(self.source_ae_title) or self.source_ae_title.strip() == "":
            raise ValueError(f"Source AE Title {self.source_ae_title!r}: 1 to 16 printable "
                             "characters without a backslash")
        if not 1 <= len(self.implementation_version_name) <= 16:
            raise ValueError("Implementation Version Name: 1 to 16 characters")

    def __reduce__(self) -> tuple[type[WriterIdentity], tuple[str, str, str]]:
        # Pickled by its fields (a compiled frozen class cannot be restored field by field).
        return WriterIdentity, (self.source_ae_title, self.implementation_version_name,
                                self.implementation_class_uid)


DEFAULT_WRITER: Final = WriterIdentity()


# -- the decision for one element ------------------------------------------------------------

def _structural(action: Action, reason: str, source: str, origin: str,
                params: Mapping[str, Any] = _NO_PARAMS) -> Decision:
    return Decision(action, params, reason, source, origin, False)


GROUP_LENGTH: Final = _structural(
    Action.REMOVE, "Group length dropped: it would be wrong after de-identification.",
    GROUP_LENGTH_SOURCE, "group length")


def decide(resolver: Resolver, tag: int, vr: str, creator: str | None = None, *,
           cleaning: bool = False, dummying: bool = False) -> Decision:
    """What happens to an element with this tag, VR and private creator (outside the file
    meta): the resolver's decision with the structural overrides and resolved for the VR.

    ``cleaning``: the element is inside a sequence the profile cleans; ``dummying``: it is in
    an item of a sequence the profile replaces by a dummy (D), whose values no rule names are
    replaced while its structure is kept.
    """
    if tag & 0xFFFF == 0:
        return GROUP_LENGTH
    decision = resolver.decide(tag, vr, creator)
    if cleaning and not decision.explicit and (vr in TEXT_VRS or vr in DATE_VRS):
        decision = Decision(Action.CLEAN, decision.params,
                            "Inside a sequence the profile cleans: text and dates are cleaned.",
                            decision.source, decision.origin, False)
    if dummying and not decision.explicit and decision.action in (Action.KEEP, Action.CLEAN):
        decision = _dummied(decision, vr)
    if tag == SPECIFIC_CHARACTER_SET and decision.action is not Action.KEEP:
        return Decision(Action.KEEP, decision.params,
                        "Kept: needed to decode the text that remains.", decision.source,
                        "required", False)
    return for_vr(decision, vr)


def decide_tag(resolver: Resolver, tag: int, vr: str, creator: str | None = None, *,
               writer: WriterIdentity | None = None) -> Decision:
    """What happens to a top-level element with this tag wherever it is: the file meta by
    :func:`meta_decision`, the data set by :func:`decide`. For tables over tags (the
    comparison, the headers in column form) where no file structure is at hand."""
    if tag >> 16 == 0x0002:
        return meta_decision(resolver, tag, vr, writer or DEFAULT_WRITER)
    return decide(resolver, tag, vr, creator)


_KEPT_IN_DUMMY: Final = NUMBER_VRS | BINARY_VRS | {"CS", "AT", "SQ"}


def _dummied(decision: Decision, vr: str) -> Decision:
    """An element no rule names, in an item of a sequence replaced by a dummy (D): coded values,
    numbers and nested sequences keep the structure; UIDs are remapped; text, names and dates
    are replaced by dummies."""
    if vr in _KEPT_IN_DUMMY:
        return decision
    action = Action.UID if vr == "UI" else Action.DUMMY
    return Decision(action, decision.params, "Inside a sequence the profile replaces by a dummy "
                    "(D): its values are replaced, its structure kept.", decision.source,
                    decision.origin, False)


# -- what the IOD requires (PS3.3): compound codes resolved, copies kept valid -----------------

def required(decision: Decision, kind: str, action: Action) -> Decision:
    """``decision`` changed to ``action`` because the element is Type ``kind`` in the file's
    IOD: PS3.15 compound codes (X/Z, X/D, Z/D) resolved, and a removal that would break the
    object turned into an empty value (Type 2) or a dummy (Type 1)."""
    why = {Action.EMPTY: "kept empty", Action.DUMMY: "replaced by a dummy",
           Action.KEEP: "kept", Action.REMOVE: "removed"}[action]
    if action is Action.KEEP:
        detail = (f"Type {kind} in this IOD (PS3.3), and PS3.15 Table E.1-1 does not list it "
                  "as identifying: a dummy would make the object invalid")
    elif action is Action.REMOVE:
        detail = "an empty sequence is not allowed where the IOD does not require it"
    else:
        detail = f"Type {kind} in this IOD (PS3.3), so it must be present"
    params = _NO_PARAMS if action is Action.DUMMY else decision.params  # the VR's own dummy
    return Decision(action, params, f"{decision.reason} {why.capitalize()} instead: "
                    f"{detail}.", f"{decision.source}; DICOM PS3.3 (Type {kind or 3})",
                    decision.origin, decision.explicit, decision.specific)


def for_vr(decision: Decision, vr: str) -> Decision:
    """``decision`` resolved to what its action does to a value of ``vr``."""
    action = decision.action
    resolved = _RESOLVED.get((action, vr))
    if resolved is None and action is Action.TRUNCATE_DATE and vr == "DA" \
            and decision.params.get("to") == "day":
        resolved = (Action.KEEP, "truncating a date to the day leaves it as it is")
    if resolved is None:
        return decision
    new_action, why = resolved
    return Decision(new_action, decision.params, f"{decision.reason} Resolved to "
                    f"{new_action.value}: {why}.", decision.source, decision.origin,
                    decision.explicit)


def _resolutions() -> dict[tuple[Action, str], tuple[Action, str]]:
    table: dict[tuple[Action, str], tuple[Action, str]] = {
        (Action.SHIFT_DATE, "TM"): (Action.KEEP, "a whole-day date shift leaves a time of day "
                                    "unchanged"),
        (Action.CLEAN, "TM"): (Action.KEEP, "cleaning shifts dates by whole days, which "
                               "leaves a time of day unchanged"),
        (Action.CLEAN, "DA"): (Action.SHIFT_DATE, "cleaning a date shifts it"),
        (Action.CLEAN, "DT"): (Action.SHIFT_DATE, "cleaning a date-time shifts its date"),
        (Action.CLEAN, "UI"): (Action.UID, "cleaning a UID replaces it by a keyed new UID"),
        (Action.CLEAN, "PN"): (Action.DUMMY, "cleaning a person name replaces it by a dummy"),
    }
    for vr in (*NUMBER_VRS, *BINARY_VRS, "AS", "AT"):
        table[(Action.CLEAN, vr)] = (Action.KEEP, f"cleaning leaves a {vr} value as it is")
    return table


_RESOLVED: Final = _resolutions()


def meta_decision(resolver: Resolver, tag: int, vr: str, writer: WriterIdentity) -> Decision:
    """What happens to a file meta element (group 0002), see the module docstring."""
    if tag & 0xFFFF == 0:
        return GROUP_LENGTH
    if tag in REQUIRED_META:
        return _structural(Action.KEEP, "Kept: required in the file meta.", _META_SOURCE,
                           "file meta")
    if tag == IMPLEMENTATION_CLASS_UID:
        return _writer_value(writer.implementation_class_uid, "Implementation Class UID")
    if tag == IMPLEMENTATION_VERSION_NAME:
        return _writer_value(writer.implementation_version_name, "Implementation Version Name")
    if tag == SOURCE_AE_TITLE:
        return _writer_value(writer.source_ae_title, "Source Application Entity Title")
    named = resolver.decide(tag, vr, None)
    if named.explicit and named.specific:
        return for_vr(named, vr)
    return _structural(Action.REMOVE, "File meta element removed: AE titles, presentation "
                       "addresses and private information can name the site; no rule of the "
                       "profile names it.", _META_SOURCE, "file meta")


def _writer_value(value: str, what: str) -> Decision:
    return _structural(Action.DUMMY, f"Set by the writer: its own {what}.", _META_SOURCE,
                       "file meta", MappingProxyType({"value": value}))


@cache
def media_storage_decision(action: Action) -> Decision:
    """MediaStorageSOPInstanceUID follows SOPInstanceUID."""
    return Decision(action, _NO_PARAMS, "Follows SOPInstanceUID (PS3.10 file meta).",
                    "DICOM PS3.10 7.1", "file meta", True)


@cache
def creator_decision(kept: bool) -> Decision:
    """A private creator follows its block: kept exactly when an element of it is kept."""
    if kept:
        return _structural(Action.KEEP, "Private creator of a block with elements kept.",
                           "private block", "private block")
    return _structural(Action.REMOVE, "Private creator of a block with no element kept.",
                       "private block", "private block")


@cache
def overlay_group_decision(group: int) -> Decision:
    """Every element of an overlay group whose Overlay Data is removed."""
    return _structural(Action.REMOVE, f"Overlay group {group:04X} removed whole: its Overlay "
                       "Data is removed, and the overlay attributes left would describe an "
                       "overlay that is not there (PS3.3 C.9.2).", "DICOM PS3.3 C.9.2",
                       "overlay group")


def is_overlay_group(tag: int) -> bool:
    """True for elements of the repeating overlay groups 6000-601E (even)."""
    group = tag >> 16
    return 0x6000 <= group <= 0x601E and not group & 1


# -- what happened to the value --------------------------------------------------------------

def same_value(before: Any, after: Any) -> bool:
    """True when a transform's result equals the element's value (as the file holds it)."""
    if isinstance(before, Unread) or isinstance(after, Unread):
        return False
    return bool(_normal(before) == _normal(after))


def _normal(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        items = [_normal(item) for item in value]
        return items[0] if len(items) == 1 else items
    return str(value).strip()


def is_empty(value: Any) -> bool:
    """True for a zero-length value."""
    if isinstance(value, Unread):
        return value.length == 0
    return value is None or value == "" or value == b"" or (
        isinstance(value, (list, tuple)) and not value)


# -- patients and identifiers ----------------------------------------------------------------

PATIENT_ID, ISSUER_OF_PATIENT_ID = 0x00100020, 0x00100021
PATIENT_NAME, PATIENT_BIRTH_DATE = 0x00100010, 0x00100030


def patient_key(body: Iterable[Node]) -> str:
    """Who a file belongs to: its PatientID, prefixed ``IssuerOfPatientID|`` when an issuer is
    given (two sites' ``P1`` are two patients); without a PatientID,
    ``name:PatientName|PatientBirthDate``; without both, ``""`` (callers then use the file).

    The engine's date offsets and ``{patient}`` templates and the k-anonymity records use it.
    """
    values = {node.tag: node for node in body if node.tag in _KEY_TAGS}
    patient_id = _text(values.get(PATIENT_ID))
    if patient_id:
        issuer = _text(values.get(ISSUER_OF_PATIENT_ID))
        return f"{issuer}|{patient_id}" if issuer else patient_id
    name = _text(values.get(PATIENT_NAME))
    if name:
        return f"name:{name}|{_text(values.get(PATIENT_BIRTH_DATE))}"
    return ""


_KEY_TAGS: Final = frozenset({PATIENT_ID, ISSUER_OF_PATIENT_ID, PATIENT_NAME, PATIENT_BIRTH_DATE})


def _text(node: Node | None) -> str:
    """A key value as text; a dummy (``ANONYMIZED``) names nobody, so it is no key."""
    if node is None or node.flags & UNDECODABLE or isinstance(node.value, Unread):
        return ""
    value = node.value
    if isinstance(value, list):
        text = "\\".join(str(item) for item in value).strip()
    else:
        text = "" if value is None else str(value).strip()
    return "" if text.upper() in NOTHING_VALUES else text


#: Keywords whose values identify the patient or the encounter when they recur in free text.
IDENTIFIER_KEYWORDS: Final = (
    "PatientID", "OtherPatientIDs", "IssuerOfPatientID", "AccessionNumber", "StudyID",
    "MedicalRecordLocator", "RequestedProcedureID", "PatientAddress", "PatientTelephoneNumbers",
    "InstitutionName", "InstitutionAddress", "StationName", "DeviceSerialNumber",
    "PatientBirthDate", "AdmissionID", "ServiceEpisodeID", "PerformedProcedureStepID",
    "ScheduledProcedureStepID", "FillerOrderNumberImagingServiceRequest",
    "PlacerOrderNumberImagingServiceRequest", "PersonAddress", "PersonTelephoneNumbers",
)
_MIN_TOKEN: Final = 3


def walk_values(nodes: Iterable[Node]) -> Iterator[Node]:
    """Every decoded non-sequence node at any depth."""
    for node in nodes:
        if node.items is not None:
            for item in node.items:
                yield from walk_values(item)
        elif not node.flags & UNDECODABLE and not isinstance(node.value, Unread):
            yield node


def collect_identifiers(body: Iterable[Node]) -> tuple[str, ...]:
    """Identifying strings found anywhere in a file: every person name (whole, per component
    group and per part), the values of :data:`IDENTIFIER_KEYWORDS` (whole and comma parts) and
    the birth date in common spellings; longest first. Each value of a multi-valued element is
    taken on its own."""
    found: set[str] = set()
    for node in walk_values(body):
        keyword = keyword_of(node.tag)
        if node.vr != "PN" and keyword not in _IDENTIFIER_SET:
            continue
        items = node.value if isinstance(node.value, list) else [node.value]
        for item in items:
            if item is None or isinstance(item, (bytes, bytearray)):
                continue
            text = str(item)
            if node.vr == "PN":
                found.update(name_spellings(text))
            elif keyword == "PatientBirthDate":
                found.update(birth_date_spellings(text))
            else:
                found.add(text.strip())
                found.update(part.strip() for part in text.split(","))
    tokens = {token.strip() for token in found if len(token.strip()) >= _MIN_TOKEN}
    return tuple(sorted(tokens, key=lambda token: (-len(token), token)))


_IDENTIFIER_SET: Final = frozenset(IDENTIFIER_KEYWORDS)


def name_spellings(name: str) -> list[str]:
    """A PN value and the ways its parts appear in text: the value whole, each component group
    (alphabetic, ideographic, phonetic) whole, with spaces, run together, and each part."""
    spellings = [name]
    for group in name.split("="):
        parts = [part for part in group.split("^") if part]
        spellings += [group, " ".join(parts), "".join(parts), *parts]
        spellings += [part for part in re.split(r"[ ,]+", " ".join(parts)) if part]
    return spellings


def birth_date_spellings(value: str) -> list[str]:
    """A DA birth date ``YYYYMMDD`` in the spellings people type in free text."""
    digits = value.strip()
    if not re.fullmatch(r"\d{8}", digits):
        return [digits] if digits else []
    year, month, day = digits[:4], digits[4:6], digits[6:]
    return [digits, f"{year}-{month}-{day}", f"{day}/{month}/{year}", f"{day}.{month}.{year}",
            f"{month}/{day}/{year}"]


@cache
def keyword_for(tag: int) -> str:
    """The keyword shown for an element: pydicom's, or ``PrivateCreator`` for a creator."""
    if is_private_creator(tag):
        return "PrivateCreator"
    return keyword_of(tag)
