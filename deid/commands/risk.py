"""``python -m deid risk``: residual-risk findings, k-anonymity and Aryanto-50 coverage."""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TextIO

from deid.cli_ingest import progress_bar
from deid.commands.cluster import add_cluster_argument, announce, cluster_of
from deid.commands.common import (
    add_output_arguments,
    add_profiles_argument,
    add_secret_arguments,
    formats_of,
    profiles_from,
    secrets_from,
    write,
)
from deid.distributed.cluster import ClusterSpec
from deid.policy.profile_model import Profile
from deid.risk.kanon import DEFAULT_K, DEFAULT_QI_SETS, parse_qi_set
from deid.risk.report import assess_paths
from deid.secret_store import Secrets

HELP = "residual re-identification risk after each profile"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``risk``."""
    parser.add_argument("paths", metavar="PATH", nargs="+", type=Path,
                        help="DICOM files, folders (searched recursively) or zip archives")
    add_profiles_argument(parser)
    parser.add_argument("--k", type=int, default=DEFAULT_K,
                        help=f"k-anonymity threshold (default {DEFAULT_K})")
    parser.add_argument("--qi", action="append", metavar="SET",
                        help="a quasi-identifier set such as PatientAge+PatientSex+PostalCode "
                             "(repeatable; default: " + ", ".join(DEFAULT_QI_SETS) + ")")
    add_secret_arguments(parser)
    add_output_arguments(parser)
    add_cluster_argument(parser)


def run(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    """Write residual_risk, k_anonymity, aryanto_coverage and load_errors."""
    spec = cluster_of(args)
    formats_of(args.format)
    if args.k < 1:
        raise ValueError("--k must be at least 1")
    for text in args.qi or ():
        parse_qi_set(text)
    profiles = profiles_from(args.profiles)
    secrets = secrets_from(profiles, ephemeral=args.ephemeral_secret, stderr=stderr,
                           require_env=args.require_env_secrets)
    if spec is not None:
        return _run_on_cluster(spec, args, profiles, secrets, stdout, stderr)
    result = assess_paths(args.paths, profiles, secrets=secrets, k=args.k, qi_sets=args.qi,
                          progress=progress_bar(stderr, "risk"))
    tables = {**result.report.tables(), "load_errors": result.load_errors}
    findings = result.report.residual_risk
    tally = Counter(zip(findings["profile_id"].astype(str), findings["severity"].astype(str),
                        strict=True))
    _summary(profiles, tally, len(result.load_errors), stdout)
    write(tables, args, profiles, stdout)
    return 0


def _summary(profiles: Sequence[Profile], tally: Mapping[tuple[str, str], int], n_errors: int,
             stdout: TextIO) -> None:
    for profile in profiles:
        high, medium, low = (tally.get((profile.id, s), 0) for s in ("high", "medium", "low"))
        stdout.write(f"{profile.id}: {high + medium + low:,} findings (high {high}, "
                     f"medium {medium}, low {low})\n")
    if n_errors:
        stdout.write(f"{n_errors:,} files could not be read: see load_errors\n")


def _run_on_cluster(spec: ClusterSpec, args: argparse.Namespace, profiles: Sequence[Profile],
                    secrets: Secrets, stdout: TextIO, stderr: TextIO) -> int:
    from deid.distributed.cluster import connect
    from deid.distributed.risk import risk_on_cluster

    announce(spec, stderr)
    with connect(spec) as client:
        result = risk_on_cluster(client, args.paths, profiles, args.out, secrets=secrets,
                                 k=args.k, qi_sets=args.qi,
                                 progress=progress_bar(stderr, "risk"))
    _summary(profiles, result.tally, len(result.load_errors), stdout)
    for path in result.paths:
        stdout.write(f"wrote {path}/\n")
    return 0
