"""Where headers come from: files, folders (recursive), zip archives and in-memory uploads.

Inputs are only ever opened for reading, and only regular files are opened: a named pipe
(FIFO), a socket or a device, given as a path, met in a folder or behind a symbolic link, is
reported at once as what it is (``special_file``) and never read, so nothing blocks on it.
Folders are walked in sorted order following symbolic links, each real folder once (a link back
up the tree is reported, not followed). Zip members are never extracted: they are listed here
and streamed when read (:mod:`deid.ingest.reader`); a member whose name is absolute or climbs
out with ``..`` is refused, and so is a whole archive whose members are too many or would
expand beyond a limit (a zip bomb). Problems found while listing become :class:`SourceProblem`
rows.
"""

from __future__ import annotations

import io
import os
import stat
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

ZIP_SUFFIX = ".zip"


@dataclass(frozen=True)
class IngestLimits:
    """Guards that keep one hostile input from hanging or exhausting the run.

    Attributes
    ----------
    max_file_bytes
        Largest file or zip member read (headers are read, pixel data never is).
    defer_size
        Values longer than this are not read (shown as ``<N bytes>``).
    max_depth, max_elements
        Deepest sequence nesting and most data elements per file.
    timeout_s
        Time allowed per file in worker processes (and in the main thread).
    max_members, max_archive_bytes
        Most members, and most uncompressed bytes in total, of one zip archive.
    """

    max_file_bytes: int = 4 << 30
    defer_size: int = 1 << 20
    max_depth: int = 100
    max_elements: int = 1_000_000
    timeout_s: float = 60.0
    max_members: int = 100_000
    max_archive_bytes: int = 16 << 30
    max_member_bytes: int = 512 << 20


@dataclass(frozen=True)
class Source:
    """One input file: on disk (``path``), a zip member (``path`` + ``member``, or ``data``
    for an uploaded archive), or uploaded bytes (``data``). ``name`` is what tables show;
    ``relative`` is where a de-identified copy goes under an output folder."""

    name: str
    relative: str
    path: str | None = None
    member: str | None = None
    data: bytes | None = None
    declared_size: int = 0

    @property
    def archive_key(self) -> object:
        """What identifies the archive a member is in (its path, or its uploaded bytes)."""
        return self.path if self.path is not None else id(self.data)


@dataclass(frozen=True)
class SourceProblem:
    """An input that cannot be read at all, found while listing."""

    name: str
    kind: str
    message: str


Upload = tuple[str, bytes]


def collect_sources(paths: Iterable[str | os.PathLike[str]] = (),
                    uploads: Iterable[Upload] = (),
                    limits: IngestLimits | None = None,
                    ) -> tuple[list[Source], list[SourceProblem]]:
    """Every input file found under ``paths`` and in ``uploads``, sorted by name."""
    limits = limits or IngestLimits()
    sources: list[Source] = []
    problems: list[SourceProblem] = []
    for path in paths:
        _collect_path(os.fspath(path), sources, problems, limits)
    for name, data in uploads:
        _collect_upload(name, data, sources, problems, limits)
    sources.sort(key=lambda source: source.name)
    problems.sort(key=lambda problem: problem.name)
    return sources, problems


def _posix(path: str) -> str:
    return path.replace(os.sep, "/")


#: File types that are not regular files, as (test, what it is).
_SPECIAL_TYPES = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def special_file_message(path: str, mode: int) -> str:
    """Why a path that is not a regular file or a folder is not read."""
    what = next((text for test, text in _SPECIAL_TYPES if test(mode)), "not a regular file")
    link = ""
    if os.path.islink(path):
        try:
            link = f" (symbolic link to {os.readlink(path)})"
        except OSError:
            link = " (symbolic link)"
    return f"{what}{link}, not a regular file: not read"


class SpecialFileError(OSError):
    """A path that is a named pipe, a socket or a device, not a regular file."""


def open_regular(path: str) -> io.BufferedReader:
    """Open a regular file for reading without ever blocking: a named pipe opens at once
    (``O_NONBLOCK``) and is refused, like a socket or a device
    (:class:`SpecialFileError`). The stream's ``name`` is ``path``."""
    return open(path, "rb", opener=_regular_opener)


