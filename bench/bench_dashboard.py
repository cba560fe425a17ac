"""Benchmark: the dashboard with 10,000 files loaded, and with their residual risk assessed
(target: a page switch or a filter change in at most a second).

The bundled sample's 319 files are copied round-robin to 10,000 files in a temporary folder and
loaded as the Load page loads them (values included, every shipped profile active). Streamlit's
AppTest then runs ``app.py`` in this process, the way the server runs it for a browser, and
times script runs:

- baseline: switching to each page with an empty session (nothing loaded), i.e. what rendering
  the page costs anyway;
- with the 10,000 files loaded and nothing assessed (above 1,000 files the assessment waits
  for a click): the first visit of each page (caches cold: per-tag summary, comparison), a page
  switch with the caches warm, and a filter change on Tag effects (keyword search);
- the run that follows a click on Tag effects' "Assess residual risk" (every active profile on
  every file, with its progress bar), timed against the load;
- with the risk of every active profile assessed: the first visit of each page (the Residual
  risk page also assesses the files as they are, its baseline column, once), a page switch
  and the filter change again;
- on Consensus, with the risk assessed: choosing the six AI4HI profiles with their family
  button, then removing one profile from "Profiles to reconcile" (target: each change in at
  most a second).

Prints seconds and the ratio to the baseline for each. Writes nothing into the repository.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from streamlit.testing.v1 import AppTest

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from deid.ingest import load_headers  # noqa: E402
from ui import profiles, state  # noqa: E402
from ui.session import Inputs, Loaded  # noqa: E402

N_FILES = 10_000
TARGET_SECONDS = 1.0
RUNS = 5
APP = REPO_ROOT / "app.py"
PAGES = {
    "Load": "pages/load.py",
    "Tag effects": "pages/tag_effects.py",
    "Compare profiles": "pages/compare.py",
    "Residual risk": "pages/risk.py",
    "Consensus": "pages/consensus.py",
    "Audit": "pages/audit.py",
    "Profiles": "pages/profiles.py",
    "Export": "pages/export.py",
    "Glossary": "pages/glossary.py",
}
#: Every page. Before the click, Residual risk and the effects export wait for it (applying
#: every shipped profile to 10,000 files takes minutes): what is timed is the page a user
#: switches to.
TIMED = tuple(PAGES)
#: Keyword searches typed on Tag effects (each one a filter change).
SEARCHES = ("Patient", "Study", "Series", "Date", "UID")


def copies(target: Path) -> int:
    """Copy the sample's DICOM files round-robin into ``target`` until there are N_FILES."""
    sources = sorted((REPO_ROOT / "data" / "sample" / "files").glob("*.dcm")) + sorted(
        (REPO_ROOT / "data" / "sample" / "cohort").glob("*.dcm"))
    for number in range(N_FILES):
        source = sources[number % len(sources)]
        folder = target / f"{number // 1000:02d}"
        folder.mkdir(exist_ok=True)
        shutil.copyfile(source, folder / f"{number:05d}_{source.name}")
    return N_FILES


def app(loaded: Loaded | None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=3600)
    at.session_state[state.SAMPLE_OFFERED] = True
    if loaded is not None:
        at.session_state[state.LOADED] = loaded
    at.run()
    return at


