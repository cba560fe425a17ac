"""Per-file effects: the engine's record element for element, copies written elsewhere, and
the vectorized application to loaded rows."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pydicom
import pytest

import deid
from deid.ingest import IngestLimits, load_headers
from deid.outputs.effects import (
    OutputFolderError,
    apply_profiles,
    apply_to_headers,
    required_secrets,
    write_effects,
)
from deid.outputs.export import read_parquet_table

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
FILES = SAMPLE / "files"
PROFILE_IDS = ("ps315_basic", "chaimeleon_images_w_ecrfs", "procancer_i", "eucanimage")
COLUMNS = ["file", "element_path", "tag", "keyword", "vr", "profile_id", "action", "effect",
           "original_value", "result_value", "residual_risk", "writer"]


@pytest.fixture(scope="module")
def profiles() -> list[deid.Profile]:
    return [deid.load_profile(profile_id) for profile_id in PROFILE_IDS]


@pytest.fixture(scope="module")
def secrets(profiles: list[deid.Profile]) -> deid.Secrets:
    return deid.Secrets({name: f"test-secret-{name}" for name in required_secrets(profiles)})


def _engine(path: Path, profile: deid.Profile, secrets: deid.Secrets) -> list[tuple]:  # type: ignore[type-arg]
    result = deid.apply_profile(deid.read_dataset(path), profile, secrets=secrets)
    return [(e.path, e.tag, e.keyword, e.vr, e.action.value, e.effect.value, e.before, e.after)
            for e in result.effects]


def _mine(effects: pd.DataFrame, path: Path, profile_id: str) -> list[tuple]:  # type: ignore[type-arg]
    rows = effects[(effects["file"] == path.as_posix()) & (effects["profile_id"] == profile_id)]
    columns = ["element_path", "tag", "keyword", "vr", "action", "effect", "original_value",
               "result_value"]
    return [tuple(None if pd.isna(value) else value for value in row)
            for row in rows[columns].astype(object).itertuples(index=False)]


def test_effects_match_the_engine_on_every_sample_file(profiles: list[deid.Profile],
                                                       secrets: deid.Secrets) -> None:
    cohort = sorted((SAMPLE / "cohort").glob("*.dcm"))[:10]
    result = apply_profiles([FILES, *cohort], profiles, secrets=secrets, include_values=True,
                            workers=1)
    assert result.load_errors.empty
    assert list(result.effects.columns) == COLUMNS
    for path in [*sorted(FILES.glob("*.dcm")), *cohort]:
        for profile in profiles:
            assert _mine(result.effects, path, profile.id) == _engine(path, profile, secrets), (
                f"{path.name} under {profile.id}")


def test_long_values_not_read_fall_back_to_the_engine(profiles: list[deid.Profile],
                                                      secrets: deid.Secrets) -> None:
    path = FILES / "sr_comprehensive_nested.dcm"
    result = apply_profiles([path], profiles[:1], secrets=secrets, include_values=True,
                            workers=1, limits=IngestLimits(defer_size=16))
    assert _mine(result.effects, path, PROFILE_IDS[0]) == _engine(path, profiles[0], secrets)


def test_values_only_when_asked(profiles: list[deid.Profile], secrets: deid.Secrets) -> None:
    result = apply_profiles([FILES / "ct_series_slice1.dcm"], profiles[:2], secrets=secrets,
                            workers=1)
    effects = result.effects
    assert effects["original_value"].isna().all() and effects["result_value"].isna().all()
    assert effects["residual_risk"].isna().all()  # not assessed by apply alone
    assert set(effects["profile_id"]) == set(PROFILE_IDS[:2])


def test_parallel_written_tables(tmp_path: Path, profiles: list[deid.Profile],
                                 secrets: deid.Secrets) -> None:
    written = write_effects([SAMPLE / "cohort"], profiles[:1], tmp_path / "out",
                            secrets=secrets, workers=2, formats=["parquet"])
    assert [p.name for p in written.paths] == ["effects.parquet", "load_errors.parquet"]
    assert written.files == 300 and written.load_errors == 0 and written.rows > 300
    table = read_parquet_table(tmp_path / "out" / "effects.parquet")
    assert list(table.columns) == COLUMNS
    assert table["file"].nunique() == 300


def test_missing_secret_is_refused_before_reading(profiles: list[deid.Profile]) -> None:
    with pytest.raises(deid.SecretMissingError, match="DEID_SECRET"):
        apply_profiles([FILES], profiles[:1], secrets=deid.Secrets({}), workers=1)


def _sha(folder: Path) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_write_dicom_mirrors_inputs_elsewhere(tmp_path: Path, profiles: list[deid.Profile],
                                              secrets: deid.Secrets) -> None:
    before = _sha(FILES)
    out = tmp_path / "deid"
    result = apply_profiles([FILES], profiles[:1], secrets=secrets, write_dicom=out,
                            include_values=True, workers=2)
    assert _sha(FILES) == before
    assert result.load_errors.empty
    written = sorted((out / "ps315_basic").glob("*.dcm"))
    assert [p.name for p in written] == sorted(p.name for p in FILES.glob("*.dcm"))
    copy = pydicom.dcmread(out / "ps315_basic" / "ct_series_slice1.dcm")
    assert copy.PatientIdentityRemoved == "YES"
    path = FILES / "ct_series_slice1.dcm"
    assert _mine(result.effects, path, "ps315_basic") == _engine(path, profiles[0], secrets)


def test_write_dicom_refuses_input_folders(tmp_path: Path, profiles: list[deid.Profile],
                                           secrets: deid.Secrets) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "a.dcm").write_bytes((FILES / "rtplan.dcm").read_bytes())
    for out in (inputs, inputs / "sub"):
        with pytest.raises(OutputFolderError, match="must not be an input folder"):
            apply_profiles([inputs], profiles[:1], secrets=secrets, write_dicom=out, workers=1)
    with pytest.raises(OutputFolderError, match="holds an input file"):
        apply_profiles([inputs / "a.dcm"], profiles[:1], secrets=secrets, write_dicom=tmp_path,
                       workers=1)


def test_vectorized_actions_agree_with_the_record(profiles: list[deid.Profile],
                                                  secrets: deid.Secrets) -> None:
    headers = load_headers([SAMPLE / "cohort"], workers=1).headers
    per_file = apply_profiles([SAMPLE / "cohort"], profiles[:1], secrets=secrets,
                              workers=1).effects
    vector = apply_to_headers(headers, profiles[0])
    assert len(vector) == len(headers)
    assert str(vector["action"].dtype) == "category"
    top = vector[(headers["depth"] == 0) & ~headers["tag"].astype(str).str.startswith("(0002")]
    merged = top.merge(per_file, on=["file", "element_path"], suffixes=("", "_file"))
    assert len(merged) == len(top)
    assert (merged["action"].astype(str) == merged["action_file"].astype(str)).all()


def test_bad_inputs_are_load_errors_and_the_rest_is_applied(
        tmp_path: Path, profiles: list[deid.Profile], secrets: deid.Secrets) -> None:
    from tests import badinput

    made = badinput.make_all(tmp_path, unreadable_file=False)
    result = apply_profiles([tmp_path], profiles[:1], secrets=secrets, include_values=True,
                            workers=2, limits=IngestLimits(max_archive_bytes=16 << 20))
    files = set(result.effects["file"].astype(str))
    for name in ("good", "deflated", "big_endian", "implicit", "latin1", "iso2022_japanese"):
        assert made[name].as_posix() in files, name
    errors = set(zip(result.load_errors["file"], result.load_errors["error_kind"],
                     strict=True))
    assert (made["truncated"].as_posix(), "truncated") in errors
    assert (made["zip_bomb"].as_posix(), "archive_too_large") in errors
    for name in ("deflated", "big_endian", "latin1"):
        path = made[name]
        assert _mine(result.effects, path, "ps315_basic") == _engine(path, profiles[0], secrets)
