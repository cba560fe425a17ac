"""How the local worker pool starts its workers: forked from the caller for a few inputs, from
a fresh server process for many (workers then never carry the caller's list of inputs), with
the same tables either way."""

from __future__ import annotations

from pathlib import Path

import pytest

import deid
from deid.ingest import load_headers, runner
from deid.outputs.effects import required_secrets
from deid.risk.report import assess_paths

COHORT = Path(__file__).resolve().parents[1] / "data" / "sample" / "cohort"
pytestmark = pytest.mark.skipif("fork" not in runner.multiprocessing.get_all_start_methods(),
                                reason="fork is not available on this platform")


@pytest.mark.parametrize(("n_sources", "method"), [
    (10, "fork"), (runner.FORK_BELOW - 1, "fork"), (runner.FORK_BELOW, "forkserver"),
    (10 * runner.FORK_BELOW, "forkserver")])
def test_many_inputs_start_workers_from_a_server(n_sources: int, method: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner.threading, "active_count", lambda: 1)  # as the CLI runs
    assert runner._context(n_sources).get_start_method() == method


def test_a_caller_running_threads_never_forks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner.threading, "active_count", lambda: 3)  # as the dashboard runs
    assert runner._context(10).get_start_method() == "forkserver"


def _served(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Lower the threshold to 10 inputs and record how each pool started its workers."""
    methods: list[str] = []
    original = runner._context

    def recording(n_sources: int = 0):  # type: ignore[no-untyped-def]
        context = original(n_sources)
        methods.append(context.get_start_method())
        return context
    monkeypatch.setattr(runner, "FORK_BELOW", 10)
    monkeypatch.setattr(runner, "_context", recording)
    return methods


def test_workers_from_a_server_give_the_same_headers(monkeypatch: pytest.MonkeyPatch) -> None:
    one = load_headers([COHORT], include_values=True, workers=1).headers
    methods = _served(monkeypatch)
    served = load_headers([COHORT], include_values=True, workers=2).headers
    assert methods == ["forkserver"]
    assert served.astype(str).equals(one.astype(str))


def test_workers_from_a_server_give_the_same_risk(monkeypatch: pytest.MonkeyPatch) -> None:
    profiles = deid.load_profiles("ps315_basic,incisive")
    secrets = deid.Secrets.ephemeral(*required_secrets(profiles))
    one = assess_paths([COHORT], profiles, secrets=secrets, workers=1).report
    methods = _served(monkeypatch)
    served = assess_paths([COHORT], profiles, secrets=secrets, workers=2).report
    assert methods == ["forkserver"]
    for name, table in one.tables().items():
        assert served.tables()[name].astype(str).equals(table.astype(str)), name
