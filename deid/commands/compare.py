"""``python -m deid compare``: the whole-dictionary comparison tables."""

from __future__ import annotations

import argparse
from typing import TextIO

from deid.commands.common import (
    add_output_arguments,
    add_profiles_argument,
    formats_of,
    profiles_from,
    write,
)
from deid.outputs.compare import compare, pairwise_diff

HELP = "compare profiles over the whole DICOM dictionary"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``compare``."""
    add_profiles_argument(parser)
    add_output_arguments(parser)
    parser.add_argument("--states", type=int, choices=(2, 3), default=2,
                        help="differences in 2 states (modify/keep) or 3 (also unspecified)")
    parser.add_argument("--pair", metavar="A,B",
                        help="also write pairwise_diff for two of the compared profiles")


def run(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    """Write profile_actions, tag_matrix, modified_by_all_profiles,
    differences_among_profiles, profile_summary (and pairwise_diff with --pair)."""
    formats_of(args.format)
    profiles = profiles_from(args.profiles)
    comparison = compare(profiles, states=args.states)
    tables = dict(comparison.tables)
    if args.pair:
        pair = [part.strip() for part in args.pair.split(",")]
        if len(pair) != 2:
            raise ValueError("--pair takes two profile ids: A,B")
        tables["pairwise_diff"] = pairwise_diff(tables["profile_actions"], *pair)
    summary = tables["profile_summary"]
    stdout.write(f"universe: {comparison.universe.size:,} tags ({comparison.universe.source})\n")
    stdout.write(f"modified by all: {len(tables['modified_by_all_profiles']):,}; "
                 f"differences: {len(tables['differences_among_profiles']):,}\n")
    for row in summary.itertuples():
        stdout.write(f"  {row.profile_id}: modified {row.n_modified:,}, in differences "
                     f"{row.n_modified_in_differences:,}, only this profile "
                     f"{row.n_only_modified_by_this_profile:,}\n")
    write(tables, args, profiles, stdout)
    return 0
