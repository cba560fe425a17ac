"""Scans, risk, reports and audits on a Dask LocalCluster (two worker processes, one thread
each) write the same tables as one process, row for row (sorted), k-anonymity included; the
client never receives a value of a file; a rescan reads only what changed."""

from __future__ import annotations

import dataclasses
import gc
import io
import os
import pickle
import shutil
import time
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
import pydicom
import pytest

import deid
from deid import Secrets, load_profile, load_profiles
from deid.audit import audit, audit_export
from deid.cli import main
from deid.distributed.audit import audit_on_cluster
from deid.distributed.dataset import read_table, table_location
from deid.distributed.risk import risk_on_cluster
from deid.distributed.scan import scan_on_cluster
from deid.ingest import load_headers
from deid.outputs.effects import required_secrets
from deid.risk.report import assess_paths

distributed = pytest.importorskip("distributed")

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
#: The planted files and a slice of the cohort (enough patients for small and large classes).
FILES = sorted(SAMPLE.glob("files/*.dcm")) + sorted(SAMPLE.glob("cohort/*.dcm"))[:80]
AI4HI = "procancer_i,chaimeleon_images_w_ecrfs,eucanimage"


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    """One LocalCluster for the module: two worker processes of one thread each."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None,
                                  silence_logs=40) as cluster, \
            distributed.Client(cluster) as connected:
        yield connected
    # Finalise the cluster's objects now, not during a later test (a finaliser running while
    # another test's time limit expires would swallow its timeout).
    gc.collect()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The files, a file that is not DICOM and one that is truncated."""
    folder = tmp_path_factory.mktemp("inputs")
    for path in FILES:
        shutil.copy(path, folder / path.name)
    (folder / "notes.txt").write_bytes(b"not a DICOM file")
    (folder / "truncated.dcm").write_bytes(FILES[0].read_bytes()[:400])
    return folder


@cache
def secrets() -> Secrets:
    return Secrets({name: f"cluster-{name}" for name in
                    required_secrets(load_profiles(AI4HI + ",ps315_basic"))})


