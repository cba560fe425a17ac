"""The local pool's worker processes: what they hold before the first batch is settled out of
the garbage collector's way (deid.ingest.runner)."""

from __future__ import annotations

import gc
import os
from collections.abc import Sequence

from deid.ingest import runner
from deid.ingest.runner import BatchOut, run_job
from deid.ingest.sources import Source


class _GarbageCollectorState:
    """A job that reports its process and the collector's settings instead of reading."""

    def process_batch(self, sources: Sequence[Source]) -> BatchOut:
        return BatchOut(None, [], len(sources),
                        (os.getpid(), gc.get_threshold()[0], gc.get_freeze_count()))


def test_a_pool_worker_collects_less_often_and_leaves_what_it_loaded_alone() -> None:
    sources = [Source(f"file{number}.dcm", f"file{number}.dcm", f"/nowhere/file{number}.dcm")
               for number in range(40)]
    before = gc.get_threshold(), gc.get_freeze_count()
    seen = [out.extra for out in run_job(sources, _GarbageCollectorState(), workers=2)]
    assert {pid for pid, _, _ in seen} - {os.getpid()}, "the batches ran in worker processes"
    for _, threshold, frozen in seen:
        assert threshold == runner.WORKER_GC_THRESHOLD
        assert frozen > 0
    assert (gc.get_threshold(), gc.get_freeze_count()) == before  # this process untouched
