"""Where a DICOM header is, found from element headers alone: read it, skip the rest.

:func:`walk` goes forwards through a file's element headers (the file meta, the top-level
elements, the items of sequences of undefined length) without decoding a value. It keeps what
the readers need (element headers, the file meta, values they decode) and skips what they never
read: the pixel data and top-level values longer than the deferral size (of an explicit VR
that cannot hold a sequence). It stops
at an element header of eight zero bytes where an element should start: no DICOM element is
all zeros, so the data set is over and what follows is padding (:class:`ZeroPadding`); reading
on through gigabytes of zeros is what a hostile or damaged file would make a reader do.

A :class:`Cursor` says how bytes are kept and skipped: :class:`SeekCursor` over a file or
buffer seeks past them; :class:`ImageCursor` streams a zip member into a sparse in-memory image
(an anonymous memory map whose skipped pages are never touched), so a member's memory is its
header whatever its size.
"""

from __future__ import annotations

import mmap
import struct
import time
from typing import IO, BinaryIO, Protocol

_VRS = frozenset(b"AE AS AT CS DA DS DT FD FL IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV "
                 b"TM UC UI UL UN UR US UT UV".split())
_LONG = frozenset(b"OB OD OF OL OV OW SQ SV UC UN UR UT UV".split())
#: Values the readers defer (never read) when long: explicit VRs that cannot hold items. A
#: long value of implicit VR, or of VR SQ or UN, is kept (it may be a sequence).
_DEFERRABLE = _VRS - {b"SQ", b"UN"}
_ITEM, _ITEM_END, _SEQUENCE_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
_UNDEFINED = 0xFFFFFFFF
_PIXEL_TAGS = frozenset({0x7FE00010, 0x7FE00008, 0x7FE00009})
_CHARSET = 0x00080005
_TRANSFER_SYNTAX = b"\x02\x00\x10\x00"  # (0002,0010) as it is written (little endian)
_IMPLICIT, _BIG_ENDIAN, DEFLATED = ("1.2.840.10008.1.2", "1.2.840.10008.1.2.2",
                                    "1.2.840.10008.1.2.1.99")
_ZEROS = bytes(8)
_MAX_META_VALUE = 1 << 16
#: Bytes read at a time when a value is kept or skipped from a stream.
CHUNK = 1 << 20


class ZeroPadding(Exception):
    """An element header of zeros where an element should start, at byte ``position``."""

    def __init__(self, position: int) -> None:
        self.position = position
        super().__init__(f"zero bytes from byte {position:,}")


class WalkTimeout(Exception):
    """The walk took longer than its deadline."""


class Cursor(Protocol):
    """A forward position in a file: look at the next bytes, keep or skip them."""

    pos: int

    def peek(self, n: int) -> bytes:
        """Up to ``n`` bytes from the position, without moving it."""

    def keep(self, n: int) -> int:
        """Move past ``n`` bytes the readers need; return how many there were."""

    def skip(self, n: int) -> int:
        """Move past ``n`` bytes the readers never read; return how many there were."""


class SeekCursor:
    """A cursor over a seekable stream of ``size`` bytes (a file, a buffer): skipping seeks."""

    def __init__(self, stream: BinaryIO, size: int) -> None:
        self.stream = stream
        self.size = size
        self.pos = 0

    def peek(self, n: int) -> bytes:
        self.stream.seek(self.pos)
        return self.stream.read(max(0, min(n, self.size - self.pos)))

    def keep(self, n: int) -> int:
        return self.skip(n)

    def skip(self, n: int) -> int:
        moved = max(0, min(n, self.size - self.pos))
        self.pos += moved
        return moved


class MemberTooLarge(Exception):
    """A zip member that expands beyond the size its archive declares."""


