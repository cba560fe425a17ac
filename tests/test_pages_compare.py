"""Compare profiles page: the tables and charts match ``deid.outputs.compare``; the
published figures and their arithmetic; the 2/3-state toggle; the pairwise diff."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import deid
from deid.outputs.compare import (
    PUBLISHED_DIFFERENCES,
    PUBLISHED_FIGURES,
    PUBLISHED_MODIFIED_BY_ALL,
    compare,
    pairwise_diff,
)
from tests.test_pages_support import (
    chart_by_key,
    downloaded,
    frame_by_key,
    page,
    problems,
    record_deferred,
    seeded,
    table_from,
    values,
)
from ui import state

COMPARE = page("compare")
AI4HI = list(PUBLISHED_FIGURES)


def _run(profile_ids: list[str], **extra: object) -> AppTest:
    at = seeded(COMPARE, **{state.CMP_PROFILES: profile_ids, **extra}).run()
    assert not problems(at), problems(at)
    return at


@pytest.fixture(scope="module")
def ai4hi() -> AppTest:
    return _run(AI4HI)


@pytest.fixture(scope="module")
def expected() -> dict[str, pd.DataFrame]:
    return dict(compare(deid.load_profiles(",".join(AI4HI))).tables)


def test_tables_are_the_librarys(ai4hi: AppTest, expected: dict[str, pd.DataFrame]) -> None:
    for key, table in [(state.CMP_SUMMARY_TABLE, "profile_summary"),
                       (state.CMP_MODIFIED_TABLE, "modified_by_all_profiles"),
                       (state.CMP_DIFFERENCES_TABLE, "differences_among_profiles")]:
        shown = frame_by_key(ai4hi, key)
        assert shown["tag" if "tag" in shown else "profile_id"].tolist() == \
            expected[table]["tag" if "tag" in shown else "profile_id"].astype(str).tolist()
    metrics = {m.label: m.value for m in ai4hi.metric}
    assert metrics["Modified by all profiles"] == f"{len(expected['modified_by_all_profiles']):,}"
    assert metrics["Treated differently"] == f"{len(expected['differences_among_profiles']):,}"
    assert any("Universe: 5,2" in c.value for c in ai4hi.caption)


def test_published_figures_beside_ours(ai4hi: AppTest, expected: dict[str, pd.DataFrame]
                                       ) -> None:
    published = frame_by_key(ai4hi, state.CMP_PUBLISHED_TABLE)
    assert len(published) == 6
    assert published["profile"].str.endswith("(reconstructed)").all()
    figures = [PUBLISHED_FIGURES[p.split(" ")[0]] for p in published["profile"]]
    assert published["modified in the differences: published"].tolist() == \
        [f[0] for f in figures]
    assert published["only this profile modifies: published"].tolist() == [f[1] for f in figures]
    summary = expected["profile_summary"].set_index("profile_id")
    ours = [summary.loc[p.split(" ")[0], "n_modified_in_differences"]
            for p in published["profile"]]
    assert published["modified in the differences: ours"].tolist() == ours
    text = " ".join(m.value for m in ai4hi.markdown)
    assert f"**{PUBLISHED_MODIFIED_BY_ALL}**" in text and f"{PUBLISHED_DIFFERENCES:,}" in text
    assert "139 + 176 + 143 + 325 + 403 = **1,186**" in text
    assert "4,526 - 1,186 = **3,340**" in text and "not 1,333" in text
    assert not ai4hi.warning  # exactly the six: no like-with-like warning


def test_other_profiles_get_a_like_with_like_warning() -> None:
    at = _run(["ps315_basic", "eucanimage"])
    assert any("exactly the six" in w.value for w in at.warning)
    assert len(frame_by_key(at, state.CMP_PUBLISHED_TABLE)) == 1


def test_the_six_button_chooses_the_ai4hi_profiles() -> None:
    at = _run(["ps315_basic"])
    at.button(key=state.CMP_AI4HI_BUTTON).click().run()
    assert at.multiselect(key=state.CMP_PROFILES).value == AI4HI


@pytest.mark.parametrize(("family", "expected"), [
    ("ps315", ["ps315_basic"]), ("ctp", ["ctp_basic", "ctp_default", "eucaim"]),
    ("tools", ["pydicom_deid_default", "dicognito_default", "dicom_anonymizer_default"])])
def test_a_family_button_chooses_its_profiles(family: str, expected: list[str]) -> None:
    at = _run(["primage"])
    at.button(key=state.CMP_FAMILY_BUTTON_PREFIX + family).click().run()
    assert at.multiselect(key=state.CMP_PROFILES).value == expected
    assert not at.exception


def test_heatmap_by_group_and_by_tag(ai4hi: AppTest, expected: dict[str, pd.DataFrame]) -> None:
    trace = chart_by_key(ai4hi, state.CMP_HEATMAP).data[0]
    assert trace.type == "heatmap" and list(trace.x) == AI4HI
    groups = sorted(expected["tag_matrix"]["tag"].astype(str).str[1:5].unique())
    assert list(trace.y) == groups
    z = values(trace.z).astype(float)
    assert z.shape == (len(groups), 6) and ((z >= 0) & (z <= 1)).all()

    at = _run(AI4HI, **{state.CMP_HEATMAP_MODE: "tag"})
    trace = chart_by_key(at, state.CMP_HEATMAP).data[0]
    assert len(trace.y) == len(expected["tag_matrix"])
    assert set(np.unique(values(trace.z).astype(float))) == {0.0, 1.0}


def test_bar_chart_counts_modified_and_kept(ai4hi: AppTest,
                                            expected: dict[str, pd.DataFrame]) -> None:
    bars = {t.name: t for t in chart_by_key(ai4hi, state.CMP_COUNTS).data}
    summary = expected["profile_summary"]
    assert list(bars["modified"].x) == summary["profile_id"].astype(str).tolist()
    assert values(bars["modified"].y).tolist() == summary["n_modified"].astype(int).tolist()
    assert values(bars["kept"].y).tolist() == summary["n_kept"].astype(int).tolist()


def test_three_states() -> None:
    at = _run(AI4HI, **{state.CMP_STATES: 3})
    differences = frame_by_key(at, state.CMP_DIFFERENCES_TABLE)
    values = set(differences[AI4HI].to_numpy().ravel())
    assert "unspecified" in values
    expected = compare(deid.load_profiles(",".join(AI4HI)), states=3).tables
    assert len(differences) == min(len(expected["differences_among_profiles"]), 5000)
    heat = chart_by_key(at, state.CMP_HEATMAP).data[0]
    assert "left to the profile's default" in heat.text[0][0]


def test_pairwise_diff_with_reasons_and_sources() -> None:
    at = _run(AI4HI, **{state.CMP_PAIR_A: "procancer_i", state.CMP_PAIR_B: "primage"})
    diff = frame_by_key(at, state.CMP_PAIR_TABLE)
    actions = compare(deid.load_profiles("procancer_i,primage")).tables["profile_actions"]
    expected = pairwise_diff(actions, "procancer_i", "primage")
    assert len(diff) == min(len(expected), 5000)
    assert {"reason_a", "reason_b", "source_a", "source_b"} <= set(diff.columns)
    assert (diff["action_a"] != diff["action_b"]).all()

    at.selectbox(key=state.CMP_PAIR_B).set_value("procancer_i").run()
    assert any("two different profiles" in i.value for i in at.info)


def test_no_profile_chosen_says_what_to_do() -> None:
    at = _run([])
    assert any("No profile is active" in i.value for i in at.info)


def test_the_every_tag_map_is_categorical_labelled_and_searchable(
        expected: dict[str, pd.DataFrame]) -> None:
    at = _run(AI4HI, **{state.CMP_HEATMAP_MODE: "tag", state.CMP_STATES: 3})
    figure = chart_by_key(at, state.CMP_HEATMAP)
    trace = figure.data[0]
    colorbar = trace.colorbar
    assert list(colorbar.ticktext) == ["modify", "keep", "unspecified"]
    assert list(colorbar.tickvals) == [0, 1, 2]
    colours = [step[1] for step in trace.colorscale]
    assert len(set(colours)) == 3 and colours[0] == colours[1]  # one flat colour per state
    assert set(np.unique(values(trace.z).astype(float))) <= {0.0, 1.0, 2.0}
    labels = list(figure.layout.yaxis.ticktext)
    assert labels[0].startswith("group ") and 10 < len(labels) <= 80  # group labels
    assert "PatientName" in trace.text[
        list(trace.y).index("(0010,0010)")][0]  # hover names the tag

    found = _run(AI4HI, **{state.CMP_HEATMAP_MODE: "tag", state.CMP_HEATMAP_SEARCH: "Patient",
                           state.CMP_HEATMAP_GROUPS: ["0010"]})
    figure = chart_by_key(found, state.CMP_HEATMAP)
    rows = list(figure.data[0].y)
    assert rows and all(tag.startswith("(0010,") for tag in rows)
    assert "(0010,0010) PatientName" in list(figure.layout.yaxis.ticktext)


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_compare_exports_what_it_shows(monkeypatch: pytest.MonkeyPatch, fmt: str,
                                       tmp_path: Path) -> None:
    """Each download gives the comparison of the profiles the page compares (not the active
    ones), as the library computes it, read back from the bytes the button gives."""
    made = record_deferred(monkeypatch)
    chosen = ["ps315_basic", "procancer_i"]
    at = _run(chosen, **{state.CMP_STATES: 3})
    shown = frame_by_key(at, state.CMP_SUMMARY_TABLE)
    assert sorted(shown["profile_id"]) == sorted(chosen)  # not the active profiles
    library = deid.outputs.compare.compare(deid.load_profiles(",".join(chosen)),
                                           states=3).tables
    for table in ("profile_actions", "tag_matrix", "modified_by_all_profiles",
                  "differences_among_profiles", "profile_summary"):
        data = downloaded(at, state.compare_download_key(table, fmt), made)
        got = table_from(data, fmt, table, tmp_path)
        assert list(got.columns) == list(library[table].columns), table
        pd.testing.assert_frame_equal(got.reset_index(drop=True),
                                      library[table].reset_index(drop=True),
                                      check_dtype=False, check_column_type=False, obj=table)
    assert len(table_from(downloaded(at, state.compare_download_key(
        "differences_among_profiles", fmt), made), fmt, "differences_among_profiles",
        tmp_path)) == len(frame_by_key(at, state.CMP_DIFFERENCES_TABLE))
