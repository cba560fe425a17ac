"""Benchmark: scale-out (targets in the product contract, "Targets": scale-out, residual risk).

One run, on copies of DICOM files that install with packages (bench/peers/corpus.py), copied
round-robin to 100,000 files as the ingest bench copies them to 10,000:

- ``scan`` with values (headers and load_errors written as Parquet) on 10,000 and on 100,000
  files, by the local worker pool (the default, two processes here) and by a Dask
  LocalCluster (``--cluster local``: two worker processes of one thread): files/s and the peak
  memory of the main process and of each worker, which should stay flat from 10k to 100k
  (a pool worker's peak is sampled from /proc by a process of its own: a sampling thread
  would make the pool start its workers as it does for a threaded caller);
- the residual risk of the six AI4HI profiles on the 10,000 files, by the pool and by the
  cluster, against the scan of the same files by the same engine (target: within 3x the scan
  time; scans with and without values are both timed);
- the pool's risk once more in pure Python (``DEID_PURE_PYTHON=1``) when the compiled modules
  are built (``make native``): the ratio between the two;
- the same risk and scan on those 10,000 files rewritten as an archive holds them (each file its
  own SOP Instance UID, a series per 20 files, a study and a patient per 100): the copies repeat
  every file of the corpus about 70 times, which flatters what a planner remembers between
  files (the transformed values).

Every run is a fresh process (its peak memory is its own). The work is timed inside it, from
the listing of the inputs to the last table written; starting the cluster is timed apart.
Nothing is written into the repository; the corpus lives in a temporary folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "peers"))
import corpus

REPO_ROOT = Path(__file__).resolve().parents[1]
SIZES = (10_000, 100_000)
AI4HI = ("procancer_i,chaimeleon_images_w_ecrfs,chaimeleon_images_only,primage,incisive,"
         "eucanimage")
TARGET_RISK_RATIO = 3.0
WORKERS = 2

#: Samples, every 0.2 s, the peak memory (VmHWM) of every process below the pid it is given,
#: until a file named like its output plus ``.stop`` appears; then writes them as JSON.
_SAMPLER = r"""
import json, os, sys, time
top, out = int(sys.argv[1]), sys.argv[2]

