"""Write a de-identified copy straight from the input's bytes: the byte-level executor of a plan.

The plan (:mod:`deid.transform.plan`) was made from the fast reader's element tree of these
very bytes, so every element met while walking them has its outcome. Unchanged elements are
copied as byte ranges (pixel data included, never decoded); changed ones are encoded by pydicom
one element at a time, in the input's transfer syntax and the character set in force at that
level; sequences whose items changed are written with undefined lengths (item and sequence
delimiters), so no enclosing length needs fixing. The file meta is the plan's, encoded here
with the bytes pydicom writes (pydicom itself encodes any meta it would complete or refuse);
the preamble is zeroed; nothing after the data set is written.

Files the fast reader does not read (deflated, damaged, unusual encodings) are written by the
pydicom engine instead (:mod:`deid.transform.engine`); both write the same data set
(``tests/test_byte_writer.py``).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_data_element, write_file_meta_info

from deid.errors import DeidError
from deid.ingest.decode import python_encodings
from deid.transform.outcome import KEPT, Added, Outcome
from deid.transform.plan import FilePlan

_IMPLICIT, _BIG_ENDIAN = "1.2.840.10008.1.2", "1.2.840.10008.1.2.2"
_DEFLATED = "1.2.840.10008.1.2.1.99"
_ITEM, _ITEM_END, _SEQUENCE_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
_UNDEFINED = 0xFFFFFFFF
_LONG = frozenset(b"OB OD OF OL OV OW SQ SV UC UN UR UT UV".split())
_PIXEL_TAGS = frozenset({0x7FE00010, 0x7FE00008, 0x7FE00009})
_CHARSET = 0x00080005
_UNDECODABLE = 1
_LARGE = 64 << 10  # bytes: ranges this long are written from the input, not copied


class ByteWriterError(DeidError):
    """The bytes do not match the plan (they changed since it was made, or are damaged)."""


class _Syntax:
    """How the data set's elements are encoded."""

    __slots__ = ("implicit", "little", "order")

    def __init__(self, transfer_syntax: str) -> None:
        if transfer_syntax == _DEFLATED:
            raise ByteWriterError("a deflated data set is written by the pydicom engine")
        self.implicit = transfer_syntax == _IMPLICIT
        self.little = transfer_syntax != _BIG_ENDIAN
        self.order = "<" if self.little else ">"


