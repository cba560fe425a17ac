"""What a planner remembers between files (decisions, transformed values, the IOD's
requirements) and what a risk worker keeps between batches never changes a plan: a planner that
planned other files first plans each file exactly as a fresh one does."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydicom.dataset import Dataset

from deid import Secrets, list_profiles, load_profile
from deid.ingest.reader import ArchiveCache, planning_trees
from deid.ingest.sources import IngestLimits, collect_sources
from deid.ingest.tree import Node, build_tree
from deid.outputs.effects import required_secrets
from deid.policy.actions import Action
from deid.risk import batches
from deid.risk.batches import RiskJob
from deid.transform import markers
from deid.transform.dispatch import TransformState
from deid.transform.plan import FilePlan, Planner, TransformMemo
from tests.engine_helpers import profile

SAMPLE_FILES = Path(__file__).resolve().parents[1] / "data" / "sample" / "files"
PROFILES = [load_profile(info.id) for info in list_profiles()]
SECRETS = Secrets({name: f"memory-{name}" for name in required_secrets(PROFILES)})


def _trees() -> list[tuple[str, list[Node], list[Node]]]:
    sources, _ = collect_sources([SAMPLE_FILES])
    archives = ArchiveCache()
    return [(source.name, *planning_trees(source, IngestLimits(), archives))
            for source in sources]


TREES = _trees()


def _fresh(profile_: object, meta: list[Node], body: list[Node]) -> FilePlan:
    return Planner(profile_, SECRETS).plan(meta, body)  # type: ignore[arg-type]


@pytest.mark.parametrize("chosen", PROFILES, ids=lambda p: p.id)
def test_a_planner_that_planned_other_files_plans_each_as_a_fresh_one(chosen: object) -> None:
    shared = Planner(chosen, SECRETS)  # type: ignore[arg-type]
    for _ in range(2):  # the second round finds everything remembered
        for name, meta, body in TREES:
            assert shared.plan(meta, body) == _fresh(chosen, meta, body), name


@settings(max_examples=15, deadline=None)
@given(order=st.permutations(range(len(TREES))),
       chosen=st.sampled_from([p for p in PROFILES
                               if p.id in ("procancer_i", "incisive", "ctp_default")]))
def test_the_order_files_are_planned_in_changes_no_plan(order: list[int], chosen: object) -> None:
    shared = Planner(chosen, SECRETS)  # type: ignore[arg-type]
    for index in order:
        name, meta, body = TREES[index]
        assert shared.plan(meta, body) == _fresh(chosen, meta, body), name


SHIFT = profile('unlisted = "keep"\nprivate_tags = "keep"\n\n'
                '[[rules]]\nkeyword = "StudyDate"\naction = "shift_date"\n'
                'reason = "Dates shifted per patient."\nsource = "test"\n\n'
                '[[rules]]\nkeyword = "StudyDescription"\naction = "clean"\n'
                'reason = "Free text cleaned of the patient\'s identifiers."\nsource = "test"\n')


def _patient_file(patient_id: str, name: str) -> tuple[list[Node], list[Node]]:
    dataset = Dataset()
    dataset.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    dataset.PatientID, dataset.PatientName = patient_id, name
    dataset.StudyDate = "20240131"
    dataset.StudyDescription = "CT for Curie"
    return build_tree(dataset)


def _value(plan: FilePlan, keyword_tag: int) -> object:
    return next(outcome.output_value for outcome in plan.body if outcome.tag == keyword_tag)


def test_values_that_depend_on_the_patient_are_remembered_per_patient() -> None:
    curie = _patient_file("P-1", "Curie^Marie")
    other = _patient_file("P-2", "Other^Anna")
    shared = Planner(SHIFT, Secrets({"default": b"k" * 32}))
    first, second = shared.plan(*curie), shared.plan(*other)
    assert first == Planner(SHIFT, Secrets({"default": b"k" * 32})).plan(*curie)
    assert second == Planner(SHIFT, Secrets({"default": b"k" * 32})).plan(*other)
    # the same date shifts by each patient's own offset; the name is cleaned only from its own
    assert _value(first, 0x00080020) != _value(second, 0x00080020)
    assert "Curie" not in str(_value(first, 0x00081030))
    assert _value(second, 0x00081030) == "CT for Curie"


@pytest.mark.parametrize(("value", "remembered"), [
    ("1.2.3", True), (b"\x01\x02", True), (7, True), (1.5, True), (["A", "B"], True),
    ([1, 2], False), (None, False), (("A",), False)])
def test_only_plain_values_are_remembered(value: object, remembered: bool) -> None:
    decision = Planner(SHIFT, Secrets({"default": b"k" * 32})).decide(0x0020000D, "UI", None)
    node = Node(0x0020000D, "UI", None, value, None, None, 0)
    assert (TransformMemo.key(decision, node, _state("p")) is not None) is remembered


def test_the_patient_is_part_of_the_key_only_for_actions_that_read_it() -> None:
    planner = Planner(SHIFT, Secrets({"default": b"k" * 32}))
    shifted = planner.decide(0x00080020, "DA", None)
    kept = planner.decide(0x00080021, "DA", None)
    assert shifted.action is Action.SHIFT_DATE and kept.action is Action.KEEP
    node = Node(0x00080020, "DA", None, "20240131", None, None, 0)
    state_a, state_b = _state("a"), _state("b")
    assert TransformMemo.key(shifted, node, state_a) != TransformMemo.key(shifted, node, state_b)
    assert TransformMemo.key(kept, node, state_a) == TransformMemo.key(kept, node, state_b)


def _state(patient_key: str) -> TransformState:
    return TransformState(Secrets({"default": b"k" * 32}), patient_key, (), {})


def test_the_memory_is_bounded() -> None:
    memo = TransformMemo(limit=3)
    decision = Planner(SHIFT, Secrets({"default": b"k" * 32})).decide(0x00080020, "DA", None)
    for number in range(10):
        memo.put(("key", number), decision, (f"value {number}", None, True))
        assert len(memo._done) <= 3
    assert memo.get(("key", 9)) == ("value 9", None, True)
    assert memo.get(("key", 0)) is None


def test_what_removed_elements_must_be_instead_is_remembered_within_a_bound() -> None:
    basic = next(p for p in PROFILES if p.id == "ps315_basic")
    unbounded = Planner(basic, SECRETS)
    for _, meta, body in TREES:
        unbounded.plan(meta, body)
    imposed = [known[2] for known in unbounded._removals.values() if known[2] is not None]
    assert imposed, "the sample files have removed elements their IOD requires"
    bounded = Planner(basic, SECRETS)
    bounded.removals_limit = 2
    for _ in range(2):
        for name, meta, body in TREES:
            assert bounded.plan(meta, body) == _fresh(basic, meta, body), name
            assert len(bounded._removals) <= 2


def test_the_markers_remember_which_tags_table_e1_1_lists_within_a_bound(
        monkeypatch: pytest.MonkeyPatch) -> None:
    basic = next(p for p in PROFILES if p.id == "ps315_basic")
    expected = [_fresh(basic, meta, body) for _, meta, body in TREES]
    monkeypatch.setattr(markers, "_MAX_JUDGED", 3)
    monkeypatch.setattr(markers, "_JUDGED", {})
    for (name, meta, body), plan in zip(TREES, expected, strict=True):
        assert _fresh(basic, meta, body) == plan, name
        assert len(markers._JUDGED) <= 3


def test_a_risk_workers_batches_share_the_jobs_planners_and_let_them_go_with_it() -> None:
    chosen = tuple(p for p in PROFILES if p.id in ("procancer_i", "primage"))
    job = RiskJob(chosen, SECRETS, frozenset())
    planners = batches._planners_of(job)
    assert batches._planners_of(job) is planners
    other = RiskJob(chosen, SECRETS, frozenset())
    assert batches._planners_of(other) is not planners
    del job, other, planners
    gc.collect()
    assert not batches._LAST_PLANNERS  # the secrets' keys go with the last job


@pytest.mark.parametrize("chosen", PROFILES, ids=lambda p: p.id)
def test_original_uids_gathered_level_by_level_are_those_of_every_outcome(chosen: object) -> None:
    from deid.risk.findings import _add_original_uids, _original_uids

    planner = Planner(chosen, SECRETS)  # type: ignore[arg-type]
    for name, meta, body in TREES:
        plan = planner.plan(meta, body)
        every: set[str] = set()
        _add_original_uids(plan.meta, every)
        _add_original_uids(plan.body, every)
        assert _original_uids(plan, body) == every, name
