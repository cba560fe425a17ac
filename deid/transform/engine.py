"""Apply a profile to a pydicom data set: a new data set plus a record of every element.

The input is never modified: the output is built element by element. Nested sequences are
walked at any depth, private blocks by creator, repeating groups by pattern, and the file meta
follows the data set (MediaStorageSOPInstanceUID becomes the new SOPInstanceUID). Values that
cannot be decoded or transformed are removed (fail closed) and the record says why.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path

import pydicom
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.errors import InvalidDicomError
from pydicom.sequence import Sequence
from pydicom.tag import BaseTag
from pydicom.uid import ExplicitVRLittleEndian

from deid.errors import DeidError, DicomInputError
from deid.policy.actions import DATE_VRS, TEXT_VRS, Action, Effect, effect_of
from deid.policy.profile_model import Profile
from deid.policy.resolver import Decision, Resolver, resolver_for
from deid.secret_store import Secrets
from deid.tags import format_tag, is_private_creator, is_private_group, private_creator_tag
from deid.transform.clean import collect_identifiers
from deid.transform.dispatch import REMOVE_ELEMENT, TransformState, transform_value
from deid.transform.markers import add_markers

#: File meta elements a readable file needs; they are always kept.
_REQUIRED_META = frozenset({0x00020000, 0x00020001, 0x00020002, 0x00020010, 0x00020012,
                            0x00020013})
_MEDIA_SOP_INSTANCE = 0x00020003
_SOP_INSTANCE = 0x00080018
#: Kept whatever the profile says: without it the remaining text cannot be decoded.
_SPECIFIC_CHARACTER_SET = 0x00080005


@dataclass(frozen=True, slots=True)
class ElementEffect:
    """What a profile did to one element of one data set."""

    path: str
    tag: str
    keyword: str
    vr: str
    depth: int
    private_creator: str | None
    action: Action
    effect: Effect
    before: str | None
    after: str | None
    reason: str
    source: str
    origin: str
    explicit: bool
    note: str = ""


@dataclass(frozen=True)
class DeidResult:
    """The de-identified data set, what happened to each element, and what was added."""

    dataset: Dataset
    effects: tuple[ElementEffect, ...]
    added: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


@dataclass
class _Walk:
    """State of one application of a profile to one data set."""

    profile: Profile
    state: TransformState
    resolver: Resolver
    effects: list[ElementEffect] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def apply_profile(dataset: Dataset, profile: Profile, *, secrets: Secrets) -> DeidResult:
    """Apply ``profile`` to ``dataset`` and return a new data set and the per-element record.

    Parameters
    ----------
    dataset
        A pydicom data set (e.g. from ``pydicom.dcmread``); it is not modified.
    profile
        A profile from :func:`deid.load_profile`.
    secrets
        Secrets for keyed hashes, UIDs and date shifts (:class:`deid.Secrets`).
    """
    if not isinstance(dataset, Dataset):
        raise DeidError(f"apply_profile needs a pydicom Dataset, not {type(dataset).__name__}")
    walk = _Walk(profile, TransformState(
        secrets=secrets,
        patient_key=_patient_key(dataset),
        identifiers=collect_identifiers(dataset),
        params=profile.params,
    ), resolver_for(profile))
    output = Dataset()
    _walk_dataset(dataset, output, walk, prefix="", depth=0, cleaning=False)
    output.file_meta = _file_meta(dataset, output, walk)
    _copy_encoding(dataset, output)
    added = add_markers(output, profile, walk.effects) if _modified(walk.effects) else ()
    effects = tuple(sorted(walk.effects, key=lambda effect: _path_key(effect.path)))
    return DeidResult(output, effects, added, tuple(walk.warnings))


def _modified(effects: list[ElementEffect]) -> bool:
    return any(effect.effect is Effect.MODIFY for effect in effects)


def _path_key(path: str) -> tuple[tuple[int, int], ...]:
    parts = []
    for part in path.split("."):
        tag_text, _, index = part.partition("[")
        parts.append((int(tag_text[1:5] + tag_text[6:10], 16), int(index.rstrip("]") or -1)))
    return tuple(parts)


def _patient_key(dataset: Dataset) -> str:
    for keyword in ("PatientID", "PatientName"):
        try:
            value = dataset.get(keyword)
        except Exception:  # noqa: BLE001 - an undecodable value is not a usable key
            continue
        if value:
            return str(value)
    return ""


def _copy_encoding(source: Dataset, target: Dataset) -> None:
    for attribute in ("is_little_endian", "is_implicit_VR"):
        value = getattr(source, "_" + attribute, None)
        if value is not None:
            setattr(target, "_" + attribute, value)


def _walk_dataset(source: Dataset, target: Dataset, walk: _Walk, *, prefix: str, depth: int,
                  cleaning: bool) -> None:
    """Apply the profile to every element of ``source``, writing results into ``target``."""
    tags = sorted(source.keys())
    creators = _creators(source, tags)
    decisions = {tag: _decide(source, tag, creators, walk, cleaning) for tag in tags
                 if not is_private_creator(tag)}
    kept_blocks = {private_creator_tag(tag) for tag, decision in decisions.items()
                   if decision is not None and decision.action is not Action.REMOVE
                   and is_private_group(tag)}
    for tag in tags:
        path = f"{prefix}{format_tag(tag)}"
        if is_private_creator(tag):
            _private_creator(source, target, tag, tag in kept_blocks, walk, path, depth)
            continue
        decision = decisions[tag]
        _apply(source, target, tag, decision, walk, path, depth, creators.get(tag), cleaning)


def _creators(source: Dataset, tags: list[BaseTag]) -> dict[int, str]:
    """The private creator of every private element of this level."""
    names: dict[int, str] = {}
    for tag in tags:
        if is_private_creator(tag):
            try:
                names[tag] = str(source[tag].value).strip()
            except Exception:  # noqa: BLE001 - an unreadable creator leaves its block unnamed
                names[tag] = ""
    creators: dict[int, str] = {}
    for tag in tags:
        creator_tag = private_creator_tag(tag)
        if creator_tag is not None and not is_private_creator(tag):
            creators[tag] = names.get(creator_tag, "")
    return creators


def _element_vr(source: Dataset, tag: int) -> str:
    raw = source.get_item(BaseTag(tag))
    vr = getattr(raw, "VR", None)
    if vr:
        return str(vr)
    try:
        return str(source[tag].VR)
    except Exception:  # noqa: BLE001
        return "UN"


def _decide(source: Dataset, tag: int, creators: dict[int, str], walk: _Walk,
            cleaning: bool) -> Decision | None:
    if (tag & 0xFFFF) == 0:
        return None  # group lengths are dropped: removing elements makes them wrong
    vr = _element_vr(source, tag)
    decision = walk.resolver.decide(tag, vr, creators.get(tag))
    if cleaning and not decision.explicit and (vr in TEXT_VRS or vr in DATE_VRS):
        return Decision(Action.CLEAN, decision.params,
                        "Inside a sequence the profile cleans: text and dates are cleaned.",
                        decision.source, decision.origin, False)
    if tag == _SPECIFIC_CHARACTER_SET and decision.action is Action.REMOVE:
        return Decision(Action.KEEP, decision.params,
                        "Kept: needed to decode the text that remains.", decision.source,
                        "required", False)
    return decision


def _private_creator(source: Dataset, target: Dataset, tag: int, kept: bool, walk: _Walk,
                     path: str, depth: int) -> None:
    element = _read(source, tag)
    value = _display(element)
    if kept and element is not None:
        target.add(_copy_element(element))
        reason = "Private creator of a block with elements kept."
    else:
        reason = "Private creator of a block with no element kept."
    action = Action.KEEP if kept else Action.REMOVE
    walk.effects.append(ElementEffect(
        path, format_tag(tag), "PrivateCreator", "LO", depth, value, action, effect_of(action),
        value, value if kept else None, reason, "private block", "private block", False))


def _read(source: Dataset, tag: int) -> DataElement | None:
    try:
        return source[tag]
    except Exception:  # noqa: BLE001 - reported by the caller as an undecodable value
        return None


def _apply(source: Dataset, target: Dataset, tag: int, decision: Decision | None, walk: _Walk,
           path: str, depth: int, creator: str | None, cleaning: bool) -> None:
    element = _read(source, tag)
    raw = source.get_item(BaseTag(tag))
    vr = (element.VR if element is not None else _element_vr(source, tag)).split(" or ")[0]
    keyword = (element.keyword if element is not None else "") or ""
    before = _display(element) if element is not None else "<undecodable value>"
    if decision is None:
        _record(walk, path, tag, keyword, vr, depth, creator, Action.REMOVE, before, None,
                "Group length dropped: it would be wrong after de-identification.",
                "DICOM PS3.5 7.2 (group length is optional)", "group length", False)
        return
    if element is None:
        _undecodable(target, tag, raw, decision, walk, path, vr, depth, creator)
        return
    if vr == "SQ":
        _apply_sequence(element, target, decision, walk, path, depth, creator, cleaning)
        return
    try:
        new_element = _new_element(element, tag, vr, decision, walk)
    except ValueError as error:
        _fail_closed(walk, path, tag, keyword, vr, depth, creator, decision, before, str(error))
        return
    after: str | None = None
    if new_element is not None:
        target.add(new_element)
        after = _display(new_element)
    _record(walk, path, tag, keyword, vr, depth, creator, decision.action, before, after,
            decision.reason, decision.source, decision.origin, decision.explicit)


def _new_element(element: DataElement, tag: int, vr: str, decision: Decision,
                 walk: _Walk) -> DataElement | None:
    """The element after the decision's action (a copy when kept), or None when removed."""
    if decision.action is Action.KEEP:
        return _copy_element(element)
    new_value = transform_value(decision.action, decision.params, element, walk.state)
    return None if new_value is REMOVE_ELEMENT else DataElement(tag, vr, new_value)


