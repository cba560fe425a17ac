"""Benchmark: applying a profile (targets in the product contract, "Targets").

One run, on 2,000 copies of DICOM files that install with packages (bench/peers/corpus.py):

- ``deid.outputs.effects.apply_profiles`` with ``ps315_basic`` (read + apply + effects table)
  with the default workers (one per CPU) and with one;
- the peer tools dicognito, dicom-anonymizer and pydicom/deid reading and de-identifying the
  same files with their own defaults, each in a virtual environment of its own under
  ``/tmp/deid-bench-peers/<name>`` made from ``bench/peers/requirements.txt`` (never ``.venv``:
  pydicom/deid installs a module also called ``deid``); a peer that cannot be installed is
  reported and skipped. Target: >= 3x the fastest peer;
- ``deid.outputs.effects.apply_to_headers`` on already-loaded rows in column form, the rows of the
  corpus repeated to over 2 million. Target: >= 2 million rows/s;
- writing de-identified copies (``apply --write-dicom``, the byte-level writer) on both corpora:
  the perf corpus above and 2,000 realistic clinical headers (``bench/realistic.py``: CT slices
  with ~350 elements and Siemens CSA blocks, enhanced MR with per-frame functional groups, nested
  SR), against dicognito reading, anonymizing and saving the same files in one process
  (target >= 3x), and against a plain copy of the same bytes (the physical limit), with files/s,
  MB/s and peak memory.
"""

from __future__ import annotations

import json
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import venv
import warnings
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent / "peers"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import corpus
import realistic

import deid
from deid.ingest import default_workers, load_headers
from deid.outputs.effects import apply_profiles, apply_to_headers

N_FILES = 2_000
VECTOR_ROWS = 2_000_000
PEERS_HOME = Path("/tmp/deid-bench-peers")
PEERS_DIR = Path(__file__).resolve().parent / "peers"
TARGET_PEER_RATIO = 3.0
TARGET_ROWS_PER_S = 2_000_000


def _peer_requirements() -> list[tuple[str, str]]:
    lines = (PEERS_DIR / "requirements.txt").read_text(encoding="utf-8").splitlines()
    specs = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    return [(spec.split("==")[0], spec) for spec in specs]


def _peer_python(name: str, spec: str) -> Path | None:
    """The interpreter of the peer's own venv, made and installed if needed."""
    home = PEERS_HOME / name
    python = home / "bin" / "python"
    try:
        if not python.exists():
            venv.create(home, with_pip=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet",
                        "--disable-pip-version-check", spec], check=True, capture_output=True,
                       timeout=900)
    except (OSError, subprocess.SubprocessError) as error:
        detail = getattr(error, "stderr", b"") or b""
        last = detail.decode(errors="replace").strip().splitlines()[-1:] or [str(error)]
        sys.stdout.write(f"peer {name}: cannot be installed ({last[0]}); skipped\n")
        return None
    return python


def _run_peer(name: str, python: Path, list_file: Path,
              out: Path | None = None) -> dict[str, float] | None:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    extra = [str(out)] if out is not None else []
    try:
        done = subprocess.run([str(python), str(PEERS_DIR / "run_peer.py"), name,
                               str(list_file), *extra], check=True, capture_output=True,
                              text=True, env=env, cwd=str(list_file.parent), timeout=3600)
    except (OSError, subprocess.SubprocessError) as error:
        detail = getattr(error, "stderr", "") or ""
        sys.stdout.write(f"peer {name}: failed ({detail.strip()[-200:] or error}); skipped\n")
        return None
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _vectorized(folders: list[Path], profile: deid.Profile) -> tuple[int, float]:
    headers = load_headers(folders).headers
    repeats = math.ceil(VECTOR_ROWS / len(headers))
    rows = pd.concat([headers] * repeats, ignore_index=True)
    apply_to_headers(rows.head(1000), profile)  # warm the resolver
    times = []
    for _ in range(3):
        start = time.perf_counter()
        apply_to_headers(rows, profile)
        times.append(time.perf_counter() - start)
    return len(rows), statistics.median(times)


def _megabytes(files: list[Path]) -> float:
    return sum(path.stat().st_size for path in files) / 1e6


