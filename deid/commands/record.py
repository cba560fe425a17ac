"""``python -m deid verify-record``: does the decision record's hash chain hold?"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TextIO

from deid.consensus.store import DATABASE_NAME, DecisionStore, DecisionStoreError, data_dir

HELP = "check the decision record's hash chain (exit 1 where it breaks)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``verify-record``."""
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="folder of the decision record (default: $DEID_DATA_DIR or "
                             "~/.deid-review)")


def run(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    """Read the record (read-only), check both chains, print one line each; exit 1 when a
    chain breaks."""
    path = data_dir(args.data_dir) / DATABASE_NAME
    if not path.is_file():
        raise DecisionStoreError(f"{path}: no decision record here (see --data-dir)")
    check = DecisionStore(args.data_dir, read_only=True).verify()
    stdout.write(f"{path}\n")
    for line in check.summary():
        stdout.write(line + "\n")
    if check.holds:
        stdout.write("the record is as it was written (unless every hash after a change was "
                     "rewritten: compare the heads with a copy you noted)\n")
        return 0
    stdout.write("the record was changed outside deid: do not trust the rows from the break "
                 "on; restore it from a copy\n")
    return 1
