"""One file's elements as a light tree of tuples: what the headers table and the per-file
effects are computed from.

A level is a list of nodes in tag order; a node is ``(tag, vr, creator, value, shown, items,
flags)`` where ``items`` holds the levels of a sequence's items. Values are decoded from the raw
bytes (:mod:`deid.ingest.decode`) and only fall back to pydicom's conversion where needed, so
the nodes show exactly what pydicom (and so the engine) reads. The tree lives only while its
file is processed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, NamedTuple, TypeVar

from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

from deid.errors import DeidError
from deid.ingest.decode import decode_value, display, python_encodings, resolve_vr

UNDECODABLE: Final = 1
DEFERRED: Final = 2
PIXEL: Final = 4
UNDECODABLE_TEXT: Final = "<undecodable value>"


class Unread:
    """A value that was not read (pixel data, deferred binary values): only its length."""

    __slots__ = ("length",)

    def __init__(self, length: int) -> None:
        self.length = length

    def __str__(self) -> str:
        return f"<{self.length} bytes>"

    def __reduce__(self) -> tuple[type[Unread], tuple[int]]:
        return Unread, (self.length,)


class Node(NamedTuple):
    """One element: tag, VR, private creator, decoded value, displayed value, the levels of a
    sequence's items (else None) and flags (UNDECODABLE, DEFERRED, PIXEL)."""

    tag: int
    vr: str
    creator: str | None
    value: Any
    shown: str | None
    items: list[list[Node]] | None
    flags: int


_T = TypeVar("_T")
_K = TypeVar("_K")


def remembered(memo: dict[_K, _T], key: _K, make: Callable[[_K], _T], limit: int) -> _T:
    """``make(key)``, kept in ``memo``, which starts over once it holds ``limit`` results
    (what the planners of every profile and file look up again and again)."""
    found = memo.get(key)
    if found is None:
        if len(memo) >= limit:
            memo.clear()
        found = memo[key] = make(key)
    return found


def per_tree(function: Callable[[list[Node]], _T]) -> Callable[[list[Node]], _T]:
    """``function`` of a level, remembered for the last level it was called with (by
    identity): the planners of one file, one per profile, share what only the file decides
    (its patient key, identifying strings, IOD requirements)."""
    last: list[tuple[list[Node], _T]] = []

    def remembered(nodes: list[Node]) -> _T:
        if last:
            seen, result = last[0]
            if seen is nodes:
                return result
        result = function(nodes)
        last[:] = [(nodes, result)]
        return result

    remembered.__doc__ = function.__doc__
    remembered.__wrapped__ = function  # type: ignore[attr-defined]
    return remembered


class TreeLimitError(DeidError):
    """A file goes beyond a structural limit (nesting depth, number of elements)."""

    def __init__(self, kind: str, message: str) -> None:
        self.kind = kind
        super().__init__(message)

    def __reduce__(self) -> tuple[type[TreeLimitError], tuple[str, str]]:
        return TreeLimitError, (self.kind, str(self))


class _Budget:
    __slots__ = ("max_depth", "read_deferred", "remaining")

    def __init__(self, max_depth: int, max_elements: int, read_deferred: bool = False) -> None:
        self.max_depth = max_depth
        self.remaining = max_elements
        self.read_deferred = read_deferred


def build_tree(dataset: Dataset, *, max_depth: int = 100, max_elements: int = 1_000_000,
               read_deferred: bool = False) -> tuple[list[Node], list[Node]]:
    """The file meta and the top level of ``dataset``, sequences expanded. Values pydicom
    deferred are listed unread (their length only) unless ``read_deferred``."""
    budget = _Budget(max_depth, max_elements, read_deferred)
    meta = getattr(dataset, "file_meta", None)
    return (build_level(meta, 0, budget) if meta else []), build_level(dataset, 0, budget)


def _encodings(dataset: Dataset) -> tuple[str, ...]:
    charset = dataset.original_character_set or dataset._character_set
    key = charset if isinstance(charset, str) else tuple(charset)
    try:
        return python_encodings(key)
    except Exception:  # noqa: BLE001 - pydicom decides what an unknown charset means
        return ("iso8859",)


