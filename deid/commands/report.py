"""``python -m deid report``: every table at once for a sample and a set of profiles."""

from __future__ import annotations

import argparse
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
from deid.ingest import load_headers
from deid.outputs.compare import compare
from deid.outputs.effects import apply_profiles
from deid.risk.kanon import DEFAULT_K
from deid.risk.report import assess_paths, mark_residual_risk

HELP = ("every table at once: headers, load_errors, effects, the comparison tables, "
        "residual_risk, k_anonymity, aryanto_coverage")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``report``."""
    parser.add_argument("paths", metavar="PATH", nargs="+", type=Path,
                        help="DICOM files, folders (searched recursively) or zip archives")
    add_profiles_argument(parser)
    add_output_arguments(parser)
    parser.add_argument("--include-values", action="store_true",
                        help="include element values (they can identify; left out by default)")
    parser.add_argument("--k", type=int, default=DEFAULT_K, help="k-anonymity threshold")
    parser.add_argument("--qi", action="append", metavar="SET",
                        help="quasi-identifier set (repeatable; default: the documented sets)")
    add_secret_arguments(parser)
    add_cluster_argument(parser)


def run(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    """Scan, apply, compare and assess; write every table."""
    spec = cluster_of(args)
    formats_of(args.format)
    if args.k < 1:
        raise ValueError("--k must be at least 1")
    profiles = profiles_from(args.profiles)
    secrets = secrets_from(profiles, ephemeral=args.ephemeral_secret, stderr=stderr,
                           require_env=args.require_env_secrets)
    if spec is not None:
        from deid.distributed.cluster import connect
        from deid.distributed.report import report_on_cluster

        announce(spec, stderr)
        with connect(spec) as client:
            result = report_on_cluster(client, args.paths, profiles, args.out,
                                       secrets=secrets, include_values=args.include_values,
                                       k=args.k, qi_sets=args.qi,
                                       progress=progress_bar(stderr, "report"))
        stdout.write(f"{result.n_files:,} inputs, {len(result.load_errors):,} could not be "
                     f"read; {sum(result.tally.values()):,} residual-risk findings\n")
        for path in result.paths:
            stdout.write(f"wrote {path}/\n")
        return 0
    headers = load_headers(args.paths, include_values=args.include_values,
                           progress=progress_bar(stderr, "scan"))
    effects = apply_profiles(args.paths, profiles, secrets=secrets,
                             include_values=args.include_values,
                             progress=progress_bar(stderr, "apply"))
    risk = assess_paths(args.paths, profiles, secrets=secrets, k=args.k, qi_sets=args.qi)
    comparison = compare(profiles)
    tables = {
        "headers": headers.headers,
        "load_errors": headers.load_errors,
        "effects": mark_residual_risk(effects.effects, risk.report.residual_risk),
        **comparison.tables,
        **risk.report.tables(),
    }
    stdout.write(f"{headers.n_files:,} inputs, {len(headers.load_errors):,} could not be read; "
                 f"{len(risk.report.residual_risk):,} residual-risk findings\n")
    write(tables, args, profiles, stdout)
    return 0