def _undecodable(target: Dataset, tag: int, raw: RawDataElement | DataElement,
                 decision: Decision, walk: _Walk, path: str, vr: str, depth: int,
                 creator: str | None) -> None:
    """Keep a value pydicom cannot decode only when the profile keeps it; else remove it."""
    keep = decision.action is Action.KEEP and isinstance(raw, RawDataElement)
    if keep:
        element = DataElement(tag, "UN", raw.value)
        element.VR = "UN"  # pydicom would restore the dictionary VR the bytes do not fit
        element.value = raw.value
        target.add(element)
    note = "value could not be decoded" + ("; kept as raw bytes (VR UN)" if keep
                                           else "; removed")
    walk.warnings.append(f"{path}: {note}")
    action = Action.KEEP if keep else Action.REMOVE
    walk.effects.append(ElementEffect(
        path, format_tag(tag), "", vr, depth, creator, action, effect_of(action),
        "<undecodable value>", "<undecodable value>" if keep else None, decision.reason,
        decision.source, decision.origin, decision.explicit, note))


def _fail_closed(walk: _Walk, path: str, tag: int, keyword: str, vr: str, depth: int,
                 creator: str | None, decision: Decision, before: str | None,
                 problem: str) -> None:
    note = f"{decision.action.value} could not be applied ({problem}); element removed"
    walk.warnings.append(f"{path}: {note}")
    walk.effects.append(ElementEffect(
        path, format_tag(tag), keyword, vr, depth, creator, Action.REMOVE, Effect.MODIFY,
        before, None, decision.reason, decision.source, decision.origin, decision.explicit,
        note))


