"""Read one source's header (never its pixel data) with guards, or say why it cannot be read.

Files are opened read-only (regular files only, never blocking); pydicom stops before the
pixel data and defers long values. The pixel data element itself is still listed (its length
read from its header, or from the item headers of encapsulated data) so a file's elements are
the ones the engine sees.

Zip members are streamed, never held whole: a small member is read into memory, a larger one
into a sparse image of its header (:mod:`deid.ingest.extent`: the pixel data and long values
are read through and dropped), so the memory a member takes is bounded whatever thread reads
it. A file whose data set is followed by zeros (a zero-padded or damaged file) is a load
error (``zero_padded``) found from its element headers, without reading the zeros.
"""

from __future__ import annotations

import io
import mmap
import os
import signal
import struct
import tempfile
import threading
import time
import warnings
import zipfile
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, BinaryIO, cast

import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.filereader import read_dataset

from deid.ingest.extent import (
    ImageCursor,
    MemberTooLarge,
    SeekCursor,
    WalkTimeout,
    ZeroPadding,
    walk,
)
from deid.ingest.parse import Fallback, parse
from deid.ingest.sources import (
    IngestLimits,
    Source,
    SourceError,
    SpecialFileError,
    open_archive,
    open_regular,
    read_member,
)
from deid.ingest.tree import DEFERRED, PIXEL, Node, TreeLimitError, Unread, build_tree

_PIXEL_TAGS = {0x7FE00010: "OB or OW", 0x7FE00008: "OF", 0x7FE00009: "OD"}
_LONG_VRS = frozenset({b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"UC", b"UN", b"UR",
                       b"UT"})
_ITEM, _SEQUENCE_END = 0xFFFEE000, 0xFFFEE0DD
_DEFLATED = "1.2.840.10008.1.2.1.99"
_DICOMDIR_CLASS = "1.2.840.10008.1.3.10"
_MAX_WARNINGS = 3
#: Zip members up to this size are read whole into memory; larger ones as a sparse image of
#: their header (:class:`HeaderImage`).
SMALL_MEMBER = 4 << 20
#: A whole member (for the engine, which writes pixel data too) is spooled to a temporary
#: file beyond this many bytes.
SPOOL_IN_MEMORY = 16 << 20
_DICOMDIR_NOTE = ("dicomdir", "a DICOMDIR media directory, not an image: its directory records "
                  "were loaded")


@dataclass
class ReadResult:
    """A read header: the data set, its file meta and top-level element trees, and warnings
    as (kind, message)."""

    dataset: Dataset
    meta: list[Node]
    body: list[Node]
    warnings: list[tuple[str, str]] = field(default_factory=list)

    @property
    def tree(self) -> list[Node]:
        """Every top-level element, file meta first."""
        return self.meta + self.body


class ReadError(Exception):
    """A source that cannot be loaded: ``kind`` from :data:`deid.ingest.kinds.KINDS`."""

    def __init__(self, kind: str, message: str) -> None:
        self.kind = kind
        super().__init__(message)


