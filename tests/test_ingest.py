"""Header ingest: every element of every file, values exactly as pydicom reads them."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pyarrow.parquet as pq
import pydicom
import pytest

from deid.ingest import IngestLimits, load_headers, write_headers
from deid.ingest.decode import display
from deid.ingest.parse import Fallback, parse
from deid.ingest.reader import ArchiveCache, read_header
from deid.ingest.sources import Source, collect_sources
from deid.ingest.tree import Node
from deid.outputs.export import read_csv_table, read_parquet_table
from tests import badinput

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
FILES = SAMPLE / "files"


def _reference(path: Path) -> list[tuple[str, str, str]]:
    """(element_path, vr, value) as pydicom converts every element (the engine's display)."""
    dataset = pydicom.dcmread(path, stop_before_pixels=True, defer_size=1 << 20)
    rows: list[tuple[str, str, str]] = []

    def level(ds: pydicom.Dataset, prefix: str) -> None:
        for tag in sorted(ds._dict):
            path = f"{prefix}({tag >> 16:04X},{tag & 0xFFFF:04X})"
            element = ds[tag]
            value = element.value
            shown = (f"<{len(value or [])} item(s)>" if element.VR == "SQ" else
                     display(list(value) if type(value).__name__ == "MultiValue" else value))
            rows.append((path, element.VR.split(" or ")[0], shown))
            if element.VR == "SQ":
                for number, item in enumerate(element.value or []):
                    level(item, f"{path}[{number}].")

    if dataset.file_meta:
        level(dataset.file_meta, "")
    level(dataset, "")
    return rows


def test_values_match_pydicom_on_every_sample_file() -> None:
    result = load_headers([FILES], include_values=True, workers=1)
    assert result.load_errors.empty
    headers = result.headers
    for path in sorted(FILES.glob("*.dcm")):
        rows = headers[headers["file"] == path.as_posix()]
        mine = [(p, v, s) for p, v, s in zip(rows["element_path"], rows["vr"], rows["value"],
                                              strict=True) if not p.startswith("(7FE0,")]
        assert mine == _reference(path), path.name


def test_values_are_null_unless_asked_and_columns_follow_the_schema() -> None:
    result = load_headers([FILES / "mr_siemens_private_csa.dcm"], workers=1)
    headers = result.headers
    assert list(headers.columns) == ["file", "element_path", "tag", "keyword", "vr", "depth",
                                     "is_private", "private_creator", "value"]
    assert headers["value"].isna().all()
    assert str(headers["tag"].dtype) == "category"
    private = headers[headers["is_private"]]
    assert set(private["private_creator"].dropna()) >= {"SIEMENS CSA HEADER"}
    creators = private[private["keyword"] == "PrivateCreator"]
    assert len(creators) >= 1


def test_nested_paths_and_depths() -> None:
    result = load_headers([FILES / "sr_comprehensive_nested.dcm"], workers=1)
    headers = result.headers
    assert headers["depth"].max() >= 3
    deep = headers[headers["depth"] == 1].iloc[0]
    assert "[0]." in deep["element_path"]


def test_headers_stay_compact() -> None:
    result = load_headers([SAMPLE / "cohort"], include_values=True, workers=1)
    per_row = result.headers.memory_usage(deep=True).sum() / len(result.headers)
    assert per_row <= 100, per_row


def test_workers_give_the_same_rows_as_one_process() -> None:
    progress: list[tuple[int, int]] = []
    one = load_headers([SAMPLE / "cohort"], include_values=True, workers=1)
    two = load_headers([SAMPLE / "cohort"], include_values=True, workers=2,
                       progress=lambda done, total: progress.append((done, total)))
    assert one.headers.astype(str).equals(two.headers.astype(str))
    assert progress[0] == (0, 300) and progress[-1] == (300, 300)
    assert len(progress) > 2


def test_written_tables_read_back_the_same(tmp_path: Path) -> None:
    written = write_headers([FILES], tmp_path, include_values=True, workers=2)
    assert {p.name for p in written.paths} == {"headers.parquet", "headers.csv",
                                         "load_errors.parquet", "load_errors.csv"}
    loaded = load_headers([FILES], include_values=True, workers=1).headers
    parquet = read_parquet_table(tmp_path / "headers.parquet")
    csv = read_csv_table(tmp_path / "headers.csv", "headers")
    for frame in (parquet, csv):
        assert list(frame.columns) == list(loaded.columns)
        assert frame.astype(str).equals(loaded.astype(str))
    metadata = pq.read_schema(tmp_path / "headers.parquet").metadata
    assert b"deid.tool_version" in metadata


def test_zip_archives_and_uploads(tmp_path: Path) -> None:
    archive = tmp_path / "cases.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(FILES / "rtplan.dcm", "a/rtplan.dcm")
        zf.writestr("readme.txt", "not dicom")
    upload = ("up/ct.dcm", (FILES / "ct_series_slice1.dcm").read_bytes())
    zipped = tmp_path / "upload.zip"
    with zipfile.ZipFile(zipped, "w") as zf:
        zf.write(FILES / "rtdose.dcm", "dose.dcm")
    result = load_headers([archive], uploads=[upload, ("upload.zip", zipped.read_bytes())],
                          workers=1)
    files = set(result.headers["file"].unique())
    assert files == {f"{archive.as_posix()}!a/rtplan.dcm", "up/ct.dcm", "upload.zip!dose.dcm"}
    errors = result.load_errors
    assert list(errors["file"]) == [f"{archive.as_posix()}!readme.txt"]
    assert list(errors["error_kind"]) == ["not_dicom"]


def test_sources_are_sorted_and_relative(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "2.dcm").write_bytes(b"x")
    (tmp_path / "a.dcm").write_bytes(b"x")
    sources, problems = collect_sources([tmp_path])
    assert [s.relative for s in sources] == ["a.dcm", "b/2.dcm"]
    assert not problems


def test_archive_member_limit(tmp_path: Path) -> None:
    archive = tmp_path / "many.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for number in range(5):
            zf.writestr(f"{number}.dcm", b"x")
    result = load_headers([archive], workers=1, limits=IngestLimits(max_members=4))
    assert list(result.load_errors["error_kind"]) == ["archive_too_large"]


@pytest.mark.parametrize("kind", ["missing"])
def test_missing_path_is_one_row(tmp_path: Path, kind: str) -> None:
    result = load_headers([tmp_path / "nothing-here"], workers=1)
    assert list(result.load_errors["error_kind"]) == ["not_found"]
    assert result.headers.empty


def test_badinput_module_is_importable() -> None:
    assert "good" in badinput.BAD_INPUTS


def _shape(nodes: list[Node]) -> list[tuple]:  # type: ignore[type-arg]
    return [(n.tag, n.vr, n.creator, n.shown, n.flags,
             [_shape(item) for item in n.items] if n.items is not None else None)
            for n in nodes]


PYDICOM_FILES = Path(pydicom.__file__).parent / "data" / "test_files"


@pytest.mark.parametrize("path", [*sorted(FILES.glob("*.dcm")),
                                  *(PYDICOM_FILES / name for name in (
                                      "CT_small.dcm", "MR_small_implicit.dcm",
                                      "MR_small_bigendian.dcm", "JPEG2000.dcm", "rtplan.dcm",
                                      "waveform_ecg.dcm", "liver_1frame.dcm"))],
                         ids=lambda p: p.name)
def test_fast_reader_gives_pydicoms_tree(path: Path) -> None:
    data = path.read_bytes()
    try:
        meta, body, _ = parse(data, len(data))
    except Fallback:
        pytest.skip("read by pydicom (escape sequences or another unusual encoding)")
    reference = read_header(Source(str(path), path.name, path=str(path)), IngestLimits(),
                            ArchiveCache())
    assert _shape(meta) == _shape(reference.meta)
    assert _shape(body) == _shape(reference.body)


def test_pixel_data_is_listed_but_not_read() -> None:
    result = load_headers([PYDICOM_FILES / "CT_small.dcm"], include_values=True, workers=1)
    pixel = result.headers[result.headers["tag"] == "(7FE0,0010)"]
    assert list(pixel["value"]) == ["<32768 bytes>"]