def build_level(dataset: Dataset, depth: int, budget: _Budget) -> list[Node]:
    """The nodes of one data set (one sequence item, or the top level)."""
    if depth > budget.max_depth:
        raise TreeLimitError("too_deep", f"sequences nested deeper than {budget.max_depth} "
                             "levels")
    elements = dataset._dict
    budget.remaining -= len(elements)
    if budget.remaining < 0:
        raise TreeLimitError("too_many_elements", "more data elements than the limit")
    encodings = _encodings(dataset)
    names: dict[int, str] = {}
    nodes: list[Node] = []
    for tag in sorted(elements):
        creator: str | None = None
        if tag >> 16 & 1:
            low = tag & 0xFFFF
            if 0x10 <= low <= 0xFF:
                node = _creator_node(dataset, tag)
                names[tag] = node.creator or ""
                nodes.append(node)
                continue
            if low >= 0x1000:
                creator = names.get((tag & 0xFFFF0000) | (low >> 8), "")
        nodes.append(_node(dataset, tag, elements[tag], encodings, creator, depth, budget))
    return nodes


def _creator_node(dataset: Dataset, tag: int) -> Node:
    try:
        element = dataset[tag]
        name = str(element.value).strip()
        value = _plain(element.value)
    except Exception:  # noqa: BLE001 - an unreadable creator leaves its block unnamed
        return Node(tag, "LO", None, None, None, None, UNDECODABLE)
    shown = display(value)
    return Node(tag, "LO", name, value, shown, None, 0)


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, MultiValue) else value


#: The length of encapsulated pixel data (its fragments end with a delimiter).
_UNDEFINED_LENGTH: Final = 0xFFFFFFFF


def _node(dataset: Dataset, tag: int, raw: RawDataElement | DataElement,
          encodings: tuple[str, ...], creator: str | None, depth: int,
          budget: _Budget) -> Node:
    if isinstance(raw, RawDataElement):
        vr = resolve_vr(tag, raw.VR, raw.length, creator)
        if vr != "SQ" and " or " not in vr:
            data = raw.value
            if data is not None and raw.length != _UNDEFINED_LENGTH and len(data) < raw.length:
                raise TreeLimitError("truncated", f"the file ends inside element "
                                     f"({tag >> 16:04X},{tag & 0xFFFF:04X}): {len(data)} of "
                                     f"{raw.length} bytes")
            if data is None and raw.length and not budget.read_deferred:
                return Node(tag, vr, creator, Unread(raw.length), f"<{raw.length} bytes>",
                            None, DEFERRED)
            if data is not None or not raw.length:
                try:
                    value = decode_value(vr, data or b"", encodings, raw.is_little_endian)
                except (ValueError, LookupError):
                    pass
                else:
                    return Node(tag, vr, creator, value, display(value), None, 0)
    return _converted(dataset, tag, raw, creator, depth, budget)


def _converted(dataset: Dataset, tag: int, raw: RawDataElement | DataElement,
               creator: str | None, depth: int, budget: _Budget) -> Node:
    """pydicom's own conversion (also what the engine reads)."""
    try:
        element = dataset[tag]
    except Exception:  # noqa: BLE001 - pydicom raises many kinds on bad values
        return Node(tag, _raw_vr(dataset, raw), creator, None, UNDECODABLE_TEXT, None,
                    UNDECODABLE)
    vr = str(element.VR)
    if vr == "SQ":
        items = [build_level(item, depth + 1, budget) for item in element.value or []]
        return Node(tag, vr, creator, None, f"<{len(items)} item(s)>", items, 0)
    value = _plain(element.value)
    return Node(tag, vr.split(" or ")[0], creator, value, display(value), None, 0)


def _raw_vr(dataset: Dataset, raw: RawDataElement | DataElement) -> str:
    vr = getattr(raw, "VR", None)
    return str(vr) if vr else "UN"