def _peak_mb() -> tuple[float, float]:
    """Peak resident memory so far of this process and of its largest child (MB)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, children


def _warm_up(folders: list[Path], profile: deid.Profile, secrets: deid.Secrets,
             out: Path) -> None:
    """One untimed run on the first 20 files, in this process: what every run loads once (the
    IOD tables, the compiled profile) is loaded before the clock starts, as the peers' set-up
    is (workers forked later inherit it)."""
    first = sorted(folders[0].iterdir())[:20]
    apply_profiles(first, [profile], secrets=secrets, workers=1, write_dicom=out)


def _write_corpus(name: str, folders: list[Path], temp: Path, profile: deid.Profile,
                  secrets: deid.Secrets, dicognito: Path | None) -> None:
    """Copies written by deid, by dicognito and by a plain copy of the same files."""
    write = sys.stdout.write
    files = sorted(path for folder in folders for path in folder.iterdir())
    megabytes = _megabytes(files)
    for path in files:
        path.read_bytes()  # warm the page cache for every contender alike
    _warm_up(folders, profile, secrets, temp / f"{name}-warm")
    start = time.perf_counter()
    copies = temp / f"{name}-copy"
    copies.mkdir()
    for path in files:
        shutil.copyfile(path, copies / path.name)
    copy_s = time.perf_counter() - start
    start = time.perf_counter()
    result = apply_profiles(folders, [profile], secrets=secrets, write_dicom=temp / f"{name}-ours")
    ours_s = time.perf_counter() - start
    own_mb, worker_mb = _peak_mb()
    writers = result.effects.groupby("file", observed=True)["writer"].first().value_counts()
    write(f"{name}: {len(files):,} files, {megabytes:,.0f} MB\n")
    write(f"  plain copy of the bytes (the limit): {len(files) / copy_s:8,.0f} files/s "
          f"{megabytes / copy_s:8,.0f} MB/s\n")
    write(f"  deid apply --write-dicom ps315_basic ({default_workers()} workers): "
          f"{len(files) / ours_s:8,.0f} files/s {megabytes / ours_s:8,.0f} MB/s "
          f"({copy_s / ours_s * 100:.0f}% of copy speed; writers {dict(writers)}; peak memory "
          f"{own_mb:,.0f} MB main, {worker_mb:,.0f} MB largest worker)\n")
    if dicognito is None:
        write("  dicognito not available: no peer ratio\n")
        return
    list_file = temp / f"{name}-files.txt"
    list_file.write_text("\n".join(map(str, files)) + "\n", encoding="utf-8")
    out = temp / f"{name}-dicognito"
    out.mkdir()
    measured = _run_peer("dicognito", dicognito, list_file, out)
    if measured is None:
        return
    rate = measured["files"] / measured["seconds"]
    ratio = (len(files) / ours_s) / rate
    write(f"  dicognito read + anonymize + save (1 process): {rate:8,.0f} files/s -> deid "
          f"is {ratio:.1f}x (target >= {TARGET_PEER_RATIO}x: "
          f"{'met' if ratio >= TARGET_PEER_RATIO else 'MISSED'})\n")


def main() -> None:
    warnings.simplefilter("ignore")
    write = sys.stdout.write
    sources, counts = corpus.source_files()
    write(f"corpus sources: {len(sources)} files ({counts}), copied to {N_FILES:,} files\n")
    profile = deid.load_profile("ps315_basic")
    secrets = deid.Secrets.ephemeral()
    workers = default_workers()
    with tempfile.TemporaryDirectory(prefix="deid-bench-apply-") as temp:
        folders = corpus.make_corpus(sources, Path(temp) / "corpus", N_FILES)
        files = sorted(path for folder in folders for path in folder.iterdir())
        list_file = Path(temp) / "files.txt"
        list_file.write_text("\n".join(map(str, files)) + "\n", encoding="utf-8")
        for path in files:
            path.read_bytes()
        peers = {}
        for name, spec in _peer_requirements():
            python = _peer_python(name, spec)
            if python is not None:
                measured = _run_peer(name, python, list_file)
                if measured is not None:
                    peers[name] = measured
        _warm_up(folders, profile, secrets, Path(temp) / "warm")
        start = time.perf_counter()
        result = apply_profiles(folders, [profile], secrets=secrets)
        ours_s = time.perf_counter() - start
        start = time.perf_counter()
        apply_profiles(folders, [profile], secrets=secrets, workers=1)
        one_s = time.perf_counter() - start
        n_rows, vector_s = _vectorized(folders, profile)
        dicognito = next((python for name, spec in _peer_requirements() if name == "dicognito"
                          for python in [_peer_python(name, spec)] if python is not None), None)
        write("writing de-identified copies:\n")
        _write_corpus("perf corpus", folders, Path(temp), profile, secrets, dicognito)
        real = realistic.make_realistic(Path(temp) / "realistic", N_FILES)
        sample = sorted(path for path in (Path(temp) / "realistic" / "sources").iterdir())
        counts = realistic.element_counts(sample)
        write(f"realistic headers: elements per file median {statistics.median(counts):,.0f}, "
              f"min {min(counts):,}, max {max(counts):,}\n")
        _write_corpus("realistic corpus", real, Path(temp), profile, secrets, dicognito)

    ours = N_FILES / ours_s
    write(f"deid apply ps315_basic (read + apply + effects table, {len(result.effects):,} rows, "
          f"{len(result.load_errors)} load_errors rows):\n")
    write(f"  {workers} workers (default): {ours:7,.0f} files/s\n")
    write(f"  1 worker:              {N_FILES / one_s:7,.0f} files/s\n")
    for name, measured in peers.items():
        rate = measured["files"] / measured["seconds"]
        write(f"peer {name:17} (read + de-identify, own defaults, 1 process): {rate:7,.0f} "
              f"files/s ({int(measured['errors'])} files failed) -> deid is "
              f"{ours / rate:.1f}x\n")
    if peers:
        fastest = max(peers, key=lambda n: peers[n]["files"] / peers[n]["seconds"])
        ratio = ours / (peers[fastest]["files"] / peers[fastest]["seconds"])
        write(f"vs the fastest peer ({fastest}): {ratio:.1f}x (target >= {TARGET_PEER_RATIO}x: "
              f"{'met' if ratio >= TARGET_PEER_RATIO else 'MISSED'})\n")
    rows_per_s = n_rows / vector_s
    write(f"vectorized apply_to_headers on {n_rows:,} loaded rows: {vector_s * 1000:.0f} ms = "
          f"{rows_per_s / 1e6:.1f} million rows/s (target >= {TARGET_ROWS_PER_S / 1e6:.0f}M: "
          f"{'met' if rows_per_s >= TARGET_ROWS_PER_S else 'MISSED'})\n")


if __name__ == "__main__":
    main()