class _Timeout(BaseException):  # not an Exception: pydicom catches those
    pass


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`ReadError` ``timeout`` after ``seconds`` (main thread only; elsewhere the
    structural limits bound the work)."""
    usable = (seconds > 0 and hasattr(signal, "setitimer")
              and threading.current_thread() is threading.main_thread())
    if not usable:
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise _Timeout

    previous = signal.signal(signal.SIGALRM, expire)
    # the alarm repeats until the read stops: Python ignores an exception raised in a
    # finalizer (``__del__``, a weakref callback), so one alarm may be swallowed
    signal.setitimer(signal.ITIMER_REAL, seconds, min(seconds, _REPEAT_S))
    try:
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, _ignore)  # an alarm still pending does nothing
    except _Timeout:
        raise ReadError("timeout", f"reading took longer than {seconds:g} s: "
                        "stopped") from None
    finally:
        signal.signal(signal.SIGALRM, previous)


#: How often the alarm of :func:`time_limit` repeats once the time is up.
_REPEAT_S = 0.05


def _ignore(signum: int, frame: object) -> None:
    """A signal handler that does nothing."""


@dataclass
class HeaderImage:
    """A zip member's header in a sparse in-memory image of the member: ``size`` bytes, the
    pixel data and long top-level values left as zeros (never read by the header readers)."""

    image: mmap.mmap
    size: int


class ArchiveCache:
    """Open zip archives of one worker (the most recent few kept open) and the header image of
    the last large member read (read again by pydicom when the fast reader cannot)."""

    def __init__(self, size: int = 4) -> None:
        self.size = size
        self.open: OrderedDict[object, tuple[zipfile.ZipFile, bytes | None]] = OrderedDict()
        self._image: tuple[tuple[object, str], HeaderImage] | None = None

    def archive(self, source: Source) -> zipfile.ZipFile:
        """The archive ``source`` is a member of (kept open for the next members)."""
        key = source.archive_key
        entry = self.open.pop(key, None) or (open_archive(source.path, source.data),
                                             source.data)
        self.open[key] = entry
        while len(self.open) > self.size:
            self.open.popitem(last=False)[1][0].close()
        return entry[0]

    def member(self, source: Source, limits: IngestLimits) -> bytes:
        """A member's bytes, whole (refused beyond the limits)."""
        assert source.member is not None
        return read_member(self.archive(source), source.member, limits)

    def header_image(self, source: Source, limits: IngestLimits) -> HeaderImage:
        """The sparse image of a member's header (:mod:`deid.ingest.extent`)."""
        assert source.member is not None
        key = (source.archive_key, source.member)
        if self._image is not None and self._image[0] == key:
            return self._image[1]
        self._image = None
        archive = self.archive(source)
        info = archive.getinfo(source.member)
        _check_member_size(info, limits)
        deadline = time.monotonic() + limits.timeout_s if limits.timeout_s > 0 else None
        try:
            with archive.open(info) as stream:
                cursor = ImageCursor(stream, info.file_size)
                try:
                    if not walk(cursor, defer_size=limits.defer_size,
                                max_depth=limits.max_depth, deadline=deadline):
                        cursor.keep_rest()
                    cursor.keep_rest()
                except BaseException:
                    cursor.image.close()
                    raise
        except RuntimeError as error:  # encrypted members
            raise SourceError("unreadable", f"cannot read the member: {error}") from error
        except MemberTooLarge as error:
            raise SourceError("archive_too_large", str(error)) from error
        except ZeroPadding as error:
            raise ReadError("zero_padded", _padding_message(error.position,
                                                            info.file_size)) from None
        except WalkTimeout:
            raise ReadError("timeout", f"reading took longer than {limits.timeout_s:g} s: "
                            "stopped") from None
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
            raise SourceError("bad_archive", f"cannot read the member: {error}") from error
        if cursor.pos != info.file_size:
            cursor.image.close()
            raise SourceError("bad_archive", f"the member holds {cursor.pos:,} bytes, not the "
                              f"{info.file_size:,} its archive declares")
        image = HeaderImage(cursor.image, cursor.pos)
        self._image = (key, image)
        return image

    def member_file(self, source: Source, limits: IngestLimits) -> BinaryIO:
        """A member's bytes, whole, in a temporary file (in memory up to a few MiB)."""
        assert source.member is not None
        archive = self.archive(source)
        info = archive.getinfo(source.member)
        _check_member_size(info, limits)
        spool = _RetainedSpool(max_size=SPOOL_IN_MEMORY)
        try:
            with archive.open(info) as stream:
                copied = 0
                while chunk := stream.read(1 << 20):
                    copied += len(chunk)
                    if copied > info.file_size:
                        raise SourceError("archive_too_large", "member expands beyond its "
                                          "declared size: refused (zip bomb?)")
                    spool.write(chunk)
        except RuntimeError as error:
            spool.close()
            raise SourceError("unreadable", f"cannot read the member: {error}") from error
        except (zipfile.BadZipFile, EOFError, ValueError) as error:
            spool.close()
            raise SourceError("bad_archive", f"cannot read the member: {error}") from error
        except BaseException:
            spool.close()
            raise
        spool.seek(0)
        return spool  # type: ignore[return-value]


class _RetainedSpool(tempfile.SpooledTemporaryFile[bytes]):
    """A spooled copy of a member that stays readable after ``close()``: pydicom reads
    deferred values (the pixel data) from the stream once the reader has closed it. The copy
    goes with its last reference."""

    def close(self) -> None:
        """Keep the copy readable (released when garbage-collected)."""

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _check_member_size(info: zipfile.ZipInfo, limits: IngestLimits) -> None:
    if info.file_size > limits.max_member_bytes:
        raise SourceError("too_large", f"member of {info.file_size:,} bytes, more than the "
                          f"limit of {limits.max_member_bytes:,}")