def seconds(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def median_switch(at: AppTest, page: str, away: str = "pages/profiles.py") -> float:
    """Median time of switching to ``page`` (from ``away``) over RUNS switches."""
    times = []
    for _ in range(RUNS):
        at.switch_page(away).run()
        times.append(seconds(lambda: at.switch_page(page).run()))
        assert not at.exception, [e.value for e in at.exception]
    return statistics.median(times)


def visits(at: AppTest) -> tuple[dict[str, float], dict[str, float]]:
    """The first visit of every page, then the median switch to every page."""
    first = {}
    for name in TIMED:
        first[name] = seconds(lambda name=name: at.switch_page(PAGES[name]).run())
        assert not at.exception, [e.value for e in at.exception]
    warm = {name: median_switch(at, PAGES[name]) for name in TIMED}
    return first, warm


def filter_change(at: AppTest) -> tuple[float, str]:
    """Median time of a keyword search on Tag effects, and the page's count of tags shown."""
    at.switch_page(PAGES["Tag effects"]).run()
    times = [seconds(lambda text=text: at.text_input(key=state.TAG_SEARCH).input(text).run())
             for text in SEARCHES]
    assert not at.exception, [e.value for e in at.exception]
    shown = [e.value for e in at.caption if " tags · " in e.value]
    at.text_input(key=state.TAG_SEARCH).input("").run()
    return statistics.median(times), shown[0] if shown else ""


def assess(at: AppTest, profile_ids: list[str]) -> float:
    """The run that follows a click on Tag effects' "Assess residual risk" (the request
    seeded as the button sets it: AppTest drops a click on a page of a multipage app); the
    seconds until the page is drawn with the findings of every active profile."""
    at.switch_page(PAGES["Tag effects"]).run()
    assert any(b.key == state.TAG_RISK_BUTTON for b in at.button), "assessed already"
    at.session_state[state.RISK_REQUESTED] = frozenset(profile_ids)
    took = seconds(lambda: at.switch_page(PAGES["Tag effects"]).run())
    assert not at.exception, [e.value for e in at.exception]
    assert not any(b.key == state.TAG_RISK_BUTTON for b in at.button), "not assessed"
    return took


def consensus_changes(at: AppTest) -> tuple[float, float]:
    """On Consensus (a consensus named, in a temporary record folder): the run after a click
    on the AI4HI family button, and the median run after removing one of those profiles."""
    at.session_state[state.CONS_NAME] = "bench"
    at.session_state[state.CONS_DECIDER] = "bench"
    at.switch_page(PAGES["Consensus"]).run()
    family = seconds(lambda: at.button(key=state.CONS_FAMILY_BUTTON_PREFIX + "ai4hi")
                     .click().run())
    assert not at.exception, [e.value for e in at.exception]
    chosen = list(at.multiselect(key=state.CONS_PROFILES).value)
    assert len(chosen) == 6, chosen
    times = []
    for dropped in range(len(chosen)):
        fewer = [p for number, p in enumerate(chosen) if number != dropped]
        times.append(seconds(lambda fewer=fewer: at.multiselect(key=state.CONS_PROFILES)
                             .set_value(fewer).run()))
        assert not at.exception, [e.value for e in at.exception]
    return family, statistics.median(times)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="deid-bench-dashboard-") as temp:
        folder = Path(temp) / "files"
        folder.mkdir()
        os.environ["DEID_DATA_DIR"] = str(Path(temp) / "record")  # never the user's record
        copies(folder)
        start = time.perf_counter()
        result = load_headers([str(folder)], include_values=True)
        load_s = time.perf_counter() - start
        loaded = Loaded(Inputs((str(folder),), (), "bench copies", "bench"), result.headers,
                        result.load_errors, result.n_files, load_s)
        print(f"loaded {loaded.n_loaded:,} files, {len(loaded.headers):,} element rows "
              f"in {load_s:.1f} s (load_headers, values included, default workers)")

        empty = app(None)
        baseline = {name: median_switch(empty, path) for name, path in PAGES.items()}

        full = app(loaded)
        active = profiles.shipped_ids()
        first, warm = visits(full)
        filter_s, shown = filter_change(full)

        assess_s = assess(full, active)
        print(f"assessing residual risk of {len(active)} profiles on {loaded.n_loaded:,} files "
              f"(the click on Tag effects, page drawn): {assess_s:.1f} s = "
              f"{assess_s / load_s:.1f}x the load")
        first_risk, warm_risk = visits(full)
        filter_risk, shown_risk = filter_change(full)
        family_s, removal_s = consensus_changes(full)

    print(f"\n{'':<18} {'':>14} | {'nothing assessed':^40} | {'risk assessed':^40}")
    print(f"{'page':<18} {'empty session':>14} | {'first visit':>12} {'switch':>10} "
          f"{'vs empty':>9}      | {'first visit':>12} {'switch':>10} {'vs empty':>9}")
    for name in TIMED:
        print(f"{name:<18} {baseline[name]:>12.2f} s | {first[name]:>10.2f} s "
              f"{warm[name]:>8.2f} s {warm[name] / baseline[name]:>8.1f}x      | "
              f"{first_risk[name]:>10.2f} s {warm_risk[name]:>8.2f} s "
              f"{warm_risk[name] / baseline[name]:>8.1f}x")
    empty_tags = baseline["Tag effects"]
    print(f"\nfilter change on Tag effects (keyword search, median of {len(SEARCHES)}):\n"
          f"  nothing assessed: {filter_s:.2f} s = {filter_s / empty_tags:.1f}x the empty page "
          f"({shown})\n"
          f"  risk assessed:    {filter_risk:.2f} s = {filter_risk / empty_tags:.1f}x the empty "
          f"page ({shown_risk})")
    empty_consensus = baseline["Consensus"]
    print(f"\nConsensus, risk assessed: AI4HI family button {family_s:.2f} s = "
          f"{family_s / empty_consensus:.1f}x the empty page; removing one profile (median of "
          f"6) {removal_s:.2f} s = {removal_s / empty_consensus:.1f}x")
    worst_change = max(family_s, removal_s)
    print(f"target, Consensus: each change of the profiles reconciled in at most "
          f"{TARGET_SECONDS:.0f} s: {'met' if worst_change <= TARGET_SECONDS else 'MISSED'} "
          f"(slowest {worst_change:.2f} s)")
    for label, switches, filtered in (("nothing assessed", warm, filter_s),
                                      ("risk assessed", warm_risk, filter_risk)):
        worst = max(max(switches.values()), filtered)
        verdict = "met" if worst <= TARGET_SECONDS else "MISSED"
        print(f"target, {label}: a page switch or filter change in at most "
              f"{TARGET_SECONDS:.0f} s with {N_FILES:,} files: {verdict} (slowest {worst:.2f} s)")


if __name__ == "__main__":
    main()
