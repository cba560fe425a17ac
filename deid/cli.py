"""The command line, ``python -m deid <command>``: the only part of deid that writes to the
terminal and returns exit statuses.

Commands are rows of :data:`COMMANDS` (name, help, arguments, run); a command's ``run`` gets the
parsed arguments and the output streams and returns the exit status. Exit 0 on success, 1 when
``lint`` finds errors or ``verify-record`` a broken chain, 2 with one line on stderr for bad
usage or input (never a traceback).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from deid import cli_ingest
from deid.commands import audit, compare, record, report, risk, signoff
from deid.commands.common import UsageError, profiles_from
from deid.ctp import export_ctp_script, import_ctp_script
from deid.errors import DeidError, SecretMissingError
from deid.policy.lint import LintFinding, lint_profile
from deid.policy.profile_loader import list_profiles, load_profile
from deid.recipe import export_recipe, import_recipe

__all__ = ["COMMANDS", "Command", "UsageError", "build_parser", "main", "profiles_from"]

PROG = "python -m deid"


Runner = Callable[[argparse.Namespace, TextIO, TextIO], int]


@dataclass(frozen=True)
class Command:
    """One subcommand: its name, one-line help, how to add its arguments, and what it runs
    (``run(args, stdout, stderr) -> exit status``)."""

    name: str
    help: str
    arguments: Callable[[argparse.ArgumentParser], None]
    run: Runner


def _profiles_arguments(parser: argparse.ArgumentParser) -> None:
    """``profiles`` takes no arguments."""


def _run_profiles(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    rows = [("id", "title", "provenance", "file")]
    rows += [(info.id, info.title, info.provenance, str(info.path)) for info in list_profiles()]
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    for row in rows:
        _line(stdout, "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False))
                + "  " + row[3])
    return 0


def _output_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", metavar="FILE", required=True, type=Path,
                        help="file to write (never one of the inputs)")


def _new_profile_arguments(parser: argparse.ArgumentParser, source: str) -> None:
    """--id, --title, --provenance and --out of a command that imports a ``source``."""
    parser.add_argument("--id", required=True, help="id of the new profile, e.g. my_project")
    parser.add_argument("--title", help="title of the new profile")
    parser.add_argument("--provenance", default="user",
                        choices=("user", "published-script", "consensus"),
                        help=f"where the {source} comes from (default: user)")
    _output_argument(parser)


def _import_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("script", metavar="SCRIPT", type=Path,
                        help="a CTP DicomAnonymizer script (XML)")
    _new_profile_arguments(parser, "script")


def _run_import(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    _refuse_overwrite(args.out, args.script)
    text = _read_text(args.script)
    imported = import_ctp_script(text, profile_id=args.id, name=args.script.name,
                                 title=args.title, provenance=args.provenance)
    _write_text(args.out, imported.toml_text)
    _print_findings(stdout, imported.findings)
    _line(stdout, f"wrote {args.out}: profile {imported.profile.id}, "
            f"{len(imported.profile.rules)} rules; {_summary(imported.findings)}")
    return 0


def _export_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("profile", metavar="ID_OR_FILE",
                        help="a shipped profile id or a path to a profile .toml file")
    _output_argument(parser)


def _run_export(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    profile = load_profile(args.profile)
    if profile.path is not None:
        _refuse_overwrite(args.out, profile.path)
    _write_text(args.out, export_ctp_script(profile))
    _line(stdout, f"wrote {args.out}: CTP script of profile {profile.id}")
    return 0


def _import_recipe_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("recipe", metavar="RECIPE", type=Path,
                        help="a pydicom/deid recipe file (FORMAT dicom, %%header ...)")
    parser.add_argument("--remove-private", action="store_true",
                        help="the recipe is run with pydicom/deid's remove_private=True")
    _new_profile_arguments(parser, "recipe")


def _run_import_recipe(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    _refuse_overwrite(args.out, args.recipe)
    text = _read_text(args.recipe)
    imported = import_recipe(text, profile_id=args.id, name=args.recipe.name,
                             title=args.title, provenance=args.provenance,
                             remove_private=args.remove_private)
    _write_text(args.out, imported.toml_text)
    _print_findings(stdout, imported.findings)
    _line(stdout, f"wrote {args.out}: profile {imported.profile.id}, "
            f"{len(imported.profile.rules)} rules; {_summary(imported.findings)}")
    return 0


def _run_export_recipe(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    profile = load_profile(args.profile)
    if profile.path is not None:
        _refuse_overwrite(args.out, profile.path)
    _write_text(args.out, export_recipe(profile))
    _line(stdout, f"wrote {args.out}: pydicom/deid recipe of profile {profile.id}")
    return 0


def _lint_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("profiles", metavar="PROFILE", nargs="+",
                        help="shipped profile ids or paths to profile .toml files")


def _run_lint(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    errors = 0
    for name in args.profiles:
        profile = load_profile(name)
        findings = lint_profile(profile)
        _print_findings(stdout, findings)
        _line(stdout, f"{profile.id}: {_summary(findings)}")
        errors += sum(1 for finding in findings if finding.severity == "error")
    return 1 if errors else 0


def _line(stream: TextIO, text: str) -> None:
    stream.write(text + "\n")


def _print_findings(stream: TextIO, findings: Sequence[LintFinding]) -> None:
    for finding in findings:
        where = f" rule {finding.rule}" if finding.rule is not None else ""
        _line(stream, f"{finding.profile_id}{where}: {finding.severity} {finding.code}: "
                f"{finding.message}")


def _summary(findings: Sequence[LintFinding]) -> str:
    counts = {severity: sum(1 for f in findings if f.severity == severity)
              for severity in ("error", "warning", "info")}
    return ", ".join(f"{count} {severity}{'s' if count != 1 else ''}"
                     for severity, count in counts.items())


def _refuse_overwrite(out: Path, source: Path) -> None:
    if out.resolve() == source.resolve():
        raise UsageError(f"--out {out} is the input file; write to another file")


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"{path}: is a folder, not a file") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not UTF-8 text") from None


def _write_text(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


#: The subcommands, in the order ``--help`` lists them; later commands are added here.
COMMANDS: list[Command] = [
    Command("profiles", "list the profiles: id, title, provenance, file", _profiles_arguments,
            _run_profiles),
    Command("import-ctp", "import a CTP DicomAnonymizer script as a profile file",
            _import_arguments, _run_import),
    Command("export-ctp", "export a profile as a CTP DicomAnonymizer script",
            _export_arguments, _run_export),
    Command("import-recipe", "import a pydicom/deid recipe as a profile file",
            _import_recipe_arguments, _run_import_recipe),
    Command("export-recipe", "export a profile as a pydicom/deid recipe",
            _export_arguments, _run_export_recipe),
    Command("lint", "check profiles (exit 1 when a finding is an error)", _lint_arguments,
            _run_lint),
    Command("compare", compare.HELP, compare.add_arguments, compare.run),
    Command("risk", risk.HELP, risk.add_arguments, risk.run),
    Command("scan", cli_ingest.SCAN_HELP, cli_ingest.add_scan_arguments, cli_ingest.run_scan),
    Command("apply", cli_ingest.APPLY_HELP, cli_ingest.add_apply_arguments,
            cli_ingest.run_apply),
    Command("report", report.HELP, report.add_arguments, report.run),
    Command("audit", audit.HELP, audit.add_arguments, audit.run),
    Command("signoff-report", signoff.HELP, signoff.add_arguments, signoff.run),
    Command("verify-record", record.HELP, record.add_arguments, record.run),
]


class _Parser(argparse.ArgumentParser):
    """An argument parser that reports usage errors as :class:`UsageError`."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message} (see --help)")