class ImageCursor:
    """A cursor that streams ``stream`` (a zip member of ``size`` declared bytes) into a
    sparse image: kept bytes are written at their offsets, skipped ones are read in chunks and
    dropped (the image stays zero there, and its pages untouched)."""

    def __init__(self, stream: IO[bytes], size: int) -> None:
        self.stream = stream
        self.size = size
        self.image = mmap.mmap(-1, max(size, 1))
        self.pos = 0
        self._ahead = b""  # bytes read from the stream (and written) past ``pos``

    def _read(self, n: int) -> bytes:
        data = self.stream.read(n)
        if self.pos + len(self._ahead) + len(data) > self.size:
            raise MemberTooLarge("member expands beyond its declared size: refused (zip bomb?)")
        return data

    def peek(self, n: int) -> bytes:
        while len(self._ahead) < n:
            data = self._read(n - len(self._ahead))
            if not data:
                break
            start = self.pos + len(self._ahead)
            self.image[start:start + len(data)] = data
            self._ahead += data
        return self._ahead[:n]

    def _consume_ahead(self, n: int) -> int:
        taken = min(n, len(self._ahead))
        self._ahead = self._ahead[taken:]
        self.pos += taken
        return taken

    def keep(self, n: int) -> int:
        moved = self._consume_ahead(n)
        while moved < n:
            data = self._read(min(CHUNK, n - moved))
            if not data:
                break
            self.image[self.pos:self.pos + len(data)] = data
            self.pos += len(data)
            moved += len(data)
        return moved

    def skip(self, n: int) -> int:
        moved = self._consume_ahead(n)
        while moved < n:
            data = self._read(min(CHUNK, n - moved))
            if not data:
                break
            self.pos += len(data)
            moved += len(data)
        return moved

    def keep_rest(self) -> None:
        """Keep everything up to the end of the stream."""
        while self.keep(CHUNK) == CHUNK:
            pass


def walk(cursor: Cursor, *, defer_size: int, max_depth: int,
         deadline: float | None = None) -> bool:
    """Walk the file's element headers, keeping what the readers need and skipping the rest.

    Returns True when the walk reached the end of the file (fewer than eight bytes left, or a
    value running past the end: a truncated file, which the readers classify), False when it
    met something it does not understand (the readers then read the file as it is). Raises
    :class:`ZeroPadding` at an element header of zeros, :class:`WalkTimeout` past
    ``deadline`` (a ``time.monotonic`` value).
    """
    head = cursor.peek(132)
    if len(head) >= 132 and head[128:132] == b"DICM":
        cursor.keep(132)
        syntax = _meta(cursor)
    elif head[:2] == b"\x02\x00":
        syntax = _meta(cursor)
    else:
        syntax = ""
    if syntax is None or syntax == DEFLATED:
        return False
    implicit = cursor.peek(6)[4:6] not in _VRS if syntax == "" else syntax == _IMPLICIT
    walker = _Walker(cursor, implicit, syntax != _BIG_ENDIAN, defer_size, max_depth, deadline)
    return walker.top()


def _meta(cursor: Cursor) -> str | None:
    """Keep the file meta group (explicit VR little endian); its transfer syntax, ``""`` when
    it has none, None when it cannot be walked."""
    syntax = ""
    while True:
        head = cursor.peek(12)
        if len(head) < 8 or head[:2] != b"\x02\x00":
            return syntax
        vr = head[4:6]
        if vr not in _VRS:
            return None
        if vr in _LONG:
            if len(head) < 12:
                return None
            length, size = struct.unpack_from("<I", head, 8)[0], 12
        else:
            length, size = struct.unpack_from("<H", head, 6)[0], 8
        if length > _MAX_META_VALUE:
            return None
        cursor.keep(size)
        value = cursor.peek(length)
        if cursor.keep(length) < length:
            return None
        if head[:4] == _TRANSFER_SYNTAX:
            syntax = value.decode("ascii", "replace").strip("\0 ")


