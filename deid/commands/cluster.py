"""``--cluster ADDRESS|local[:N]``: run a command's batches on Dask instead of the local pool."""

from __future__ import annotations

import argparse
from typing import TextIO

from deid.commands.common import UsageError
from deid.distributed.cluster import ClusterError, ClusterSpec, parse_cluster

HELP = ("run on Dask: the address of a running scheduler (tcp://HOST:8786) or local[:N] to "
        "start N worker processes here (default one per CPU); tables are then written as "
        "partitioned Parquet datasets, one folder per table")


def add_cluster_argument(parser: argparse.ArgumentParser) -> None:
    """``--cluster ADDRESS|local[:N]``."""
    parser.add_argument("--cluster", metavar="ADDRESS|local[:N]", default=None, help=HELP)


def cluster_of(args: argparse.Namespace) -> ClusterSpec | None:
    """The cluster asked for, or ``None`` (the local worker pool); checks ``--format``: a
    cluster writes Parquet datasets only."""
    text = getattr(args, "cluster", None)
    if text is None:
        return None
    try:
        spec = parse_cluster(text)
    except ClusterError as error:
        raise UsageError(str(error)) from None
    if args.format is not None and "csv" in args.format:
        raise UsageError("--cluster writes Parquet datasets (one folder per table): leave out "
                         "--format csv, or run without --cluster for CSV files")
    if getattr(args, "workers", None) is not None:
        raise UsageError("--workers is for the local pool; with --cluster the cluster's "
                         "workers run the batches (local:N starts N)")
    return spec


def announce(spec: ClusterSpec, stderr: TextIO) -> None:
    """Say where the work runs."""
    stderr.write(f"deid: running on a {spec.describe()}\n")
