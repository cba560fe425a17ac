"""Argument helpers shared by the table-writing commands."""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TextIO

import pandas as pd

from deid.errors import DeidError
from deid.outputs.effects import check_secrets, required_secrets
from deid.outputs.export import FORMATS, export_metadata, write_tables
from deid.policy.profile_loader import load_profiles
from deid.policy.profile_model import Profile
from deid.secret_store import Secrets


class UsageError(DeidError):
    """Bad arguments or input: the command line reports it as one line, exit status 2."""


def profiles_from(option: str | None) -> list[Profile]:
    """The profiles named by a ``--profiles`` value (every shipped profile when ``None``)."""
    if option is not None and not option.replace(",", "").strip():
        raise UsageError("--profiles names no profile")
    return load_profiles(option)


def secrets_from(profiles: Sequence[Profile], *, ephemeral: bool) -> Secrets:
    """Secrets from the environment, or random ones for this run; every secret the profiles
    need must be there (one clear error naming the variable otherwise)."""
    needed = required_secrets(profiles)
    if ephemeral:
        return Secrets.ephemeral(*needed)
    secrets = Secrets.from_env()
    check_secrets(profiles, secrets)
    return secrets


def add_profiles_argument(parser: argparse.ArgumentParser) -> None:
    """``--profiles``: comma-separated ids or paths to profile files."""
    parser.add_argument("--profiles", default=None, metavar="IDS",
                        help="comma-separated profile ids or paths to .toml files "
                             "(default: every shipped profile)")


def add_output_arguments(parser: argparse.ArgumentParser) -> None:
    """``--out DIR`` and ``--format parquet,csv``."""
    parser.add_argument("--out", required=True, type=Path, metavar="DIR",
                        help="folder the tables are written to (created if missing)")
    parser.add_argument("--format", default=None, metavar="FORMATS",
                        help="parquet, csv or both (default: parquet,csv; with --cluster "
                             "Parquet datasets)")


def formats_of(text: str | None) -> list[str]:
    """``"parquet,csv"`` -> ``["parquet", "csv"]`` (``None``: both); raise ``ValueError`` on
    anything else."""
    if text is None:
        return list(FORMATS)
    formats = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [fmt for fmt in formats if fmt not in FORMATS]
    if unknown or not formats:
        raise ValueError(f"--format takes parquet, csv or both (got {text!r})")
    return formats


def write(tables: Mapping[str, pd.DataFrame], args: argparse.Namespace,
          profiles: Sequence[Profile], stdout: TextIO) -> None:
    """Write the tables and say where, one line per file."""
    paths = write_tables(tables, args.out, formats=formats_of(args.format),
                         metadata=export_metadata(profiles))
    for path in paths:
        stdout.write(f"wrote {path}\n")