class _Walker:
    """Walks the input's bytes alongside the plan's outcomes and writes the copy."""

    def __init__(self, buf: Any, size: int, syntax: _Syntax) -> None:
        self.buf = buf
        self.size = size
        self.syntax = syntax
        self.out = bytearray()
        #: What is written, in order: encoded pieces, and large byte ranges of the input
        #: as views (pixel data is never copied in memory).
        self.chunks: list[bytes | bytearray | memoryview] = []
        self._view = memoryview(buf)
        #: Where each element of undefined length met so far ends, by where its header starts,
        #: and where each item of undefined length ends, by where its content starts (nested
        #: undefined lengths are walked once). Two maps: an item's content starts where its
        #: first element's header does.
        self._element_ends: dict[int, int] = {}
        self._item_ends: dict[int, int] = {}
        #: The input range waiting to be copied (adjacent copies are joined).
        self._copy_from = self._copy_to = 0

    def copy(self, start: int, end: int) -> None:
        """Copy the input's bytes ``start:end`` to the output."""
        if start == self._copy_to and self._copy_to > self._copy_from:
            self._copy_to = end
            return
        self._copied()
        self._copy_from, self._copy_to = start, end

    def _copied(self) -> None:
        """Write the range waiting to be copied (before anything else is written)."""
        start, end = self._copy_from, self._copy_to
        if end <= start:
            return
        self._copy_from = self._copy_to = 0
        if end - start < _LARGE:
            self.out += self.buf[start:end]
            return
        if self.out:
            self.chunks.append(self.out)
            self.out = bytearray()
        self.chunks.append(self._view[start:end])

    def emit(self, data: bytes) -> None:
        """Write encoded bytes."""
        self._copied()
        self.out += data

    def flush(self) -> None:
        self._copied()
        if self.out:
            self.chunks.append(self.out)
            self.out = bytearray()

    def release(self) -> None:
        """Let go of the views of the input (before the input is closed), also those in the
        list handed out by :func:`copy_chunks`."""
        for chunk in self.chunks:
            if isinstance(chunk, memoryview):
                chunk.release()
        self.chunks.clear()
        self._view.release()

    # -- reading the input ------------------------------------------------------------------

    def header(self, pos: int) -> tuple[int, bytes | None, int, int]:
        """(tag, stored VR or None, length, value position) of the element at ``pos``."""
        if pos + 8 > self.size:
            raise ByteWriterError(f"the file ends inside an element header at byte {pos:,}")
        order = self.syntax.order
        group, element = struct.unpack_from(order + "HH", self.buf, pos)
        tag = group << 16 | element
        if self.syntax.implicit or group == 0xFFFE:
            return tag, None, struct.unpack_from(order + "I", self.buf, pos + 4)[0], pos + 8
        vr = bytes(self.buf[pos + 4:pos + 6])
        if vr in _LONG:
            return tag, vr, struct.unpack_from(order + "I", self.buf, pos + 8)[0], pos + 12
        return tag, vr, struct.unpack_from(order + "H", self.buf, pos + 6)[0], pos + 8

    def _end(self, pos: int, length: int, value_start: int) -> int:
        """Where the element at ``pos`` ends, its header already read."""
        if length != _UNDEFINED:
            return value_start + length
        end = self._element_ends.get(pos)
        if end is None:
            end = self._element_ends[pos] = self._items_end(value_start)
        return end

    def _items_end(self, pos: int) -> int:
        """After the sequence delimiter of a sequence (or encapsulated data) from ``pos``."""
        while True:
            tag, _, length, start = self.header(pos)
            if tag == _SEQUENCE_END:
                return start
            if tag != _ITEM:
                raise ByteWriterError(f"expected an item at byte {pos:,}")
            pos = start + length if length != _UNDEFINED else self._item_end(start)

    def _item_end(self, pos: int) -> int:
        """After the item delimiter of an item of undefined length whose content starts at
        ``pos``."""
        end = self._item_ends.get(pos)
        if end is not None:
            return end
        content = pos
        while True:
            tag, _, length, start = self.header(pos)
            if tag == _ITEM_END:
                self._item_ends[content] = start
                return start
            pos = self._end(pos, length, start)

    def items(self, start: int, length: int) -> list[tuple[int, int]]:
        """(content start, content end) of each item of a sequence whose value starts at
        ``start`` (``length`` may be undefined)."""
        spans = []
        end = None if length == _UNDEFINED else start + length
        pos = start
        while end is None or pos < end:
            tag, _, item_length, item_start = self.header(pos)
            if tag == _SEQUENCE_END:
                break
            if tag != _ITEM:
                raise ByteWriterError(f"expected an item at byte {pos:,}")
            if item_length == _UNDEFINED:
                after = self._item_end(item_start)
                spans.append((item_start, after - 8))
                pos = after
            else:
                spans.append((item_start, item_start + item_length))
                pos = item_start + item_length
        return spans

    # -- writing the copy -------------------------------------------------------------------

    def level(self, start: int, end: int, outcomes: Sequence[Outcome], added: Iterable[Added],
              encodings: tuple[str, ...]) -> None:
        """Write one data set (the top level or an item content) from ``start`` to ``end``."""
        by_tag = {outcome.tag: outcome for outcome in outcomes}
        pending = sorted(added, key=lambda element: element.tag)
        pos = start
        while pos < end:
            tag, stored, length, value_start = self.header(pos)
            while pending and pending[0].tag < tag:
                self.encode(_element(pending.pop(0)), encodings)
            element_end = self._end(pos, length, value_start)
            outcome = by_tag.get(tag)
            if outcome is None:
                raise ByteWriterError(f"element ({tag >> 16:04X},{tag & 0xFFFF:04X}) at byte "
                                      f"{pos:,} has no outcome: the file changed since it "
                                      "was read")
            if tag == _CHARSET and not outcome.removed and isinstance(outcome.node.value,
                                                                      (str, list)):
                encodings = _encodings(outcome.node.value)
            self.element(pos, element_end, stored, length, value_start, outcome, encodings)
            pos = element_end
        for element in pending:
            self.encode(_element(element), encodings)

    def element(self, pos: int, end: int, stored: bytes | None, length: int, value_start: int,
                outcome: Outcome, encodings: tuple[str, ...]) -> None:
        """Write one element as its outcome says."""
        if outcome.removed:
            return
        if outcome.items is not None:
            self.sequence(pos, end, length, value_start, outcome, encodings)
        elif outcome.value is not KEPT:
            vr = outcome.vr.split(" or ")[0]
            fast = _ascii_element(outcome.tag, vr, outcome.value, self.syntax)
            if fast is not None:
                self.emit(fast)
            else:
                self.encode(DataElement(outcome.tag, vr, outcome.value), encodings)
        elif outcome.node.flags & _UNDECODABLE and stored is not None and stored != b"UN":
            self.unknown(outcome.tag, value_start, end)
        else:
            self.copy(pos, end)

    def sequence(self, pos: int, end: int, length: int, value_start: int, outcome: Outcome,
                 encodings: tuple[str, ...]) -> None:
        """A sequence: copied when nothing in it changed, else rewritten item by item with
        undefined lengths."""
        items = outcome.items or []
        originals = self.items(value_start, length)
        if not outcome.modified and len(items) == len(originals):
            self.copy(pos, end)
            return
        self.emit(self.sequence_header(outcome.tag, _UNDEFINED))
        order = self.syntax.order
        for number, item in enumerate(items):
            if number < len(originals) and not any(element.modified for element in item):
                self._copy_item(*originals[number])
                continue
            self.emit(struct.pack(order + "HHI", 0xFFFE, 0xE000, _UNDEFINED))
            if number < len(originals):
                start, stop = originals[number]
                self.level(start, stop, item, (), _item_encodings(item, encodings))
            self.emit(struct.pack(order + "HHI", 0xFFFE, 0xE00D, 0))
        self.emit(struct.pack(order + "HHI", 0xFFFE, 0xE0DD, 0))

    def _copy_item(self, start: int, stop: int) -> None:
        """An unchanged item copied whole: its header (8 bytes before ``start``) and, if its
        length is undefined, its delimiter."""
        _, _, length, _ = self.header(start - 8)
        self.copy(start - 8, stop + 8 if length == _UNDEFINED else stop)

    def sequence_header(self, tag: int, length: int) -> bytes:
        order = self.syntax.order
        head = struct.pack(order + "HH", tag >> 16, tag & 0xFFFF)
        if self.syntax.implicit:
            return head + struct.pack(order + "I", length)
        return head + b"SQ\0\0" + struct.pack(order + "I", length)

    def unknown(self, tag: int, value_start: int, end: int) -> None:
        """An undecodable value kept as raw bytes with VR UN (as the engine writes it)."""
        order = self.syntax.order
        self.emit(struct.pack(order + "HH", tag >> 16, tag & 0xFFFF) + b"UN\0\0"
                  + struct.pack(order + "I", end - value_start))
        self.copy(value_start, end)

    def encode(self, element: DataElement, encodings: tuple[str, ...]) -> None:
        """A new element in the data set's transfer syntax: plain ASCII text values directly,
        everything else by pydicom."""
        fast = _ascii_element(element.tag, element.VR, element.value, self.syntax)
        if fast is not None:
            self.emit(fast)
            return
        stream = DicomBytesIO()
        stream.is_little_endian = self.syntax.little
        stream.is_implicit_VR = self.syntax.implicit
        write_data_element(stream, element, list(encodings))
        self.emit(stream.getvalue())


