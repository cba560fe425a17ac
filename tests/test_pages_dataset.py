"""The dashboard on a scan dataset (the tables a CLI or cluster run wrote): Load opens it
without reading DICOM, and every page works from it; long work waits for a click above the
threshold (Consensus included), shows its progress and can be cancelled."""

from __future__ import annotations

import io
import shutil
from functools import cache
from pathlib import Path

import pandas as pd
import pytest

from deid.cli import main
from deid.distributed.dataset import read_scan
from tests.test_pages_support import (
    APP,
    PAGES,
    PROFILES,
    REPO_ROOT,
    app_test,
    frame_by_key,
    page,
    problems,
    sample,
    secrets,
    seeded,
)
from ui import compute, session, state
from ui.progress import duration, status_text
from ui.session import Inputs, Loaded

SAMPLE = REPO_ROOT / "data" / "sample"
#: The dataset's profiles: two of the three the page tests activate.
MADE_WITH = "chaimeleon_images_w_ecrfs,eucanimage"


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Inputs: the planted files and part of the cohort."""
    target = tmp_path_factory.mktemp("dicom")
    shutil.copytree(SAMPLE / "files", target / "files")
    (target / "cohort").mkdir()
    for path in sorted((SAMPLE / "cohort").glob("*.dcm"))[:60]:
        shutil.copy(path, target / "cohort" / path.name)
    return target


@pytest.fixture(scope="module")
def dataset(folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What ``report --cluster local:2`` wrote (one folder per table)."""
    out = tmp_path_factory.mktemp("dataset")
    status = main(["report", str(folder), "--profiles", MADE_WITH, "--include-values",
                   "--ephemeral-secret", "--out", str(out), "--cluster", "local:2"],
                  stdout=io.StringIO(), stderr=io.StringIO())
    assert status == 0
    assert (out / "headers").is_dir() and (out / "residual_risk").is_dir()
    return out