def _padding_message(position: int, size: int) -> str:
    return (f"the data set ends at byte {position:,}; the {size - position:,} bytes after it "
            "begin with zeros, not a DICOM element (a zero-padded or damaged file): not loaded")


@contextmanager
def _opening(source: Source) -> Iterator[None]:
    """Turn what opening a source raises into :class:`ReadError`."""
    try:
        yield
    except SourceError as error:
        raise ReadError(error.kind, str(error)) from error
    except SpecialFileError as error:
        raise ReadError("special_file", str(error)) from error
    except (zipfile.BadZipFile, KeyError) as error:
        raise ReadError("bad_archive", f"cannot read the zip archive: {error}") from error
    except FileNotFoundError as error:
        raise ReadError("not_found", "no such file") from error
    except IsADirectoryError as error:
        raise ReadError("unreadable", "is a folder, not a file") from error
    except OSError as error:
        raise ReadError("unreadable", f"cannot read: {error.strerror or error}") from error


def open_source(source: Source, limits: IngestLimits, archives: ArchiveCache) -> BinaryIO:
    """A read-only binary stream over all of the source's bytes (zip members are copied to a
    temporary file, in memory only up to a few MiB)."""
    with _opening(source):
        if source.member is not None:
            return archives.member_file(source, limits)
        if source.data is not None:
            return io.BytesIO(source.data)
        assert source.path is not None
        return open_regular(source.path)
    raise AssertionError("unreachable")  # pragma: no cover


class _Unclosed(io.RawIOBase):
    """A read-only view of a cached header image that leaves the image open when closed."""

    def __init__(self, image: HeaderImage) -> None:
        self._image = image.image
        self._size = image.size
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        end = min(self._size, self._pos + len(buffer))
        count = max(0, end - self._pos)
        buffer[:count] = self._image[self._pos:end]
        self._pos += count
        return count

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos


def open_header(source: Source, limits: IngestLimits, archives: ArchiveCache) -> BinaryIO:
    """A read-only binary stream over the source's header: all of a file or a small member,
    the sparse header image of a large member."""
    with _opening(source):
        if source.member is not None:
            if source.declared_size <= SMALL_MEMBER:
                return io.BytesIO(archives.member(source, limits))
            # Not an io.BufferedReader: pydicom would take that for a file on disk and try
            # to open it again by name.
            return cast(BinaryIO, _Unclosed(archives.header_image(source, limits)))
        return open_source(source, limits, archives)
    raise AssertionError("unreachable")  # pragma: no cover


def _refuse_zero_padding(stream: BinaryIO, size: int, limits: IngestLimits) -> None:
    """Raise ``zero_padded`` when the data set in ``stream`` is followed by zeros."""
    deadline = time.monotonic() + limits.timeout_s if limits.timeout_s > 0 else None
    try:
        walk(SeekCursor(stream, size), defer_size=limits.defer_size,
             max_depth=limits.max_depth, deadline=deadline)
    except ZeroPadding as error:
        raise ReadError("zero_padded", _padding_message(error.position, size)) from None
    except WalkTimeout:
        raise ReadError("timeout", f"reading took longer than {limits.timeout_s:g} s: "
                        "stopped") from None
    finally:
        stream.seek(0)


def read_header(source: Source, limits: IngestLimits, archives: ArchiveCache) -> ReadResult:
    """Read a source's header and build its element tree, within the limits."""
    with time_limit(limits.timeout_s), open_header(source, limits, archives) as stream:
        size = _size(stream)
        if size == 0:
            raise ReadError("empty_file", "zero-length file")
        if size > limits.max_file_bytes:
            raise ReadError("too_large", f"{size:,} bytes, more than the limit of "
                            f"{limits.max_file_bytes:,}")
        forced = _check_preamble(stream)
        _refuse_zero_padding(stream, size, limits)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            dataset = _parse(stream, limits, forced)
            pixel = _pixel_node(stream, dataset, size)
            trailing = _trailing(stream, dataset, pixel, size, limits)
            meta, body = _tree(dataset, limits)
            if pixel is not None:
                body.append(pixel[0])
                body.extend(_tree(trailing, limits)[1] if trailing is not None else ())
        notes = _warnings(dataset, caught, forced, pixel, size)
    return ReadResult(dataset, meta, body, notes)


