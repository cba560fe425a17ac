"""What a recipe field names: one element, a private element, or an expression over many.

pydicom/deid matches a plain field exactly (ignoring case) against an element's keyword, its
name, or its tag written ``(gggg,eeee)`` or ``ggggeeee``; ``(gggg,"Creator",ee)`` names a
private element. Expressions select by pattern: ``contains:``, ``startswith:``, ``endswith:``
and ``except:`` search the keyword, name and tag text (a regular expression, ignoring case),
``select:VR:PN`` and ``select:group:0010`` by VR or group, ``all`` every element, ``values:``
and ``fields:`` the groups of a ``%values`` or ``%fields`` section.

A profile rule names one tag, pattern, VR or private element, so ``select:`` and ``all`` map
exactly, while ``contains:``-like expressions are expanded over the data dictionary (pydicom
would also match private elements by their names, and elements newer than its dictionary);
``values:`` cannot be expanded at all, because it depends on the values in each file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import cache

from deid.policy.dictionary import TagInfo, dictionary_entries, keyword_to_tag
from deid.tags import format_tag

EXPANDERS = ("contains", "startswith", "endswith", "except")
_TAG_RE = re.compile(r"^\(?([0-9A-Fa-f]{4}),?([0-9A-Fa-f]{4})\)?$")
_PRIVATE_RE = re.compile(r'^\(?([0-9A-Fa-f]{4}),\s*"([^"]+)"\s*,\s*([0-9A-Fa-f]{2})\)?$')
_EXPRESSION_RE = re.compile(r'^([^:"]*(?:"[^"]*"[^:"]*)*):(.*)$')


class TargetKind(StrEnum):
    """How a field maps onto profile matchers."""

    TAG = "tag"
    PRIVATE = "private"
    VR = "vr"
    GROUP = "group"
    ALL = "all"
    EXPANDED = "expanded"
    VALUES = "values"
    FIELDS = "fields"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Target:
    """The elements a field names, as profile matchers (``(key, value)`` pairs per rule)."""

    kind: TargetKind
    matchers: tuple[tuple[tuple[str, str], ...], ...] = ()
    detail: str = ""

    @property
    def exact(self) -> bool:
        """True when the matchers name exactly what pydicom/deid would match."""
        return self.kind in (TargetKind.TAG, TargetKind.PRIVATE, TargetKind.GROUP,
                             TargetKind.ALL)


def resolve_field(field: str) -> Target:
    """The elements ``field`` names (``fields:`` groups are resolved by the importer)."""
    text = field.strip()
    if text.lower() == "all":
        return Target(TargetKind.ALL, detail="every element")
    private = _PRIVATE_RE.match(text)
    if private:
        group, creator, element = private.groups()
        return Target(TargetKind.PRIVATE, ((("private_creator", creator.strip()),
                                            ("element", f"({group.upper()},xx"
                                                        f"{element.upper()})")),))
    expression = _EXPRESSION_RE.match(text)
    if expression:
        return _expression(expression.group(1).strip().lower(), expression.group(2).strip())
    tag = _plain_tag(text)
    if tag is not None:
        return Target(TargetKind.TAG, ((("tag", format_tag(tag)),),))
    info = _by_name().get(text.lower())
    if info is not None:
        return Target(TargetKind.TAG, (_matcher(info),))
    return Target(TargetKind.UNKNOWN, detail=f"{text!r} is no keyword, name or tag of "
                  "pydicom's data dictionary, so it matches nothing")


def _plain_tag(text: str) -> int | None:
    match = _TAG_RE.match(text)
    if match and (text.startswith("(") or "," not in text):
        return int(match.group(1) + match.group(2), 16)
    return None


def _expression(expander: str, expression: str) -> Target:
    if expander == "select":
        attribute, _, value = expression.partition(":")
        if attribute.upper() == "VR" and len(value) >= 2:
            return Target(TargetKind.VR, ((("vr", value[:2].upper()),),),
                          detail=f"standard elements of VR {value[:2].upper()}")
        if attribute.upper() == "GROUP" and re.fullmatch(r"[0-9A-Fa-f]{1,4}", value):
            group = int(value, 16)
            return Target(TargetKind.GROUP, ((("pattern", f"({group:04X},xxxx)"),),))
        return Target(TargetKind.UNKNOWN, detail=f"select:{expression} selects nothing "
                      "(pydicom/deid selects by VR or group only)")
    if expander == "values":
        return Target(TargetKind.VALUES, detail=f"the elements whose values contain a value of "
                      f"%values {expression}, found in each file at run time")
    if expander == "fields":
        return Target(TargetKind.FIELDS, detail=expression)
    if expander in EXPANDERS:
        infos = expand(expander, expression)
        return Target(TargetKind.EXPANDED, tuple(_matcher(info) for info in infos),
                      detail=f"{expander}:{expression} expanded over pydicom's data dictionary "
                      f"to {len(infos)} entries")
    return Target(TargetKind.UNKNOWN, detail=f"{expander}: is not a pydicom/deid field "
                  "expression, so the field matches nothing")


@cache
def expand(expander: str, expression: str) -> tuple[TagInfo, ...]:
    """Dictionary entries whose keyword, name or tag text the expression matches, as
    pydicom/deid matches an element (a regular expression search, ignoring case)."""
    text = expression.lower()
    if expander == "endswith":
        text = f"({text})$"
    elif expander == "startswith":
        text = f"^({text})"
    try:
        pattern = re.compile(text, re.IGNORECASE)
    except re.error:
        pattern = re.compile(re.escape(expression), re.IGNORECASE)
    found = []
    for info in dictionary_entries():
        hit = any(pattern.search(candidate) for candidate in (
            info.keyword, info.name, info.tag.lower(), info.tag[1:5] + info.tag[6:10]))
        if hit != (expander == "except"):
            found.append(info)
    return tuple(found)


def _matcher(info: TagInfo) -> tuple[tuple[str, str], ...]:
    return (("pattern", info.tag),) if info.is_pattern else (("tag", info.tag),)


@cache
def _by_name() -> dict[str, TagInfo]:
    """Dictionary entries by lower-case keyword and name (keywords win on a clash)."""
    found: dict[str, TagInfo] = {}
    for info in dictionary_entries():
        found.setdefault(info.name.lower(), info)
    for info in dictionary_entries():
        if info.keyword:
            found[info.keyword.lower()] = info
    return found


def keyword_tag(keyword: str) -> int | None:
    """The tag of a dictionary keyword (any case), if any."""
    info = _by_name().get(keyword.lower())
    return keyword_to_tag(info.keyword) if info and info.keyword else None
