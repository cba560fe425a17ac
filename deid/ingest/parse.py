"""A fast reader of ordinary DICOM files straight into element trees, no pydicom objects.

pydicom builds a ``Dataset``, ``RawDataElement`` tuples and tag objects for every element before
a value can be decoded; for headers that is most of the cost. This reader walks the bytes
(memory-mapped: the pixel data is never touched) and decodes values as
:mod:`deid.ingest.decode` does, for the files it fully understands: a preamble and DICM prefix,
explicit or implicit VR little endian or explicit big endian, known character sets, sequences
of defined or undefined length, implicit VR LUT descriptors, encapsulated pixel data inside an
item (``tests/test_fast_reader_cases.py``). Anything else raises :class:`Fallback` and the
caller reads the file with pydicom (:func:`deid.ingest.reader.read_header`), which also
classifies damaged files.
``tests/test_ingest.py`` checks that both give the same tree.
"""

from __future__ import annotations

import struct
from functools import cache
from typing import Any

from pydicom.charset import python_encoding
from pydicom.filewriter import _AMBIGUOUS_US_SS_TAGS
from pydicom.hooks import _LUT_DESCRIPTOR_TAGS

from deid.ingest.decode import decode_value, display, python_encodings, resolve_vr
from deid.ingest.tree import DEFERRED, PIXEL, Node, TreeLimitError, Unread

_VRS = frozenset(b"AE AS AT CS DA DS DT FD FL IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV "
                 b"TM UC UI UL UN UR US UT UV".split())
_LONG = frozenset(b"OB OD OF OL OV OW SQ SV UC UN UR UT UV".split())
_IMPLICIT, _BIG_ENDIAN = "1.2.840.10008.1.2", "1.2.840.10008.1.2.2"
_ITEM, _ITEM_END, _SEQUENCE_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
_UNDEFINED = 0xFFFFFFFF
_PIXEL_TAGS = frozenset({0x7FE00010, 0x7FE00008, 0x7FE00009})
_CHARSET = 0x00080005
_PIXEL_REPRESENTATION = 0x00280103
_BITS_ALLOCATED = 0x00280100


class Fallback(Exception):
    """This file needs pydicom (an unusual encoding, an ambiguous VR, damage)."""


class _Reader:
    __slots__ = (
        "buf",
        "defer_size",
        "implicit",
        "little",
        "max_depth",
        "order",
        "remaining",
        "show",
        "size",
    )

    def __init__(self, buf: Any, size: int, defer_size: int, max_depth: int,
                 max_elements: int) -> None:
        self.buf = buf
        self.size = size
        self.little = True
        self.implicit = False
        self.order = "<"
        self.defer_size = defer_size
        self.max_depth = max_depth
        self.remaining = max_elements
        self.show = True

    def header(self, pos: int) -> tuple[int, str | None, int, int]:
        """(tag, VR or None, length, value position) of the element at ``pos``."""
        buf, order = self.buf, self.order
        if pos + 8 > self.size:
            raise Fallback
        group, element = struct.unpack_from(order + "HH", buf, pos)
        tag = group << 16 | element
        if self.implicit or group == 0xFFFE:
            return tag, None, struct.unpack_from(order + "I", buf, pos + 4)[0], pos + 8
        vr = buf[pos + 4:pos + 6]
        if vr not in _VRS:
            raise Fallback
        if vr in _LONG:
            if pos + 12 > self.size:
                raise Fallback
            return tag, vr.decode(), struct.unpack_from(order + "I", buf, pos + 8)[0], pos + 12
        return tag, vr.decode(), struct.unpack_from(order + "H", buf, pos + 6)[0], pos + 8


def parse(buf: Any, size: int, *, defer_size: int = 1 << 20, max_depth: int = 100,
          max_elements: int = 1_000_000,
          show: bool = True) -> tuple[list[Node], list[Node], int | None]:
    """The file meta and top-level nodes of a DICOM file in ``buf`` (bytes or mmap), and where
    the pixel data ends (None without pixel data); raise :class:`Fallback` when pydicom must
    read it. ``show=False`` leaves values undisplayed (``shown`` None) when no one reads them."""
    if size < 132 or buf[128:132] != b"DICM":
        raise Fallback
    reader = _Reader(buf, size, defer_size, max_depth, max_elements)
    reader.show = show
    meta, pos = _meta(reader, 132)
    syntax = next((node.value for node in meta if node.tag == 0x00020010), None)
    if not isinstance(syntax, str) or not syntax:
        raise Fallback
    if syntax == _IMPLICIT:
        reader.implicit = True
    elif syntax == _BIG_ENDIAN:
        reader.little, reader.order = False, ">"
    elif syntax == "1.2.840.10008.1.2.1.99":
        raise Fallback  # deflated
    body, pixel_end = _top(reader, pos)
    return meta, body, pixel_end


def _meta(reader: _Reader, pos: int) -> tuple[list[Node], int]:
    nodes: list[Node] = []
    while pos + 8 <= reader.size:
        group = struct.unpack_from("<H", reader.buf, pos)[0]
        if group != 0x0002:
            break
        tag, vr, length, start = reader.header(pos)
        if vr is None or length == _UNDEFINED or start + length > reader.size:
            raise Fallback
        nodes.append(_value_node(reader, tag, vr, None, reader.buf[start:start + length], ()))
        pos = start + length
    return nodes, pos