@dataclass
class Elements:
    """A source's element trees and read warnings; ``dataset`` when pydicom read it."""

    meta: list[Node]
    body: list[Node]
    warnings: list[tuple[str, str]] = field(default_factory=list)
    dataset: Dataset | None = None

    @property
    def tree(self) -> list[Node]:
        """Every top-level element, file meta first."""
        return self.meta + self.body


def read_elements(source: Source, limits: IngestLimits, archives: ArchiveCache, *,
                  show: bool = True) -> Elements:
    """A source's element trees, read by the fast reader (:mod:`deid.ingest.parse`) when it
    can, else by :func:`read_header` (which also says why a damaged file cannot be read).
    ``show=False``: values need not be displayed (``Node.shown`` may be None)."""
    try:
        with time_limit(limits.timeout_s), _buffer(source, limits, archives) as (buf, size):
            if size == 0:
                raise ReadError("empty_file", "zero-length file")
            if size > limits.max_file_bytes:
                raise ReadError("too_large", f"{size:,} bytes, more than the limit of "
                                f"{limits.max_file_bytes:,}")
            meta, body, _ = parse(buf, size, defer_size=limits.defer_size,
                                  max_depth=limits.max_depth, max_elements=limits.max_elements,
                                  show=show)
            return Elements(meta, body, _meta_warnings(meta))
    except TreeLimitError as error:
        raise ReadError(error.kind, str(error)) from error
    except (Fallback, RecursionError):
        read = read_header(source, limits, archives)
        return Elements(read.meta, read.body, read.warnings, read.dataset)


@contextmanager
def _buffer(source: Source, limits: IngestLimits,
            archives: ArchiveCache) -> Iterator[tuple[Any, int]]:
    """The source's header bytes: memory-mapped for files on disk (pages never touched, such
    as the pixel data, are never read), the sparse image of a large zip member."""
    if source.member is not None and source.declared_size > SMALL_MEMBER:
        with _opening(source):
            image = archives.header_image(source, limits)
        yield image.image, image.size
        return
    with open_header(source, limits, archives) as stream:
        if isinstance(stream, io.BytesIO):
            data = stream.getvalue()
            yield data, len(data)
            return
        size = os.fstat(stream.fileno()).st_size
        if size == 0:
            yield b"", 0
            return
        with mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            yield mapped, size


def _meta_warnings(meta: list[Node]) -> list[tuple[str, str]]:
    if any(node.tag == 0x00020002 and node.value == _DICOMDIR_CLASS for node in meta):
        return [_DICOMDIR_NOTE]
    return []


def _size(stream: BinaryIO) -> int:
    position = stream.tell()
    end = stream.seek(0, io.SEEK_END)
    stream.seek(position)
    return end


def _check_preamble(stream: BinaryIO) -> bool:
    """False for a normal file; True for a bare data set (no preamble) that looks like DICOM;
    raise ``not_dicom`` otherwise."""
    head = stream.read(132)
    stream.seek(0)
    if len(head) == 132 and head[128:132] == b"DICM":
        return False
    if len(head) >= 8:
        group = struct.unpack("<H", head[:2])[0]
        if group in (0x0002, 0x0008) and (head[4:6].isalpha() or head[6:8] == b"\0\0"):
            return True
    raise ReadError("not_dicom", "not a DICOM file (no DICM prefix and no data set at the "
                    "start)")


def _parse(stream: BinaryIO, limits: IngestLimits, forced: bool) -> Dataset:
    try:
        dataset = pydicom.dcmread(stream, stop_before_pixels=True, defer_size=limits.defer_size,
                                  force=forced)
    except InvalidDicomError as error:
        raise ReadError("not_dicom", f"not a DICOM file ({error})") from error
    except RecursionError as error:
        raise ReadError("too_deep", "sequences nested too deeply to read") from error
    except MemoryError as error:
        raise ReadError("too_large", "not enough memory to read the header") from error
    except (EOFError, struct.error) as error:
        raise ReadError("truncated", f"the file ends inside a data element "
                        f"({type(error).__name__}: {error})") from error
    except Exception as error:
        kind = "truncated" if "end of file" in str(error).lower() else "corrupt"
        raise ReadError(kind, f"cannot parse the DICOM file ({type(error).__name__}: "
                        f"{error})") from error
    if len(dataset) == 0 and not getattr(dataset, "file_meta", None):
        raise ReadError("truncated", "no data elements could be read (truncated or empty)")
    return dataset


