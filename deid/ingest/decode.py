"""Decode raw element values without building pydicom ``DataElement`` objects.

Converting every value to a ``DataElement`` is what makes a pydicom loop slow. For the common
VRs the raw bytes are decoded here the way pydicom would (same splitting, stripping and
character sets, so the displayed value is the one pydicom shows); anything unusual (ambiguous
VRs, escape sequences, undecodable bytes, invalid numbers, wrong lengths, AT) returns ``None``
and the caller falls back to pydicom's own conversion.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any, Final

from pydicom import config
from pydicom.datadict import (
    dictionary_has_tag,
    dictionary_keyword,
    dictionary_VR,
    private_dictionary_VR,
)
from pydicom.tag import BaseTag

#: Longest value text kept for display (the engine's record uses the same limit).
DISPLAY_LIMIT: Final = 200
_LATIN1: Final = "latin_1"
_ESC: Final = b"\x1b"
#: VRs decoded with the data set's character set (PS3.5 6.1.2.3).
_CHARSET_MULTI: Final = frozenset({"SH", "LO", "UC"})
_CHARSET_SINGLE: Final = frozenset({"ST", "LT", "UT"})
_DEFAULT_MULTI: Final = frozenset({"AS", "CS", "DA", "DT", "TM"})
_NUMBERS: Final[dict[str, str]] = {"US": "H", "SS": "h", "UL": "L", "SL": "l", "FL": "f", "FD": "d",
                                   "SV": "q", "UV": "Q"}
BINARY_VRS: Final = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "UN"})
#: VRs whose empty value pydicom holds as ``""`` (the others: ``None``).
_EMPTY_TEXT: Final = frozenset({"AE", "AS", "CS", "DA", "DT", "LO", "LT", "PN", "SH", "ST", "TM",
                                "UC", "UI", "UR", "UT"})


_TAG_TEXT: Final[dict[int, str]] = {}


def tag_text(tag: int) -> str:
    """``(gggg,eeee)``, cached."""
    text = _TAG_TEXT.get(tag)
    if text is None:
        text = _TAG_TEXT[tag] = f"({tag >> 16:04X},{tag & 0xFFFF:04X})"
    return text


def display(value: Any) -> str:
    """The printable form of a decoded value, as the engine records it."""
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    if value is None:
        return ""
    text = "\\".join(str(item) for item in value) if isinstance(value, list) else str(value)
    return text if len(text) <= DISPLAY_LIMIT else text[:DISPLAY_LIMIT] + "…"


@cache
def keyword_of(tag: int) -> str:
    """pydicom's keyword for a tag ('' for private and unknown tags)."""
    return dictionary_keyword(tag) if dictionary_has_tag(tag) else ""


@cache
def _dictionary_vr(tag: int) -> str | None:
    try:
        return str(dictionary_VR(tag))
    except KeyError:
        return None


@cache
def private_vr(tag: int, creator: str | None) -> str:
    """The VR of a private element from pydicom's private dictionary, else UN."""
    if 0x10 <= (tag & 0xFFFF) <= 0xFF:
        return "LO"
    if creator and (tag & 0xFF00):
        try:
            return str(private_dictionary_VR(tag, creator))
        except KeyError:
            pass
    return "UN"


def resolve_vr(tag: int, vr: str | None, length: int, creator: str | None) -> str:
    """The VR pydicom gives a raw element (implicit VR from the dictionaries; explicit UN
    replaced by a known VR), possibly ambiguous (``US or SS``)."""
    if vr is None:
        known = _dictionary_vr(tag)
        if known is not None:
            return known
        if tag >> 16 & 1:
            return private_vr(tag, creator)
        return "UL" if tag & 0xFFFF == 0 else "UN"
    if vr == "UN" and config.replace_un_with_known_vr:
        if tag >> 16 & 1:
            return private_vr(tag, creator)
        if length < 0xFFFF:
            return _dictionary_vr(tag) or "UN"
    return vr


def _split(text: str) -> Any:
    items = text.split("\\")
    return items[0] if len(items) == 1 else items