def _value_node(reader: _Reader, tag: int, vr: str, creator: str | None, data: bytes,
                encodings: tuple[str, ...]) -> Node:
    try:
        value = decode_value(vr, data, encodings or ("iso8859",), reader.little)
    except (ValueError, LookupError) as error:
        raise Fallback from error
    return Node(tag, vr, creator, value, display(value) if reader.show else None, None, 0)


def _top(reader: _Reader, pos: int) -> tuple[list[Node], int | None]:
    """The top level: stops at the pixel data, lists it, and goes on after it."""
    nodes: list[Node] = []
    pixel_end = None
    context = _Level(None)
    last = -1
    while pos < reader.size:
        if pos + 8 > reader.size:
            raise Fallback
        tag = _peek_tag(reader, pos)
        if tag <= last:
            raise Fallback  # out of order or repeated: pydicom sorts and keeps the last
        last = tag
        if tag in _PIXEL_TAGS and pixel_end is None:
            node, pos = _pixel(reader, pos, context)
            pixel_end = pos
            nodes.append(node)
            continue
        node, pos = _element(reader, pos, 0, context)
        nodes.append(node)
    return nodes, pixel_end


def _peek_tag(reader: _Reader, pos: int) -> int:
    group, element = struct.unpack_from(reader.order + "HH", reader.buf, pos)
    return int(group << 16 | element)


class _Level:
    """What one data set knows while it is read: creators, pixel representation, charset."""

    __slots__ = ("bits_allocated", "encodings", "names", "parent", "pixel_rep", "text_seen")

    def __init__(self, parent: _Level | None) -> None:
        self.parent = parent
        #: How this data set's text is decoded: its own SpecificCharacterSet, else its parent's.
        self.encodings: tuple[str, ...] = parent.encodings if parent else ("iso8859",)
        self.names: dict[int, str] = {}
        self.pixel_rep: int | None = None
        self.bits_allocated: int | None = None
        self.text_seen = False

    def inherited_pixel_rep(self) -> int | None:
        level: _Level | None = self
        while level is not None:
            if level.pixel_rep is not None:
                return level.pixel_rep
            level = level.parent
        return None


def _element(reader: _Reader, pos: int, depth: int, level: _Level) -> tuple[Node, int]:
    tag, stored, length, start = reader.header(pos)
    if tag >> 16 == 0xFFFE:
        raise Fallback
    reader.remaining -= 1
    if reader.remaining < 0:
        raise TreeLimitError("too_many_elements", "more data elements than the limit")
    creator: str | None = None
    low = tag & 0xFFFF
    if tag >> 16 & 1 and low >= 0x1000:
        creator = level.names.get((tag & 0xFFFF0000) | (low >> 8), "")
    vr = resolve_vr(tag, stored, length if length != _UNDEFINED else 0, creator)
    if length == _UNDEFINED and vr != "SQ":
        if stored is None:
            # pydicom reads a sequence when an item follows, but the engine writes it with a
            # defined length, which pydicom then reads as UN: its engine writes these files
            raise Fallback
        return _undefined_value(reader, tag, stored, creator, start, depth)
    if vr == "SQ":
        if stored == "UN":
            raise Fallback  # pydicom reads these items as implicit VR little endian
        return _sequence(reader, tag, creator, length, start, depth, level)
    lut = tag in _LUT_DESCRIPTOR_TAGS
    # pydicom converts an implicit VR LUT descriptor ('US or SS') only when it corrects the
    # ambiguous VR: its first value is then left as read
    raw_lut = lut and stored is None and " or " in vr
    end = start + length
    if end > reader.size:
        raise Fallback  # truncated: pydicom says how
    if " or " in vr:
        if depth:
            raise Fallback
        vr = _ambiguous(tag, vr, level)
    if depth == 0 and length > reader.defer_size and tag != _CHARSET:
        return Node(tag, vr, creator, Unread(length), f"<{length} bytes>", None, DEFERRED), end
    data = reader.buf[start:end]
    encodings = level.encodings
    if tag == _CHARSET:
        if level.text_seen:
            raise Fallback
        level.encodings = _encodings_for(data)  # this data set and the items inside it
        encodings = ("iso8859",)
    elif vr in ("SH", "LO", "UC", "ST", "LT", "UT", "PN"):
        level.text_seen = True
    node = _value_node(reader, tag, vr, creator, data, encodings)
    if lut and isinstance(node.value, list) and node.value and node.value[0] < 0:
        if raw_lut:
            raise Fallback  # pydicom keeps it negative, cannot write it back: its engine decides
        value = [node.value[0] + 65536, *node.value[1:]]  # as pydicom reads LUT descriptors
        node = node._replace(value=value, shown=display(value) if reader.show else None)
    if tag >> 16 & 1 and 0x10 <= low <= 0xFF:
        if not isinstance(node.value, str):
            raise Fallback
        level.names[tag] = node.value.strip()
        node = node._replace(vr="LO", creator=node.value.strip())
    elif tag == _PIXEL_REPRESENTATION and isinstance(node.value, int):
        level.pixel_rep = node.value
    elif tag == _BITS_ALLOCATED and isinstance(node.value, int):
        level.bits_allocated = node.value
    return node, end


