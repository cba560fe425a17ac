"""Benchmark: whole-dictionary comparison of every shipped profile (target: well under 1 s).

Measured after start-up (profiles loaded, standard tables read), median of several runs, in the
same run as a baseline: one dictionary look-up per (profile, tag) pair of the same universe, the
least work any comparison must do. Prints seconds and the ratio to the baseline and the target.
"""

from __future__ import annotations

import statistics
import time

from deid import list_profiles, load_profile
from deid.outputs.compare import compare, comparison_universe

TARGET_SECONDS = 1.0
RUNS = 5


def _median_seconds(function) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    profiles = [load_profile(info.id) for info in list_profiles()]
    universe = comparison_universe(profiles)
    compare(profiles, universe=universe)  # warm-up: caches of the resolvers
    lookup = {row.code: row.tag for row in universe.tags}

    def baseline() -> None:
        for _ in profiles:
            for row in universe.tags:
                lookup.get(row.code)

    baseline_s = _median_seconds(baseline)
    compare_s = _median_seconds(lambda: compare(profiles, universe=universe))
    pairs = len(profiles) * universe.size
    print(f"profiles: {len(profiles)}, universe: {universe.size:,} tags, pairs: {pairs:,}")
    print(f"baseline (one dict look-up per pair): {baseline_s * 1000:.1f} ms")
    print(f"compare (all tables):                 {compare_s * 1000:.1f} ms "
          f"= {compare_s / baseline_s:.0f}x the baseline")
    verdict = "met" if compare_s < TARGET_SECONDS else "MISSED"
    print(f"target < {TARGET_SECONDS:.1f} s: {verdict} "
          f"({TARGET_SECONDS / compare_s:.1f}x headroom)")


if __name__ == "__main__":
    main()
