"""What running at scale rests on, without a cluster: the --cluster values, k-anonymity merged
from partitions, merges of the audit's export-wide checks, and an incremental rescan on one
machine that writes the table a full scan writes."""

from __future__ import annotations

import io
import itertools
import os
import shutil
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deid.audit.checks import merge_pseudonyms, pseudonym_index, root_sample
from deid.cli import main
from deid.distributed.cluster import (
    ClusterError,
    ClusterSpec,
    check_environment,
    connect,
    parse_cluster,
)
from deid.ingest import write_headers
from deid.ingest.manifest import MANIFEST, Manifest
from deid.ingest.rescan import file_runs, merge_by_file
from deid.ingest.tree import Node
from deid.risk.batches import bucket_of, merge_counts
from deid.risk.findings import organisation_root
from deid.risk.kanon import (
    Record,
    class_counts,
    k_anonymity,
    kept_names,
    records_below_k,
    summarize,
)
from deid.version import __version__

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"


@pytest.mark.parametrize(("text", "spec"), [
    ("local", ClusterSpec()),
    ("local:3", ClusterSpec(n_workers=3)),
    ("tcp://10.0.0.5:8786", ClusterSpec(address="tcp://10.0.0.5:8786")),
    ("10.0.0.5:8786", ClusterSpec(address="tcp://10.0.0.5:8786")),
    ("tls://scheduler.site-a.example:8786",
     ClusterSpec(address="tls://scheduler.site-a.example:8786")),
])
def test_cluster_values(text: str, spec: ClusterSpec) -> None:
    assert parse_cluster(text) == spec


@pytest.mark.parametrize("text", ["", "local:0", "local:two", "scheduler-without-port"])
def test_bad_cluster_values_say_what_to_give(text: str) -> None:
    with pytest.raises(ClusterError, match="local"):
        parse_cluster(text)


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return main(list(argv), stdout=out, stderr=err), out.getvalue(), err.getvalue()


@pytest.mark.parametrize("argv", [
    ("scan", "x", "--out", "o", "--cluster", "local:0"),
    ("scan", "x", "--out", "o", "--cluster", "local", "--format", "csv"),
    ("scan", "x", "--out", "o", "--cluster", "local", "--workers", "2"),
    ("risk", "x", "--out", "o", "--cluster", "nowhere"),
    ("audit", "x", "--out", "o", "--cluster", "local:x"),
])
def test_cluster_usage_errors_are_one_line(argv: tuple[str, ...]) -> None:
    status, _, err = _run(*argv)
    assert status == 2
    assert err.count("\n") == 1 and err.startswith("deid: error:"), err


