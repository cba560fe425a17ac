"""What a scan read, so that a rescan of the same inputs into the same folder reads only what
changed.

A scan writes ``_scan_manifest.parquet`` next to its tables: one row per input file with its
size and modification time (nanoseconds) as they were when it was read, and the batch its rows
are in (in a dataset; -1 in a single file). A rescan compares each input with it: a file whose
size and time are unchanged is not read again (its rows are kept), anything else is read;
files that are gone lose their rows. The manifest also records whether values were included:
a rescan that asks otherwise reads everything. Zip members are compared by their declared size
and their archive's time; uploaded files are always read. The leading underscore keeps the
manifest out of what Parquet readers take for the dataset.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from deid.ingest.sources import Source

MANIFEST = "_scan_manifest.parquet"
#: Where a table's rows are: one Parquet file per table, or a dataset folder per table.
FILES, DATASET = "files", "dataset"
_SCHEMA = pa.schema([("file", pa.string()), ("size", pa.int64()), ("mtime_ns", pa.int64()),
                     ("batch", pa.int64())])
NO_BATCH = -1


Stamp = tuple[int, int]  # size, modification time in ns


def stamp_of(source: Source) -> Stamp | None:
    """A source's size and modification time now (``None`` when it cannot be told: an
    upload, or a file that cannot be stat'ed)."""
    if source.path is None:
        return None
    try:
        info = os.stat(source.path)
    except OSError:
        return None
    size = source.declared_size if source.member is not None else info.st_size
    return size, info.st_mtime_ns


@dataclass
class Manifest:
    """The inputs of a scan: ``file -> (size, mtime_ns, batch)``, and how it was written."""

    entries: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    include_values: bool = False
    layout: str = FILES

    def write(self, out: str | os.PathLike[str]) -> Path:
        """Write the manifest into ``out`` (atomically)."""
        names = sorted(self.entries)
        columns = [names, [self.entries[n][0] for n in names],
                   [self.entries[n][1] for n in names], [self.entries[n][2] for n in names]]
        table = pa.Table.from_arrays([pa.array(c, t.type) for c, t in zip(columns, _SCHEMA,
                                                                            strict=True)],
                                     schema=_SCHEMA.with_metadata({
                                         "include_values": str(self.include_values).lower(),
                                         "layout": self.layout}))
        path = Path(out) / MANIFEST
        hidden = path.with_name(f".{MANIFEST}.writing")
        pq.write_table(table, hidden)
        os.replace(hidden, path)
        return path

    @classmethod
    def read(cls, out: str | os.PathLike[str]) -> Manifest | None:
        """The manifest in ``out``, or ``None`` (none, or unreadable: then everything is read)."""
        path = Path(out) / MANIFEST
        try:
            table = pq.read_table(path)
        except (OSError, pa.ArrowInvalid):
            return None
        meta = {k.decode(): v.decode() for k, v in (table.schema.metadata or {}).items()}
        columns = table.to_pydict()
        entries = {name: (int(size), int(mtime), int(batch)) for name, size, mtime, batch in
                   zip(columns["file"], columns["size"], columns["mtime_ns"], columns["batch"],
                       strict=True)}
        return cls(entries, meta.get("include_values") == "true", meta.get("layout", FILES))


@dataclass
class Rescan:
    """Which inputs to read and which to keep from the previous scan."""

    read: list[Source]
    unchanged: list[Source]
    stamps: dict[str, Stamp | None]
    previous: Manifest | None
    #: Why everything is read although a manifest exists ('' otherwise).
    reason: str = ""

    @property
    def removed(self) -> set[str]:
        """Files the previous scan read that are no longer among the inputs."""
        if self.previous is None:
            return set()
        return set(self.previous.entries) - set(self.stamps)

    @property
    def dirty_batches(self) -> set[int]:
        """Batches of the previous scan that hold rows of a changed or removed file."""
        if self.previous is None:
            return set()
        gone = self.removed | {source.name for source in self.read}
        return {self.previous.entries[name][2] for name in gone
                if name in self.previous.entries}


def plan_rescan(out: str | os.PathLike[str], sources: Sequence[Source], *,
                include_values: bool, layout: str, kept_tables: Iterable[Path] = ()) -> Rescan:
    """Compare ``sources`` with the manifest in ``out``: what must be read.

    ``kept_tables`` are the files or folders the kept rows come from: when one is missing the
    previous scan cannot be reused and everything is read.
    """
    stamps = {source.name: stamp_of(source) for source in sources}
    previous = Manifest.read(out)
    reason = ""
    if previous is not None:
        if previous.include_values != include_values:
            reason = ("the previous scan was made " + ("with" if previous.include_values
                                                       else "without") + " values")
        elif previous.layout != layout:
            reason = ("the previous scan was written " + ("as a dataset (--cluster)"
                                                          if previous.layout == DATASET
                                                          else "without --cluster"))
        elif not all(path.exists() for path in kept_tables):
            reason = "the previous scan's tables are missing"
    if previous is None or reason:
        return Rescan(list(sources), [], stamps, None, reason)
    read, unchanged = [], []
    for source in sources:
        before = previous.entries.get(source.name)
        stamp = stamps[source.name]
        if before is not None and stamp is not None and (before[0], before[1]) == stamp:
            unchanged.append(source)
        else:
            read.append(source)
    return Rescan(read, unchanged, stamps, previous)