def _apply_sequence(element: DataElement, target: Dataset, decision: Decision, walk: _Walk,
                    path: str, depth: int, creator: str | None, cleaning: bool) -> None:
    """Sequences: remove, empty (no items), dummy (one empty item), or recurse into items
    (keep, clean, uid: the profile applies inside; clean also cleans unlisted text)."""
    action = decision.action
    tag = int(element.tag)
    items: list[Dataset] | None
    if action is Action.REMOVE:
        items = None
    elif action is Action.EMPTY:
        items = []
    elif action is Action.DUMMY:
        items = [Dataset()]
    elif action in (Action.KEEP, Action.CLEAN, Action.UID):
        items = []
        for index, item in enumerate(element.value or []):
            new_item = Dataset()
            _walk_dataset(item, new_item, walk, prefix=f"{path}[{index}].", depth=depth + 1,
                          cleaning=cleaning or action is Action.CLEAN)
            items.append(new_item)
    else:
        _fail_closed(walk, path, tag, element.keyword, "SQ", depth, creator, decision,
                     _display(element), "not valid for a sequence")
        return
    if items is not None:
        target.add(DataElement(tag, "SQ", Sequence(items)))
    after = None if items is None else f"<{len(items)} item(s)>"
    _record(walk, path, tag, element.keyword, "SQ", depth, creator, action, _display(element),
            after, decision.reason, decision.source, decision.origin, decision.explicit)