def status(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            key, _, value = line.partition(":")
            fields[key] = value.split()
    with open(f"/proc/{pid}/cmdline", "rb") as handle:
        command = handle.read().replace(b"\0", b" ").decode(errors="replace")
    return int(fields["VmHWM"][0]), int(fields["PPid"][0]), command

peaks = {}
while not os.path.exists(out + ".stop"):
    found = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                found[int(name)] = status(int(name))
            except (OSError, KeyError, ValueError, IndexError):
                pass
    below, changed = {top}, True
    while changed:
        changed = False
        for pid, (_, parent, _) in found.items():
            if parent in below and pid not in below:
                below.add(pid)
                changed = True
    for pid in below - {top}:
        peaks[pid] = found[pid]
    time.sleep(0.2)
with open(out, "w") as handle:
    json.dump(peaks, handle)
"""

_RUN = r"""
import json, os, resource, sys, time
engine, what, out, values = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "values"
SAMPLER = os.environ["DEID_BENCH_SAMPLER"]
workers, chosen = int(sys.argv[5]), sys.argv[6]
folders = sys.argv[7:]
import deid
result = {"native": deid.native.status().reason}

def peak_kib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

import subprocess, tempfile
sampled = tempfile.mktemp(prefix="deid-bench-peaks-")

def start_sampler():
    # a sampler process, not a thread: the pool forks only from a single-threaded caller
    return subprocess.Popen([sys.executable, "-c", SAMPLER, str(os.getpid()), sampled])

def pool_worker_kib(sampler):
    # peak memory of each pool worker: the processes below this one that start no others
    # (a fork server does), the sampler and the resource tracker left out
    open(sampled + ".stop", "w").close()
    sampler.wait()
    with open(sampled) as handle:
        peaks = {int(pid): found for pid, found in json.load(handle).items()}
    parents = {parent for _, parent, _ in peaks.values()}
    return sorted(peak for pid, (peak, _, command) in peaks.items()
                  if pid not in parents and pid != sampler.pid
                  and not command.partition(" -c ")[2].startswith(
                      "from multiprocessing.resource_tracker"))

if engine == "pool":
    sampler = start_sampler()
    if what == "scan":
        from deid.ingest import write_headers
        start = time.perf_counter()
        written = write_headers(folders, out, include_values=values, formats=("parquet",),
                                workers=workers, incremental=False)
        result.update(seconds=time.perf_counter() - start, files=written.files,
                      rows=written.rows)
    else:
        from deid import Secrets, load_profiles
        from deid.outputs.effects import required_secrets
        from deid.outputs.export import export_metadata, write_tables
        from deid.risk.report import assess_paths
        profiles = load_profiles(chosen)
        secrets = Secrets.ephemeral(*required_secrets(profiles))
        start = time.perf_counter()
        assessed = assess_paths(folders, profiles, secrets=secrets, workers=workers)
        write_tables({**assessed.report.tables(), "load_errors": assessed.load_errors}, out,
                     formats=("parquet",), metadata=export_metadata(profiles))
        result.update(seconds=time.perf_counter() - start, files=assessed.n_files,
                      rows=len(assessed.report.residual_risk))
    result.update(main_kib=peak_kib(), worker_kib=pool_worker_kib(sampler))
else:
    from deid.distributed.cluster import ClusterSpec, connect
    started = time.perf_counter()
    with connect(ClusterSpec(n_workers=workers)) as client:
        result["startup_seconds"] = time.perf_counter() - started
        if what == "scan":
            from deid.distributed.scan import scan_on_cluster
            start = time.perf_counter()
            written = scan_on_cluster(client, folders, out, include_values=values)
            result.update(seconds=time.perf_counter() - start, files=written.files,
                          rows=written.rows)
        else:
            from deid import Secrets, load_profiles
            from deid.distributed.risk import risk_on_cluster
            from deid.outputs.effects import required_secrets
            profiles = load_profiles(chosen)
            secrets = Secrets.ephemeral(*required_secrets(profiles))
            start = time.perf_counter()
            done = risk_on_cluster(client, folders, profiles, out, secrets=secrets)
            result.update(seconds=time.perf_counter() - start, files=done.n_files,
                          rows=sum(done.tally.values()))
        peaks = client.run(peak_kib)
        result.update(main_kib=peak_kib(), worker_kib=sorted(peaks.values()))
print(json.dumps(result))
"""


def run(engine: str, what: str, folders: list[Path], out: Path, values: bool,
        pure: bool = False) -> dict:
    """One measured run in a fresh process (``pure``: without the compiled modules)."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "DEID_BENCH_SAMPLER": _SAMPLER}
    env.pop("DEID_PURE_PYTHON", None)
    if pure:
        env["DEID_PURE_PYTHON"] = "1"
    done = subprocess.run([sys.executable, "-c", _RUN, engine, what, str(out),
                           "values" if values else "novalues", str(WORKERS), AI4HI,
                           *map(str, folders)],
                          check=True, capture_output=True, text=True, cwd=REPO_ROOT, env=env)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _mib(kib: float) -> str:
    return f"{kib / 1024:6.0f} MiB"


def _line(label: str, result: dict) -> str:
    rate = result["files"] / result["seconds"]
    workers = ", ".join(_mib(k).strip() for k in result["worker_kib"])
    return (f"{label:<34} {result['files']:>8,} files {result['seconds']:7.1f} s "
            f"{rate:7,.0f} files/s   main {_mib(result['main_kib'])}, "
            f"worker(s) {workers}")


def main() -> None:
    sources, counts = corpus.source_files()
    write = sys.stdout.write
    write(f"corpus sources: {len(sources)} files ({counts}), copied to {SIZES[-1]:,} files\n")
    with tempfile.TemporaryDirectory(prefix="deid-bench-cluster-") as temp:
        base = Path(temp)
        started = time.perf_counter()
        folders = corpus.make_corpus(sources, base / "corpus", SIZES[-1])
        write(f"copied in {time.perf_counter() - started:.0f} s\n")
        warm = run("pool", "scan", folders, base / "warm", False)  # the page cache holds them
        write(f"modules: {warm['native']} (tools/build_native.py, `make native`)\n")
        results: dict[tuple[str, str, int, bool | str], dict] = {}
        for size in SIZES:
            chosen = folders[: size // corpus.PER_FOLDER]
            for engine in ("pool", "dask"):
                key = (engine, "scan", size, True)
                results[key] = run(engine, "scan", chosen, base / f"{engine}{size}", True)
                write(_line(f"scan with values, {engine}", results[key]) + "\n")
        small = folders[: SIZES[0] // corpus.PER_FOLDER]
        for engine in ("pool", "dask"):
            results[(engine, "scan", SIZES[0], False)] = run(engine, "scan", small,
                                                             base / f"{engine}nv", False)
            write(_line(f"scan without values, {engine}",
                        results[(engine, "scan", SIZES[0], False)]) + "\n")
            results[(engine, "risk", SIZES[0], True)] = run(engine, "risk", small,
                                                            base / f"{engine}risk", True)
            write(_line(f"risk, six AI4HI profiles, {engine}",
                        results[(engine, "risk", SIZES[0], True)]) + "\n")
        if warm["native"].startswith("compiled"):
            results[("pool", "risk", SIZES[0], "pure")] = run("pool", "risk", small,
                                                              base / "poolpure", True, pure=True)
            write(_line("risk, pure Python, pool",
                        results[("pool", "risk", SIZES[0], "pure")]) + "\n")
        unique = unique_instances(small, base / "unique")
        write(f"rewritten with unique instances: {len(unique)} folders\n")
        for engine in ("pool", "dask"):
            for what in ("scan", "risk"):
                key = (engine, what, SIZES[0], "unique")
                results[key] = run(engine, what, unique, base / f"{engine}u{what}", True)
                write(_line(f"{what}, unique instances, {engine}", results[key]) + "\n")
    report(results)


def unique_instances(folders: list[Path], target: Path) -> list[Path]:
    """The files of ``folders`` rewritten as an archive holds them: each file its own SOP
    Instance UID, a series per 20 files, a study and a patient per 100 (the copies repeat
    every file of the corpus about 70 times, which flatters what repeats); files pydicom
    cannot rewrite are copied as they are."""
    import shutil
    import warnings

    import pydicom
    from pydicom.uid import generate_uid

    out = []
    index = 0
    for folder in folders:
        made = target / folder.name
        made.mkdir(parents=True)
        out.append(made)
        for path in sorted(folder.iterdir()):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    dataset = pydicom.dcmread(path, force=True)
                    dataset.SOPInstanceUID = generate_uid(entropy_srcs=[f"sop{index}"])
                    dataset.SeriesInstanceUID = generate_uid(entropy_srcs=[f"s{index // 20}"])
                    dataset.StudyInstanceUID = generate_uid(entropy_srcs=[f"st{index // 100}"])
                    dataset.PatientID = f"MRN{index // 100:06d}"
                    dataset.PatientName = f"Patient^{index // 100:06d}"
                    meta = getattr(dataset, "file_meta", None)
                    if meta is not None and "MediaStorageSOPInstanceUID" in meta:
                        meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
                    dataset.save_as(made / path.name)
            except Exception:  # noqa: BLE001 - kept as it is
                shutil.copyfile(path, made / path.name)
            index += 1
    return out


def report(results: dict[tuple[str, str, int, bool | str], dict]) -> None:
    write = sys.stdout.write
    small, large = SIZES
    write(f"\nscale-out, scan with values ({WORKERS} workers):\n")
    write(f"{'engine':<8} {'files/s 10k':>12} {'files/s 100k':>13} {'ratio':>6}   "
          f"{'worker peak 10k':>16} {'worker peak 100k':>17}   {'main 10k':>9} "
          f"{'main 100k':>10}\n")
    for engine in ("pool", "dask"):
        a, b = results[(engine, "scan", small, True)], results[(engine, "scan", large, True)]
        rate_a, rate_b = a["files"] / a["seconds"], b["files"] / b["seconds"]
        write(f"{engine:<8} {rate_a:>12,.0f} {rate_b:>13,.0f} {rate_b / rate_a:>5.2f}x   "
              f"{_mib(max(a['worker_kib'])):>16} {_mib(max(b['worker_kib'])):>17}   "
              f"{_mib(a['main_kib']):>9} {_mib(b['main_kib']):>10}\n")
    dask = results[("dask", "scan", small, True)]
    write(f"(starting the local cluster: {dask.get('startup_seconds', 0):.1f} s, not counted; "
          "the pool's workers are forked after the main process listed the files below 20,000 "
          "files (their peak counts its pages too) and start from a fork server from 20,000 "
          "on)\n")
    write(f"\nresidual risk of the six AI4HI profiles on {small:,} files:\n")
    for engine in ("pool", "dask"):
        risk = results[(engine, "risk", small, True)]
        for values in (False, True):
            scan = results[(engine, "scan", small, values)]
            ratio = risk["seconds"] / scan["seconds"]
            verdict = "met" if ratio <= TARGET_RISK_RATIO else "MISSED"
            write(f"{engine:<5} risk {risk['seconds']:6.1f} s / scan "
                  f"{'with' if values else 'without'} values {scan['seconds']:5.1f} s = "
                  f"{ratio:5.1f}x (target <= {TARGET_RISK_RATIO:.0f}x: {verdict})\n")
    pure = results.get(("pool", "risk", small, "pure"))
    if pure is not None:
        risk = results[("pool", "risk", small, True)]
        scan = results[("pool", "scan", small, False)]
        write(f"pool  risk in pure Python {pure['seconds']:6.1f} s = "
              f"{pure['seconds'] / scan['seconds']:5.1f}x the scan without values (the compiled "
              f"modules: {pure['seconds'] / risk['seconds']:4.2f}x faster)\n")
    write(f"\nthe same on {small:,} files whose instances are unique (scan with values):\n")
    for engine in ("pool", "dask"):
        risk = results[(engine, "risk", small, "unique")]
        scan = results[(engine, "scan", small, "unique")]
        ratio = risk["seconds"] / scan["seconds"]
        verdict = "met" if ratio <= TARGET_RISK_RATIO else "MISSED"
        write(f"{engine:<5} risk {risk['seconds']:6.1f} s / scan {scan['seconds']:5.1f} s = "
              f"{ratio:5.1f}x (target <= {TARGET_RISK_RATIO:.0f}x: {verdict})\n")


if __name__ == "__main__":
    main()