def _tree(dataset: Dataset, limits: IngestLimits) -> tuple[list[Node], list[Node]]:
    try:
        return build_tree(dataset, max_depth=limits.max_depth,
                          max_elements=limits.max_elements)
    except TreeLimitError as error:
        raise ReadError(error.kind, str(error)) from error
    except RecursionError as error:
        raise ReadError("too_deep", "sequences nested too deeply to read") from error


def _pixel_node(stream: BinaryIO, dataset: Dataset, size: int) -> tuple[Node, int] | None:
    """The pixel data element where pydicom stopped (its value length read from headers only)
    and where it ends."""
    meta = getattr(dataset, "file_meta", None)
    if meta is not None and meta.get("TransferSyntaxUID") == _DEFLATED:
        return None
    implicit, little = dataset.original_encoding
    if implicit is None:
        return None
    start = stream.tell()
    header = stream.read(12)
    if len(header) < 8:
        return None
    order = "<" if little else ">"
    group, element = struct.unpack(order + "HH", header[:4])
    tag = group << 16 | element
    if tag not in _PIXEL_TAGS:
        return None
    vr = _PIXEL_TAGS[tag]
    implicit = implicit or not header[4:6].isupper()
    if implicit:
        length, value_start = struct.unpack(order + "I", header[4:8])[0], start + 8
    elif header[4:6] in _LONG_VRS and len(header) == 12:
        vr = header[4:6].decode()
        length, value_start = struct.unpack(order + "I", header[8:12])[0], start + 12
    else:
        vr = header[4:6].decode("latin_1")
        length, value_start = struct.unpack(order + "H", header[6:8])[0], start + 8
    end = value_start + length
    if length == 0xFFFFFFFF:
        found = _encapsulated_length(stream, value_start, order, size)
        if found is None:
            return None
        length, end = found, value_start + found + 8
        vr = "OB" if vr in ("OB or OW", "UN") else vr
    elif vr == "OB or OW":
        vr = "OW" if implicit or int(dataset.get("BitsAllocated", 8) or 8) > 8 else "OB"
    length = min(length, size - value_start)  # what a reader gets from a truncated file
    node = Node(tag, vr, None, Unread(length), f"<{length} bytes>", None, PIXEL)
    return node, end


def _trailing(stream: BinaryIO, dataset: Dataset, pixel: tuple[Node, int] | None, size: int,
              limits: IngestLimits) -> Dataset | None:
    """Elements after the pixel data (trailing padding, digital signatures), if any."""
    if pixel is None or pixel[1] + 8 > size:
        return None
    implicit, little = dataset.original_encoding
    stream.seek(pixel[1])
    try:
        return read_dataset(stream, bool(implicit), bool(little), defer_size=limits.defer_size)
    except Exception:  # noqa: BLE001 - a damaged tail does not stop the header
        return None


def _encapsulated_length(stream: BinaryIO, start: int, order: str, size: int) -> int | None:
    """Bytes of encapsulated pixel data up to its sequence delimiter, reading item headers;
    None when the file ends first. A fragment that says it runs past the end of the file is
    a :class:`ReadError` (``corrupt``): the data set cannot be read whole."""
    position = start
    while position + 8 <= size:
        stream.seek(position)
        group, element, length = struct.unpack(order + "HHI", stream.read(8))
        tag = group << 16 | element
        if tag == _SEQUENCE_END:
            return position - start
        if tag != _ITEM or length == 0xFFFFFFFF:
            return None
        if position + 8 + length > size:
            raise ReadError("corrupt", f"the pixel data fragment at byte {position:,} says it "
                            f"is {length:,} bytes long, past the end of the file ({size:,} "
                            "bytes): the file is damaged")
        position += 8 + length
    return None


