"""``python -m deid scan`` and ``python -m deid apply``: headers and per-file effects.

Both stream their tables batch by batch (memory does not grow with the number of files), show
a progress bar on stderr with the rate and an estimate of the time left, and exit 0 when some
inputs cannot be read (they are rows of ``load_errors``); bad usage raises
:class:`~deid.commands.common.UsageError`, which the command line reports as one line. With
``--cluster`` the batches run on Dask and the tables are Parquet datasets. A scan into a folder
that holds an earlier scan of the same inputs reads only the files that changed.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path
from typing import TextIO

from deid.commands.cluster import add_cluster_argument, announce, cluster_of
from deid.commands.common import (
    UsageError,
    add_output_arguments,
    add_profiles_argument,
    add_secret_arguments,
    formats_of,
    profiles_from,
    secrets_from,
)
from deid.ingest import write_headers
from deid.ingest.runner import Progress, default_workers
from deid.ingest.tables import Written
from deid.outputs.effects import write_effects
from deid.transform.semantics import DEFAULT_WRITER, WriterIdentity

SCAN_HELP = "read the headers of DICOM files, folders and zip archives (headers, load_errors)"
APPLY_HELP = "apply profiles to DICOM files: what each does to every element (effects)"
_BAR_WIDTH = 30
_REDRAW_SECONDS = 0.2


def estimate(done: int, total: int, elapsed: float) -> str:
    """``1,234 files/s, about 2 min left`` from what is done so far ('' before any)."""
    if done <= 0 or elapsed <= 0:
        return ""
    rate = done / elapsed
    left = (total - done) / rate
    if done >= total:
        return f"{rate:,.0f} files/s, {duration(elapsed)}"
    if left < 0.5:
        return f"{rate:,.0f} files/s, under 1 s left"
    return f"{rate:,.0f} files/s, about {duration(left)} left"


def duration(seconds: float) -> str:
    """``42 s``, ``3 min 5 s``, ``2 h 10 min``."""
    whole = round(seconds)
    if whole < 60:
        return f"{max(whole, 1)} s" if seconds >= 0.5 else "under 1 s"
    minutes, rest = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {rest} s" if rest else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def progress_bar(stream: TextIO, label: str) -> Progress:
    """A progress callback drawing ``label [#####.....] done/total files, rate, time left``
    on ``stream``."""
    last = [0.0]
    started: list[float] = []
    width = [0]

    def draw(done: int, total: int) -> None:
        now = time.monotonic()
        if not started:
            started.append(now)
        if done < total and now - last[0] < _REDRAW_SECONDS:
            return
        last[0] = now
        filled = _BAR_WIDTH * done // total if total else _BAR_WIDTH
        bar = "#" * filled + "." * (_BAR_WIDTH - filled)
        rate = estimate(done, total, now - started[0])
        text = f"{label} [{bar}] {done:,}/{total:,} files" + (f", {rate}" if rate else "")
        stream.write("\r" + text.ljust(width[0]))
        width[0] = len(text)
        if done >= total:
            stream.write("\n")
        stream.flush()

    return draw


def _common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", metavar="PATH", nargs="+", type=Path,
                        help="DICOM files, folders (searched recursively) or zip archives; "
                             "never written to")
    add_output_arguments(parser)
    parser.add_argument("--include-values", action="store_true",
                        help="include element values (they can identify; left out by default)")
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help="worker processes (default: one per CPU; 1 reads in-process)")
    add_cluster_argument(parser)


def add_scan_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``scan``."""
    _common_arguments(parser)


def add_apply_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``apply``."""
    _common_arguments(parser)
    add_profiles_argument(parser)
    parser.add_argument("--write-dicom", type=Path, metavar="DIR", default=None,
                        help="also write de-identified copies to DIR/<profile id>/<relative "
                             "path> (refused inside an input folder; inputs are never touched)")
    parser.add_argument("--source-ae-title", metavar="TITLE", default=None,
                        help="the Source AE Title the copies' file meta names as their writer "
                             f"(default {DEFAULT_WRITER.source_ae_title}; 1 to 16 printable "
                             "characters, no backslash)")
    add_secret_arguments(parser, writes=True)


def _writer(args: argparse.Namespace) -> WriterIdentity:
    """The writer's identity in the copies' file meta (``--source-ae-title``)."""
    if args.source_ae_title is None:
        return DEFAULT_WRITER
    try:
        return dataclasses.replace(DEFAULT_WRITER, source_ae_title=args.source_ae_title)
    except ValueError as error:
        raise UsageError(f"--source-ae-title: {error}") from None


def _workers(args: argparse.Namespace) -> int | None:
    if args.workers is not None and args.workers < 1:
        raise UsageError("--workers must be at least 1")
    return int(args.workers) if args.workers is not None else None


def _label(command: str, workers: int | None) -> str:
    """The progress label, with the worker processes the run uses (``--workers``)."""
    count = default_workers() if workers is None else workers
    return f"{command} ({count} worker{'s' if count != 1 else ''})"


def _report(written: Written, what: str, stdout: TextIO) -> None:
    stdout.write(f"{what}: {written.files:,} inputs, {written.rows:,} rows, "
                 f"{written.load_errors:,} load_errors rows\n")
    if written.skipped:
        stdout.write(f"{written.skipped:,} inputs unchanged since the previous scan into this "
                     f"folder (same size and modification time): not read again, their rows "
                     f"kept; {written.files - written.skipped:,} read\n")
    elif written.full_reason:
        stdout.write(f"every input read again: {written.full_reason}\n")
    for path in written.paths:
        stdout.write(f"wrote {path}{'/' if path.suffix == '' else ''}\n")


def run_scan(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    """Write headers and load_errors (only the inputs that changed are read again)."""
    spec = cluster_of(args)
    formats = formats_of(args.format)
    if spec is not None:
        from deid.distributed.cluster import connect
        from deid.distributed.scan import scan_on_cluster

        announce(spec, stderr)
        with connect(spec) as client:
            written = scan_on_cluster(client, args.paths, args.out,
                                      include_values=args.include_values,
                                      progress=progress_bar(stderr, "scan"))
    else:
        written = write_headers(args.paths, args.out, include_values=args.include_values,
                                formats=formats, workers=_workers(args),
                                progress=progress_bar(stderr, _label("scan", _workers(args))))
    _report(written, "scan", stdout)
    return 0


def run_apply(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    """Write effects and load_errors (and de-identified copies when asked)."""
    spec = cluster_of(args)
    formats = formats_of(args.format)
    workers = _workers(args)
    profiles = profiles_from(args.profiles)
    writer = _writer(args)
    secrets = secrets_from(profiles, ephemeral=args.ephemeral_secret, stderr=stderr,
                           writes=True, require_env=args.require_env_secrets)
    if spec is not None:
        from deid.distributed.cluster import connect
        from deid.distributed.scan import apply_on_cluster

        announce(spec, stderr)
        with connect(spec) as client:
            written = apply_on_cluster(client, args.paths, profiles, args.out,
                                       secrets=secrets, include_values=args.include_values,
                                       write_dicom=args.write_dicom,
                                       progress=progress_bar(stderr, "apply"), writer=writer)
    else:
        written = write_effects(args.paths, profiles, args.out, secrets=secrets,
                                include_values=args.include_values, formats=formats,
                                workers=workers, progress=progress_bar(stderr,
                                                                       _label("apply", workers)),
                                write_dicom=args.write_dicom, writer=writer)
    _report(written, "apply " + ",".join(p.id for p in profiles), stdout)
    if args.write_dicom is not None:
        stdout.write(f"de-identified copies under {args.write_dicom}/<profile id>/\n")
    return 0