def _same(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    """Equal row for row once sorted (a dataset's parts come in any order)."""
    assert list(got.columns) == list(expected.columns)
    columns = list(expected.columns)
    left = got.astype(str).sort_values(columns).reset_index(drop=True)
    right = expected.astype(str).sort_values(columns).reset_index(drop=True)
    pd.testing.assert_frame_equal(left, right)


def _table(folder: Path, name: str) -> pd.DataFrame:
    location = table_location(folder, name)
    assert location is not None, f"{folder} has no {name} table"
    return read_table(location, name)


@pytest.mark.parametrize("include_values", [False, True])
def test_scan_on_cluster_equals_one_process(client: Any, inputs: Path, tmp_path: Path,
                                            include_values: bool) -> None:
    written = scan_on_cluster(client, [inputs], tmp_path, include_values=include_values)
    expected = load_headers([inputs], include_values=include_values, workers=1)
    assert written.files == expected.n_files and written.load_errors > 0
    assert written.rows == len(expected.headers)
    parts = sorted((tmp_path / "headers").glob("batch=*/part-0.parquet"))
    assert len(parts) > 2  # partitioned by batch
    _same(_table(tmp_path, "headers"), expected.headers)
    _same(_table(tmp_path, "load_errors"), expected.load_errors)
    assert _table(tmp_path, "headers")["value"].notna().any() == include_values


def test_risk_on_cluster_equals_one_process_k_anonymity_included(client: Any, inputs: Path,
                                                                 tmp_path: Path) -> None:
    profiles = load_profiles(AI4HI)
    result = risk_on_cluster(client, [inputs], profiles, tmp_path, secrets=secrets(), k=5)
    expected = assess_paths([inputs], profiles, secrets=secrets(), k=5, workers=1)
    for name, table in expected.report.tables().items():
        _same(_table(tmp_path, name), table)
    _same(_table(tmp_path, "load_errors"), expected.load_errors)
    kanon = expected.report.k_anonymity
    assert (kanon["n_records_below_k"] > 0).any() and (kanon["k_min"] >= 5).any()
    cohort = _table(tmp_path, "residual_risk")
    assert (cohort["element_path"] == "").sum() > 0  # combination findings were merged
    findings = expected.report.residual_risk
    assert sum(result.tally.values()) == len(findings)
    assert (tmp_path / "residual_risk" / "batch=cohort").is_dir()


@pytest.mark.parametrize("k", [2, 7])
def test_risk_on_cluster_with_other_k_and_sets(client: Any, inputs: Path, tmp_path: Path,
                                               k: int) -> None:
    profiles = load_profiles("chaimeleon_images_only")
    sets = ["PatientAge+PatientSex", "PatientSex+PatientWeight+PostalCode"]
    risk_on_cluster(client, [inputs], profiles, tmp_path, secrets=secrets(), k=k, qi_sets=sets)
    expected = assess_paths([inputs], profiles, secrets=secrets(), k=k, qi_sets=sets,
                            workers=1)
    for name in ("residual_risk", "k_anonymity", "k_classes"):
        _same(_table(tmp_path, name), expected.report.tables()[name])


def test_report_on_cluster_equals_one_process(client: Any, inputs: Path,
                                              tmp_path: Path) -> None:
    address = client.scheduler.address
    env = {f"DEID_SECRET_{n.upper()}" if n != "default" else "DEID_SECRET": f"cluster-{n}"
           for n in required_secrets(load_profiles("ps315_basic,eucanimage"))}
    old = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        for out, extra in ((tmp_path / "dask", ["--cluster", address]), (tmp_path / "one", [])):
            status = main(["report", str(inputs), "--profiles", "ps315_basic,eucanimage",
                           "--include-values", "--out", str(out), *extra],
                          stdout=io.StringIO(), stderr=io.StringIO())
            assert status == 0
    finally:
        for name, value in old.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    assert (tmp_path / "dask" / "effects").is_dir() and (tmp_path / "one" / "effects.parquet")
    for name in ("headers", "effects", "residual_risk", "k_anonymity", "k_classes",
                 "aryanto_coverage", "load_errors", "profile_summary", "tag_matrix"):
        _same(_table(tmp_path / "dask", name), _table(tmp_path / "one", name))
    effects = _table(tmp_path / "dask", "effects")
    assert effects["residual_risk"].astype(bool).any()


@pytest.fixture(scope="module")
def export(inputs: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The inputs de-identified by ps315_basic (the truncated file is not exported)."""
    target = tmp_path_factory.mktemp("export")
    profile = load_profile("ps315_basic")
    deid.apply_profiles([str(inputs)], [profile], secrets=secrets(), write_dicom=target,
                        workers=1)
    return target / profile.id


@pytest.mark.parametrize("claimed", ["ps315_basic", "chaimeleon_images_only"])
def test_audit_on_cluster_equals_one_process(client: Any, inputs: Path, export: Path,
                                             tmp_path: Path, claimed: str) -> None:
    profile = load_profile(claimed)
    result = audit_on_cluster(client, [inputs], [export], profile, tmp_path,
                              include_values=True)
    expected = audit([inputs], [export], profile, include_values=True)
    for name, table in expected.tables().items():
        _same(_table(tmp_path, name), table)
    assert result.n_deviations == expected.n_deviations
    if claimed != "ps315_basic":
        assert expected.n_deviations > 0


def test_audit_of_an_export_alone_on_cluster(client: Any, export: Path,
                                             tmp_path: Path) -> None:
    audit_on_cluster(client, [], [export], None, tmp_path)
    expected = audit_export([export])
    for name, table in expected.tables().items():
        _same(_table(tmp_path, name), table)


def test_audit_by_uid_map_on_cluster(client: Any, inputs: Path, export: Path,
                                     tmp_path: Path) -> None:
    headers = load_headers([inputs], include_values=True, workers=1).headers
    sop = headers[headers["tag"].astype(str) == "(0008,0018)"]
    uids = dict(zip(sop["file"].astype(str).map(lambda f: Path(f).name),
                    sop["value"].astype(str), strict=True))
    mapping = tmp_path / "map.csv"
    names = sorted(uids)[:10]
    mapping.write_text("original,exported\n" + "".join(f"{uids[n]},{n}\n" for n in names))
    profile = load_profile("ps315_basic")
    result = audit_on_cluster(client, [inputs], [export], profile, tmp_path / "out",
                              pair="uid-map", mapping=mapping)
    expected = audit([inputs], [export], profile, pair="uid-map", mapping=mapping)
    for name, table in expected.tables().items():
        _same(_table(tmp_path / "out", name), table)
    assert (result.audit_pairs["paired_by"] == "uid-map").sum() == 10


def test_the_client_never_receives_a_value(client: Any, inputs: Path, export: Path,
                                           tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Every object the client gets back from the workers, pickled, holds none of the
    values of the files (names, IDs, addresses, UIDs) when values were not asked for."""
    received: list[bytes] = []
    original_result = distributed.Future.result
    original_gather = distributed.Client.gather

    def result(self: Any, *args: Any, **kwargs: Any) -> Any:
        value = original_result(self, *args, **kwargs)
        received.append(pickle.dumps(value))
        return value

    def gather(self: Any, *args: Any, **kwargs: Any) -> Any:
        value = original_gather(self, *args, **kwargs)
        received.append(pickle.dumps(value))
        return value

    monkeypatch.setattr(distributed.Future, "result", result)
    monkeypatch.setattr(distributed.Client, "gather", gather)
    scan_on_cluster(client, [inputs], tmp_path / "scan")
    risk_on_cluster(client, [inputs], load_profiles("chaimeleon_images_only"),
                    tmp_path / "risk", secrets=secrets())
    audit_on_cluster(client, [inputs], [export], load_profile("ps315_basic"),
                     tmp_path / "audit")
    assert received
    values = load_headers([inputs], include_values=True, workers=1).headers
    wanted = values["keyword"].astype(str).isin(
        ["PatientName", "PatientID", "PatientAddress", "SOPInstanceUID", "PatientBirthDate",
         "InstitutionName", "OtherPatientIDs", "AccessionNumber"])
    secrets_ = {str(v) for v in values.loc[wanted, "value"].dropna() if len(str(v)) >= 6}
    assert len(secrets_) > 20
    blob = b"".join(received)
    leaked = sorted(v for v in secrets_ if v.encode() in blob)
    assert not leaked, leaked[:5]


def test_rescan_on_cluster_reads_only_changed_files(client: Any, inputs: Path,
                                                   tmp_path: Path) -> None:
    folder = tmp_path / "in"
    shutil.copytree(inputs, folder)
    out = tmp_path / "out"
    first = scan_on_cluster(client, [folder], out, include_values=True)
    assert first.skipped == 0
    again = scan_on_cluster(client, [folder], out, include_values=True)
    assert again.skipped == again.files and again.rows == first.rows
    files = sorted(folder.glob("*.dcm"))
    touched, removed, copied = files[3], files[20], files[40]
    later = time.time_ns() + 10**9
    os.utime(touched, ns=(later, later))
    removed.unlink()
    shutil.copy(copied, folder / "zz_added.dcm")
    third = scan_on_cluster(client, [folder], out, include_values=True)
    assert third.skipped == third.files - 2  # the touched and the added file are read
    full = load_headers([folder], include_values=True, workers=1)
    _same(_table(out, "headers"), full.headers)
    _same(_table(out, "load_errors"), full.load_errors)
    assert third.rows == len(full.headers)  # the rows the dataset holds, kept ones included
    other = scan_on_cluster(client, [folder], out, include_values=False)
    assert other.skipped == 0 and "with values" in other.full_reason


def test_datasets_read_as_they_are_by_pandas_pyarrow_and_duckdb(client: Any, inputs: Path,
                                                               tmp_path: Path) -> None:
    import duckdb
    import pyarrow.dataset as ds

    scan_on_cluster(client, [inputs], tmp_path)
    expected = load_headers([inputs], workers=1).headers
    frame = pd.read_parquet(tmp_path / "headers")
    assert len(frame) == len(expected) and "batch" in frame.columns
    table = ds.dataset(tmp_path / "headers", format="parquet", partitioning="hive").to_table()
    assert table.num_rows == len(expected)
    count = duckdb.sql(f"select count(*), count(distinct file), count(distinct batch) from "
                       f"read_parquet('{tmp_path}/headers/*/*.parquet', "
                       "hive_partitioning = true)").fetchall()[0]
    assert count[0] == len(expected) and count[1] == expected["file"].nunique() and count[2] > 2
    errors = duckdb.sql(f"select count(*) from read_parquet('{tmp_path}/load_errors/*.parquet')"
                        ).fetchall()[0]
    assert errors[0] == 2


def _message_logs(dask_scheduler: Any) -> list[int | None]:
    return [stream.recent_message_log.maxlen for stream in dask_scheduler.stream_comms.values()]


def test_a_cluster_keeps_few_messages_for_debugging() -> None:
    """Dask keeps recent messages of every connection: with its default (1,000), the file lists
    of the batches would stay in memory, growing with the number of files."""
    from deid.distributed.cluster import LOG_LENGTH, ClusterSpec, connect

    with connect(ClusterSpec(n_workers=1)) as connected:
        lengths = connected.run_on_scheduler(_message_logs)
        mine = connected.scheduler_comm.recent_message_log.maxlen  # the client's own
    gc.collect()
    assert lengths and set(lengths) == {LOG_LENGTH}
    assert mine == LOG_LENGTH


def test_apply_on_cluster_writes_the_copies_one_process_writes(client: Any, inputs: Path,
                                                               tmp_path: Path) -> None:
    """Copies written by the workers, naming the writer asked for, have the same bytes as
    those one process writes, and the effects equal its table."""
    from deid.distributed.scan import apply_on_cluster
    from deid.transform.semantics import DEFAULT_WRITER

    writer = dataclasses.replace(DEFAULT_WRITER, source_ae_title="SITE_B")
    profiles = load_profiles("ps315_basic")
    apply_on_cluster(client, [inputs], profiles, tmp_path / "tables", secrets=secrets(),
                     write_dicom=tmp_path / "cluster", writer=writer)
    expected = deid.apply_profiles([inputs], profiles, secrets=secrets(), workers=1,
                                   write_dicom=tmp_path / "one", writer=writer)
    _same(_table(tmp_path / "tables", "effects"), expected.effects)
    ours = sorted(p.relative_to(tmp_path / "one") for p in (tmp_path / "one").rglob("*.dcm"))
    theirs = sorted(p.relative_to(tmp_path / "cluster")
                    for p in (tmp_path / "cluster").rglob("*.dcm"))
    assert ours == theirs and ours
    for relative in ours:
        assert (tmp_path / "cluster" / relative).read_bytes() == (
            tmp_path / "one" / relative).read_bytes(), relative
    first = pydicom.dcmread(tmp_path / "cluster" / ours[0], stop_before_pixels=True)
    assert first.file_meta.SourceApplicationEntityTitle == "SITE_B"


def test_a_workers_findings_part_is_the_residual_risk_table_findings_table_makes() -> None:
    from deid import Secrets, load_profiles
    from deid.distributed.dataset import stamped
    from deid.ingest.sources import collect_sources
    from deid.outputs.effects import required_secrets
    from deid.outputs.export import export_metadata
    from deid.policy.schema import TABLES
    from deid.risk.batches import Cohort, RiskJob
    from deid.risk.table import findings_arrow, findings_table

    chosen = load_profiles("ps315_basic,procancer_i,incisive")
    secrets = Secrets({name: f"arrow-{name}" for name in required_secrets(chosen)})
    job = RiskJob(tuple(chosen), secrets, Cohort.of(chosen, None).wanted)
    sources, _ = collect_sources([SAMPLE / "files"])
    findings = job.process_batch(sources[::-1]).extra.findings  # rows out of order
    metadata = export_metadata(chosen)
    written = findings_arrow(findings, stamped(TABLES["residual_risk"].arrow_schema(), metadata))
    assert written.num_rows == len(findings) > 100
    assert written.schema.remove_metadata() == TABLES["residual_risk"].arrow_schema()
    assert written.schema.metadata == {f"deid.{key}".encode(): value.encode()
                                       for key, value in metadata.items()}
    # the same rows in the same order, as the single process's table holds them
    pd.testing.assert_frame_equal(written.to_pandas().astype("string"),
                                  findings_table(findings))
    assert findings_arrow([]).num_rows == 0
