"""Argument helpers shared by the table-writing commands."""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TextIO

import pandas as pd

from deid.errors import DeidError
from deid.outputs.effects import required_secrets
from deid.outputs.export import FORMATS, export_metadata, write_tables
from deid.policy.profile_loader import load_profiles
from deid.policy.profile_model import Profile
from deid.secret_store import Secrets, env_var_for


class UsageError(DeidError):
    """Bad arguments or input: the command line reports it as one line, exit status 2."""


def profiles_from(option: str | None) -> list[Profile]:
    """The profiles named by a ``--profiles`` value (every shipped profile when ``None``)."""
    if option is not None and not option.replace(",", "").strip():
        raise UsageError("--profiles names no profile")
    return load_profiles(option)


#: What a random secret of one run means for what the run writes.
UNLINKABLE = ("pseudonyms, keyed hashes, new UIDs and date shifts made with a random secret "
              "cannot be linked to any other run (not even the same files de-identified "
              "again)")


def secrets_from(profiles: Sequence[Profile], *, ephemeral: bool = False,
                 stderr: TextIO | None = None, writes: bool = False,
                 require_env: bool = False) -> Secrets:
    """Every secret the profiles use, from the environment where it is set, else drawn at
    random for this run; ``stderr`` gets one list of them all at once, each with its
    environment variable and where its value came from.

    ``ephemeral`` draws every secret at random; ``require_env`` refuses to draw any (one
    error naming every variable not set); ``writes`` says the run writes pseudonymised output
    (``apply``), so the note says what a random secret means for it."""
    needed = required_secrets(profiles)
    env = Secrets.from_env()
    given = () if ephemeral else tuple(name for name in needed if name in env.names())
    drawn = tuple(name for name in needed if name not in given)
    if require_env and drawn:
        raise UsageError("secrets not set in the environment: " + ", ".join(
            f"{env_var_for(name)} (secret {name!r})" for name in drawn)
            + "; set them, or leave out --require-env-secrets to draw random ones")
    values = {name: env.get(name) for name in given}
    fresh = Secrets.ephemeral(*drawn) if drawn else Secrets({})
    values.update({name: fresh.get(name) for name in drawn})
    if stderr is not None:
        stderr.write(_secrets_note(needed, drawn, writes))
    return Secrets(values)


def _secrets_note(needed: Sequence[str], drawn: Sequence[str], writes: bool) -> str:
    """The lines that list the secrets a command uses (never their values)."""
    width = max(len(env_var_for(name)) for name in needed)
    lines = ["deid: secrets this run uses (for pseudonyms, keyed hashes, new UIDs and date "
             "shifts):"]
    for name in needed:
        origin = "random, drawn for this run" if name in drawn else "from the environment"
        lines.append(f"  {env_var_for(name).ljust(width)}  secret {name!r}: {origin}")
    if drawn:
        variables = ", ".join(env_var_for(name) for name in drawn)
        lines.append(f"deid: {len(drawn)} secret{'s' if len(drawn) != 1 else ''} drawn at "
                     f"random for this run; set {variables} to use your own.")
        if writes:
            lines.append(f"deid: note: {UNLINKABLE}.")
        else:
            lines.append("deid: reviewing needs no secret of yours: the findings do not "
                         "depend on the secrets' values.")
    return "\n".join(lines) + "\n"


def add_secret_arguments(parser: argparse.ArgumentParser, *, writes: bool = False) -> None:
    """``--ephemeral-secret`` and ``--require-env-secrets``."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--ephemeral-secret", action="store_true",
                       help="draw every secret at random for this run, even those set in "
                            "DEID_SECRET / DEID_SECRET_<NAME>" + (f": {UNLINKABLE}"
                                                                  if writes else ""))
    group.add_argument("--require-env-secrets", action="store_true",
                       help="fail when a secret is not set in the environment (DEID_SECRET, "
                            "DEID_SECRET_<NAME>) instead of drawing a random one" + (
                                " (for pseudonyms that must match other runs)" if writes
                                else ""))


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