_TEXT_VRS = frozenset({"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST",
                       "TM", "UC", "UI", "UR", "UT"})
_LONG_TEXT = frozenset({"UC", "UR", "UT"})


def _ascii_element(tag: int, vr: str, value: Any, syntax: _Syntax) -> bytes | None:
    """The bytes of a text element whose values are plain ASCII (as pydicom writes them:
    values joined by backslashes, padded to an even length with a space, or NUL for UI);
    None for anything else."""
    if vr not in _TEXT_VRS:
        return None
    if isinstance(value, list):
        if not all(isinstance(item, (str, int)) for item in value):
            return None
        text = "\\".join(str(item) for item in value)
    elif isinstance(value, (str, int)) and not isinstance(value, bool):
        text = str(value)
    else:
        return None
    if not text.isascii():
        return None
    data = text.encode("ascii")
    if len(data) % 2:
        data += b"\0" if vr == "UI" else b" "
    order = syntax.order
    head = struct.pack(order + "HH", tag >> 16, tag & 0xFFFF)
    if syntax.implicit:
        return head + struct.pack(order + "I", len(data)) + data
    if vr in _LONG_TEXT:
        return head + vr.encode() + b"\0\0" + struct.pack(order + "I", len(data)) + data
    if len(data) > 0xFFFF:
        return None
    return head + vr.encode() + struct.pack(order + "H", len(data)) + data


def _element(added: Added) -> DataElement:
    if added.vr == "SQ":
        items = []
        for item in added.value:
            dataset = Dataset()
            for child in item:
                dataset.add(_element(child))
            items.append(dataset)
        return DataElement(added.tag, "SQ", items)
    return DataElement(added.tag, added.vr, added.value)


def _encodings(value: Any) -> tuple[str, ...]:
    key = value if isinstance(value, str) else tuple(value)
    try:
        return python_encodings(key)
    except Exception:  # noqa: BLE001 - the fast reader accepted it; pydicom decides the rest
        return ("iso8859",)


def _item_encodings(item: Sequence[Outcome], inherited: tuple[str, ...]) -> tuple[str, ...]:
    for outcome in item:
        if outcome.tag == _CHARSET and isinstance(outcome.node.value, (str, list)):
            return _encodings(outcome.node.value)
    return inherited


