"""The engine's per-element record, computed from a file's element tree without building an
output data set.

This follows :func:`deid.transform.engine.apply_profile` rule for rule (group lengths
dropped, private creators kept with their blocks, SpecificCharacterSet kept, sequences
removed, emptied, given a dummy item or walked, cleaning inside cleaned sequences, fail-closed
values, the file meta and MediaStorageSOPInstanceUID) and calls the same value transforms,
so its rows are the engine's ``effects`` element for element (``tests/test_effects.py``
checks this on every sample file).
It only skips what the record does not need: new ``DataElement`` objects and the output.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from pydicom.datadict import tag_for_keyword

from deid.ingest.decode import display, keyword_of, tag_text
from deid.ingest.tree import UNDECODABLE, UNDECODABLE_TEXT, Node
from deid.policy.actions import BINARY_VRS, DATE_VRS, TEXT_VRS, Action
from deid.policy.profile_model import Profile
from deid.policy.resolver import Decision, resolver_for
from deid.secret_store import Secrets
from deid.transform.clean import IDENTIFIER_KEYWORDS, _name_tokens, birth_date_spellings
from deid.transform.dispatch import REMOVE_ELEMENT, TransformState, transform_value

#: One record row: path, tag, keyword, vr, action, before, after.
Row = tuple[str, str, str, str, Action, str | None, str | None]

_REQUIRED_META = frozenset({0x00020000, 0x00020001, 0x00020002, 0x00020010, 0x00020012,
                            0x00020013})
_MEDIA_SOP_INSTANCE = 0x00020003
_SOP_INSTANCE = 0x00080018
_SPECIFIC_CHARACTER_SET = 0x00080005
_PATIENT_ID, _PATIENT_NAME = 0x00100020, 0x00100010
_MIN_TOKEN = 3
_IDENTIFIER_KEYWORDS = frozenset(IDENTIFIER_KEYWORDS)
_IDENTIFIER_TAGS = frozenset(int(tag_for_keyword(keyword) or 0)
                             for keyword in (*IDENTIFIER_KEYWORDS, "PatientBirthDate"))
_SEQUENCE_ITEMS = {Action.EMPTY: 0, Action.DUMMY: 1}


class _Element:
    """What :func:`deid.transform.dispatch.transform_value` reads of an element."""

    __slots__ = ("VR", "value")

    def __init__(self, vr: str, value: Any) -> None:
        self.VR = vr
        self.value = value


def _element(vr: str, value: Any) -> _Element:
    """A stand-in for the two attributes the transforms read."""
    return _Element(vr, value)


def _multi_text(vr: str, items: list[Any]) -> str:
    """``str()`` of pydicom's MultiValue (what the engine sees for multi-valued elements)."""
    if not items:
        return ""
    quoted = vr != "PN"
    parts = (repr(item) if quoted and isinstance(item, (str, bytes)) else str(item)
             for item in items)
    return f"[{', '.join(parts)}]"


def _engine_value(node: Node) -> Any:
    """The value as the engine's helpers see it: a multi-valued element is one object."""
    value = node.value
    return _multi_text(node.vr, value) if isinstance(value, list) else value


def _walk(nodes: list[Node]) -> Iterator[Node]:
    for node in nodes:
        if node.items is not None:
            for item in node.items:
                yield from _walk(item)
        elif not node.flags & UNDECODABLE:
            yield node


def identifiers(body: list[Node]) -> tuple[str, ...]:
    """:func:`deid.transform.clean.collect_identifiers` over the tree."""
    found: set[str] = set()
    for node in _walk(body):
        if node.vr != "PN" and node.tag not in _IDENTIFIER_TAGS:
            continue
        value = _engine_value(node)
        values = value if isinstance(value, (list, tuple)) else [value]
        keyword = keyword_of(node.tag)
        if node.vr == "PN":
            for item in values:
                found.update(_name_tokens(str(item)))
        elif keyword == "PatientBirthDate":
            for item in values:
                found.update(birth_date_spellings(str(item)))
        elif keyword in _IDENTIFIER_KEYWORDS:
            for item in values:
                text = str(item).strip()
                found.add(text)
                found.update(part.strip() for part in re.split(r",", text))
    tokens = {token.strip() for token in found if len(token.strip()) >= _MIN_TOKEN}
    return tuple(sorted(tokens, key=lambda token: (-len(token), token)))


