"""Benchmark: header ingest at scale (targets in the product contract, "Targets").

One run, on 10,000 copies of DICOM files that install with packages (bench/peers/corpus.py):

- the baseline: one process reading each header with ``pydicom.dcmread(stop_before_pixels=True)``
  and touching every value (``str(el.value)`` over ``ds.iterall()``); a bare read loop for
  reference;
- ``deid.ingest.load_headers(include_values=True)`` with the default workers (one per CPU) and
  with one: files/s and the ratio to the baseline (target >= 1.5x with default workers);
- bytes per element row of the in-memory headers table (target <= 100), with and without
  values;
- peak memory while ``write_headers`` streams 1,000, 5,000 and 10,000 files to Parquet and CSV
  (each in a fresh process): it should not grow with the number of files.

Nothing is written into the repository; the corpus lives in a temporary folder.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import pydicom

sys.path.insert(0, str(Path(__file__).resolve().parent / "peers"))
import corpus

from deid.ingest import default_workers, load_headers

N_FILES = 10_000
MEMORY_STEPS = (1_000, 5_000, 10_000)
TARGET_RATIO = 1.5
TARGET_BYTES_PER_ROW = 100

_MEMORY_SCRIPT = """
import resource, sys
from deid.ingest import write_headers
written = write_headers(sys.argv[2:], sys.argv[1], include_values=True)
me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(written.files, written.rows, me, children)
"""


def _touch_loop(files: list[Path]) -> None:
    for path in files:
        dataset = pydicom.dcmread(path, stop_before_pixels=True)
        for element in dataset.iterall():
            str(element.value)


def _bare_loop(files: list[Path]) -> None:
    for path in files:
        pydicom.dcmread(path, stop_before_pixels=True)


def _seconds(function, *args, **kwargs):  # type: ignore[no-untyped-def]
    gc.collect()
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - start, result


def _peak_memory(folders: list[Path], out: Path) -> tuple[int, int, int, int]:
    done = subprocess.run([sys.executable, "-c", _MEMORY_SCRIPT, str(out),
                           *map(str, folders)], check=True, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(Path.cwd())})
    files, rows, me, children = (int(part) for part in done.stdout.split())
    return files, rows, me, children


def main() -> None:
    warnings.simplefilter("ignore")
    sources, counts = corpus.source_files()
    sys.stdout.write(f"corpus sources: {len(sources)} files ({counts}), copied to "
                     f"{N_FILES:,} files\n")
    with tempfile.TemporaryDirectory(prefix="deid-bench-ingest-") as temp:
        folders = corpus.make_corpus(sources, Path(temp) / "corpus", N_FILES)
        files = sorted(path for folder in folders for path in folder.iterdir())
        for path in files:  # the page cache holds every file for every contender
            path.read_bytes()
        workers = default_workers()
        base_s, _ = _seconds(_touch_loop, files)
        bare_s, _ = _seconds(_bare_loop, files)
        ingest_s, result = _seconds(load_headers, folders, include_values=True)
        one_s, _ = _seconds(load_headers, folders, include_values=True, workers=1)
        headers = result.headers
        rows = len(headers)
        with_values = headers.memory_usage(deep=True).sum() / rows
        del result, headers
        bare = load_headers(folders, workers=workers).headers
        without_values = bare.memory_usage(deep=True).sum() / len(bare)
        del bare
        memory = [(step, _peak_memory(folders[: step // corpus.PER_FOLDER],
                                      Path(temp) / f"out{step}")) for step in MEMORY_STEPS]

    def rate(seconds: float) -> str:
        return f"{N_FILES / seconds:7,.0f} files/s"

    ratio = base_s / ingest_s
    write = sys.stdout.write
    write(f"elements: {rows:,} rows ({rows / N_FILES:.0f} per file)\n")
    write(f"baseline dcmread + str(value) loop, 1 process: {rate(base_s)}\n")
    write(f"bare dcmread loop, 1 process (reference):       {rate(bare_s)}\n")
    write(f"ingest with values, 1 worker:                   {rate(one_s)} "
          f"= {base_s / one_s:.2f}x the baseline\n")
    write(f"ingest with values, {workers} workers (default):       {rate(ingest_s)} "
          f"= {ratio:.2f}x the baseline "
          f"(target >= {TARGET_RATIO}x: {'met' if ratio >= TARGET_RATIO else 'MISSED'})\n")
    write(f"headers table in memory: {with_values:.0f} bytes per element row with values, "
          f"{without_values:.0f} without (target <= {TARGET_BYTES_PER_ROW}: "
          f"{'met' if with_values <= TARGET_BYTES_PER_ROW else 'MISSED'})\n")
    write("peak memory streaming headers + load_errors to Parquet and CSV "
          "(write_headers, values included):\n")
    for step, (_, n_rows, me, children) in memory:
        write(f"  {step:6,} files ({n_rows:9,} rows): main process {me / 1024:6.0f} MiB, "
              f"largest worker {children / 1024:6.0f} MiB\n")


if __name__ == "__main__":
    main()