def write_copy(buf: Any, size: int, plan: FilePlan, meta_end: int) -> bytes:
    """The de-identified copy of the file in ``buf`` (``meta_end``: where its data set starts)
    as bytes: a zeroed preamble, ``DICM``, the plan's file meta and the data set."""
    with copy_chunks(buf, size, plan, meta_end) as chunks:
        return b"".join(chunks)


@contextmanager
def copy_chunks(buf: Any, size: int, plan: FilePlan,
                meta_end: int) -> Iterator[list[bytes | bytearray | memoryview]]:
    """The copy as the pieces to write in order (large ranges are views of ``buf``: use them
    before ``buf`` is closed, inside this context)."""
    syntax, encoded = _file_meta(plan)
    walker = _Walker(buf, size, syntax)
    walker.out += b"\0" * 128 + b"DICM" + encoded
    try:
        walker.level(meta_end, size, plan.body, plan.added, ("iso8859",))
        walker.flush()
        yield walker.chunks
    finally:
        walker.release()


#: File meta elements pydicom's ``write_file_meta_info(enforce_standard=True)`` requires with a
#: value (it raises without them) or adds when absent (so the fast encoding needs them given).
_META_NEEDED = (0x00020001, 0x00020002, 0x00020003, 0x00020010, 0x00020012, 0x00020013)
_META_SYNTAX = _Syntax("1.2.840.10008.1.2.1")


def _file_meta(plan: FilePlan) -> tuple[_Syntax, bytes]:
    """The data set's encoding and the copy's file meta group as pydicom writes it (explicit
    VR little endian, the group length first)."""
    encoded = _meta_fast(plan)
    if encoded is not None:
        return encoded
    meta = _meta(plan)
    syntax = _Syntax(str(meta.get("TransferSyntaxUID", "")))
    stream = DicomBytesIO()
    stream.is_little_endian, stream.is_implicit_VR = True, False
    write_file_meta_info(stream, meta, enforce_standard=True)
    return syntax, stream.getvalue()


def _meta_fast(plan: FilePlan) -> tuple[_Syntax, bytes] | None:
    """The file meta encoded directly when every element is ASCII text or an OB byte string and
    pydicom would neither add nor refuse one (None: pydicom encodes it,
    ``tests/test_byte_writer.py`` checks both give the same bytes)."""
    values = _meta_values(plan)
    if any(not values.get(tag, ("", None))[1] for tag in _META_NEEDED):
        return None
    syntax = values[0x00020010][1]
    if not isinstance(syntax, str):
        return None
    pieces = []
    for tag in sorted(values):
        vr, value = values[tag]
        if vr == "OB" and isinstance(value, bytes):
            data = value + b"\0" if len(value) % 2 else value
            if len(data) > 0xFFFFFFFE:
                return None
            pieces.append(struct.pack("<HH2sHI", 0x0002, tag & 0xFFFF, b"OB", 0, len(data))
                          + data)
            continue
        encoded = _ascii_element(tag, vr, value, _META_SYNTAX)
        if encoded is None:
            return None
        pieces.append(encoded)
    body = b"".join(pieces)
    return _Syntax(syntax), struct.pack("<HH2sHI", 0x0002, 0x0000, b"UL", 4, len(body)) + body


def _meta_values(plan: FilePlan) -> dict[int, tuple[str, Any]]:
    """The copy's file meta elements, ``tag -> (VR, value)``: what the plan keeps or writes,
    then what it adds (the group length left out: it is computed for the elements written)."""
    values: dict[int, tuple[str, Any]] = {}
    for outcome in plan.meta:
        if not outcome.removed and outcome.tag != 0x00020000:
            values[outcome.tag] = (outcome.vr.split(" or ")[0], outcome.output_value)
    for element in plan.added_meta:
        values[element.tag] = (element.vr, element.value)
    return values


def _meta(plan: FilePlan) -> FileMetaDataset:
    """The copy's file meta from the plan, as a pydicom data set."""
    meta = FileMetaDataset()
    for tag, (vr, value) in _meta_values(plan).items():
        meta.add(DataElement(tag, vr, value))
    return meta


def meta_end(buf: Any, size: int) -> int:
    """Where the file meta group of a file in ``buf`` ends (after ``DICM``)."""
    pos = 132
    while pos + 8 <= size and struct.unpack_from("<H", buf, pos)[0] == 0x0002:
        vr = bytes(buf[pos + 4:pos + 6])
        if vr in _LONG:
            pos += 12 + struct.unpack_from("<I", buf, pos + 8)[0]
        else:
            pos += 8 + struct.unpack_from("<H", buf, pos + 6)[0]
    return pos
