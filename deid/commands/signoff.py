"""``python -m deid signoff-report``: a self-contained HTML sign-off report for one profile."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TextIO

from deid.audit import audit
from deid.commands.common import (
    UsageError,
    add_secret_arguments,
    profiles_from,
    secrets_from,
)
from deid.consensus.store import SIGNOFF_DECISIONS, DecisionStore
from deid.outputs.signoff import (
    previous_version,
    reference_comparison,
    render_signoff_report,
    reviewed_data,
)
from deid.policy.profile_loader import load_profile
from deid.risk.kanon import DEFAULT_K
from deid.risk.report import assess_paths, baseline_profile

HELP = "write the HTML sign-off report of one profile on a sample of headers"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``signoff-report``."""
    parser.add_argument("--profile", required=True, metavar="ID_OR_FILE",
                        help="the profile to sign off (a shipped id or a .toml file)")
    parser.add_argument("paths", metavar="PATH", nargs="+", type=Path,
                        help="the sample: DICOM files, folders or zip archives")
    parser.add_argument("--out", required=True, type=Path, metavar="FILE",
                        help="the HTML file to write")
    parser.add_argument("--references", default=None, metavar="IDS",
                        help="profiles to compare with (default: ps315_basic and the six "
                             "AI4HI profiles)")
    parser.add_argument("--k", type=int, default=DEFAULT_K, help="k-anonymity threshold")
    parser.add_argument("--qi", action="append", metavar="SET",
                        help="quasi-identifier set (repeatable; default: the documented sets)")
    parser.add_argument("--reviewer", help="record a sign-off by this reviewer first")
    parser.add_argument("--decision", choices=SIGNOFF_DECISIONS,
                        help="the reviewer's decision (with --reviewer)")
    parser.add_argument("--comments", default="", help="the reviewer's comments")
    parser.add_argument("--audit", nargs=2, type=Path, metavar=("ORIGINALS", "EXPORTED"),
                        help="also audit an export made with this profile against its "
                             "originals (paired by relative path) and add its figures")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="folder of the decision database (default: $DEID_DATA_DIR or "
                             "~/.deid-review)")
    add_secret_arguments(parser)


def run(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    """Assess the sample, compare with the references, record a sign-off, write the HTML."""
    if args.reviewer and not args.decision:
        raise UsageError("--reviewer needs --decision (approved, approved_with_conditions or "
                         "rejected)")
    if any(args.out.resolve() == Path(p).resolve() for p in args.paths):
        raise UsageError(f"--out {args.out} is an input; write the report elsewhere")
    profile = load_profile(args.profile)
    references = profiles_from(args.references or "ps315_basic,procancer_i,"
                               "chaimeleon_images_w_ecrfs,chaimeleon_images_only,primage,"
                               "incisive,eucanimage")
    secrets = secrets_from([profile], ephemeral=args.ephemeral_secret, stderr=stderr,
                           require_env=args.require_env_secrets)
    result = assess_paths(args.paths, [profile, baseline_profile()], secrets=secrets, k=args.k,
                          qi_sets=args.qi)
    store = DecisionStore(args.data_dir)
    previous = previous_version(store, profile)
    if args.reviewer:
        text = profile.path.read_bytes().decode("utf-8") if profile.path else None
        store.sign_off(profile.id, profile.sha256 or "", reviewer=args.reviewer,
                       decision=args.decision, comments=args.comments, profile_text=text)
    signoffs = [s for s in store.sign_offs(profile.id) if s.profile_sha256 == profile.sha256]
    folders = [str(path) for path in args.paths]
    reviewed = reviewed_data(folders, result.files, len(result.load_errors))
    audited = (audit([args.audit[0]], [args.audit[1]], profile, k=args.k, qi_sets=args.qi)
               if args.audit else None)
    report = render_signoff_report(
        profile, reference_comparison(profile, references), result.report,
        n_files=result.n_files, n_load_errors=len(result.load_errors), signoffs=signoffs,
        reviewed=reviewed, previous=previous, relative_to=_common_folder(folders),
        audit=audited)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report.html, encoding="utf-8")
    stdout.write(f"wrote {args.out}: {report.figures['n_findings']:,} findings, "
                 f"{len(signoffs)} sign-off(s) recorded for this version of {profile.id}\n")
    return 0


def _common_folder(paths: list[str]) -> str:
    roots = [p if os.path.isdir(p) else os.path.dirname(p) for p in paths]
    return os.path.commonpath([os.path.abspath(root) for root in roots]) if roots else ""
