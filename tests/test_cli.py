"""The command line through ``deid.cli.main``: listing, CTP import/export, lint exit codes, and
one clear line with exit status 2 for every kind of bad input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from deid import list_profiles, load_profile
from deid.cli import COMMANDS, UsageError, main, profiles_from
from deid.ctp.script import parse_script

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "ctp"
SMALL = FIXTURES / "small.script"
ROOT = Path(__file__).resolve().parents[1]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_profiles_lists_every_shipped_profile_in_aligned_columns(
        capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "profiles")
    lines = out.splitlines()
    assert status == 0 and err == ""
    assert lines[0].split() == ["id", "title", "provenance", "file"]
    assert [line.split()[0] for line in lines[1:]] == [info.id for info in list_profiles()]
    column = lines[0].index("title")
    assert all(line[column - 2:column] == "  " for line in lines)
    assert "ps315_basic" in out and "published-script" in out and ".toml" in out


def test_import_ctp_writes_a_profile_and_prints_findings(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_file = tmp_path / "small.toml"
    status, out, err = run(capsys, "import-ctp", str(SMALL), "--id", "small", "--out",
                           str(out_file), "--title", "Small test script")
    assert status == 0 and err == ""
    assert "small rule 4: error unknown-function: @setSubstring(0,6)" in out
    assert out.splitlines()[-1].startswith(f"wrote {out_file}: profile small, 5 rules;")
    profile = load_profile(out_file)
    assert profile.title == "Small test script" and profile.provenance.value == "user"
    assert "not-a-real-secret" not in out_file.read_text(encoding="utf-8")


def test_export_ctp_writes_a_script(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_file = tmp_path / "ps315.script"
    status, out, err = run(capsys, "export-ctp", "ps315_basic", "--out", str(out_file))
    assert status == 0 and err == "" and out == f"wrote {out_file}: CTP script of profile " \
        "ps315_basic\n"
    script = parse_script(out_file.read_text(encoding="utf-8"), "ps315.script")
    assert len(script.of_kind("e")) > 600


def test_export_ctp_takes_a_profile_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                         ) -> None:
    toml = tmp_path / "small.toml"
    assert main(["import-ctp", str(SMALL), "--id", "small", "--out", str(toml)]) == 0
    out_file = tmp_path / "again.script"
    status, _, _ = run(capsys, "export-ctp", str(toml), "--out", str(out_file))
    assert status == 0 and "@hashuid(@UIDROOT,this)" in out_file.read_text(encoding="utf-8")


def test_lint_exit_status_follows_error_findings(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "lint", "ps315_basic", "ctp_basic")
    assert status == 0
    assert "ps315_basic: 0 errors, 0 warnings, 0 infos" in out
    assert "ctp_basic rule 181: warning tag-not-in-dictionary" in out
    toml = tmp_path / "small.toml"
    assert main(["import-ctp", str(SMALL), "--id", "small", "--out", str(toml)]) == 0
    capsys.readouterr()
    status, out, _ = run(capsys, "lint", "ps315_basic", str(toml))
    assert status == 1
    assert "small: 2 errors," in out  # @setSubstring: unknown, and its text is no DA


BAD = [
    ("missing script", ["import-ctp", "nope.script", "--id", "x", "--out", "{tmp}/x.toml"],
     "nope.script: no such file"),
    ("script is a folder", ["import-ctp", "{tmp}", "--id", "x", "--out", "{tmp}/x.toml"],
     "is a folder"),
    ("not XML", ["import-ctp", "{tmp}/bad.script", "--id", "x", "--out", "{tmp}/x.toml"],
     "not well-formed XML"),
    ("bad profile id", ["import-ctp", str(SMALL), "--id", "Bad Id", "--out", "{tmp}/x.toml"],
     "field 'id'"),
    ("out is the input", ["import-ctp", str(SMALL), "--id", "x", "--out", str(SMALL)],
     "is the input file"),
    ("unknown profile", ["lint", "no_such_profile"], "unknown profile id"),
    ("export over its input", ["export-ctp", "{tmp}/p.toml", "--out", "{tmp}/p.toml"],
     "is the input file"),
    ("unknown command", ["bogus"], "invalid choice"),
    ("missing --id", ["import-ctp", str(SMALL), "--out", "{tmp}/x.toml"],
     "the following arguments are required: --id"),
    ("no command", [], "required"),
]


@pytest.mark.parametrize(("argv", "words"), [case[1:] for case in BAD],
                         ids=[case[0] for case in BAD])
def test_bad_input_gives_one_line_and_status_2(argv: list[str], words: str, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "bad.script").write_text("<script><e></script>", encoding="utf-8")
    (tmp_path / "p.toml").write_bytes((ROOT / "deid" / "profiles" / "ps315_basic.toml")
                                      .read_bytes())
    before = SMALL.read_bytes()
    status, out, err = run(capsys, *(arg.replace("{tmp}", str(tmp_path)) for arg in argv))
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("deid: error: ") and words in err
    assert "Traceback" not in err
    assert SMALL.read_bytes() == before


def test_help_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert all(command.name in out for command in COMMANDS)


def test_commands_are_one_table() -> None:
    names = [command.name for command in COMMANDS]
    assert names[:7] == ["profiles", "import-ctp", "export-ctp", "import-recipe",
                         "export-recipe", "lint", "compare"]
    assert len(set(names)) == len(names)


def test_profiles_option_takes_ids_and_paths() -> None:
    path = str(ROOT / "deid" / "profiles" / "ps315_basic.toml")
    assert [p.id for p in profiles_from(f"ctp_basic, {path}")] == ["ctp_basic", "ps315_basic"]
    with pytest.raises(UsageError):
        profiles_from(" , ")


def test_python_dash_m_deid_runs_the_command_line() -> None:
    result = subprocess.run([sys.executable, "-m", "deid", "lint", "nope"], cwd=ROOT,
                            capture_output=True, text=True, check=False, timeout=120)
    assert result.returncode == 2
    assert result.stderr.startswith("deid: error: nope: unknown profile id")
