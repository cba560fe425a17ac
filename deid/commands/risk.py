"""``python -m deid risk``: residual-risk findings, k-anonymity and Aryanto-50 coverage."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TextIO

from deid.commands.common import (
    add_output_arguments,
    add_profiles_argument,
    add_secret_arguments,
    formats_of,
    profiles_from,
    secrets_from,
    write,
)
from deid.risk.kanon import DEFAULT_K, DEFAULT_QI_SETS, parse_qi_set
from deid.risk.report import assess_paths

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


def run(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    """Write residual_risk, k_anonymity, aryanto_coverage and load_errors."""
    formats_of(args.format)
    if args.k < 1:
        raise ValueError("--k must be at least 1")
    for text in args.qi or ():
        parse_qi_set(text)
    profiles = profiles_from(args.profiles)
    secrets = secrets_from(profiles, ephemeral=args.ephemeral_secret, stderr=stderr,
                           require_env=args.require_env_secrets)
    result = assess_paths(args.paths, profiles, secrets=secrets, k=args.k, qi_sets=args.qi)
    tables = {**result.report.tables(), "load_errors": result.load_errors}
    findings = result.report.residual_risk
    for profile in profiles:
        mine = findings[findings["profile_id"] == profile.id]
        counts = mine["severity"].value_counts()
        stdout.write(f"{profile.id}: {len(mine):,} findings (high {counts.get('high', 0)}, "
                     f"medium {counts.get('medium', 0)}, low {counts.get('low', 0)})\n")
    if len(result.load_errors):
        stdout.write(f"{len(result.load_errors):,} files could not be read: see load_errors\n")
    write(tables, args, profiles, stdout)
    return 0