@pytest.fixture(scope="module")
def scan_only(folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What a plain ``scan`` wrote (headers.parquet, load_errors.parquet; no values)."""
    out = tmp_path_factory.mktemp("scan")
    assert main(["scan", str(folder), "--out", str(out), "--workers", "1"],
                stdout=io.StringIO(), stderr=io.StringIO()) == 0
    return out


@cache
def _opened(path: str) -> Loaded:
    scan = read_scan(path)
    inputs = Inputs((), (), f"scan dataset {path}", f"dataset-{path}", path, dict(scan.tables),
                    scan.profiles)
    return Loaded(inputs, scan.headers, scan.load_errors, scan.n_files, 0.0)


def test_load_opens_a_scan_dataset(dataset: Path) -> None:
    at = app_test(page("load"))
    at.session_state[state.SAMPLE_OFFERED] = True
    at.run()
    at.text_input(key=state.LOAD_DATASET).input(str(dataset))
    at.button(key=state.LOAD_DATASET_BUTTON).click().run()
    assert not problems(at), problems(at)
    loaded = at.session_state[state.LOADED]
    assert loaded.from_dataset and loaded.inputs.paths == ()
    expected = read_scan(dataset)
    assert loaded.n_loaded == expected.headers["file"].nunique() == 80
    assert set(loaded.inputs.tables) >= {"effects", "residual_risk", "k_anonymity"}
    shown = " ".join(c.value for c in at.caption)
    assert "Read from the dataset's tables" in shown and "no DICOM file is read" in shown.replace(
        "No DICOM", "no DICOM")
    assert any("Loaded scan dataset" in s.value for s in at.success)


def test_a_folder_without_headers_is_a_clear_error(tmp_path: Path) -> None:
    at = app_test(page("load"))
    at.session_state[state.SAMPLE_OFFERED] = True
    at.run()
    at.text_input(key=state.LOAD_DATASET).input(str(tmp_path))
    at.button(key=state.LOAD_DATASET_BUTTON).click().run()
    assert any("holds no headers table" in e.value for e in at.error)
    assert state.LOADED not in at.session_state


@pytest.mark.parametrize("script", sorted(PAGES.glob("*.py")), ids=lambda p: p.stem)
def test_every_page_works_from_a_scan_dataset(dataset: Path, script: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    def no_dicom(*args: object, **kwargs: object) -> None:
        raise AssertionError("a page read DICOM files although a scan dataset is open")

    monkeypatch.setattr(compute, "assess_paths", no_dicom)
    monkeypatch.setattr(compute, "apply_profiles", no_dicom)
    at = seeded(script, data=_opened(str(dataset))).run()
    assert not problems(at), (script.stem, problems(at))
    assert at.title


def test_the_app_opened_on_a_dataset_switches_to_every_page(dataset: Path) -> None:
    at = app_test(APP)
    at.session_state[state.SAMPLE_OFFERED] = True
    at.session_state[state.LOADED] = _opened(str(dataset))
    at.session_state[state.SECRETS] = secrets()
    at.run()
    for script in sorted(PAGES.glob("*.py")):
        at.switch_page(str(script.relative_to(REPO_ROOT))).run()
        assert not problems(at), (script.name, problems(at))


def test_risk_page_shows_the_datasets_tables_and_names_the_missing_profile(
        dataset: Path) -> None:
    at = seeded(page("risk"), data=_opened(str(dataset))).run()
    assert not problems(at), problems(at)
    expected = read_scan(dataset).tables["residual_risk"]
    shown = frame_by_key(at, state.RISK_FINDINGS_TABLE)
    assert len(shown) == min(len(expected), 5000)
    assert set(shown["profile_id"].astype(str)) == set(MADE_WITH.split(","))
    missing = [i.value for i in at.info if "holds no residual-risk tables" in i.value]
    assert missing and "ps315_basic" in missing[0]
    assert any("From the scan dataset" in c.value for c in at.caption)
    kanon = frame_by_key(at, state.RISK_KANON_TABLE)
    assert len(kanon) == len(read_scan(dataset).tables["k_anonymity"])


def test_one_file_of_a_dataset_element_by_element(dataset: Path) -> None:
    data = _opened(str(dataset))
    at = seeded(page("tag_effects"), MADE_WITH.split(","), data=data).run()
    assert not problems(at), problems(at)
    table = frame_by_key(at, state.TAG_FILE_TABLE)
    assert "eucanimage: result" in table.columns and table["eucanimage: action"].notna().all()


def test_a_scan_without_risk_or_effects_still_serves_every_page(scan_only: Path) -> None:
    data = _opened(str(scan_only))
    assert not data.inputs.tables
    at = seeded(page("tag_effects"), data=data).run()
    assert not problems(at), problems(at)
    table = frame_by_key(at, state.TAG_FILE_TABLE)
    assert len(table) and table[f"{PROFILES[0]}: result"].isna().all()
    at = seeded(page("risk"), data=data).run()
    assert any("holds no residual-risk tables" in i.value for i in at.info)


# -- long work ---------------------------------------------------------------------------------

def _many(n_files: int = 1200) -> Loaded:
    """More files than the threshold, in headers only (no DICOM to read)."""
    base = sample().headers
    one = base[base["file"] == base["file"].iloc[0]]
    frames = [one.assign(file=f"copy_{number:05d}.dcm") for number in range(n_files)]
    headers = pd.concat(frames, ignore_index=True).astype({"file": "category"})
    return Loaded(Inputs(sample().inputs.paths, (), "many", "tests-many"), headers,
                  sample().load_errors, n_files, 0.0)


def _watch_assessments(monkeypatch: pytest.MonkeyPatch, data: Loaded) -> list[object]:
    """Record assessments of the whole load (one file's, for a drill-down, still runs)."""
    started: list[object] = []
    real = compute.assess_paths

    def assess(paths: object, *args: object, **kwargs: object) -> object:
        if list(paths) == list(data.inputs.paths):  # type: ignore[call-overload]
            started.append(paths)
            raise AssertionError("the whole load was assessed without a click")
        return real(paths, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(compute, "assess_paths", assess)
    return started


@pytest.mark.parametrize("name", ["risk", "tag_effects", "consensus", "export"])
def test_above_the_threshold_nothing_starts_on_its_own(name: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    data = _many()
    started = _watch_assessments(monkeypatch, data)
    assert data.n_loaded > compute.RISK_AUTO_MAX_FILES
    at = seeded(page(name), data=data, **{state.RISK_REQUESTED: frozenset({"primage"})}).run()
    assert not problems(at), problems(at)
    assert not started
    buttons = [b.label for b in at.button]
    assert any(word in label for label in buttons for word in ("Assess", "assess", "Prepare")
               ), buttons


def test_consensus_does_not_assess_profiles_nobody_asked_for(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Assessing the active profiles (asked on another page) does not let Consensus start
    assessing another set of profiles on its own."""
    data = _many()
    started = _watch_assessments(monkeypatch, data)
    at = seeded(page("consensus"), data=data, **{
        state.RISK_REQUESTED: True, state.CONS_PROFILES: ["primage", "incisive"]}).run()
    assert not problems(at), problems(at)
    assert not started
    assert any(b.key == state.CONS_RISK_BUTTON for b in at.button)


def test_cancel_forgets_the_request_and_keeps_nothing() -> None:
    data = _many()
    at = seeded(page("risk"), data=data, **{state.RISK_REQUESTED: frozenset(PROFILES),
                                              compute.RISK_CANCEL: True}).run()
    assert not problems(at), problems(at)
    assert state.RISK_REQUESTED not in at.session_state
    assert any(b.key == state.RISK_BUTTON for b in at.button)


def test_progress_says_counts_rate_and_time_left() -> None:
    assert status_text("Assessing", 0, 10_000, 0.0) == "Assessing: 0 of 10,000 files"
    text = status_text("Assessing", 2_500, 10_000, 5.0)
    assert text == "Assessing: 2,500 of 10,000 files · 500 files/s · about 15 s left"
    assert status_text("Reading", 10, 10, 2.0).endswith("5 files/s")
    assert [duration(s) for s in (0.2, 42, 185, 4_200)] == ["under 1 s", "42 s", "3 min 5 s",
                                                            "1 h 10 min"]


def test_a_new_load_forgets_the_requests() -> None:
    at = seeded(page("load"), **{state.RISK_REQUESTED: frozenset(PROFILES)}).run()
    at.button(key=state.LOAD_SAMPLE_BUTTON).click().run()
    assert state.RISK_REQUESTED not in at.session_state
    assert session is not None
