"""``python -m deid audit``: what a pipeline did to an export, against the profile it claims;
or, given only the export, what identifying content is still in it."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TextIO

from deid.audit import AuditResult, audit, audit_export, export_profile
from deid.audit.pairs import PAIR_MODES
from deid.cli_ingest import progress_bar
from deid.commands.cluster import add_cluster_argument, announce, cluster_of
from deid.commands.common import UsageError, add_output_arguments, formats_of, write
from deid.distributed.cluster import ClusterSpec
from deid.outputs.effects import check_output_folder
from deid.policy.profile_loader import load_profile
from deid.policy.profile_model import Profile
from deid.risk.kanon import DEFAULT_K, parse_qi_set

HELP = "audit a de-identified export against its originals and claimed profile, or alone"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``audit``."""
    parser.add_argument("paths", metavar="PATH", nargs="+", type=Path,
                        help="ORIGINALS EXPORTED (folders, zip archives or files), or only "
                             "EXPORTED to review an export on its own")
    parser.add_argument("--profile", metavar="ID_OR_FILE",
                        help="the profile the export claims (needed with ORIGINALS)")
    parser.add_argument("--pair", nargs="+", metavar="MODE", default=["path"],
                        help="how exports are paired with originals: 'path' (the same "
                             "relative path, default) or 'uid-map FILE' (a CSV with the "
                             "columns original,exported: SOP Instance UIDs or relative paths)")
    parser.add_argument("--include-values", action="store_true",
                        help="show original and exported values of each deviation")
    parser.add_argument("--k", type=int, default=DEFAULT_K,
                        help=f"k-anonymity threshold (default {DEFAULT_K})")
    parser.add_argument("--qi", action="append", metavar="SET",
                        help="a quasi-identifier set of the export (repeatable)")
    add_output_arguments(parser)
    add_cluster_argument(parser)


def _pairing(values: list[str]) -> tuple[str, str | None]:
    mode = values[0]
    if mode not in PAIR_MODES:
        raise UsageError(f"--pair takes {' or '.join(PAIR_MODES)} (got {mode!r})")
    if mode == "uid-map" and len(values) != 2:
        raise UsageError("--pair uid-map needs the mapping file: --pair uid-map FILE")
    if mode == "path" and len(values) != 1:
        raise UsageError("--pair path takes no file")
    return mode, values[1] if len(values) > 1 else None


def run(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    """Write audit_pairs, audit_elements, audit_deviations, residual_risk, k_anonymity,
    k_classes and load_errors; nothing is written into the audited folders."""
    spec = cluster_of(args)
    formats_of(args.format)
    if args.k < 1:
        raise UsageError("--k must be at least 1")
    for text in args.qi or ():
        parse_qi_set(text)
    if len(args.paths) > 2:
        raise UsageError("audit takes ORIGINALS EXPORTED, or only EXPORTED")
    check_output_folder(args.out, args.paths)
    if len(args.paths) == 2:
        if not args.profile:
            raise UsageError("auditing against originals needs --profile (the profile the "
                             "export claims)")
        mode, mapping = _pairing(args.pair)
        profile = load_profile(args.profile)
        if spec is not None:
            return _on_cluster(spec, args, profile, mode, mapping, stdout, stderr)
        result = audit([args.paths[0]], [args.paths[1]], profile, pair=mode, mapping=mapping,
                       include_values=args.include_values, k=args.k, qi_sets=args.qi)
        _summary(result, stdout, f"against {profile.id}")
        write(result.tables(), args, [profile, export_profile()], stdout)
        return 0
    if args.profile:
        raise UsageError("--profile needs ORIGINALS: give ORIGINALS EXPORTED")
    if spec is not None:
        return _on_cluster(spec, args, None, "path", None, stdout, stderr)
    result = audit_export([args.paths[0]], k=args.k, qi_sets=args.qi)
    _summary(result, stdout, "alone")
    write(result.tables(), args, [export_profile()], stdout)
    return 0


def _summary(result: AuditResult, stdout: TextIO, what: str) -> None:
    pairs = result.audit_pairs
    paired = int((pairs["paired_by"].isin(["path", "uid-map"])).sum())
    unpaired = int((pairs["paired_by"] == "unpaired").sum())
    findings = result.risk.residual_risk
    stdout.write(f"audit {what}: {len(pairs):,} file(s), {paired:,} paired, {unpaired:,} "
                 f"unpaired; {result.n_deviations:,} deviation(s); {len(findings):,} "
                 "residual-risk finding(s) on the exported values\n")
    if len(result.load_errors):
        stdout.write(f"{len(result.load_errors):,} problem(s): see load_errors\n")


def _on_cluster(spec: ClusterSpec, args: argparse.Namespace, profile: Profile | None,
                mode: str, mapping: str | None, stdout: TextIO, stderr: TextIO) -> int:
    from deid.distributed.audit import audit_on_cluster
    from deid.distributed.cluster import connect

    announce(spec, stderr)
    originals = [args.paths[0]] if profile is not None else []
    with connect(spec) as client:
        result = audit_on_cluster(client, originals, [args.paths[-1]], profile, args.out,
                                  pair=mode, mapping=mapping,
                                  include_values=args.include_values, k=args.k,
                                  qi_sets=args.qi, progress=progress_bar(stderr, "audit"))
    pairs = result.audit_pairs
    paired = int((pairs["paired_by"].isin(["path", "uid-map"])).sum())
    unpaired = int((pairs["paired_by"] == "unpaired").sum())
    what = f"against {profile.id}" if profile is not None else "alone"
    stdout.write(f"audit {what}: {len(pairs):,} file(s), {paired:,} paired, {unpaired:,} "
                 f"unpaired; {result.n_deviations:,} deviation(s); "
                 f"{sum(result.tally.values()):,} residual-risk finding(s) on the exported "
                 "values\n")
    if len(result.load_errors):
        stdout.write(f"{len(result.load_errors):,} problem(s): see load_errors\n")
    for path in result.paths:
        stdout.write(f"wrote {path}/\n")
    return 0