def test_a_scheduler_out_of_reach_is_one_clear_line(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("deid.distributed.cluster.CONNECT_TIMEOUT_S", 1)
    status, _, err = _run("scan", str(SAMPLE / "files"), "--out", str(tmp_path), "--cluster",
                          "tcp://127.0.0.1:9")
    assert status == 2
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in err
    assert err.count("\n") == 2  # where it runs, then the error
    with pytest.raises(ClusterError), connect(ClusterSpec(address="tcp://127.0.0.1:9")):
        pass


class _Cluster:
    """What check_environment asks a Dask client: the scheduler's and the workers' answers to
    resolving deid's version (a value, or the exception raised there)."""

    def __init__(self, scheduler: object, workers: dict[str, object]) -> None:
        self.scheduler, self.workers = scheduler, workers

    def run_on_scheduler(self, function: object, name: str) -> object:
        assert name == "deid.version:__version__"
        if isinstance(self.scheduler, BaseException):
            raise self.scheduler
        return self.scheduler

    def run(self, function: object, name: str, on_error: str) -> dict[str, object]:
        assert on_error == "return"
        return self.workers


MISSING = ModuleNotFoundError("No module named 'deid'")


@pytest.mark.parametrize(("scheduler", "workers", "message"), [
    (MISSING, {"tcp://b:1": __version__}, "the scheduler tcp://a:8786 cannot import deid "
                                          "(ModuleNotFoundError: No module named 'deid')"),
    (__version__, {"tcp://b:1": __version__, "tcp://b:2": MISSING},
     "worker tcp://b:2 cannot import deid"),
    (__version__, {"tcp://b:1": "0.0.1"}, f"worker tcp://b:1 runs deid 0.0.1, this machine "
                                          f"deid {__version__}"),
    ("0.0.1", {"tcp://b:1": __version__}, "the scheduler tcp://a:8786 runs deid 0.0.1"),
    (__version__, {}, "has no worker: start `dask worker tcp://a:8786`"),
])
def test_a_scheduler_or_worker_without_this_deid_is_one_clear_error(
        scheduler: object, workers: dict[str, object], message: str) -> None:
    with pytest.raises(ClusterError) as raised:
        check_environment(_Cluster(scheduler, workers), "tcp://a:8786")  # type: ignore[arg-type]
    assert message in str(raised.value)
    if "has no worker" not in message:
        assert "PYTHONPATH" in str(raised.value)


def test_a_scheduler_and_workers_with_this_deid_pass() -> None:
    check_environment(_Cluster(__version__, {"tcp://b:1": __version__}),  # type: ignore[arg-type]
                      "tcp://a:8786")


# -- k-anonymity from partitions ---------------------------------------------------------------

VALUES = st.sampled_from(["", "030Y", "045Y", "F", "M", "75000", "75001"])
RECORDS = st.lists(st.fixed_dictionaries({"PatientAge": VALUES, "PatientSex": VALUES,
                                          "PostalCode": VALUES}), min_size=0, max_size=60)


@settings(max_examples=60, deadline=None)
@given(rows=RECORDS, cuts=st.lists(st.integers(0, 60), max_size=5), k=st.integers(1, 6),
       left=st.sets(st.sampled_from(["PatientAge", "PatientSex", "PostalCode"])))
def test_merged_partition_counts_give_the_whole_cohorts_k_anonymity(
        rows: list[dict[str, str]], cuts: list[int], k: int, left: set[str]) -> None:
    records = [Record(f"p{i}", f"f{i}", values) for i, values in enumerate(rows)]
    names = ("PatientAge", "PatientSex", "PostalCode")
    whole = k_anonymity(records, names, k, left=left)
    edges = sorted({0, len(records), *(min(c, len(records)) for c in cuts)})
    parts = [records[a:b] for a, b in itertools.pairwise(edges)]
    kept = kept_names(names, left)
    merged = merge_counts({("p", "s"): class_counts(part, kept)} for part in parts)
    counts = merged.get(("p", "s"), class_counts([], kept))
    small = {key: n for key, n in counts.items() if n < k}
    below = tuple(item for part in parts for item in records_below_k(part, small, kept, k))
    assert summarize(counts, names, k, kept, below) == whole


@settings(max_examples=80, deadline=None)
@given(st.sets(st.lists(st.sampled_from(["1", "2", "3", "25", "840", "10008"]), min_size=1,
                        max_size=7).map(".".join), min_size=1, max_size=20),
       st.integers(1, 4))
def test_a_uid_sample_keeps_the_root_of_all(uids: set[str], parts: int) -> None:
    ordered = sorted(uids)
    sample: set[str] = set()
    for number in range(parts):
        sample = root_sample(sample | root_sample(set(ordered[number::parts])))
    assert organisation_root(sample) == organisation_root(uids)
    assert (len(sample) >= 2) == (len(uids) >= 2)


def _body(patient_id: str, sex: str) -> list[Node]:
    from deid.ingest.tree import Node as TreeNode

    return [TreeNode(0x00100020, "LO", None, patient_id, patient_id, None, 0),
            TreeNode(0x00100040, "CS", None, sex, sex, None, 0)]


def test_pseudonym_indexes_merge_in_file_order() -> None:
    files = [("a", _body("P1", "F")), ("b", _body("P1", "M")), ("c", _body("P2", "F")),
             ("d", _body("P1", "F"))]
    whole = pseudonym_index(files)
    merged = merge_pseudonyms([pseudonym_index(files[:1]), pseudonym_index(files[1:3]),
                               pseudonym_index(files[3:])])
    assert merged == whole
    assert merged["P1"] == {("F", ""): "a", ("M", ""): "b"}


def test_patient_groups_are_stable_across_processes() -> None:
    assert bucket_of("SITE|P1", "x.dcm", 7) == bucket_of("SITE|P1", "y.dcm", 7)
    assert bucket_of("", "x.dcm", 1000) != bucket_of("", "y.dcm", 1000)
    assert bucket_of("P1", "", 8) == 1  # crc32: the same on every machine


# -- incremental rescan on one machine ---------------------------------------------------------

def _batch(files: list[str]) -> pa.RecordBatch:
    column = pa.array(files, pa.string()).dictionary_encode()
    return pa.RecordBatch.from_arrays([column, pa.array(range(len(files)))], ["file", "n"])


def test_file_runs_and_merge_by_file() -> None:
    runs = list(file_runs(_batch(["a", "a", "c", "c", "c", "e"])))
    assert [(name, rows.num_rows) for name, rows in runs] == [("a", 2), ("c", 3), ("e", 1)]
    merged = list(merge_by_file([_batch(["a", "a", "c"])], [_batch(["b", "d", "d"])],
                                [_batch(["e"])]))
    files = [str(f) for batch in merged for f in batch.column(0).to_pylist()]
    assert files == ["a", "a", "b", "c", "d", "d", "e"]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    target = tmp_path / "in"
    shutil.copytree(SAMPLE / "files", target / "files")
    for path in sorted((SAMPLE / "cohort").glob("*.dcm"))[:40]:
        (target / "cohort").mkdir(exist_ok=True)
        shutil.copy(path, target / "cohort" / path.name)
    (target / "broken.dcm").write_bytes(b"DICM")
    return target


def test_a_rescan_reads_only_what_changed_and_writes_what_a_full_scan_writes(
        folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    status, said, _ = _run("scan", str(folder), "--out", str(out), "--include-values",
                           "--workers", "1")
    assert status == 0 and "unchanged" not in said
    manifest = Manifest.read(out)
    assert manifest is not None and manifest.include_values and len(manifest.entries) == 61
    status, said, _ = _run("scan", str(folder), "--out", str(out), "--include-values",
                           "--workers", "1")
    assert "61 inputs unchanged since the previous scan" in said and "0 read" in said
    files = sorted(folder.rglob("*.dcm"))
    later = time.time_ns() + 10**9
    os.utime(files[2], ns=(later, later))
    files[10].unlink()
    shutil.copy(files[30], folder / "cohort" / "aa_copy.dcm")
    status, said, _ = _run("scan", str(folder), "--out", str(out), "--include-values",
                           "--workers", "1")
    assert "59 inputs unchanged" in said and "2 read" in said, said
    full = tmp_path / "full"
    write_headers([folder], full, include_values=True, workers=1, incremental=False)
    for name in ("headers", "load_errors"):
        assert (out / f"{name}.csv").read_bytes() == (full / f"{name}.csv").read_bytes()
        pd.testing.assert_frame_equal(pd.read_parquet(out / f"{name}.parquet").astype(str),
                                      pd.read_parquet(full / f"{name}.parquet").astype(str))
    assert not list(out.glob(".*"))  # nothing set aside is left


def test_a_rescan_with_other_options_reads_everything(folder: Path, tmp_path: Path) -> None:
    write_headers([folder], tmp_path, include_values=True, workers=1)
    again = write_headers([folder], tmp_path, include_values=False, workers=1)
    assert again.skipped == 0 and "with values" in again.full_reason
    assert pd.read_parquet(tmp_path / "headers.parquet")["value"].isna().all()
    only_csv = write_headers([folder], tmp_path / "csv", workers=1, formats=("csv",))
    assert only_csv.skipped == 0 and not (tmp_path / "csv" / MANIFEST).exists()


def test_top_values_from_the_plans_top_level_equal_those_from_every_written_value() -> None:
    from deid import Secrets, list_profiles, load_profile
    from deid.ingest.reader import ArchiveCache, planning_trees
    from deid.ingest.sources import IngestLimits, collect_sources
    from deid.outputs.effects import required_secrets
    from deid.risk.batches import _tags_of, cohort_values, top_values
    from deid.risk.findings import findings_and_top
    from deid.transform.plan import Planner

    chosen = [load_profile(info.id) for info in list_profiles()]
    secrets = Secrets({name: f"top-{name}" for name in required_secrets(chosen)})
    wanted = frozenset({"PatientAge", "PatientSex", "PatientAddress", "StudyDate",
                        "InstitutionName", "PatientWeight", "PatientBirthDate", "EthnicGroup",
                        "PatientIdentityRemoved", "SOPInstanceUID"})
    sources, _ = collect_sources([SAMPLE / "files"])
    archives = ArchiveCache()
    compared = 0
    for source in sources:
        meta, body = planning_trees(source, IngestLimits(), archives)
        for profile in chosen:
            plan = Planner(profile, secrets).plan(meta, body)
            expected = {k: v for k, v in top_values(plan).items() if k in wanted}
            top = findings_and_top(plan, file=source.name, body=body, tags=_tags_of(wanted))[1]
            assert cohort_values(top, _tags_of(wanted)) == expected, (source.name, profile.id)
            compared += bool(expected)
    assert compared > 100


def test_batches_parts_arrive_in_the_main_process_as_the_table_they_left_the_worker() -> None:
    import pickle

    from deid import Secrets, load_profiles
    from deid.ingest.sources import collect_sources
    from deid.outputs.effects import required_secrets
    from deid.risk.batches import Cohort, RiskJob, RiskPart

    chosen = load_profiles("ps315_basic,procancer_i,incisive")
    secrets = Secrets({name: f"part-{name}" for name in required_secrets(chosen)})
    job = RiskJob(tuple(chosen), secrets, Cohort.of(chosen, None).wanted)
    sources, _ = collect_sources([SAMPLE / "files"])
    halves = [job.process_numbered(sources[:3], 0).extra,
              job.process_numbered(sources[3:], 1).extra]
    extra = halves[1].findings[:5]  # e.g. an audit's findings, added after the batches'
    local, gathered = RiskPart(), RiskPart()
    for number, part in enumerate(halves):
        arrived = pickle.loads(pickle.dumps(part))
        # the findings travel as Arrow columns, the rest as it is
        assert arrived.findings == [] and arrived.arrived[0].num_rows == len(part.findings)
        assert (arrived.cohort, arrived.files) == (part.cohort, part.files)
        local.extend(part, number)
        gathered.extend(arrived, number)
    assert len(local.findings) > 100
    assert gathered.cohort == local.cohort and gathered.files == local.files
    pd.testing.assert_frame_equal(gathered.residual_frame(extra), local.residual_frame(extra))
