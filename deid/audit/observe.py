"""What a pipeline did to each element of one file, inferred from the original and the export.

Each element path of either tree gets an observed action: ``kept``, ``removed``, ``emptied``,
``dummy`` (a value that stands for nothing: ``ANONYMIZED``, ``19000101``, or one value given to
different originals), ``replaced_consistently`` (each original value always becomes the same
new value, a pseudonym or UID map), ``replaced`` (one original value became different values:
random replacements), ``shifted`` (dates moved by whole days), ``truncated`` (dates cut to a
month or year, times to an hour or minute, numbers rounded down), ``cleaned`` (text with parts
replaced, e.g. by ``***``), ``added``, and ``absent`` (the profile writes it, the export lacks
it). Replacements are told apart across all pairs at once (:class:`Replacements`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from deid.ingest.decode import display, tag_text
from deid.ingest.tree import UNDECODABLE, Node, Unread
from deid.transform.semantics import is_empty, same_value
from deid.transform.values import NOTHING_VALUES, dummy_value

KEPT, REMOVED, EMPTIED, DUMMY = "kept", "removed", "emptied", "dummy"
CONSISTENT, REPLACED, SHIFTED = "replaced_consistently", "replaced", "shifted"
TRUNCATED, CLEANED, ADDED, ABSENT = "truncated", "cleaned", "added", "absent"
#: Observed actions, in the order the README lists them (``absent``: the profile writes an
#: element, a marker say, that the export does not have).
OBSERVED = (KEPT, REMOVED, EMPTIED, DUMMY, CONSISTENT, REPLACED, SHIFTED, TRUNCATED, CLEANED,
            ADDED, ABSENT)
DUMMY_TEXTS = NOTHING_VALUES
_LONGEST_SHIFT = 36_525  # days: a century
_CLEAN_MARKS = ("***", "XXX", "[REDACTED]", "<removed>")


@dataclass(frozen=True)
class Element:
    """One element of a pair: its path, the original and exported nodes (None when absent)
    and the first observation (``replaced`` still to be told apart)."""

    path: str
    original: Node | None
    exported: Node | None
    observed: str
    shift_days: int | None = None

    @property
    def node(self) -> Node:
        node = self.original if self.original is not None else self.exported
        assert node is not None
        return node


def compare(original: Sequence[Node], exported: Sequence[Node],
            prefix: str = "") -> Iterator[Element]:
    """Every element of two data sets (or items), matched by tag, depth first."""
    left = {node.tag: node for node in original}
    right = {node.tag: node for node in exported}
    for tag in sorted(left.keys() | right.keys()):
        path = prefix + tag_text(tag)
        mine, theirs = left.get(tag), right.get(tag)
        yield _element(path, mine, theirs)
        mine_items = mine.items or [] if mine is not None else []
        their_items = theirs.items or [] if theirs is not None else []
        for number in range(max(len(mine_items), len(their_items))):
            yield from compare(mine_items[number] if number < len(mine_items) else [],
                               their_items[number] if number < len(their_items) else [],
                               f"{path}[{number}].")


def _element(path: str, original: Node | None, exported: Node | None) -> Element:
    if original is None:
        return Element(path, None, exported, ADDED)
    if exported is None:
        return Element(path, original, None, REMOVED)
    if original.items is not None or exported.items is not None:
        emptied = bool(original.items) and not exported.items
        return Element(path, original, exported, EMPTIED if emptied else KEPT)
    if original.flags & UNDECODABLE:
        return Element(path, original, exported, KEPT)
    if isinstance(original.value, Unread) or isinstance(exported.value, Unread):
        # pixel data and long binary values are compared by length, never read
        same = _length(original.value) == _length(exported.value)
        return Element(path, original, exported, KEPT if same else CONSISTENT)
    if same_value(original.value, exported.value):
        return Element(path, original, exported, KEPT)
    if is_empty(exported.value):
        return Element(path, original, exported, EMPTIED)
    if _text(exported.value).strip().upper() in DUMMY_TEXTS:
        return Element(path, original, exported, DUMMY)
    days = _shift_days(original, exported)
    observed = _changed(original, exported)
    if days is not None and observed != TRUNCATED:
        return Element(path, original, exported, SHIFTED, days)
    return Element(path, original, exported, observed, days)


def _length(value: Any) -> int:
    if isinstance(value, Unread):
        return value.length
    return len(value) if isinstance(value, (bytes, bytearray)) else -1


def _changed(original: Node, exported: Node) -> str:
    vr = original.vr.split(" or ")[0]
    old, new = _text(original.value), _text(exported.value)
    if vr in ("DA", "DT", "TM") and _truncated_date(old, new):
        return TRUNCATED
    if new.strip().upper() in DUMMY_TEXTS or new == str(dummy_value(vr)):
        return DUMMY
    if vr in ("DS", "IS", "FL", "FD", "AS") and _rounded_down(old, new):
        return TRUNCATED
    if vr not in ("UI", "DA", "DT", "TM") and any(mark in new for mark in _CLEAN_MARKS) \
            and _shares_words(old, new):
        return CLEANED
    return REPLACED


def _text(value: Any) -> str:
    if isinstance(value, Unread):
        return str(value)
    return display(list(value) if isinstance(value, tuple) else value)


def _shares_words(old: str, new: str) -> bool:
    words = {word for word in re.split(r"\W+", new) if len(word) > 2}
    return bool(words & set(re.split(r"\W+", old)))


def _shift_days(original: Node, exported: Node) -> int | None:
    """Whole days between two dates (DA) or two date-times with the same time (DT)."""
    vr = original.vr.split(" or ")[0]
    if vr not in ("DA", "DT"):
        return None
    old, new = _text(original.value), _text(exported.value)
    old_date, old_rest = _date(old)
    new_date, new_rest = _date(new)
    if old_date is None or new_date is None or old_rest != new_rest:
        return None
    days = (new_date - old_date).days
    if abs(days) > _LONGEST_SHIFT:
        return None  # no shift moves a date by centuries: a dummy date (00010101)
    return days or None


def _date(text: str) -> tuple[dt.date | None, str]:
    match = re.match(r"^(\d{4})(\d{2})(\d{2})(.*)$", text.strip())
    if not match:
        return None, ""
    try:
        return dt.date(int(match[1]), int(match[2]), int(match[3])), match[4]
    except ValueError:
        return None, ""


def _truncated_date(old: str, new: str) -> bool:
    """``new`` is ``old`` with its later digits set to their first value (month, day, time)."""
    old, new = old.strip(), new.strip()
    if len(new) != len(old) or old == new:
        return False
    keep = 4 if len(old) >= 8 else 2  # a truncated date keeps its year; a time its hour
    for cut in range(keep, len(old)):
        if old[:cut] == new[:cut] and re.fullmatch(r"(01|00|0)*[0.]*", new[cut:]):
            return new[cut:] != old[cut:]
    return False


def _rounded_down(old: str, new: str) -> bool:
    try:
        before = Decimal(re.sub(r"[DWMY]$", "", old.strip()))
        after = Decimal(re.sub(r"[DWMY]$", "", new.strip()))
    except InvalidOperation:
        return False
    return after < before


class Replacements:
    """Which original value of each tag became which new value, over every pair: tells a
    consistent replacement (a map) from a dummy (one value for all) or a random one."""

    def __init__(self) -> None:
        self._seen: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))

    def add(self, element: Element) -> None:
        if element.observed == REPLACED and element.original is not None \
                and element.exported is not None:
            tag = element.path.rsplit(".", 1)[-1]
            self._seen[tag][_text(element.original.value)].add(_text(element.exported.value))

    def update(self, other: Replacements) -> None:
        """Add the replacements another set of pairs saw."""
        for tag, seen in other._seen.items():
            for original, news in seen.items():
                self._seen[tag][original].update(news)

    def resolve(self, element: Element) -> str:
        """The observation of a replaced element, told apart; others as they are."""
        if element.observed != REPLACED:
            return element.observed
        seen = self._seen[element.path.rsplit(".", 1)[-1]]
        if any(len(news) > 1 for news in seen.values()):
            return REPLACED
        news = [next(iter(values)) for values in seen.values()]
        if len(seen) > 1 and len(set(news)) == 1:
            return DUMMY
        return CONSISTENT
