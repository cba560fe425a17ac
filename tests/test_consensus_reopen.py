"""A consensus reopens where it was: its profiles, title and sample are kept (chained) in the
decision record; the worklist is ranked by what matters and says under which profile a tag is
a residual risk; a signed profile's text is kept by its sha256."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deid import Secrets, load_profile
from deid.consensus.store import DATABASE_NAME, DecisionStore, DecisionStoreError
from deid.consensus.worklist import _risk_by_tag, build_worklist, files_by_tag
from deid.ingest import load_headers
from deid.outputs.compare import comparison_universe
from deid.risk.report import assess_paths

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
AI4HI = ("procancer_i", "chaimeleon_images_w_ecrfs", "chaimeleon_images_only", "primage",
         "incisive", "eucanimage")
PROFILES = (("procancer_i", "a" * 64), ("eucanimage", "b" * 64))


def test_settings_are_saved_and_the_latest_reopens(tmp_path: Path) -> None:
    store = DecisionStore(tmp_path)
    assert store.settings("committee") is None
    store.save_settings("committee", saved_by="Ana", profiles=PROFILES, title="T1",
                        sources=["/data/site_a"])
    store.save_settings("committee", saved_by="Ben", profiles=PROFILES[:1], title="T2")
    reopened = DecisionStore(tmp_path, read_only=True).settings("committee")
    assert reopened is not None
    assert (reopened.profile_ids, reopened.title, reopened.sources) == (("procancer_i",),
                                                                        "T2", ())
    assert reopened.saved_by_label == "Ben (unverified)"
    overview = store.overview()
    assert list(overview["consensus_id"]) == ["committee"]
    assert overview.loc[0, "profiles"] == "procancer_i" and overview.loc[0, "n_decisions"] == 0


def test_settings_are_chained_and_a_change_shows(tmp_path: Path) -> None:
    store = DecisionStore(tmp_path)
    store.save_settings("committee", saved_by="Ana", profiles=PROFILES)
    assert store.verify().holds and store.verify().settings is not None
    with sqlite3.connect(tmp_path / DATABASE_NAME) as connection:
        connection.execute("UPDATE consensus_settings SET profiles = '[]'")
    check = store.verify()
    assert not check.holds and check.settings is not None and check.settings.broken_at == 1
    assert any("consensus_settings" in line for line in check.summary())


def test_settings_need_a_profile_and_a_name(tmp_path: Path) -> None:
    store = DecisionStore(tmp_path)
    with pytest.raises(DecisionStoreError, match="at least one profile"):
        store.save_settings("committee", saved_by="Ana", profiles=[])
    with pytest.raises(DecisionStoreError, match="name"):
        store.save_settings("committee", saved_by=" ", profiles=PROFILES)


def test_a_signed_profile_text_is_kept_by_its_sha256(tmp_path: Path) -> None:
    import hashlib

    store = DecisionStore(tmp_path)
    text = 'schema_version = 1\nid = "x"\n'
    sha = hashlib.sha256(text.encode()).hexdigest()
    store.sign_off("x", sha, reviewer="Dee", decision="approved", profile_text=text)
    assert store.signed_profile_text(sha) == text
    store.sign_off("x", "c" * 64, reviewer="Dee", decision="approved", profile_text=text)
    assert store.signed_profile_text("c" * 64) is None  # the text is not that version's
    with sqlite3.connect(tmp_path / DATABASE_NAME) as connection:
        connection.execute("UPDATE signed_profiles SET text = 'changed'")
    assert store.signed_profile_text(sha) is None


def test_a_record_from_before_the_settings_reads_and_verifies(tmp_path: Path) -> None:
    store = DecisionStore(tmp_path)
    store.decide("old", "(0010,0040)", decider="Ana", action="keep", reason="r")
    with sqlite3.connect(tmp_path / DATABASE_NAME) as connection:
        connection.execute("DROP TABLE consensus_settings")
        connection.execute("DROP TABLE signed_profiles")
    old = DecisionStore(tmp_path, read_only=True)
    assert old.settings("old") is None and old.verify().holds
    assert list(old.overview()["consensus_id"]) == ["old"]


@pytest.fixture(scope="module")
def ranked() -> pd.DataFrame:
    profiles = [load_profile(pid) for pid in AI4HI]
    paths = [SAMPLE / "files", SAMPLE / "cohort"]
    headers = load_headers(paths).headers
    findings = assess_paths(paths, profiles, secrets=Secrets({"default": "w", "site": "s"})
                            ).report.residual_risk
    present = files_by_tag(headers, comparison_universe(profiles))
    return build_worklist(profiles, findings=findings, present=present)


def test_tags_in_the_files_come_first_risky_ones_first(ranked: pd.DataFrame) -> None:
    present = (ranked["n_files"] > 0).to_numpy()
    first_absent = int(present.argmin())
    assert present[:first_absent].all() and not present[first_absent:].any()
    risky = (ranked["risky_under"] != "").to_numpy()[:first_absent]
    assert risky.any() and not risky[int(risky.argmin()):].any()
    assert ranked["tag"].iloc[0] != "(0000,0000)"


def test_risky_under_any_profile_finds_what_the_majority_hides(ranked: pd.DataFrame) -> None:
    rows = ranked.set_index("keyword")
    for keyword in ("PatientAge", "PatientSex", "PatientSize", "PatientWeight"):
        under = rows.loc[keyword, "risky_under"].split(",")
        assert {"chaimeleon_images_w_ecrfs", "chaimeleon_images_only"} <= set(under), keyword
        assert rows.loc[keyword, "n_files"] > 0


def test_patterns_count_the_files_of_any_tag_they_match() -> None:
    profiles = [load_profile("ps315_basic")]
    universe = comparison_universe(profiles)
    headers = pd.DataFrame({"file": ["a", "b", "b"],
                            "tag": ["(6000,3000)", "(6002,3000)", "(0010,0010)"]})
    present = files_by_tag(headers, universe)
    assert present["(60xx,3000)"] == 2 and present["(0010,0010)"] == 1


def _risk_by_tag_one_group_at_a_time(findings: pd.DataFrame) -> dict[tuple[str, str], tuple]:
    """What the worklist's risk column says per (tag, profile), computed group by group."""
    rank = {"high": 0, "medium": 1, "low": 2, "": 3}
    found: dict[tuple[str, str], tuple] = {}
    tagged = findings[findings["tag"].astype(str) != ""]
    for (tag, profile_id), rows in tagged.groupby(["tag", "profile_id"], sort=True):
        kinds = ", ".join(f"{kind} ({severity})" for kind, severity in
                          sorted({(str(k), str(s)) for k, s in
                                  zip(rows["risk_kind"], rows["severity"], strict=True)}))
        worst = min(rows["severity"].astype(str), key=lambda s: rank.get(s, 3))
        found[(str(tag), str(profile_id))] = (f"{kinds} in {rows['file'].nunique()} file(s)",
                                             worst)
    return found


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["(0010,0010)", "(0008,0050)", "", "(0010,1010)"]),
                          st.sampled_from(["p1", "p2"]),
                          st.sampled_from(["direct_identifier", "free_text", "quasi"]),
                          st.sampled_from(["high", "medium", "low", "odd"]),
                          st.sampled_from(["a.dcm", "b.dcm", "c.dcm"])), max_size=40))
def test_the_risk_per_tag_and_profile_is_each_groups_summary(rows: list[tuple]) -> None:
    findings = pd.DataFrame(rows, columns=["tag", "profile_id", "risk_kind", "severity", "file"])
    got = {key: (risk.text, risk.severity) for key, risk in _risk_by_tag(findings).items()}
    assert got == _risk_by_tag_one_group_at_a_time(findings)