def patient_key(body: list[Node]) -> str:
    """The engine's per-patient key: PatientID, else PatientName."""
    by_tag = {node.tag: node for node in body}
    for tag in (_PATIENT_ID, _PATIENT_NAME):
        node = by_tag.get(tag)
        if node is None or node.flags & UNDECODABLE:
            continue
        value = _engine_value(node)
        if value:
            return str(value)
    return ""


class TreeApplier:
    """Apply one profile to element trees; decisions cached per (tag, VR, creator)."""

    def __init__(self, profile: Profile, secrets: Secrets) -> None:
        self.profile = profile
        self.secrets = secrets
        self.resolver = resolver_for(profile)
        self._decisions: dict[tuple[int, str, str | None], Decision] = {}

    def decide(self, tag: int, vr: str, creator: str | None) -> Decision:
        key = (tag, vr, creator)
        decision = self._decisions.get(key)
        if decision is None:
            decision = self._decisions[key] = self.resolver.decide(tag, vr, creator)
        return decision

    def rows(self, meta: list[Node], body: list[Node]) -> list[Row]:
        """The record of one file: file meta rows, then the data set's, in the engine's
        order."""
        state = TransformState(self.secrets, patient_key(body), identifiers(body),
                               self.profile.params)
        out: list[Row] = []
        new_values: dict[int, Any] = {}
        self._level(body, "", False, state, out, new_values)
        meta_rows = self._meta(meta, state, new_values)
        if meta_rows and out and _top_tag(out[0]) <= _top_tag(meta_rows[-1]):
            return sorted(out + meta_rows, key=_top_tag)  # stable: the engine's order
        return meta_rows + out

    def _element_decision(self, node: Node, cleaning: bool) -> Decision | None:
        tag = node.tag
        if tag & 0xFFFF == 0:
            return None
        vr = node.vr  # the engine converts every element (collecting identifiers) first
        decision = self.decide(tag, vr, node.creator)
        if cleaning and not decision.explicit and (vr in TEXT_VRS or vr in DATE_VRS):
            return Decision(Action.CLEAN, decision.params, "", "", "", False)
        if tag == _SPECIFIC_CHARACTER_SET and decision.action is Action.REMOVE:
            return Decision(Action.KEEP, decision.params, "", "", "", False)
        return decision

    def _level(self, nodes: list[Node], prefix: str, cleaning: bool, state: TransformState,
               out: list[Row], new_values: dict[int, Any] | None) -> None:
        decisions: dict[int, Decision | None] = {}
        kept_blocks: set[int] = set()
        for node in nodes:
            tag = node.tag
            if tag >> 16 & 1 and 0x10 <= tag & 0xFFFF <= 0xFF:
                continue
            decision = decisions[tag] = self._element_decision(node, cleaning)
            if (tag >> 16 & 1 and decision is not None
                    and decision.action is not Action.REMOVE and tag & 0xFFFF >= 0x1000):
                kept_blocks.add((tag & 0xFFFF0000) | ((tag & 0xFFFF) >> 8))
        for node in nodes:
            tag = node.tag
            text = tag_text(tag)
            path = prefix + text
            if tag >> 16 & 1 and 0x10 <= tag & 0xFFFF <= 0xFF:
                kept = tag in kept_blocks
                out.append((path, text, "PrivateCreator", "LO",
                            Action.KEEP if kept else Action.REMOVE, node.shown,
                            node.shown if kept else None))
                continue
            result = self._apply(node, decisions[tag], path, cleaning, state, out)
            if new_values is not None:
                new_values[tag] = result

    def _apply(self, node: Node, decision: Decision | None, path: str, cleaning: bool,
               state: TransformState, out: list[Row]) -> Any:
        tag, vr = node.tag, node.vr
        text = tag_text(tag)
        undecodable = bool(node.flags & UNDECODABLE)
        keyword = "" if undecodable else keyword_of(tag)
        before = UNDECODABLE_TEXT if undecodable else node.shown
        if decision is None:
            out.append((path, text, keyword, vr, Action.REMOVE, before, None))
            return None
        action = decision.action
        if undecodable:
            keep = action is Action.KEEP
            out.append((path, text, "", vr, action if keep else Action.REMOVE, before,
                        before if keep else None))
            return None
        if node.items is not None:
            return self._sequence(node, action, path, cleaning, state, out)
        if action is Action.KEEP:
            out.append((path, text, keyword, vr, action, before, before))
            return node.value
        if action is Action.REMOVE:
            out.append((path, text, keyword, vr, action, before, None))
            return None
        if action is Action.EMPTY:
            new_value: Any = b"" if vr in BINARY_VRS else ""
        else:
            try:
                new_value = transform_value(action, decision.params,
                                            _element(vr, node.value), state)
            except ValueError:
                out.append((path, text, keyword, vr, Action.REMOVE, before, None))
                return None
        if new_value is REMOVE_ELEMENT:
            out.append((path, text, keyword, vr, action, before, None))
            return None
        after = display(_plain(new_value))
        out.append((path, text, keyword, vr, action, before, after))
        return new_value

    def _sequence(self, node: Node, action: Action, path: str, cleaning: bool,
                  state: TransformState, out: list[Row]) -> Any:
        tag, before = node.tag, node.shown
        text = tag_text(tag)
        keyword = keyword_of(tag)
        items = node.items or []
        if action is Action.REMOVE:
            out.append((path, text, keyword, "SQ", action, before, None))
        elif action in _SEQUENCE_ITEMS:
            out.append((path, text, keyword, "SQ", action, before,
                        f"<{_SEQUENCE_ITEMS[action]} item(s)>"))
        elif action in (Action.KEEP, Action.CLEAN, Action.UID):
            out.append((path, text, keyword, "SQ", action, before, f"<{len(items)} item(s)>"))
            for number, item in enumerate(items):
                self._level(item, f"{path}[{number}].", cleaning or action is Action.CLEAN,
                            state, out, None)
        else:
            out.append((path, text, keyword, "SQ", Action.REMOVE, before, None))
        return None

    def _meta(self, meta: list[Node], state: TransformState,
              new_values: dict[int, Any]) -> list[Row]:
        out: list[Row] = []
        original: Node | None = None
        for node in meta:
            tag = node.tag
            if tag == _MEDIA_SOP_INSTANCE and not node.flags & UNDECODABLE:
                original = node
            if node.flags & UNDECODABLE or tag == _MEDIA_SOP_INSTANCE or tag in _REQUIRED_META:
                continue
            decision = self.decide(tag, node.vr, None)
            self._apply(node, decision, tag_text(tag), False, state, out)
        if original is not None:
            out.extend(self._media_storage(original, state, new_values))
        return sorted(out, key=lambda row: row[1])  # top-level (gggg,eeee): text order

    def _media_storage(self, original: Node, state: TransformState,
                       new_values: dict[int, Any]) -> list[Row]:
        new_value = new_values.get(_SOP_INSTANCE)
        if new_value is None:
            new_value = transform_value(Action.UID, {}, _element("UI", original.value), state)
        if new_value is None:
            return []
        old, new = _text(original.value), _text(new_value)
        action = Action.KEEP if old == new else Action.UID
        return [(tag_text(_MEDIA_SOP_INSTANCE), tag_text(_MEDIA_SOP_INSTANCE),
                 "MediaStorageSOPInstanceUID", "UI", action, old, new)]


def _top_tag(row: Row) -> int:
    path = row[0]
    return int(path[1:5] + path[6:10], 16)


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _text(value: Any) -> str:
    return _multi_text("UI", value) if isinstance(value, list) else str(value)
