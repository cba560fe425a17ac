"""Profile: where the time of writing de-identified copies goes (``apply --write-dicom``).

One profiled run of ``deid.outputs.effects.apply_profiles`` with ``ps315_basic`` and the
byte-level writer, in this process (one worker: the profiler sees every call), on each corpus:
the perf corpus (``bench/peers/corpus.py``) and the realistic clinical headers
(``bench/realistic.py``). A warm-up run first (file cache, compiled profile). The elapsed time is
split by phase from the profiler's cumulative times:

- **read**: reading each file's elements (``read_elements``), and pydicom's whole read of the
  files the byte writer leaves to the engine (``read_whole``);
- **plan**: deciding and computing every element's outcome (``Planner.plan``), of which
  **markers** (which PS3.15 codes the resolved actions earn, ``write_markers``);
- **write**: encoding the changed elements and copying the rest of the bytes to the output
  file (``EffectsJob._write_bytes``); for the files the engine writes, building and saving the
  pydicom data set (``result_of``, ``dcmwrite``);
- **rows**: the effects table's rows and columns (``plan_rows``, ``EffectColumns``);
- **other**: the rest (batches, Arrow tables, the profiler's own overhead).

Shares are of the profiled run; the profiler slows every Python call, so the absolute times
are larger than ``bench_apply.py``'s.
"""

from __future__ import annotations

import cProfile
import pstats
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "peers"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import corpus
import realistic

import deid
from deid.outputs.effects import apply_profiles

N_FILES = 300

#: Phase -> (file name suffix, function name) whose cumulative time it is.
PHASES: dict[str, tuple[tuple[str, str], ...]] = {
    "read": (("deid/ingest/reader.py", "read_elements"), ("deid/ingest/reader.py", "read_whole")),
    "plan": (("deid/transform/plan.py", "plan"),),
    "markers": (("deid/transform/markers.py", "write_markers"),),
    "write": (("deid/outputs/effects.py", "_write_bytes"),
              ("deid/transform/engine.py", "result_of"), ("pydicom/filewriter.py", "dcmwrite")),
    "rows": (("deid/outputs/effects.py", "plan_rows"), ("deid/outputs/effects.py", "add"),
             ("deid/outputs/effects.py", "batch")),
}


def cumulative(stats: pstats.Stats, wanted: tuple[tuple[str, str], ...]) -> float:
    """Seconds spent in (and under) the functions ``wanted``."""
    total = 0.0
    for (file, _, name), (_, _, _, cum, _) in stats.stats.items():  # type: ignore[attr-defined]
        if any(file.endswith(suffix) and name == function for suffix, function in wanted):
            total += cum
    return total


def profiled(folders: list[Path], out: Path) -> tuple[float, dict[str, float]]:
    """Elapsed seconds of one profiled run and the seconds of each phase."""
    profile, secrets = deid.load_profile("ps315_basic"), deid.Secrets.ephemeral()
    apply_profiles(folders, [profile], secrets=secrets, write_dicom=out / "warm", workers=1)
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    apply_profiles(folders, [profile], secrets=secrets, write_dicom=out / "run", workers=1)
    profiler.disable()
    elapsed = time.perf_counter() - start
    stats = pstats.Stats(profiler)
    return elapsed, {phase: cumulative(stats, wanted) for phase, wanted in PHASES.items()}


def report(label: str, n_files: int, elapsed: float, phases: dict[str, float]) -> None:
    write = sys.stdout.write
    write(f"\n{label}: {n_files:,} files, {elapsed:.2f} s profiled\n")
    accounted = phases["read"] + phases["plan"] + phases["write"] + phases["rows"]
    shown = {**phases, "other": max(0.0, elapsed - accounted)}
    for phase, seconds in shown.items():
        name = "  markers (in plan)" if phase == "markers" else phase
        write(f"  {name:<20} {seconds:6.2f} s {100 * seconds / elapsed:5.1f}%\n")


def main() -> None:
    warnings.simplefilter("ignore")
    sources, _ = corpus.source_files()
    with tempfile.TemporaryDirectory(prefix="deid-bench-profile-") as temp:
        base = Path(temp)
        perf = corpus.make_corpus(sources, base / "perf", N_FILES)
        real = realistic.make_realistic(base / "realistic", N_FILES)
        for label, folders in (("perf corpus", perf), ("realistic headers", real)):
            elapsed, phases = profiled(folders, base / label.replace(" ", "-"))
            report(label, N_FILES, elapsed, phases)


if __name__ == "__main__":
    main()