def _multi_default(data: bytes) -> Any:
    return _split(data.decode(_LATIN1).rstrip(" \x00"))


def _ae(data: bytes) -> Any:
    items = [item.strip() for item in data.decode(_LATIN1).split("\\")]
    return items[0] if len(items) == 1 else items


def _ui(data: bytes) -> Any:
    return _split(data.decode(_LATIN1).rstrip("\0 ").rstrip(" \x00"))


def _ur(data: bytes) -> Any:
    return data.decode(_LATIN1).rstrip()


def _number_strings(text: str, check: Callable[[str], object]) -> Any:
    items = text.rstrip(" \x00").split("\\")
    out = []
    for item in items:
        stripped = item.strip()
        if stripped:
            check(stripped)  # ValueError: let pydicom decide what the value is
            out.append(stripped)
        else:
            out.append(item)
    return out[0] if len(out) == 1 else out


def _ds(data: bytes) -> Any:
    return _number_strings(data.decode(_LATIN1).strip(), float)


def _is(data: bytes) -> Any:
    return _number_strings(data.decode(_LATIN1), int)


_DEFAULT_DECODERS: Final[dict[str, Callable[[bytes], Any]]] = {
    **{vr: _multi_default for vr in _DEFAULT_MULTI},
    "AE": _ae, "UI": _ui, "UR": _ur, "DS": _ds, "IS": _is,
}


def _text(data: bytes, encoding: str, vr: str) -> Any:
    if vr == "PN":
        data = data.rstrip(b"\x00 ")
    text = data.decode(encoding)
    if vr in _CHARSET_SINGLE:
        return text.rstrip("\0 ")
    if vr == "PN":
        return _split(text)
    items = [item.rstrip("\0 ") for item in text.split("\\")]
    return items[0] if len(items) == 1 else items


def _numbers(data: bytes, fmt: str, little_endian: bool) -> Any:
    size = struct.calcsize("=" + fmt)
    if len(data) % size:
        raise ValueError("length is not a multiple of the value size")
    values = struct.unpack(f"{'<' if little_endian else '>'}{len(data) // size}{fmt}", data)
    return values[0] if len(values) == 1 else list(values)


def _tags(data: bytes, little_endian: bool) -> Any:
    if len(data) % 4:
        raise ValueError("AT length is not a multiple of 4")
    halves = struct.unpack(f"{'<' if little_endian else '>'}{len(data) // 2}H", data)
    tags = [BaseTag(halves[i] << 16 | halves[i + 1]) for i in range(0, len(halves), 2)]
    return tags[0] if len(tags) == 1 else tags


def decode_value(vr: str, data: bytes, encodings: Sequence[str], little_endian: bool) -> Any:
    """The value pydicom would hold for these bytes (``str`` or ``list[str]`` for text, numbers
    for binary numbers, ``bytes`` for OB/OW/UN...); raise ``ValueError`` or ``LookupError``
    when only pydicom can decide."""
    if not data:
        return "" if vr in _EMPTY_TEXT else None
    decoder = _DEFAULT_DECODERS.get(vr)
    if decoder is not None:
        return decoder(data)
    if vr in _CHARSET_MULTI or vr in _CHARSET_SINGLE or vr == "PN":
        if _ESC in data:
            raise ValueError("escape sequences: decoded by pydicom")
        return _text(data, encodings[0] if encodings else _LATIN1, vr)
    fmt = _NUMBERS.get(vr)
    if fmt is not None:
        return _numbers(data, fmt, little_endian)
    if vr == "AT":
        return _tags(data, little_endian)
    if vr in BINARY_VRS:
        return data
    raise ValueError(f"VR {vr} is decoded by pydicom")


@cache
def python_encodings(charset: str | tuple[str, ...]) -> tuple[str, ...]:
    """Python codec names for a (0008,0005) value, as pydicom maps them."""
    from pydicom.charset import convert_encodings

    values: str | list[str] = charset if isinstance(charset, str) else list(charset)
    return tuple(convert_encodings(values))
