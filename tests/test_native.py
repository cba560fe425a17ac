"""The compiled hot modules (deid.native, tools/build_native.py): used only while current, and
the same tables and bytes as pure Python."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import deid.transform.plan
from deid import Secrets, list_profiles, load_profile, native
from deid.policy.actions import Action

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "sample" / "files"


def _package(folder: Path) -> Path:
    (folder / "sub").mkdir(parents=True)
    (folder / "a.py").write_text("A = 1\n")
    (folder / "sub" / "b.py").write_text("B = 2\n")
    return folder


def test_the_sources_digest_follows_every_source(tmp_path: Path) -> None:
    package = _package(tmp_path / "pkg")
    before = native.sources_digest(package)
    assert native.sources_digest(package) == before
    (package / "sub" / "b.py").write_text("B = 3\n")
    edited = native.sources_digest(package)
    assert edited != before
    (package / "sub" / "b.py").rename(package / "sub" / "c.py")
    assert native.sources_digest(package) not in (before, edited)
    (package / "notes.txt").write_text("not a source")
    assert native.sources_digest(package) == native.sources_digest(package)


def _build(tmp_path: Path) -> tuple[Path, Path, dict[str, object]]:
    package = _package(tmp_path / "pkg")
    build = tmp_path / "build"
    files = {name: name.replace(".", "/") + ".so" for name in native.MODULES}
    for relative in files.values():
        (build / relative).parent.mkdir(parents=True, exist_ok=True)
        (build / relative).write_bytes(b"")
    manifest = native.manifest_for(files, native.sources_digest(package))
    return package, build, manifest


def test_a_current_build_is_accepted(tmp_path: Path) -> None:
    package, build, manifest = _build(tmp_path)
    assert native.why_not_current(manifest, package, build) is None


@pytest.mark.parametrize(("change", "says"), [
    (lambda package, build, manifest: (package / "a.py").write_text("A = 2\n"),
     "the sources changed since the native build"),
    (lambda package, build, manifest: manifest.update(python="cpython-399-other"),
     "the native build is for cpython-399-other, not this Python"),
    (lambda package, build, manifest: manifest.update(modules=["deid.other"]),
     "the native build is of another layout"),
    (lambda package, build, manifest: manifest.update(format=0),
     "the native build is of another layout"),
    (lambda package, build, manifest: (build / "deid/transform/plan.so").unlink(),
     "the native build lacks deid/transform/plan.so"),
    (lambda package, build, manifest: manifest.update(files={}),
     "lists no file for some module"),
])
def test_a_build_that_is_not_current_is_refused_with_the_reason(tmp_path, change, says):
    package, build, manifest = _build(tmp_path)
    change(package, build, manifest)
    problem = native.why_not_current(manifest, package, build)
    assert problem is not None and says in problem and "`make native`" in problem


def test_without_a_build_the_package_runs_as_pure_python(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv(native.PURE_ENV, raising=False)
    decided = native._decide(tmp_path / "nothing")
    assert not decided.compiled
    assert decided.reason.startswith("pure Python: no native build")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / native.MANIFEST).write_text("{not json")
    assert native._decide(tmp_path / "broken").reason.startswith("pure Python: no native build")


def test_the_environment_keeps_pure_python(tmp_path: Path, monkeypatch) -> None:
    _, build, manifest = _build(tmp_path)
    (build / native.MANIFEST).write_text(json.dumps(manifest))
    monkeypatch.setenv(native.PURE_ENV, "1")
    assert native._decide(build) == native.NativeStatus(
        False, f"pure Python: {native.PURE_ENV} is set")


def test_the_modules_compiled_are_the_ones_that_run_when_built() -> None:
    status = native.status()
    if not status.compiled:
        pytest.skip(f"no compiled modules in this run ({status.reason})")
    assert status.modules == native.MODULES
    for name in native.MODULES:
        assert sys.modules[name].__file__.endswith(".so"), name
    assert deid.transform.plan.__file__.startswith(str(native.BUILD_DIR))


def _run(command: list[str], out: Path, pure: bool) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DEID_SECRET": "native-test",
           "DEID_SECRET_KEY": "native-test-key", "DEID_SECRET_SITE": "native-test-site"}
    env.pop(native.PURE_ENV, None)
    if pure:
        env[native.PURE_ENV] = "1"
    check = ("import deid, sys; s = deid.native.status(); "
             f"sys.exit(0 if s.compiled != {pure} else 'wrong mode: ' + s.reason)")
    subprocess.run([sys.executable, "-c", check], env=env, check=True, cwd=ROOT)
    subprocess.run([sys.executable, "-m", "deid", *command, "--out", str(out),
                    "--require-env-secrets", str(SAMPLE)], env=env, check=True, cwd=ROOT,
                   capture_output=True)


def _files(folder: Path) -> dict[str, bytes]:
    return {path.relative_to(folder).as_posix(): path.read_bytes()
            for path in sorted(folder.rglob("*")) if path.is_file()}


def test_compiled_and_pure_python_give_the_same_tables_and_bytes(tmp_path: Path) -> None:
    """Every table of ``report`` (values included) under every shipped profile, and the
    copies ``apply`` writes, in both modes."""
    status = native.status()
    if not status.compiled:
        pytest.skip(f"no compiled modules to compare with ({status.reason})")
    tables = {}
    copies = {}
    for pure in (False, True):
        mode = "pure" if pure else "compiled"
        _run(["report", "--include-values", "--format", "parquet"], tmp_path / mode, pure)
        tables[mode] = {path.name: pd.read_parquet(path)
                        for path in sorted((tmp_path / mode).glob("*.parquet"))}
        _run(["apply", "--format", "parquet", "--write-dicom", str(tmp_path / f"{mode}-dcm")],
             tmp_path / f"{mode}-apply", pure)
        copies[mode] = _files(tmp_path / f"{mode}-dcm")
    assert set(tables["compiled"]) == set(tables["pure"])
    assert {"effects.parquet", "residual_risk.parquet", "k_anonymity.parquet"} \
        <= set(tables["pure"])
    for name, frame in tables["pure"].items():
        assert len(frame) > 0 or name == "load_errors.parquet", name
        pd.testing.assert_frame_equal(tables["compiled"][name], frame, check_exact=True,
                                      obj=name)
    assert copies["pure"] and copies["compiled"] == copies["pure"]


def _objects_that_cross_processes() -> list[tuple[object, tuple[str, ...]]]:
    """Objects that travel between processes, with the fields that say what they are."""
    from deid.ingest.tree import TreeLimitError, Unread
    from deid.policy.decision import Decision
    from deid.risk.catalogue import RiskKind, Severity
    from deid.risk.findings import Finding, Identifier
    from deid.risk.kanon import KAnonymity, Record
    from deid.tags import TagPattern
    from deid.transform.dispatch import TransformState
    from deid.transform.outcome import KEPT, REMOVED
    from deid.transform.semantics import WriterIdentity
    finding = Finding("p", "f.dcm", "(0010,0010)", "(0010,0010)", "PatientName",
                      RiskKind.DIRECT_IDENTIFIER, Severity.HIGH, "why", "D…E (8 characters)")
    return [(WriterIdentity("SITE_A", "VERSION_2"),
             ("source_ae_title", "implementation_version_name", "implementation_class_uid")),
            (Identifier("DOE^JANE", "name"), ("text", "what")),
            (finding, ("profile_id", "file", "element_path", "tag", "keyword", "risk_kind",
                       "severity", "reason", "evidence")),
            (Unread(1024), ("length",)), (TreeLimitError("depth", "too deep"), ("kind", "args")),
            (KEPT, ()), (REMOVED, ()),
            (TagPattern.parse("(60xx,3000)"), ("text", "value", "mask")),
            (Decision(Action.CLEAN, {"a": 1}, "why", "source", "origin", True, True),
             ("action", "params", "reason", "source", "origin", "explicit", "specific")),
            (TransformState(Secrets({"default": b"k" * 32}), "key", ("DOE",), {"p": "1"}),
             ("patient_key", "identifiers", "params")),
            (Record("patient", "f.dcm", {"PatientAge": "063Y"}), ("key", "file", "values")),
            (KAnonymity("PatientAge+PatientSex", 10, 1, 2, 5, ("PatientAge",),
                        ((Record("p", "f.dcm", {}), 1),), ((1, 2), (8, 8))),
             ("quasi_identifiers", "n_records", "k_min", "n_records_below_k", "k_threshold",
              "left", "below_k", "class_sizes"))]


@pytest.mark.parametrize(("thing", "fields"), _objects_that_cross_processes(),
                         ids=lambda thing: type(thing).__name__)
def test_what_crosses_processes_pickles_in_either_mode(thing: object,
                                                       fields: tuple[str, ...]) -> None:
    """Jobs and parts travel to worker processes pickled: a compiled frozen class cannot be
    restored field by field, so these say how they are rebuilt; KEPT and REMOVED stay the
    sentinels (``is`` compares them)."""
    import pickle

    restored = pickle.loads(pickle.dumps(thing))
    assert type(restored) is type(thing)
    if not fields:
        assert restored is thing
    for name in fields:
        assert getattr(restored, name) == getattr(thing, name), name


def test_every_shipped_profile_and_a_planner_travel_to_another_process_as_they_are() -> None:
    """Profiles (with their tag patterns) and planners are sent to pool and Dask workers: a
    planner unpickled there plans a file as the one sent."""
    import pickle

    import pydicom

    from deid.ingest.tree import build_tree
    from deid.transform.plan import FilePlan, Planner

    def planned(plan: FilePlan) -> tuple[object, ...]:
        return (plan.profile.id, list(plan.outcomes()), plan.added, plan.added_meta,
                plan.patient_key)

    meta, body = build_tree(pydicom.dcmread(SAMPLE / "ct_series_slice1.dcm"))
    secrets = Secrets({"default": b"k" * 32, "key": b"k" * 32, "site": b"s" * 32})
    for info in list_profiles():
        profile = load_profile(info.id)
        assert repr(pickle.loads(pickle.dumps(profile))) == repr(profile), info.id
        planner = Planner(profile, secrets)
        travelled = pickle.loads(pickle.dumps(planner))
        assert planned(travelled.plan(meta, body)) == planned(planner.plan(meta, body)), info.id


def _build_tool():  # type: ignore[no-untyped-def]
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_native", ROOT / "tools" /
                                                  "build_native.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_without_a_compiler_the_build_says_it_is_skipped(monkeypatch, capsys) -> None:
    tool = _build_tool()
    monkeypatch.setattr(tool, "missing_toolchain", lambda: "no C compiler ('cc' is not on PATH)")
    assert tool.main([]) == 0
    said = capsys.readouterr().out
    assert "make native: skipped, no C compiler" in said and "pure Python" in said
    assert tool.main(["--strict"]) == 1


def test_a_build_that_lacks_a_module_is_not_recorded(tmp_path: Path) -> None:
    import importlib.machinery

    tool = _build_tool()
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    with pytest.raises(FileNotFoundError, match="the build made no deid/ingest/decode"):
        tool.built_files(tmp_path)
    for name in (*native.MODULES, f"{tool.GROUP}__mypyc"):
        made = tmp_path / (name.replace(".", "/") + suffix)
        made.parent.mkdir(parents=True, exist_ok=True)
        made.write_bytes(b"")
    files = tool.built_files(tmp_path)
    assert set(files) == {*native.MODULES, f"{tool.GROUP}__mypyc"}
    assert files["deid.transform.plan"] == "deid/transform/plan" + suffix
