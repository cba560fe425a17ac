"""DICOM tags as written in the standard: ``(gggg,eeee)``, patterns such as ``(60xx,3000)``.

A tag is held as an ``int`` (``0xGGGGEEEE``); a pattern as a :class:`TagPattern` whose ``x``
digits match any hex digit, as in PS3.6 repeating groups and PS3.15 Table E.1-1.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

_TAG_RE: Final = re.compile(r"^\(([0-9A-Fa-f]{4}),([0-9A-Fa-f]{4})\)$")
_PATTERN_RE: Final = re.compile(r"^\(([0-9A-Fa-fxX]{4}),([0-9A-Fa-fxX]{4})\)$")


def format_tag(tag: int) -> str:
    """Write ``0x00100010`` as ``(0010,0010)``."""
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


def parse_tag(text: str) -> int:
    """Read ``(gggg,eeee)`` into an int; raise ``ValueError`` saying what is expected."""
    match = _TAG_RE.match(text.strip())
    if not match:
        raise ValueError(f"malformed tag {text!r}: write it as (gggg,eeee) with 4+4 hex digits")
    return int(match.group(1) + match.group(2), 16)


def is_private_group(tag: int) -> bool:
    """True for odd groups (private data elements and private creators)."""
    return bool((tag >> 16) & 1)


def is_private_creator(tag: int) -> bool:
    """True for private creator elements ``(gggg,0010)``..``(gggg,00FF)`` of odd groups."""
    return is_private_group(tag) and 0x10 <= (tag & 0xFFFF) <= 0xFF


def private_creator_tag(tag: int) -> int | None:
    """The ``(gggg,00xx)`` creator reserving the block of private element ``(gggg,xxee)``."""
    if not is_private_group(tag):
        return None
    block = (tag & 0xFFFF) >> 8
    if block < 0x10:
        return None
    return (tag & 0xFFFF0000) | block


@dataclass(frozen=True, slots=True)
class TagPattern:
    """A tag with wildcard hex digits, e.g. ``(60xx,3000)`` or ``(0029,xx10)``."""

    text: str
    value: int
    mask: int

    @classmethod
    def parse(cls, text: str) -> TagPattern:
        """Read ``(gggg,eeee)`` where any digit may be ``x``; raise ``ValueError`` otherwise."""
        match = _PATTERN_RE.match(text.strip())
        if not match:
            raise ValueError(
                f"malformed tag pattern {text!r}: write it as (gggg,eeee) with hex digits or x"
            )
        digits = (match.group(1) + match.group(2)).lower()
        value = mask = 0
        for digit in digits:
            value <<= 4
            mask <<= 4
            if digit != "x":
                value |= int(digit, 16)
                mask |= 0xF
        group, element = digits[:4].upper(), digits[4:].upper()
        canonical = f"({group},{element})".replace("X", "x")
        return cls(canonical, value, mask)

    def __reduce__(self) -> tuple[type[TagPattern], tuple[str, int, int]]:
        # Pickled by its fields (a compiled frozen class is not restored field by field).
        return TagPattern, (self.text, self.value, self.mask)

    @property
    def wildcards(self) -> int:
        """How many hex digits are wildcards (fewer means more specific)."""
        return sum(1 for shift in range(0, 32, 4) if not (self.mask >> shift) & 0xF)

    def matches(self, tag: int) -> bool:
        """True when ``tag`` agrees with every fixed digit."""
        return (tag & self.mask) == self.value

    def overlaps(self, other: TagPattern) -> bool:
        """True when some tag matches both patterns."""
        common = self.mask & other.mask
        return (self.value & common) == (other.value & common)

    def __str__(self) -> str:
        return self.text
