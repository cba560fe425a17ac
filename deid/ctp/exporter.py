"""Export a profile as a CTP DicomAnonymizer script that imports back to the same actions.

The whole effective chain (base, options, standard table, own rules) is expressed: the global
commands carry the defaults (``unspecifiedelements`` for ``unlisted = "remove"``,
``privategroups``/``safeprivateelements`` for the private policy, ``curves``/``overlays`` when
the profile removes every element of those groups, ``<k>`` for whole-group keep rules), and one
``<e>`` is written for every element of the comparison universe that a rule names or whose
action differs from what the global commands give. Each element's script says what deid does to
it (the action resolved for its VR, :mod:`deid.ctp.fidelity`), so that the script alone imports
back to the same action. Where CTP's language cannot say it, the element carries the nearest
script, a ``<!--deid {...}-->`` comment recording deid's action and a comment naming what CTP
cannot say (:data:`deid.ctp.fidelity.NOT_EXPRESSIBLE`, explained in the script's header).
Repeating-group patterns are written for the 16 repeating groups (or elements) and for the
element deid decides the pattern by.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from deid.ctp.arguments import Context, element_tag, secret_param
from deid.ctp.expressions import map_element
from deid.ctp.fidelity import NOT_EXPRESSIBLE, action_key, code_counts, not_expressible
from deid.ctp.importer import build_profile
from deid.ctp.render import ScriptParams, element_script
from deid.ctp.sources import element_vr
from deid.outputs.compare import Universe, comparison_universe
from deid.policy.actions import ACTIONS, Action
from deid.policy.dictionary import info_for_tag
from deid.policy.profile_model import MatcherKind, PrivatePolicy, Profile, Unlisted
from deid.policy.resolver import Decision, Resolver, resolver_for
from deid.tags import TagPattern, format_tag, is_private_group

_REPEATING = {0x50, 0x60, 0x7F}  # groups 50xx, 60xx, 7Fxx repeat over gg00-gg1E (even)
_MAX_EXPANSION = 256
_GROUP_RE = re.compile(r"^\([0-9A-F]{4},xxxx\)$")
#: The code of an element whose nearest script imports differently for no listed reason.
NEAREST = "nearest"
_NEAREST_TEXT = "CTP has only a nearest script for this action"
__all__ = ["NEAREST", "action_key", "chain_params", "export_ctp_script", "universe_tags"]


@dataclass(frozen=True)
class _Globals:
    unspecified: bool
    private: bool
    safe_private: bool
    overlays: bool
    curves: bool
    groups: tuple[int, ...]


def export_ctp_script(profile: Profile, *, universe: Universe | None = None) -> str:
    """The profile as a CTP DicomAnonymizer script (XML text).

    Parameters
    ----------
    profile
        A loaded profile; its whole chain is expressed.
    universe
        The elements to express (default: the comparison universe of this profile, i.e. the
        data dictionary plus every tag it names). Pass a wider universe, e.g. that of all the
        profiles being compared, so that the script agrees with the profile on all of them.
    """
    resolver = resolver_for(profile)
    tags = sorted(set(universe_tags(universe or comparison_universe([profile]))))
    decisions = {tag: resolver.decide(tag, element_vr(tag) or "UN") for tag in tags}
    flags = _choose_globals(profile, resolver, decisions)
    declared = ScriptParams(chain_params(profile))
    baseline = resolver_for(_baseline(flags, declared))
    named = {tag for layer in resolver.layers for tag in layer.by_tag}
    secret_of = _secret_finder(decisions, declared)
    elements: list[_Element] = []
    for tag in tags:
        decision, vr = decisions[tag], element_vr(tag)
        default = baseline.decide(tag, vr or "UN")
        if tag in named or (action_key(decision.action, decision.params, declared.values, vr)
                            != action_key(default.action, default.params, declared.values,
                                          vr)):
            elements.append(_element(_target(tag), True, tag, decision.action,
                                     decision.params, declared, secret_of))
    elements += _private_elements(resolver, declared)
    elements += [_element(_target(rule.matcher.tag), False, rule.matcher.tag, rule.action,
                          rule.params, declared)
                 for rule in profile.rules if not rule.enabled and rule.matcher.tag is not None
                 and rule.matcher.kind is MatcherKind.TAG]
    return _render(profile, flags, declared, elements)


def _target(tag: int) -> str:
    return format_tag(tag)[1:-1].replace(",", "").lower()


def _secret_finder(decisions: Mapping[int, Decision],
                   declared: ScriptParams) -> Callable[[str], str | None]:
    """The secret the script of another element uses, as the importer finds it (for
    @hashuid's third argument)."""
    def secret_of(element: str) -> str | None:
        tag = element_tag(element)
        if tag is None or tag not in decisions:
            return None
        scratch = ScriptParams(dict(declared.values), set(declared.secrets))
        script = element_script(decisions[tag].action, decisions[tag].params,
                                element_vr(tag), scratch)[2]
        return next((name for name in sorted(scratch.secrets)
                     if f"@{secret_param(name)}" in script), None)

    return secret_of


def universe_tags(universe: Universe) -> Iterator[int]:
    """Every tag of the universe, with the concrete tags of its repeating-group patterns."""
    for row in universe.tags:
        yield row.code
        if row.is_pattern:
            yield from _expand(TagPattern.parse(row.tag))


def _expand(pattern: TagPattern) -> list[int]:
    """The concrete tags of a pattern: the 16 repeating groups, or every element up to 256."""
    choices: list[list[int]] = []
    for shift in range(28, -4, -4):
        fixed = (pattern.mask >> shift) & 0xF
        choices.append([(pattern.value >> shift) & 0xF] if fixed else list(range(16)))
    count = 1
    for digits in choices:
        count *= len(digits)
    group_high = pattern.value >> 24
    if group_high in _REPEATING and not (pattern.mask >> 16) & 0xFF:
        choices[2], choices[3] = [0, 1], list(range(0, 16, 2))
        count = count // 256 * 16
    if count > _MAX_EXPANSION:
        return []
    tags = [0]
    for digits in choices:
        tags = [tag << 4 | digit for tag in tags for digit in digits]
    return tags


def _choose_globals(profile: Profile, resolver: Resolver,
                    decisions: Mapping[int, Any]) -> _Globals:
    private = profile.effective_private_tags()

    def all_removed(high: int) -> bool:
        group = [decision for tag, decision in decisions.items()
                 if tag >> 24 == high and not is_private_group(tag)]
        return bool(group) and all(d.action is Action.REMOVE for d in group)

    first: dict[str, Action] = {}
    for layer in resolver.layers:
        for rule in layer.patterns:
            text = rule.matcher.pattern.text if rule.matcher.pattern else ""
            if _GROUP_RE.match(text):
                first.setdefault(text, rule.action)
    groups = sorted(int(text[1:5], 16) for text, action in first.items()
                    if action is Action.KEEP)
    return _Globals(profile.effective_unlisted() is Unlisted.REMOVE,
                    private is not PrivatePolicy.KEEP, private is PrivatePolicy.SAFE,
                    all_removed(0x60), all_removed(0x50), tuple(groups))


def chain_params(profile: Profile) -> dict[str, str]:
    """The ``[params]`` of a profile and its bases, the nearest first."""
    params: dict[str, str] = {}
    for member in profile.chain:
        for name, value in member.params.items():
            params.setdefault(name, value)
    return params


def _globals_xml(flags: _Globals) -> list[str]:
    def flag(on: bool) -> str:
        return "T" if on else "F"

    lines = [f' <k en="T" t="{group:04x}">Keep group {group:04x}</k>' for group in flags.groups]
    lines += [
        f' <k en="{flag(flags.safe_private)}" t="safeprivateelements">Keep safe private '
        "elements</k>",
        f' <r en="{flag(flags.curves)}" t="curves">Remove curves</r>',
        f' <r en="{flag(flags.overlays)}" t="overlays">Remove overlays</r>',
        f' <r en="{flag(flags.private)}" t="privategroups">Remove private groups</r>',
        f' <r en="{flag(flags.unspecified)}" t="unspecifiedelements">Remove unchecked '
        "elements</r>",
    ]
    return lines


def _baseline(flags: _Globals, declared: ScriptParams) -> Profile:
    """What the global commands alone give, as the importer reads them."""
    params = [f' <p t="{name}">{escape(value)}</p>' for name, value in declared.values.items()]
    text = "<script>\n" + "\n".join(params + _globals_xml(flags)) + "\n</script>\n"
    return build_profile(text, profile_id="baseline", name="baseline")[1]


@dataclass(frozen=True)
class _Element:
    """One ``<e>`` as written, and the codes of what CTP cannot say in it."""

    line: str
    enabled: bool
    codes: tuple[str, ...]


def _element(target: str, enabled: bool, tag: int | None, action: Action,
             params: Mapping[str, Any], declared: ScriptParams,
             secret_of: Callable[[str], str | None] | None = None) -> _Element:
    """One ``<e>`` for what deid does to the element; where CTP's nearest script imports
    differently, deid's action in a ``deid {...}`` comment and the codes of the reason."""
    vr = element_vr(tag)
    action, params, script = element_script(action, params, vr, declared)
    secrets = {secret_param(name): name for name in declared.secrets}
    mapped = map_element(script, Context(tag, vr, dict(declared.values), secrets,
                                         secret_of or (lambda element: None)))
    notes = ""
    codes: tuple[str, ...] = ()
    if (action_key(mapped.action, mapped.params, declared.values, vr)
            != action_key(action, params, declared.values, vr)):
        spec = ACTIONS[action].params
        record = {"action": action.value, **{key: value for key, value in params.items()
                                             if key in spec and value != spec[key].default}}
        codes = not_expressible(action, params, vr, declared.values) or (NEAREST,)
        notes = ("<!--deid " + json.dumps(record).replace("--", "-\\u002d") + "-->"
                 f"<!--not expressible in CTP: {', '.join(codes)}-->")
    info = info_for_tag(tag) if tag is not None and not is_private_group(tag) else None
    name = info.keyword if info else ""
    return _Element(f' <e en="{"T" if enabled else "F"}" t={quoteattr(target)} '
                    f"n={quoteattr(name)}>{escape(script)}{notes}</e>", enabled, codes)


def _private_elements(resolver: Resolver, declared: ScriptParams) -> list[_Element]:
    """Rules for one element of a private creator's block, as ``gggg[Creator]ee``."""
    seen: dict[tuple[str, str], _Element] = {}
    for layer in resolver.layers:
        for rule in layer.private_elements:
            pattern, creator = rule.matcher.pattern, rule.matcher.creator
            if pattern is None or creator is None or pattern.text[6:8] != "xx" or (
                    "x" in pattern.text[1:5] + pattern.text[8:10]):
                continue
            target = f"{pattern.text[1:5]}[{creator}]{pattern.text[8:10]}"
            seen.setdefault((pattern.text, creator),
                            _element(target, True, None, rule.action, rule.params, declared))
    return [seen[key] for key in sorted(seen)]


def _header(profile: Profile, elements: list[_Element]) -> list[str]:
    chain = " <- ".join(member.id for member in profile.chain)
    options = ", ".join(profile.all_options()) or "none"
    blocks = sorted({rule.matcher.creator or "" for member in profile.chain
                     for rule in member.rules if rule.enabled
                     and rule.matcher.kind is MatcherKind.PRIVATE_CREATOR})
    lines = [
        f"Exported by deid from profile {profile.id} ({profile.title}); provenance "
        f"{profile.provenance.value}; chain {chain}; PS3.15 options: {options}.",
        "Each <e> is what deid does to that element, and imports back to it. Where CTP cannot "
        "say it, the element holds the nearest script, a comment 'deid {...}' recording "
        "deid's action and parameters, and a comment 'not expressible in CTP' naming why "
        "(CTP ignores comments; deid's import trusts a 'deid' comment only where exporting "
        "its action gives that same script). Elements such as (60EE,3000) stand for deid's "
        "repeating-group patterns.",
    ]
    for code, count in code_counts((element.codes for element in elements),
                                   [*NOT_EXPRESSIBLE, NEAREST]):
        text = NOT_EXPRESSIBLE[code][0] if code in NOT_EXPRESSIBLE else _NEAREST_TEXT
        lines.append(f"Not expressible in CTP ({count} elements): {code}: {text}.")
    if blocks:
        lines.append("Not expressible in CTP (whole private creator blocks): "
                     + ", ".join(blocks) + ".")
    if profile.effective_unlisted() is Unlisted.REMOVE and (
            profile.effective_private_tags() is PrivatePolicy.KEEP):
        lines.append("Not expressible in CTP: private elements kept while unchecked elements "
                     "are removed (CTP removes unscripted private elements too).")
    return lines


def _render(profile: Profile, flags: _Globals, declared: ScriptParams,
            elements: list[_Element]) -> str:
    header = [f" <!-- {line.replace('--', '- -')} -->" for line in _header(profile, elements)]
    params = [f' <p t="{name}">{escape(value)}</p>'
              for name, value in sorted(declared.values.items())]
    params += [f' <p t="{secret_param(name)}"></p>' for name in sorted(declared.secrets)]
    body = [*header, *params, *(element.line for element in elements), *_globals_xml(flags)]
    return "<script>\n" + "\n".join(body) + "\n</script>\n"