def _warnings(dataset: Dataset, caught: list[warnings.WarningMessage], forced: bool,
              pixel: tuple[Node, int] | None, size: int) -> list[tuple[str, str]]:
    notes: list[tuple[str, str]] = []
    if forced:
        notes.append(("no_preamble", "no preamble or DICM prefix: read as a bare data set"))
    meta = getattr(dataset, "file_meta", None)
    if meta is not None and meta.get("MediaStorageSOPClassUID") == _DICOMDIR_CLASS:
        notes.append(_DICOMDIR_NOTE)
    if pixel is not None and pixel[1] > size:
        notes.append(("pixel_data", f"the pixel data ends at byte {pixel[1]:,} but the file "
                      f"has {size:,}: truncated"))
    seen: set[str] = set()
    for item in caught:
        message = " ".join(str(item.message).split())[:300]
        if message not in seen and len(seen) < _MAX_WARNINGS:
            seen.add(message)
            notes.append(("decoding", message))
    return notes


@contextmanager
def whole_buffer(source: Source, limits: IngestLimits,
                 archives: ArchiveCache) -> Iterator[tuple[Any, int]]:
    """All of a source's bytes, pixel data included, at the offsets the fast reader saw:
    memory-mapped for files on disk, read whole for uploads and zip members."""
    with open_source(source, limits, archives) as stream:
        if isinstance(stream, io.BytesIO):
            data = stream.getvalue()
            yield data, len(data)
            return
        fileno = _fileno(stream)
        if fileno is None:
            data = stream.read()
            yield data, len(data)
            return
        size = os.fstat(fileno).st_size
        if size == 0:
            yield b"", 0
            return
        with mmap.mmap(fileno, 0, access=mmap.ACCESS_READ) as mapped:
            yield mapped, size


def _fileno(stream: BinaryIO) -> int | None:
    try:
        return stream.fileno()
    except (OSError, io.UnsupportedOperation, AttributeError):
        return None


def needs_full_read(read: Elements) -> bool:
    """True when the element tree lacks a value a plan may need: a deflated file (its pixel
    data element is not located) or a long text value that was not read."""
    meta = getattr(read.dataset, "file_meta", None) if read.dataset is not None else None
    deflated = meta is not None and meta.get("TransferSyntaxUID") == _DEFLATED
    return deflated or _has_deferred_text(read.body)


def _has_deferred_text(nodes: list[Node]) -> bool:
    for node in nodes:
        if node.flags & DEFERRED and node.vr not in _BINARY_VRS:
            return True
        if node.items and any(_has_deferred_text(item) for item in node.items):
            return True
    return False


_BINARY_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "UN"})


def read_whole(source: Source, limits: IngestLimits, archives: ArchiveCache,
               forced: bool) -> Dataset:
    """The whole data set (pixel data included) read by pydicom, for writing a copy."""
    with time_limit(limits.timeout_s), open_source(source, limits, archives) as stream:
        return pydicom.dcmread(stream, defer_size=limits.defer_size, force=forced)


def check_whole(read: Elements, dataset: Dataset) -> None:
    """Refuse a whole read that lost elements the header has (a damaged file pydicom read only
    in part): nothing is written from it, and the file is a load error."""
    missing = [node.tag for node in read.body if node.tag not in dataset]
    if missing:
        first = missing[0]
        raise ReadError("corrupt", f"the data set could not be read whole: {len(missing)} "
                        f"element(s) of its header are missing when reading it to write a "
                        f"copy, e.g. ({first >> 16:04X},{first & 0xFFFF:04X}); no copy written")


def planning_trees(source: Source, limits: IngestLimits,
                   archives: ArchiveCache) -> tuple[list[Node], list[Node]]:
    """A source's file meta and data set trees with every value a plan needs: the fast
    reader's, or pydicom's whole read when :func:`needs_full_read`."""
    return trees_to_plan(read_elements(source, limits, archives), source, limits, archives)


def trees_to_plan(read: Elements, source: Source, limits: IngestLimits,
                  archives: ArchiveCache) -> tuple[list[Node], list[Node]]:
    """The trees of an element read that a plan can use: its own, or pydicom's whole read of
    the source when :func:`needs_full_read`."""
    if not needs_full_read(read):
        return read.meta, read.body
    forced = any(kind == "no_preamble" for kind, _ in read.warnings)
    dataset = read_whole(source, limits, archives, forced)
    check_whole(read, dataset)
    return build_tree(dataset, read_deferred=True, max_depth=limits.max_depth,
                      max_elements=limits.max_elements)