class _Walker:
    def __init__(self, cursor: Cursor, implicit: bool, little: bool, defer_size: int,
                 max_depth: int, deadline: float | None) -> None:
        self.cursor = cursor
        self.implicit = implicit
        self.order = "<" if little else ">"
        self.defer_size = defer_size
        self.max_depth = max_depth
        self.deadline = deadline

    def _check_time(self) -> None:
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise WalkTimeout

    def _header(self, implicit: bool) -> tuple[int, bytes | None, int, int] | None:
        """(tag, VR or None, value length, header length) of the element at the cursor; None
        at the end of the file or where no element header can be."""
        head = self.cursor.peek(12)
        if len(head) < 8:
            return None
        group, element = struct.unpack_from(self.order + "HH", head, 0)
        tag = group << 16 | element
        if implicit or group == 0xFFFE:
            return tag, None, struct.unpack_from(self.order + "I", head, 4)[0], 8
        vr = head[4:6]
        if vr not in _VRS:
            return None
        if vr in _LONG:
            if len(head) < 12:
                return None
            return tag, vr, struct.unpack_from(self.order + "I", head, 8)[0], 12
        return tag, vr, struct.unpack_from(self.order + "H", head, 6)[0], 8

    def top(self) -> bool:
        cursor = self.cursor
        pixel_seen = False
        while True:
            self._check_time()
            head = cursor.peek(8)
            if len(head) < 8:
                return True
            if head == _ZEROS:
                raise ZeroPadding(cursor.pos)
            header = self._header(self.implicit)
            if header is None:
                return False
            tag, vr, length, size = header
            cursor.keep(size)
            if tag in _PIXEL_TAGS and not pixel_seen:
                pixel_seen = True
                if length == _UNDEFINED:
                    if not self._fragments():
                        return False
                elif cursor.skip(length) < length:
                    return True
            elif length == _UNDEFINED:
                if not self._sequence(1, self.implicit or vr == b"UN"):
                    return False
            elif length > self.defer_size and vr in _DEFERRABLE and tag != _CHARSET:
                if cursor.skip(length) < length:
                    return True
            elif cursor.keep(length) < length:
                return True

    def _fragments(self) -> bool:
        """Skip the items of encapsulated pixel data up to its sequence delimiter."""
        while True:
            self._check_time()
            head = self.cursor.peek(8)
            if len(head) < 8:
                return True
            tag = struct.unpack_from(self.order + "HH", head, 0)
            length = struct.unpack_from(self.order + "I", head, 4)[0]
            self.cursor.keep(8)
            if (tag[0] << 16 | tag[1]) == _SEQUENCE_END:
                return True
            if (tag[0] << 16 | tag[1]) != _ITEM or length == _UNDEFINED:
                return False
            if self.cursor.skip(length) < length:
                return True

    def _sequence(self, depth: int, implicit: bool) -> bool:
        """Keep the items of a sequence of undefined length, up to its delimiter."""
        if depth > self.max_depth:
            return False
        while True:
            self._check_time()
            head = self.cursor.peek(8)
            if len(head) < 8:
                return True
            group, element = struct.unpack_from(self.order + "HH", head, 0)
            length = struct.unpack_from(self.order + "I", head, 4)[0]
            tag = group << 16 | element
            self.cursor.keep(8)
            if tag == _SEQUENCE_END:
                return True
            if tag != _ITEM:
                return False
            if length != _UNDEFINED:
                if self.cursor.keep(length) < length:
                    return True
            elif not self._item(depth, implicit):
                return False

    def _item(self, depth: int, implicit: bool) -> bool:
        """Keep the elements of an item of undefined length, up to its delimiter."""
        while True:
            self._check_time()
            header = self._header(implicit)
            if header is None:
                return len(self.cursor.peek(8)) < 8
            tag, vr, length, size = header
            self.cursor.keep(size)
            if tag == _ITEM_END:
                return True
            if length == _UNDEFINED:
                if not self._sequence(depth + 1, implicit or vr == b"UN"):
                    return False
            elif self.cursor.keep(length) < length:
                return True
