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
  corpus repeated to over 2 million. Target: >= 2 million rows/s.
"""

from __future__ import annotations

import json
import math
import os
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
import corpus

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


def _run_peer(name: str, python: Path, list_file: Path) -> dict[str, float] | None:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    try:
        done = subprocess.run([str(python), str(PEERS_DIR / "run_peer.py"), name,
                               str(list_file)], check=True, capture_output=True, text=True,
                              env=env, cwd=str(list_file.parent), timeout=3600)
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
        start = time.perf_counter()
        result = apply_profiles(folders, [profile], secrets=secrets)
        ours_s = time.perf_counter() - start
        start = time.perf_counter()
        apply_profiles(folders, [profile], secrets=secrets, workers=1)
        one_s = time.perf_counter() - start
        n_rows, vector_s = _vectorized(folders, profile)

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