def build_parser() -> argparse.ArgumentParser:
    """The parser with one subcommand per row of :data:`COMMANDS`."""
    parser = _Parser(prog=PROG, description="Review DICOM de-identification profiles.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND",
                                       parser_class=_Parser)
    subparsers.required = True
    for command in COMMANDS:
        sub = subparsers.add_parser(command.name, help=command.help, description=command.help)
        command.arguments(sub)
        sub.set_defaults(run=command.run)
    return parser


def main(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None,
         stderr: TextIO | None = None) -> int:
    """Run one command; return its exit status (``python -m deid`` exits with it)."""
    out, err = stdout or sys.stdout, stderr or sys.stderr
    try:
        args = build_parser().parse_args(argv)
        return int(args.run(args, out, err))
    except SystemExit as done:  # --help and --version end argparse with a status
        return done.code if isinstance(done.code, int) else 0
    except SecretMissingError as error:  # the library's message speaks Python to callers
        _error_line(err, f"secret {error.name!r} is needed (for keyed hashes, UIDs and date "
                         f"shifts) but was not set: set the environment variable "
                         f"{error.env_var}")
    except (UsageError, DeidError, ValueError) as error:
        _error_line(err, str(error))
    except OSError as error:
        _error_line(err, f"{error.filename or ''}: {error.strerror or error}")
    return 2


def _error_line(stream: TextIO, message: str) -> None:
    stream.write("deid: error: " + " ".join(message.split()) + "\n")