def _record(walk: _Walk, path: str, tag: int, keyword: str, vr: str, depth: int,
            creator: str | None, action: Action, before: str | None, after: str | None,
            reason: str, source: str, origin: str, explicit: bool) -> None:
    walk.effects.append(ElementEffect(path, format_tag(tag), keyword, vr, depth, creator,
                                      action, effect_of(action), before, after, reason, source,
                                      origin, explicit))


def _file_meta(source: Dataset, output: Dataset, walk: _Walk) -> FileMetaDataset:
    """The output's file meta: required elements kept, the rest by the profile's rules, and
    MediaStorageSOPInstanceUID set to the new SOPInstanceUID."""
    meta = FileMetaDataset()
    source_meta = getattr(source, "file_meta", None) or Dataset()
    for tag in sorted(source_meta.keys()):
        path = format_tag(tag)
        element = _read(source_meta, tag)
        if element is None or tag == _MEDIA_SOP_INSTANCE:
            continue
        if tag in _REQUIRED_META:
            if tag != 0x00020000:
                meta.add(_copy_element(element))
            continue
        decision = walk.resolver.decide(tag, element.VR, None)
        _apply(source_meta, meta, tag, decision, walk, path, 0, None, False)
    _media_storage_uid(source_meta, output, meta, walk)
    if "MediaStorageSOPClassUID" not in meta and "SOPClassUID" in output:
        meta.MediaStorageSOPClassUID = output.SOPClassUID
    if "TransferSyntaxUID" not in meta:
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
    return meta


def _media_storage_uid(source_meta: Dataset, output: Dataset, meta: FileMetaDataset,
                       walk: _Walk) -> None:
    original = source_meta.get("MediaStorageSOPInstanceUID")
    new_value = output.get("SOPInstanceUID")
    if new_value is None and original is not None:
        element = source_meta[_MEDIA_SOP_INSTANCE]
        new_value = transform_value(Action.UID, {}, element, walk.state)
    if new_value is None:
        return
    meta.MediaStorageSOPInstanceUID = new_value
    if original is not None:
        action = Action.KEEP if str(original) == str(new_value) else Action.UID
        _record(walk, format_tag(_MEDIA_SOP_INSTANCE), _MEDIA_SOP_INSTANCE,
                "MediaStorageSOPInstanceUID", "UI", 0, None, action, str(original),
                str(new_value), "Follows SOPInstanceUID (PS3.10 file meta).",
                "DICOM PS3.10 7.1", "file meta", True)


def _copy_element(element: DataElement) -> DataElement:
    """An independent copy (the output never shares a value with the input)."""
    return copy.deepcopy(element)


def _display(element: DataElement | None, limit: int = 200) -> str | None:
    """A short, printable form of an element's value for the record."""
    if element is None:
        return None
    value = element.value
    if element.VR == "SQ":
        return f"<{len(value or [])} item(s)>"
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    if value is None:
        return ""
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        text = "\\".join(str(item) for item in value)
    else:
        text = str(value)
    return text if len(text) <= limit else text[:limit] + "…"


def read_dataset(path: str | Path) -> Dataset:
    """Read a DICOM file (large values deferred) or raise :class:`DicomInputError`."""
    try:
        dataset = pydicom.dcmread(path, defer_size=1024 * 1024)
    except FileNotFoundError as error:
        raise DicomInputError(path, "no such file") from error
    except IsADirectoryError as error:
        raise DicomInputError(path, "is a folder, not a file") from error
    except InvalidDicomError as error:
        raise DicomInputError(path, f"not a DICOM file ({error})") from error
    except Exception as error:  # pydicom raises many kinds on corrupt input
        raise DicomInputError(path, f"cannot read the DICOM file ({type(error).__name__}: "
                              f"{error})") from error
    if len(dataset) == 0:
        raise DicomInputError(path, "cannot read the DICOM file: it holds no data elements "
                              "(truncated or empty)")
    return dataset
