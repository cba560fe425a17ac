"""Benchmark: the dashboard with 10,000 files loaded (target: a page switch in about a second,
cached).

The bundled sample's 319 files are copied round-robin to 10,000 files in a temporary folder and
loaded as the Load page loads them (values included, every shipped profile active). Streamlit's
AppTest then runs ``app.py`` in this process, the way the server runs it for a browser, and
times script runs:

- baseline: switching to each page with an empty session (nothing loaded), i.e. what rendering
  the page costs anyway;
- first visit of each page with 10,000 files (caches cold: per-tag summary, comparison);
- a page switch with the caches warm (the target), and a filter change on Tag effects.

Prints seconds and the ratio to the baseline for each. Writes nothing into the repository.
"""

from __future__ import annotations

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
from ui import state  # noqa: E402
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
    "Profiles": "pages/profiles.py",
    "Export": "pages/export.py",
}
#: Every page. At this size, Residual risk and the effects export wait for a click (applying
#: 11 profiles to 10,000 files takes minutes): what is timed is the page a user switches to.
TIMED = tuple(PAGES)


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
    at = AppTest.from_file(str(APP), default_timeout=600)
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


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="deid-bench-dashboard-") as temp:
        folder = Path(temp)
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
        first = {}
        for name in TIMED:
            first[name] = seconds(lambda name=name: full.switch_page(PAGES[name]).run())
            assert not full.exception, [e.value for e in full.exception]
        warm = {name: median_switch(full, PAGES[name]) for name in TIMED}

        full.switch_page(PAGES["Tag effects"]).run()
        filters = []
        for text in ("Patient", "Study", "Series", "Date", "UID"):
            filters.append(seconds(lambda text=text: full.text_input(
                key=state.TAG_SEARCH).input(text).run()))
        filter_s = statistics.median(filters)
        shown = [e.value for e in full.caption if " tags · " in e.value]

    print(f"\n{'page':<18} {'empty session':>14} {'first visit':>12} {'switch (cached)':>16} "
          f"{'ratio':>7}")
    for name in TIMED:
        print(f"{name:<18} {baseline[name]:>12.2f} s {first[name]:>10.2f} s "
              f"{warm[name]:>14.2f} s {warm[name] / baseline[name]:>6.1f}x")
    print(f"\nfilter change on Tag effects (keyword search; {shown[0] if shown else ''}): "
          f"{filter_s:.2f} s = {filter_s / baseline['Tag effects']:.1f}x the empty page")
    worst = max(warm.values())
    verdict = "met" if worst <= TARGET_SECONDS else "MISSED"
    print(f"target: a page switch in about {TARGET_SECONDS:.0f} s with {N_FILES:,} files "
          f"(cached): {verdict} (slowest {worst:.2f} s)")


if __name__ == "__main__":
    main()
