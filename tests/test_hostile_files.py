"""Hostile files: zero padding after the data set or the pixel data is a load error found
without reading the zeros, zip members are streamed with bounded memory in any thread, and
named pipes, sockets and devices are reported at once as what they are, never opened."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import textwrap
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pydicom
import pytest

from deid import Secrets, load_profile
from deid.ingest import IngestLimits, load_headers
from deid.outputs.effects import apply_profiles
from tests import badinput

REPO_ROOT = Path(__file__).resolve().parents[1]
LIMITS = IngestLimits(timeout_s=20)
MIB = 1 << 20


def _good(number: int = 1, pixels: int = 0) -> bytes:
    ds = badinput.base_dataset(number)
    if pixels:
        ds.Rows, ds.Columns = pixels // 1024, 512
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 16, 15
        ds.SamplesPerPixel, ds.PixelRepresentation = 1, 0
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.PixelData = bytes(range(256)) * (pixels // 256)
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def _padded_zip(path: Path, members: int, zeros: int, pixels: int = 0) -> Path:
    """A zip of ``members`` small DICOM files, each followed by ``zeros`` zero bytes."""
    chunk = bytes(MIB)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for number in range(members):
            with archive.open(f"m{number}.dcm", "w", force_zip64=True) as member:
                member.write(_good(number + 1, pixels))
                for _ in range(zeros // MIB):
                    member.write(chunk)
    return path


def _kinds(errors) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return dict(zip(errors["file"], errors["error_kind"], strict=True))


# -- zero padding ------------------------------------------------------------------------------

@pytest.mark.parametrize(("zeros", "pixels"), [(8, 0), (4096, 0), (8 * MIB, 0), (8 * MIB, 4096)])
def test_zero_padded_file_is_a_load_error(tmp_path: Path, zeros: int, pixels: int) -> None:
    path = tmp_path / "padded.dcm"
    good = _good(pixels=pixels)
    path.write_bytes(good + bytes(zeros))
    started = time.monotonic()
    result = load_headers([path], workers=1, limits=LIMITS)
    assert time.monotonic() - started < 5
    errors = result.load_errors
    assert list(errors["error_kind"]) == ["zero_padded"], errors.to_dict("records")
    message = errors["message"].iloc[0]
    assert f"ends at byte {len(good):,}" in message and f"{zeros:,} bytes" in message
    assert result.headers.empty


def test_a_few_trailing_bytes_still_load(tmp_path: Path) -> None:
    path = tmp_path / "short_tail.dcm"
    path.write_bytes(_good() + bytes(6))
    result = load_headers([path], workers=1, limits=LIMITS)
    assert result.load_errors.empty and result.n_loaded == 1


def test_copies_end_with_the_data_set(tmp_path: Path) -> None:
    """Bytes after the data set are never written to a copy: the copy of a file with a few
    zeros after it equals the copy of the same file without them; text after the pixel data
    reads as an element that runs past the end of the file, a load error, and no copy."""
    inputs = {"plain.dcm": _good(), "short_tail.dcm": _good() + bytes(6),
              "pixels.dcm": _good(pixels=4096), "pixels_tail.dcm": _good(pixels=4096) + bytes(6),
              "text_tail.dcm": _good(pixels=4096) + b"TRAILING-Larkcombe^Rosalind"}
    (tmp_path / "in").mkdir()
    for name, data in inputs.items():
        (tmp_path / "in" / name).write_bytes(data)
    profile = load_profile("ps315_basic")
    result = apply_profiles([tmp_path / "in"], [profile], secrets=Secrets.ephemeral("default"),
                            workers=1, write_dicom=tmp_path / "out")
    errors = result.load_errors
    assert errors["file"].astype(str).str.endswith("text_tail.dcm").all()
    assert set(errors["error_kind"]) == {"truncated"}
    out = tmp_path / "out" / profile.id
    assert sorted(path.name for path in out.iterdir()) == sorted(set(inputs) - {"text_tail.dcm"})
    assert (out / "short_tail.dcm").read_bytes() == (out / "plain.dcm").read_bytes()
    assert (out / "pixels_tail.dcm").read_bytes() == (out / "pixels.dcm").read_bytes()


def test_zero_padded_members_stop_at_the_zeros(tmp_path: Path) -> None:
    """Members bigger than the in-memory limit are streamed: the zeros after the data set (or
    after the pixel data) are never decompressed, from a path and from an upload."""
    archive = _padded_zip(tmp_path / "padded.zip", members=2, zeros=64 * MIB)
    with_pixels = _padded_zip(tmp_path / "pixels.zip", members=1, zeros=64 * MIB, pixels=8192)
    started = time.monotonic()
    result = load_headers([archive, with_pixels], workers=1, limits=LIMITS)
    uploaded = load_headers(uploads=[("up.zip", archive.read_bytes())], workers=1,
                            limits=LIMITS)
    assert time.monotonic() - started < 5
    for outcome in (result, uploaded):
        assert set(outcome.load_errors["error_kind"]) == {"zero_padded"}
        assert outcome.headers.empty
    assert len(result.load_errors) == 3 and len(uploaded.load_errors) == 2


def test_big_members_read_like_files_and_copies_keep_their_pixels(tmp_path: Path) -> None:
    """A member beyond the in-memory limit gives the same elements as the same file on disk,
    and a de-identified copy of it keeps every pixel."""
    data = _good(pixels=6 * MIB)
    on_disk = tmp_path / "big.dcm"
    on_disk.write_bytes(data)
    archive = tmp_path / "big.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as opened:
        opened.writestr("big.dcm", data)
    disk = load_headers([on_disk], workers=1, include_values=True, limits=LIMITS)
    member = load_headers([archive], workers=1, include_values=True, limits=LIMITS)
    uploaded = load_headers(uploads=[("up.zip", archive.read_bytes())], workers=1,
                            include_values=True, limits=LIMITS)
    assert disk.load_errors.empty and member.load_errors.empty and uploaded.load_errors.empty
    columns = ["element_path", "vr", "value"]
    expected = disk.headers[columns].astype(str).values.tolist()
    assert member.headers[columns].astype(str).values.tolist() == expected
    assert uploaded.headers[columns].astype(str).values.tolist() == expected
    assert f"<{6 * MIB} bytes>" in expected[-1][2]
    out = tmp_path / "out"
    applied = apply_profiles([archive], [load_profile("ps315_basic")],
                             secrets=Secrets.ephemeral("default"), workers=1, write_dicom=out)
    assert applied.load_errors.empty
    copy = pydicom.dcmread(out / "ps315_basic" / "big" / "big.dcm")
    assert copy.PixelData == pydicom.dcmread(on_disk).PixelData


def test_every_sample_file_reads_the_same_as_a_header_image(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    """Every bundled sample file (implicit and big endian, nested and undefined-length
    sequences, encapsulated pixel data, private blocks) read from a zip as a sparse header
    image gives exactly the elements it gives on disk."""
    from deid.ingest import reader

    files = sorted((REPO_ROOT / "data" / "sample" / "files").glob("*.dcm"))
    archive = tmp_path / "sample.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as opened:
        for path in files:
            opened.write(path, path.name)
    monkeypatch.setattr(reader, "SMALL_MEMBER", 0)  # every member through the image
    member = load_headers([archive], workers=1, include_values=True, limits=LIMITS)
    disk = load_headers(files, workers=1, include_values=True, limits=LIMITS)
    assert member.load_errors["error_kind"].tolist() == disk.load_errors["error_kind"].tolist()
    columns = ["element_path", "vr", "depth", "value"]
    for path in files:
        mine = member.headers[member.headers["file"] == f"{archive.as_posix()}!{path.name}"]
        theirs = disk.headers[disk.headers["file"] == path.as_posix()]
        assert mine[columns].astype(str).values.tolist() == (
            theirs[columns].astype(str).values.tolist()), path.name


_MEMORY_PROBE = textwrap.dedent("""
    import resource, sys, threading
    from deid.ingest import IngestLimits, load_headers
    data = open(sys.argv[1], "rb").read()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out = {}
    def run():
        out["result"] = load_headers(uploads=[("upload.zip", data)], workers=1,
                                     limits=IngestLimits(timeout_s=20))
    worker = threading.Thread(target=run)  # the dashboard loads outside the main thread
    worker.start()
    worker.join()
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    kinds = sorted(set(out["result"].load_errors["error_kind"]))
    print(grown // 1024, ",".join(kinds))
""")


def test_memory_per_member_is_bounded_outside_the_main_thread(tmp_path: Path) -> None:
    """The issue's case, scaled down: an uploaded zip of members that are a small DICOM file
    followed by 256 MiB of zeros, loaded in a thread. Peak memory grows by far less than one
    member, and the load ends in seconds."""
    archive = _padded_zip(tmp_path / "bomb.zip", members=4, zeros=256 * MIB)
    assert archive.stat().st_size < 2 * MIB
    done = subprocess.run([sys.executable, "-c", _MEMORY_PROBE, str(archive)], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    grown_mib, kinds = done.stdout.split()
    assert kinds == "zero_padded"
    assert int(grown_mib) < 64, f"peak memory grew by {grown_mib} MiB"


# -- special files -----------------------------------------------------------------------------

@pytest.fixture
def special_folder(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "scan"
    folder.mkdir()
    (folder / "good.dcm").write_bytes(_good())
    os.mkfifo(folder / "pipe.dcm")
    os.mkfifo(folder / "pipe.zip")
    (folder / "zero.dcm").symlink_to("/dev/zero")
    (folder / "null").symlink_to("/dev/null")
    (folder / "broken.dcm").symlink_to(folder / "missing.dcm")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(folder / "sock"))
    try:
        yield folder
    finally:
        listener.close()


def test_special_files_in_a_folder_are_reported_as_what_they_are(special_folder: Path) -> None:
    started = time.monotonic()
    result = load_headers([special_folder], workers=1, limits=LIMITS)
    assert time.monotonic() - started < 5
    errors = result.load_errors.set_index("file")
    name = special_folder.as_posix()
    assert _kinds(result.load_errors) == {
        f"{name}/pipe.dcm": "special_file", f"{name}/pipe.zip": "special_file",
        f"{name}/zero.dcm": "special_file", f"{name}/null": "special_file",
        f"{name}/sock": "special_file", f"{name}/broken.dcm": "unreadable"}
    assert errors.loc[f"{name}/pipe.dcm", "message"].startswith("a named pipe (FIFO)")
    assert errors.loc[f"{name}/zero.dcm", "message"].startswith(
        "a character device (symbolic link to /dev/zero)")
    assert errors.loc[f"{name}/sock", "message"].startswith("a socket")
    assert "broken symbolic link" in errors.loc[f"{name}/broken.dcm", "message"]
    assert result.n_loaded == 1


@pytest.mark.parametrize("name", ["pipe.dcm", "pipe.zip", "zero.dcm", "sock"])
def test_a_special_file_given_as_path_never_blocks(special_folder: Path, name: str) -> None:
    started = time.monotonic()
    result = load_headers([special_folder / name], workers=1, limits=LIMITS)
    assert time.monotonic() - started < 2
    assert list(result.load_errors["error_kind"]) == ["special_file"]


def test_a_file_that_became_a_pipe_after_listing_is_not_opened(tmp_path: Path) -> None:
    """Listing saw a regular file; by the time it is read it is a named pipe."""
    from deid.ingest.reader import ArchiveCache, ReadError, read_elements
    from deid.ingest.sources import collect_sources

    path = tmp_path / "swapped.dcm"
    path.write_bytes(_good())
    sources, _ = collect_sources([path])
    path.unlink()
    os.mkfifo(path)
    started = time.monotonic()
    with pytest.raises(ReadError) as raised:
        read_elements(sources[0], LIMITS, ArchiveCache())
    assert raised.value.kind == "special_file"
    assert time.monotonic() - started < 2
