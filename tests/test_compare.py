"""Whole-dictionary comparison: golden tables on hand-made profiles, counts checked by hand,
the shipped profiles' summary recomputed independently, Parquet and CSV read back equal."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pandas.testing as pdt
import pyarrow.parquet as pq
import pytest

from deid import list_profiles, load_profile
from deid.outputs.compare import (
    PUBLISHED_FIGURES,
    compare,
    comparison_universe,
    pairwise_diff,
    profile_actions,
    representative,
)
from deid.outputs.export import (
    export_metadata,
    read_csv_table,
    read_parquet_table,
    write_tables,
)
from deid.policy.dictionary import dictionary_entries, info_for_tag
from deid.policy.schema import TABLES

GOLDEN = Path(__file__).parent / "golden" / "compare"
KEYWORDS = ("StudyDate", "AccessionNumber", "PatientName", "PatientSex", "SliceThickness",
            "Rows")
TABLE_NAMES = ("profile_actions", "tag_matrix", "modified_by_all_profiles",
               "differences_among_profiles", "profile_summary")


def golden_profiles():  # type: ignore[no-untyped-def]
    return [load_profile(GOLDEN / "profiles" / f"{name}.toml")
            for name in ("names", "allow", "dates")]


def golden_universe(profiles):  # type: ignore[no-untyped-def]
    base = [info for info in dictionary_entries()
            if info.keyword in KEYWORDS or info.tag == "(60xx,3000)"]
    return comparison_universe(profiles, base=base)


@pytest.fixture(scope="module")
def golden():  # type: ignore[no-untyped-def]
    profiles = golden_profiles()
    return compare(profiles, universe=golden_universe(profiles))


def test_universe_adds_the_tags_profiles_name(golden) -> None:  # type: ignore[no-untyped-def]
    tags = [row.tag for row in golden.universe.tags]
    assert tags == ["(0008,0020)", "(0008,0050)", "(0010,0010)", "(0010,0040)",
                    "(0018,0050)", "(0028,0010)", "(0029,1010)", "(60xx,3000)"]
    assert "1 tags or patterns named by the compared profiles" in golden.universe.source


HAND_SUMMARY = pd.DataFrame({
    # profile: modified, kept, explicit, modified in differences, only this profile
    "profile_id": ["allow", "dates", "names"],
    "n_modified": [5, 4, 4],
    "n_kept": [3, 4, 4],
    "n_explicit": [3, 4, 3],
    "n_modified_in_differences": [2, 1, 1],
    "n_only_modified_by_this_profile": [0, 0, 0],
})


def test_counts_checked_by_hand(golden) -> None:  # type: ignore[no-untyped-def]
    summary = golden.tables["profile_summary"]
    got = summary[list(HAND_SUMMARY.columns)].to_dict("list")
    assert got == HAND_SUMMARY.to_dict("list")
    assert list(golden.tables["modified_by_all_profiles"]["tag"]) == [
        "(0008,0050)", "(0010,0010)", "(0029,1010)"]
    differences = golden.tables["differences_among_profiles"]
    assert list(differences["tag"]) == ["(0008,0020)", "(60xx,3000)"]
    assert list(differences.iloc[0][["allow", "dates", "names"]]) == ["modify", "modify", "keep"]


@pytest.mark.parametrize("table", TABLE_NAMES)
def test_golden_tables_byte_for_byte(golden, tmp_path: Path, table: str) -> None:  # type: ignore[no-untyped-def]
    write_tables({table: golden.tables[table]}, tmp_path, formats=["csv"])
    assert (tmp_path / f"{table}.csv").read_bytes() == (GOLDEN / f"{table}.csv").read_bytes()


def test_three_state_view_marks_defaults_unspecified(golden) -> None:  # type: ignore[no-untyped-def]
    profiles = golden_profiles()
    three = compare(profiles, universe=golden_universe(profiles), states=3)
    table = three.tables["differences_among_profiles"].set_index("tag")
    assert table.loc["(0008,0020)", "names"] == "unspecified"   # StudyDate: default keep
    assert table.loc["(0010,0040)", "allow"] == "keep"          # named by the allow-list
    assert table.loc["(0010,0040)", "names"] == "unspecified"


def test_pairwise_diff_has_both_actions_and_reasons(golden) -> None:  # type: ignore[no-untyped-def]
    diff = pairwise_diff(golden.tables["profile_actions"], "names", "dates")
    rows = diff.set_index("tag")
    assert list(rows.index) == ["(0008,0020)", "(0008,0050)", "(0010,0010)", "(60xx,3000)"]
    assert rows.loc["(0008,0050)", "action_a"] == "empty"
    assert rows.loc["(0008,0050)", "action_b"] == "hash"
    assert rows.loc["(0008,0050)", "reason_b"] == "Keyed hash."
    assert rows.loc["(0008,0020)", "source_a"] == "names: unlisted = keep"
    with pytest.raises(ValueError, match="not in the compared profiles"):
        pairwise_diff(golden.tables["profile_actions"], "names", "nope")


def test_pattern_rows_are_decided_for_the_pattern() -> None:
    assert representative("(60xx,3000)") == 0x60EE3000
    assert representative("(50xx,xxxx)") == 0x50EEEEEE
    assert representative("(0010,0010)") == 0x00100010
    assert info_for_tag(representative("(60xx,3000)")).tag == "(60xx,3000)"


@pytest.fixture(scope="module")
def shipped():  # type: ignore[no-untyped-def]
    profiles = [load_profile(info.id) for info in list_profiles()]
    return compare(profiles)


def test_shipped_summary_recomputed_independently(shipped) -> None:  # type: ignore[no-untyped-def]
    actions = shipped.tables["profile_actions"]
    summary = shipped.tables["profile_summary"].set_index("profile_id")
    by_tag: dict[str, dict[str, str]] = {}
    for row in actions.itertuples():
        by_tag.setdefault(row.tag, {})[row.profile_id] = row.effect
    ids = list(summary.index)
    for profile_id in ids:
        mine = [effects[profile_id] for effects in by_tag.values()]
        differing = [tag for tag, effects in by_tag.items() if len(set(effects.values())) > 1]
        only = [tag for tag, effects in by_tag.items()
                if effects[profile_id] == "modify"
                and sum(value == "modify" for value in effects.values()) == 1]
        expected = {
            "n_universe": len(by_tag),
            "n_modified": mine.count("modify"),
            "n_kept": mine.count("keep"),
            "n_explicit": int(actions[actions.profile_id == profile_id]["explicit"].sum()),
            "n_modified_in_differences": sum(by_tag[t][profile_id] == "modify"
                                             for t in differing),
            "n_only_modified_by_this_profile": len(only),
        }
        got = {key: int(summary.loc[profile_id, key]) for key in expected}
        assert got == expected, profile_id
        published = PUBLISHED_FIGURES.get(profile_id)
        if published:
            assert int(summary.loc[profile_id, "published_n_modified_in_differences"]) == (
                published[0])


def test_universe_covers_the_dictionary(shipped) -> None:  # type: ignore[no-untyped-def]
    tags = {row.tag for row in shipped.universe.tags}
    assert {info.tag for info in dictionary_entries()} <= tags
    assert "(0010,0011)" in tags  # Person Names to Use Sequence: in E.1-1, newer than pydicom


def test_parquet_and_csv_read_back_equal(shipped, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    profiles = shipped.profiles
    write_tables(shipped.tables, tmp_path, metadata=export_metadata(profiles))
    for name, frame in shipped.tables.items():
        parquet = read_parquet_table(tmp_path / f"{name}.parquet")
        csv = read_csv_table(tmp_path / f"{name}.csv", name)
        pdt.assert_frame_equal(parquet, frame, check_column_type=False)
        pdt.assert_frame_equal(csv, frame, check_column_type=False)
        assert list(frame.columns) == TABLES[name].column_names(
            [p.id for p in sorted(profiles, key=lambda p: p.id)])
    metadata = pq.read_schema(tmp_path / "profile_summary.parquet").metadata
    assert metadata[b"deid.dicom_edition"] == b"2026c"
    assert b"sha256" in metadata[b"deid.profiles"]


def test_rows_are_sorted_and_deterministic(shipped) -> None:  # type: ignore[no-untyped-def]
    actions = shipped.tables["profile_actions"]
    assert list(actions["tag"][: len(shipped.universe.tags)]) == sorted(
        actions["tag"][: len(shipped.universe.tags)])
    again = profile_actions(shipped.profiles, shipped.universe)
    pdt.assert_frame_equal(again, actions)


def test_compare_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="at least one profile"):
        compare([])
    basic = load_profile("ps315_basic")
    with pytest.raises(ValueError, match="given twice"):
        compare([basic, basic])