def _regular_opener(path: str, flags: int) -> int:
    descriptor = os.open(path, flags | getattr(os, "O_NONBLOCK", 0)
                         | getattr(os, "O_NOCTTY", 0))
    try:
        mode = os.fstat(descriptor).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(21, "Is a directory", path)
        if not stat.S_ISREG(mode):
            raise SpecialFileError(special_file_message(path, mode))
        if hasattr(os, "set_blocking"):
            os.set_blocking(descriptor, True)
    except BaseException:
        os.close(descriptor)
        raise
    return descriptor


def _collect_path(path: str, sources: list[Source], problems: list[SourceProblem],
                  limits: IngestLimits) -> None:
    name = _posix(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        kind = "unreadable" if os.path.islink(path) else "not_found"
        problems.append(SourceProblem(name, kind, "no such file or folder"
                                      + (" (broken symbolic link)" if kind == "unreadable"
                                         else "")))
        return
    except OSError as error:
        problems.append(SourceProblem(name, _os_kind(error), _os_message(error)))
        return
    if stat.S_ISDIR(info.st_mode):
        _walk_folder(path, sources, problems, limits)
    elif stat.S_ISREG(info.st_mode):
        _add_file(path, os.path.basename(path), sources, problems, limits)
    else:
        problems.append(SourceProblem(name, "special_file",
                                      special_file_message(path, info.st_mode)))


def _add_file(path: str, relative: str, sources: list[Source],
              problems: list[SourceProblem], limits: IngestLimits) -> None:
    if path.lower().endswith(ZIP_SUFFIX) and _is_zip(path):
        _collect_archive(path, relative, None, sources, problems, limits)
    else:
        sources.append(Source(_posix(path), _posix(relative), path=path))


def _is_zip(path: str) -> bool:
    try:
        with open_regular(path) as handle:
            return zipfile.is_zipfile(handle)
    except OSError:
        return False


def _walk_folder(top: str, sources: list[Source], problems: list[SourceProblem],
                 limits: IngestLimits) -> None:
    """Walk ``top`` following links, each real folder once, in sorted order."""
    seen: set[tuple[int, int]] = set()
    stack = [(top, "")]
    while stack:
        folder, relative = stack.pop()
        try:
            info = os.stat(folder)
            entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
        except OSError as error:
            problems.append(SourceProblem(_posix(folder), _os_kind(error), _os_message(error)))
            continue
        key = (info.st_dev, info.st_ino)
        if key in seen:
            problems.append(SourceProblem(_posix(folder), "symlink_loop",
                                          "symbolic link to a folder already walked: skipped"))
            continue
        seen.add(key)
        subfolders = []
        for entry in entries:
            child = os.path.join(folder, entry.name)
            child_relative = f"{relative}{entry.name}"
            try:
                is_dir = entry.is_dir(follow_symlinks=True)
                exists = is_dir or entry.is_file(follow_symlinks=True)
            except OSError as error:
                problems.append(SourceProblem(_posix(child), _os_kind(error),
                                              _os_message(error)))
                continue
            if is_dir:
                subfolders.append((child, child_relative + "/"))
            elif exists:
                _add_file(child, child_relative, sources, problems, limits)
            else:
                problems.append(_not_a_file(child))
        stack.extend(reversed(subfolders))


def _not_a_file(path: str) -> SourceProblem:
    """A folder entry that is neither a folder nor a regular file: a special file (or a link
    to one), a broken link or a link loop."""
    try:
        mode = os.stat(path).st_mode
    except OSError as error:
        if os.path.islink(path):
            return SourceProblem(_posix(path), _link_kind(path), _link_message(path))
        return SourceProblem(_posix(path), _os_kind(error), _os_message(error))
    return SourceProblem(_posix(path), "special_file", special_file_message(path, mode))


def _link_kind(path: str) -> str:
    try:
        os.stat(path)
    except OSError as error:
        return "symlink_loop" if error.errno == 40 else "unreadable"
    return "unreadable"


def _link_message(path: str) -> str:
    kind = _link_kind(path)
    return ("symbolic link loop: not followed" if kind == "symlink_loop"
            else "broken symbolic link: its target does not exist")


def _os_kind(error: OSError) -> str:
    if error.errno == 40:
        return "symlink_loop"
    return "unreadable"


def _os_message(error: OSError) -> str:
    return f"cannot read: {error.strerror or type(error).__name__}"


def _collect_upload(name: str, data: bytes, sources: list[Source],
                    problems: list[SourceProblem], limits: IngestLimits) -> None:
    safe = _posix(name).lstrip("/")
    if name.lower().endswith(ZIP_SUFFIX) and zipfile.is_zipfile(io.BytesIO(data)):
        _collect_archive(None, safe, data, sources, problems, limits)
    else:
        sources.append(Source(safe, safe, data=bytes(data)))


def unsafe_member_reason(member: str) -> str | None:
    """Why a zip member name is refused (absolute, drive letter, ``..``), else ``None``."""
    text = member.replace("\\", "/")
    if text.startswith("/") or (len(text) > 1 and text[1] == ":"):
        return "absolute path in the archive: refused"
    if ".." in PurePosixPath(text).parts:
        return "path climbs out of the archive with '..': refused"
    return None


def _collect_archive(path: str | None, relative: str, data: bytes | None,
                     sources: list[Source], problems: list[SourceProblem],
                     limits: IngestLimits) -> None:
    archive_name = _posix(path) if path is not None else relative
    try:
        with open_archive(path, data) as archive:
            members = [info for info in archive.infolist() if not info.is_dir()]
            problem = _archive_problem(members, limits)
            if problem:
                problems.append(SourceProblem(archive_name, "archive_too_large", problem))
                return
            stem = relative[: -len(ZIP_SUFFIX)] if relative.lower().endswith(ZIP_SUFFIX) \
                else relative
            for info in members:
                _add_member(info, archive_name, stem, path, data, sources, problems)
    except SpecialFileError as error:
        problems.append(SourceProblem(archive_name, "special_file", str(error)))
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
        problems.append(SourceProblem(archive_name, "bad_archive",
                                      f"cannot read the zip archive: {error}"))


class _ArchiveFile(zipfile.ZipFile):
    """A zip archive that closes the file it was opened on."""

    def __init__(self, handle: io.BufferedReader) -> None:
        self._handle = handle
        super().__init__(handle)

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._handle.close()


def open_archive(path: str | None, data: bytes | None) -> zipfile.ZipFile:
    """A zip archive on disk (a regular file only) or in memory."""
    if path is None:
        return zipfile.ZipFile(io.BytesIO(data or b""))
    handle = open_regular(path)
    try:
        return _ArchiveFile(handle)
    except BaseException:
        handle.close()
        raise


def _archive_problem(members: Sequence[zipfile.ZipInfo], limits: IngestLimits) -> str | None:
    if len(members) > limits.max_members:
        return (f"{len(members):,} members, more than the limit of {limits.max_members:,}: "
                "archive refused")
    total = sum(info.file_size for info in members)
    if total > limits.max_archive_bytes:
        return (f"expands to {total:,} bytes, more than the limit of "
                f"{limits.max_archive_bytes:,}: archive refused (zip bomb?)")
    return None


def _add_member(info: zipfile.ZipInfo, archive_name: str, stem: str, path: str | None,
                archive_data: bytes | None, sources: list[Source],
                problems: list[SourceProblem]) -> None:
    name = f"{archive_name}!{info.filename}"
    reason = unsafe_member_reason(info.filename)
    if reason:
        problems.append(SourceProblem(name, "unsafe_member", reason))
        return
    relative = f"{stem}/{info.filename}"
    sources.append(Source(name, relative, path=path, member=info.filename,
                          data=archive_data, declared_size=info.file_size))


class SourceError(Exception):
    """One source cannot be read (kind, message)."""

    def __init__(self, kind: str, message: str) -> None:
        self.kind = kind
        super().__init__(message)


def read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo | str,
                limits: IngestLimits) -> bytes:
    """A member's bytes, refused beyond its declared size or the per-member limit."""
    if isinstance(info, str):
        info = archive.getinfo(info)
    if info.file_size > limits.max_member_bytes:
        raise SourceError("too_large", f"member of {info.file_size:,} bytes, more than the "
                          f"limit of {limits.max_member_bytes:,}")
    try:
        with archive.open(info) as member:
            data = member.read(info.file_size + 1)
    except RuntimeError as error:  # encrypted members
        raise SourceError("unreadable", f"cannot read the member: {error}") from error
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
        raise SourceError("bad_archive", f"cannot read the member: {error}") from error
    if len(data) > info.file_size:
        raise SourceError("archive_too_large", "member expands beyond its declared size: "
                          "refused (zip bomb?)")
    return data