def _undefined_value(reader: _Reader, tag: int, stored: str, creator: str | None, start: int,
                     depth: int) -> tuple[Node, int]:
    """An explicit OB or OW value of undefined length inside an item (encapsulated pixel data
    of an icon image): its fragments up to the sequence delimiter, as pydicom reads them."""
    if depth == 0 or stored not in ("OB", "OW"):
        raise Fallback  # pydicom reads UN as a sequence; long values at the top are deferred
    length = _encapsulated_length(reader, start)
    if length is None or length > reader.defer_size:
        raise Fallback
    end = start + length
    if end + 8 > reader.size or struct.unpack_from(reader.order + "I", reader.buf, end + 4)[0]:
        raise Fallback  # a delimiter with a length: pydicom warns
    node = _value_node(reader, tag, stored, creator, bytes(reader.buf[start:end]), ())
    return node, end + 8


@cache
def _known_charset(term: str) -> bool:
    return term.strip() in python_encoding or term.strip() == ""


def _encodings_for(data: bytes) -> tuple[str, ...]:
    terms = data.decode("latin_1").rstrip(" \x00").split("\\")
    terms = [term.strip() for term in terms]
    if not all(_known_charset(term) for term in terms):
        raise Fallback  # pydicom warns and guesses: let it
    key: str | tuple[str, ...] = terms[0] if len(terms) == 1 else tuple(terms)
    return python_encodings(key)


def _ambiguous(tag: int, vr: str, level: _Level) -> str:
    if tag not in _AMBIGUOUS_US_SS_TAGS:
        raise Fallback
    pixel_rep = level.inherited_pixel_rep()
    if pixel_rep is None:
        raise Fallback
    return "US" if pixel_rep == 0 else "SS"


def _sequence(reader: _Reader, tag: int, creator: str | None, length: int, start: int,
              depth: int, level: _Level) -> tuple[Node, int]:
    if depth + 1 > reader.max_depth:
        raise TreeLimitError("too_deep", f"sequences nested deeper than {reader.max_depth} "
                             "levels")
    items: list[list[Node]] = []
    pos = start
    end = None if length == _UNDEFINED else start + length
    if end is not None and end > reader.size:
        raise Fallback
    while end is None or pos < end:
        item_tag, _, item_length, item_start = reader.header(pos)
        if item_tag == _SEQUENCE_END:
            pos = item_start
            break
        if item_tag != _ITEM:
            raise Fallback
        nodes, pos = _item(reader, item_start, item_length, depth + 1, level)
        items.append(nodes)
    if end is not None and pos != end:
        raise Fallback
    return Node(tag, "SQ", creator, None, f"<{len(items)} item(s)>", items, 0), pos


def _item(reader: _Reader, start: int, length: int, depth: int,
          parent: _Level) -> tuple[list[Node], int]:
    level = _Level(parent)
    nodes: list[Node] = []
    pos = start
    end = None if length == _UNDEFINED else start + length
    if end is not None and end > reader.size:
        raise Fallback
    last = -1
    while end is None or pos < end:
        if pos + 8 > reader.size:
            raise Fallback
        tag = _peek_tag(reader, pos)
        if end is None and tag == _ITEM_END:
            return nodes, pos + 8
        if tag <= last:
            raise Fallback
        last = tag
        node, pos = _element(reader, pos, depth, level)
        nodes.append(node)
    if pos != end:
        raise Fallback
    return nodes, pos


def _pixel(reader: _Reader, pos: int, level: _Level) -> tuple[Node, int]:
    """The pixel data element: its length from its header (or its items' headers)."""
    tag, stored, length, start = reader.header(pos)
    vr = stored or ("OF" if tag == 0x7FE00008 else "OD" if tag == 0x7FE00009 else "OB or OW")
    if length == _UNDEFINED:
        found = _encapsulated_length(reader, start)
        if found is None:
            raise Fallback
        length, end = found, start + found + 8
        vr = "OB" if vr in ("OB or OW", "UN") else vr
    else:
        end = start + length
        if end > reader.size:
            raise Fallback
        if vr == "UN" and tag == 0x7FE00010:
            vr = "OB or OW"
        if vr == "OB or OW":
            vr = "OW" if reader.implicit or (level.bits_allocated or 8) > 8 else "OB"
    return Node(tag, vr, None, Unread(length), f"<{length} bytes>", None, PIXEL), end


def _encapsulated_length(reader: _Reader, start: int) -> int | None:
    pos = start
    while pos + 8 <= reader.size:
        tag = _peek_tag(reader, pos)
        length = struct.unpack_from(reader.order + "I", reader.buf, pos + 4)[0]
        if tag == _SEQUENCE_END:
            return pos - start
        if tag != _ITEM or length == _UNDEFINED:
            return None
        pos += 8 + length
    return None
