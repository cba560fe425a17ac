"""Apply a profile to a pydicom data set: a new data set plus a record of every element.

The engine carries out the file's plan (:mod:`deid.transform.plan`): it builds the element tree
of the data set, plans every element's outcome once, and writes a new data set from it. Kept
elements are copied from the input, which is never modified; new values are new elements; the
markers and the writer's file meta are added. Values that cannot be decoded or transformed are
removed (fail closed) and the record says why.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pydicom
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.errors import InvalidDicomError
from pydicom.sequence import Sequence as DicomSequence
from pydicom.tag import BaseTag
from pydicom.uid import ExplicitVRLittleEndian

from deid.errors import DeidError, DicomInputError
from deid.ingest.decode import tag_text
from deid.ingest.tree import UNDECODABLE, build_tree
from deid.policy.actions import Action, Effect
from deid.policy.profile_model import Profile
from deid.secret_store import Secrets
from deid.transform.outcome import KEPT, Added, Outcome
from deid.transform.plan import FilePlan, Planner
from deid.transform.semantics import DEFAULT_WRITER, WriterIdentity, keyword_for


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
    plan: FilePlan | None = None


def apply_profile(dataset: Dataset, profile: Profile, *, secrets: Secrets,
                  writer: WriterIdentity = DEFAULT_WRITER) -> DeidResult:
    """Apply ``profile`` to ``dataset`` and return a new data set and the per-element record.

    Parameters
    ----------
    dataset
        A pydicom data set (e.g. from ``pydicom.dcmread``); it is not modified.
    profile
        A profile from :func:`deid.load_profile`.
    secrets
        Secrets for keyed hashes, UIDs and date shifts (:class:`deid.Secrets`).
    writer
        The Source AE Title and implementation identity written into the file meta.
    """
    if not isinstance(dataset, Dataset):
        raise DeidError(f"apply_profile needs a pydicom Dataset, not {type(dataset).__name__}")
    meta, body = build_tree(dataset, read_deferred=True)
    plan = Planner(profile, secrets, writer=writer).plan(meta, body)
    return result_of(plan, dataset)


def result_of(plan: FilePlan, dataset: Dataset) -> DeidResult:
    """The engine's result for a plan of ``dataset``: the new data set and the record."""
    output = build_dataset(plan.body, dataset, plan.added)
    output.file_meta = build_meta(plan, getattr(dataset, "file_meta", None) or Dataset(),
                                  output)
    _copy_encoding(dataset, output)
    outcomes = list(plan.outcomes())
    effects = tuple(element_effect(outcome) for outcome in outcomes)
    warnings = tuple(f"{outcome.path}: {outcome.note}" for outcome in outcomes
                     if "could not" in outcome.note)
    added = tuple(keyword_for(item.tag) for item in plan.added)
    return DeidResult(output, effects, added, warnings, plan)


def element_effect(outcome: Outcome) -> ElementEffect:
    """An outcome as the engine's per-element record."""
    node, decision = outcome.node, outcome.decision
    undecodable = bool(node.flags & UNDECODABLE)
    return ElementEffect(
        outcome.path, tag_text(node.tag), "" if undecodable else keyword_for(node.tag),
        node.vr.split(" or ")[0],
        outcome.depth, node.creator, outcome.action,
        Effect.MODIFY if outcome.modified else Effect.KEEP, outcome.before, outcome.after,
        decision.reason, decision.source, decision.origin, decision.explicit, outcome.note)


def build_dataset(outcomes: Sequence[Outcome], source: Dataset,
                  added: Iterable[Added] = ()) -> Dataset:
    """A new data set written from the outcomes of ``source``'s elements, plus ``added``."""
    output = Dataset()
    for outcome in outcomes:
        if outcome.removed:
            continue
        tag = outcome.tag
        if outcome.items is not None:
            output.add(_sequence(outcome, source))
        elif outcome.value is KEPT:
            output.add(_kept(source, tag, outcome))
        else:
            output.add(DataElement(tag, outcome.vr.split(" or ")[0], outcome.value))
    for element in added:
        output.add(_added(element))
    return output


def _sequence(outcome: Outcome, source: Dataset) -> DataElement:
    originals = source[outcome.tag].value or [] if outcome.items else []
    items = [build_dataset(item, originals[number])
             for number, item in enumerate(outcome.items or [])]
    return DataElement(outcome.tag, "SQ", DicomSequence(items))


def _kept(source: Dataset, tag: int, outcome: Outcome) -> DataElement:
    """An independent copy of a kept element (raw bytes as VR UN when undecodable)."""
    if outcome.node.flags & UNDECODABLE:
        raw = source.get_item(BaseTag(tag))
        value = raw.value if isinstance(raw, RawDataElement) else b""
        element = DataElement(tag, "UN", value)
        element.VR = "UN"  # pydicom would restore the dictionary VR the bytes do not fit
        element.value = value
        return element
    return copy.deepcopy(source[tag])


def _added(element: Added) -> DataElement:
    if element.vr == "SQ":
        items = []
        for item in element.value:
            dataset = Dataset()
            for child in item:
                dataset.add(_added(child))
            items.append(dataset)
        return DataElement(element.tag, "SQ", DicomSequence(items))
    return DataElement(element.tag, element.vr, element.value)


def build_meta(plan: FilePlan, source_meta: Dataset, output: Dataset) -> FileMetaDataset:
    """The output's file meta from the plan (PS3.10 7.1)."""
    meta = FileMetaDataset()
    for element in build_dataset(plan.meta, source_meta, plan.added_meta):
        if element.tag != 0x00020000:
            meta.add(element)
    if "MediaStorageSOPClassUID" not in meta and "SOPClassUID" in output:
        meta.MediaStorageSOPClassUID = output.SOPClassUID
    if "TransferSyntaxUID" not in meta:
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
    return meta


def _copy_encoding(source: Dataset, target: Dataset) -> None:
    for attribute in ("is_little_endian", "is_implicit_VR"):
        value = getattr(source, "_" + attribute, None)
        if value is not None:
            setattr(target, "_" + attribute, value)


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
