"""Decide, for one element, which action a profile takes and why.

A profile is searched layer by layer: its own rules, then the rules of its PS3.15 options, then
its standard table (Table E.1-1 Basic Profile), then the same for its base, recursively; the
standard table is searched once, where the deepest profile that names it does, so no option of
the chain is hidden beneath it. Within a layer the most specific matcher wins: tag or keyword,
then a private creator's element (fewer wildcards first), then a tag pattern (fewer wildcards
first), then a whole private creator block, then a VR; rules listed later never lose to an
earlier, broader one. Elements no
rule matches fall to the profile's ``unlisted`` behaviour (standard elements) or its
``private_tags`` policy (private elements). Keyword and VR rules apply to standard elements
only; private elements are matched by tag, private creator and pattern rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache, cached_property
from types import MappingProxyType
from typing import Any

from deid.policy.actions import DATE_VRS, Action, from_ps315_code, most_protective
from deid.policy.decision import Decision
from deid.policy.dictionary import info_for_tag
from deid.policy.profile_model import Matcher, MatcherKind, PrivatePolicy, Profile, Rule, Unlisted
from deid.policy.standard import (
    ODD_GROUP_ROW,
    OPTION_IDS,
    E11Row,
    dicom_edition,
    safe_private_attributes,
    table_e1_1,
)
from deid.tags import TagPattern, is_private_group, parse_tag

OPTION_TITLES: Mapping[str, str] = MappingProxyType({
    "retain_safe_private": "Retain Safe Private Option",
    "retain_uids": "Retain UIDs Option",
    "retain_device_identity": "Retain Device Identity Option",
    "retain_institution_identity": "Retain Institution Identity Option",
    "retain_patient_characteristics": "Retain Patient Characteristics Option",
    "retain_long_full_dates": "Retain Longitudinal Temporal Information Full Dates Option",
    "retain_long_modified_dates": "Retain Longitudinal Temporal Information Modified Dates "
                                  "Option",
    "clean_descriptors": "Clean Descriptors Option",
    "clean_structured_content": "Clean Structured Content Option",
    "clean_graphics": "Clean Graphics Option",
})
_NO_PARAMS: Mapping[str, Any] = MappingProxyType({})


_SPECIFIC_MATCHERS = frozenset({MatcherKind.TAG, MatcherKind.PRIVATE_ELEMENT, MatcherKind.PATTERN})


class Layer:
    """The rules of one profile layer, indexed for lookup by specificity."""

    def __init__(self, origin: str, rules: tuple[Rule, ...]) -> None:
        self.origin = origin
        self.rules = rules
        self.by_tag: dict[int, Rule] = {}
        self.by_vr: dict[str, Rule] = {}
        self.by_creator: dict[str, Rule] = {}
        self.private_elements: list[Rule] = []
        self.patterns: list[Rule] = []
        for rule in rules:
            if rule.enabled:
                self._index(rule)
        self.patterns.sort(key=lambda rule: _pattern(rule.matcher).wildcards)
        self.private_elements.sort(key=lambda rule: _pattern(rule.matcher).wildcards)

    def _index(self, rule: Rule) -> None:
        matcher = rule.matcher
        if matcher.kind is MatcherKind.TAG and matcher.tag is not None:
            self.by_tag[matcher.tag] = rule
        elif matcher.kind is MatcherKind.VR and matcher.vr:
            self.by_vr[matcher.vr] = rule
        elif matcher.kind is MatcherKind.PRIVATE_CREATOR and matcher.creator is not None:
            self.by_creator[matcher.creator.strip()] = rule
        elif matcher.kind is MatcherKind.PRIVATE_ELEMENT:
            self.private_elements.append(rule)
        else:
            self.patterns.append(rule)

    def find(self, tag: int, vr: str, creator: str | None) -> Rule | None:
        """The most specific rule of this layer matching the element, if any."""
        private = is_private_group(tag)
        rule = self.by_tag.get(tag)
        if rule is not None:
            return rule
        if private and creator is not None:
            for rule in self.private_elements:
                if rule.matcher.creator == creator and _pattern(rule.matcher).matches(tag):
                    return rule
        for rule in self.patterns:
            if _pattern(rule.matcher).matches(tag):
                return rule
        if private:
            return self.by_creator.get(creator) if creator is not None else None
        return self.by_vr.get(vr)


def _pattern(matcher: Matcher) -> TagPattern:
    assert matcher.pattern is not None
    return matcher.pattern


class Resolver:
    """Decides actions for one profile; build once per profile, reuse for every element."""

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self.layers: list[Layer] = []
        chain = profile.chain
        for depth, member in enumerate(chain):
            self.layers.append(Layer(f"{member.id} rule", member.rules))
            if member.options:
                self.layers.append(options_layer(member.options))
            # the standard table once, below every option of the chain that builds on it
            if member.standard_table and not any(base.standard_table
                                                 for base in chain[depth + 1:]):
                self.layers.append(standard_layer())
        self.unlisted = profile.effective_unlisted()
        self.private_policy = profile.effective_private_tags()
        self.unlisted_owner = next(p.id for p in profile.chain if p.unlisted is self.unlisted)
        self.private_owner = next(
            (p.id for p in profile.chain if p.private_tags is self.private_policy
             or (p.private_tags is PrivatePolicy.BASE and "retain_safe_private" in p.options)),
            profile.id)

    def decide(self, tag: int, vr: str, creator: str | None = None) -> Decision:
        """The decision for an element with this tag, VR and (for private ones) creator."""
        for layer in self.layers:
            rule = layer.find(tag, vr, creator)
            if rule is not None:
                return Decision(rule.action, rule.params, rule.reason, rule.source,
                                f"{layer.origin} {rule.number}", True,
                                rule.matcher.kind in _SPECIFIC_MATCHERS)
        if is_private_group(tag):
            return self._private_default(tag, creator)
        return self._unlisted

    @cached_property
    def _unlisted(self) -> Decision:
        action = Action.REMOVE if self.unlisted is Unlisted.REMOVE else Action.KEEP
        why = ("not on the profile's allow-list" if action is Action.REMOVE
               else "no rule of the profile changes it")
        return Decision(action, _NO_PARAMS, f"Unlisted element: {why}.",
                        f"{self.unlisted_owner}: unlisted = {self.unlisted.value}",
                        f"{self.unlisted_owner} unlisted", False)

    def _private_default(self, tag: int, creator: str | None) -> Decision:
        policy = self.private_policy
        source = f"{self.private_owner}: private_tags = {policy.value}"
        origin = f"{self.private_owner} private_tags"
        if policy is PrivatePolicy.KEEP:
            return Decision(Action.KEEP, _NO_PARAMS, "Private element kept by policy.",
                            source, origin, False)
        if policy is PrivatePolicy.SAFE:
            meaning = safe_private_meaning(tag, creator)
            if meaning is not None:
                return Decision(Action.KEEP, _NO_PARAMS,
                                f"Safe private attribute ({meaning}).",
                                f"DICOM PS3.15 {dicom_edition()} Table E.3.10-1", origin,
                                False)
        return Decision(Action.REMOVE, _NO_PARAMS,
                        "Private element removed: private data can hold identifying "
                        "information (PS3.15 Table E.1-1, odd groups: X).", source, origin,
                        False)


def safe_private_meaning(tag: int, creator: str | None) -> str | None:
    """The E.3.10-1 meaning when ``tag`` of ``creator`` is a safe private attribute."""
    if creator is None:
        return None
    return _safe_private_index().get((tag >> 16, tag & 0xFF, creator.strip()))


@cache
def _safe_private_index() -> dict[tuple[int, int, str], str]:
    index: dict[tuple[int, int, str], str] = {}
    for row in safe_private_attributes():
        pattern = TagPattern.parse(row.data_element)
        index[(pattern.value >> 16, pattern.value & 0xFF, row.private_creator.strip())] = (
            row.meaning
        )
    return index


def _table_source(column: str) -> str:
    return f"DICOM PS3.15 {dicom_edition()} Table E.1-1, {column} column"


def _row_matcher(tag_text: str) -> Matcher:
    if "x" in tag_text:
        return Matcher(MatcherKind.PATTERN, pattern=TagPattern.parse(tag_text))
    return Matcher(MatcherKind.TAG, tag=parse_tag(tag_text))


@cache
def standard_layer() -> Layer:
    """The Basic Profile column of Table E.1-1 as rules (the odd-group row is the private
    policy, not a rule)."""
    rules = []
    for number, row in enumerate(table_e1_1(), start=1):
        if row.tag == ODD_GROUP_ROW:
            continue
        action = from_ps315_code(row.basic_profile)
        reason = (f"PS3.15 Basic Profile: {row.attribute_name} is {row.basic_profile}"
                  + (f" (resolved to {action.value})" if "/" in row.basic_profile else "")
                  + ".")
        rules.append(Rule(number, _row_matcher(row.tag), action, _NO_PARAMS, reason,
                          _table_source("Basic Prof.")))
    return Layer("PS3.15 Table E.1-1 row", tuple(rules))


def option_action(option: str, code: str, row_is_date: bool) -> Action:
    """An option's code as an action: K keeps; C cleans, and under Retain Longitudinal
    Temporal Information Modified Dates a date, time or date-time is shifted (PS3.15 E.3.6)."""
    if code == "K":
        return Action.KEEP
    if code == "C":
        if option == "retain_long_modified_dates" and row_is_date:
            return Action.SHIFT_DATE
        return Action.CLEAN
    raise ValueError(f"unknown option code {code!r}")


def row_is_date(row: E11Row) -> bool:
    """True when the row's attribute is a DA, DT or TM (by the dictionary, or by its name for
    attributes newer than the dictionary)."""
    if "x" not in row.tag:
        info = info_for_tag(parse_tag(row.tag))
        if info is not None and info.vr:
            return info.vr in DATE_VRS
    return row.attribute_name.endswith(("Date", "Time", "DateTime"))


@cache
def options_layer(options: tuple[str, ...]) -> Layer:
    """The option columns of Table E.1-1 for the enabled options, as rules.

    When enabled options disagree on a row, the most protective action wins
    (see :data:`deid.policy.actions.PROTECTIVE_ORDER`).
    """
    ordered = tuple(option for option in OPTION_IDS if option in options)
    rules = []
    for number, row in enumerate(table_e1_1(), start=1):
        codes = {option: row.options[option] for option in ordered if option in row.options}
        if not codes or row.tag == ODD_GROUP_ROW:
            continue
        is_date = row_is_date(row)
        actions = {option: option_action(option, code, is_date)
                   for option, code in codes.items()}
        action = most_protective(list(actions.values()))
        chosen = [option for option, act in actions.items() if act is action]
        names = ", ".join(f"{OPTION_TITLES[o]} {codes[o]}" for o in chosen)
        reason = f"PS3.15 {names}: {row.attribute_name} ({action.value})."
        if len(actions) > 1:
            reason += " Options disagree; the most protective action applies."
        rules.append(Rule(number, _row_matcher(row.tag), action, _NO_PARAMS, reason,
                          _table_source(" + ".join(OPTION_TITLES[o] for o in chosen))))
    return Layer(f"PS3.15 options ({', '.join(ordered)}) row", tuple(rules))


@cache
def resolver_for(profile: Profile) -> Resolver:
    """A cached :class:`Resolver` for ``profile``."""
    return Resolver(profile)
