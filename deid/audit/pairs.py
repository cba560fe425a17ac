"""Pair each exported file with its original: by relative path, or by a two-column mapping
(the log CTP and most pipelines can write: original and exported SOP Instance UIDs or paths).

Files in one folder and not the other are listed (``paired_by = unpaired``), never skipped; two
exports that claim one original, and mapping rows that name no file, are load errors.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from deid.errors import DeidError
from deid.ingest.reader import ArchiveCache, planning_trees
from deid.ingest.runner import ErrorRow
from deid.ingest.sources import IngestLimits, Source, collect_sources
from deid.ingest.tree import Node

PAIR_MODES = ("path", "uid-map")
_SOP_INSTANCE_UID = 0x00080018
_MAPPING_COLUMNS = ("original", "exported")


class PairingError(DeidError):
    """The pairing cannot be made at all (a mapping file that cannot be read)."""


@dataclass(frozen=True)
class Pair:
    """An original and the export made from it (either may be missing: unpaired)."""

    original: Source | None
    exported: Source | None
    paired_by: str


@dataclass
class Pairing:
    """The pairs, and the rows for load_errors (unreadable files, bad mapping rows)."""

    pairs: list[Pair]
    errors: list[ErrorRow]


#: ``uids(sources, wanted) -> {source name: SOP Instance UID}`` for the sources whose UID is
#: among ``wanted`` (the names a mapping uses); reads the files (elsewhere: on a cluster).
UidReader = Callable[[Sequence[Source], set[str]], dict[str, str]]


def pair_files(originals: Iterable[str | os.PathLike[str]],
               exported: Iterable[str | os.PathLike[str]], *, mode: str = "path",
               mapping: str | os.PathLike[str] | None = None,
               limits: IngestLimits | None = None, uids: UidReader | None = None) -> Pairing:
    """Pair the files under ``originals`` with those under ``exported`` (``uids`` reads the
    SOP Instance UIDs a uid-map names; by default here, file by file)."""
    if mode not in PAIR_MODES:
        raise PairingError(f"unknown pairing {mode!r}: use one of {', '.join(PAIR_MODES)}")
    if mode == "uid-map" and mapping is None:
        raise PairingError("pairing by uid-map needs the mapping file (original,exported)")
    limits = limits or IngestLimits()
    left, left_problems = collect_sources(originals, limits=limits)
    right, right_problems = collect_sources(exported, limits=limits)
    errors: list[ErrorRow] = [(p.name, p.kind, p.message, "error")
                              for p in (*left_problems, *right_problems)]
    if mode == "path":
        pairs = _by_path(left, right)
    else:
        assert mapping is not None
        pairs = _by_mapping(left, right, _read_mapping(Path(mapping)), limits, errors,
                            uids or _read_uids(limits))
    return Pairing(pairs, errors)


def _by_path(left: Sequence[Source], right: Sequence[Source]) -> list[Pair]:
    by_relative = {_key(source.relative): source for source in left}
    pairs = []
    used = set()
    for exported in right:
        original = by_relative.get(_key(exported.relative))
        if original is None:
            pairs.append(Pair(None, exported, "unpaired"))
        else:
            used.add(_key(original.relative))
            pairs.append(Pair(original, exported, "path"))
    pairs += [Pair(source, None, "unpaired") for source in left
              if _key(source.relative) not in used]
    return pairs


def _key(relative: str) -> str:
    return os.path.normpath(relative).replace(os.sep, "/")


def _read_mapping(path: Path) -> list[tuple[int, str, str]]:
    """(line, original, exported) rows of a mapping CSV with columns original,exported."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            columns = tuple(reader.fieldnames or ())
            if not set(_MAPPING_COLUMNS) <= set(columns):
                raise PairingError(f"{path}: the mapping needs the columns original,exported "
                                   f"(found {','.join(columns) or 'none'})")
            return [(number, str(row["original"] or "").strip(),
                     str(row["exported"] or "").strip())
                    for number, row in enumerate(reader, start=2)]
    except OSError as error:
        raise PairingError(f"{path}: cannot read the mapping ({error.strerror or error})") \
            from error
    except (UnicodeDecodeError, csv.Error) as error:
        raise PairingError(f"{path}: not a CSV mapping ({error})") from error


def _by_mapping(left: Sequence[Source], right: Sequence[Source],
                rows: Sequence[tuple[int, str, str]], limits: IngestLimits,
                errors: list[ErrorRow], uids: UidReader) -> list[Pair]:
    """Pairs named by the mapping; its names are SOP Instance UIDs or relative paths."""
    wanted = {name for _, original, exported in rows for name in (original, exported)}
    left_index, right_index = _index(left, uids, wanted), _index(right, uids, wanted)
    pairs: list[Pair] = []
    claimed: dict[str, str] = {}
    paired_left: set[str] = set()
    paired_right: set[str] = set()
    for line, original_name, exported_name in rows:
        original = left_index.get(original_name)
        exported = right_index.get(exported_name)
        if original is None or exported is None:
            missing = original_name if original is None else exported_name
            errors.append((f"mapping line {line}", "unknown_name",
                           f"the mapping names {missing!r}, which is in neither folder as a "
                           "relative path or a SOP Instance UID", "error"))
            continue
        if original.name in claimed and claimed[original.name] != exported.name:
            errors.append((exported.name, "claimed_twice",
                           f"mapping line {line}: this export and {claimed[original.name]} "
                           f"both claim the original {original.name}", "error"))
            continue
        claimed[original.name] = exported.name
        paired_left.add(original.name)
        paired_right.add(exported.name)
        pairs.append(Pair(original, exported, "uid-map"))
    pairs += [Pair(None, source, "unpaired") for source in right
              if source.name not in paired_right]
    pairs += [Pair(source, None, "unpaired") for source in left
              if source.name not in paired_left]
    return pairs


def _index(sources: Sequence[Source], uids: UidReader, wanted: set[str]) -> dict[str, Source]:
    """Each source by its relative path and by its SOP Instance UID (when readable and named
    by the mapping)."""
    index: dict[str, Source] = {_key(source.relative): source for source in sources}
    by_name = {source.name: source for source in sources}
    found = uids(sources, wanted)
    for source in sources:
        uid = found.get(source.name)
        if uid:
            index.setdefault(uid, by_name[source.name])
    return index


def _read_uids(limits: IngestLimits) -> UidReader:
    def read(sources: Sequence[Source], wanted: set[str]) -> dict[str, str]:
        return sop_instance_uids(sources, wanted, limits)

    return read


def sop_instance_uids(sources: Sequence[Source], wanted: set[str],
                      limits: IngestLimits) -> dict[str, str]:
    """``{source name: SOP Instance UID}`` of the readable sources whose UID is in ``wanted``
    (an unreadable file is reported when it is audited)."""
    found: dict[str, str] = {}
    archives = ArchiveCache()
    for source in sources:
        try:
            _, body = planning_trees(source, limits, archives)
        except Exception:  # noqa: BLE001 - an unreadable file is reported when it is audited
            continue
        uid = _sop_instance_uid(body)
        if uid and uid in wanted:
            found[source.name] = uid
    return found


def _sop_instance_uid(body: Sequence[Node]) -> str:
    for node in body:
        if node.tag == _SOP_INSTANCE_UID and isinstance(node.value, str):
            return node.value.strip()
    return ""
