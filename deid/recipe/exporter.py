"""Export a profile as a pydicom/deid recipe whose lines alone import back to what deid does.

The whole effective chain is expressed tag by tag over the comparison universe (repeating-group
patterns written for their 16 groups, like the CTP exporter). Each element's line says what deid
does to it, the action resolved for its VR (:func:`deid.recipe.render.line_text`): ``KEEP``,
``REMOVE``, ``BLANK``, ``REPLACE`` with a fixed value, ``REPLACE`` with
``deid_func:pydicom_uuid`` for new UIDs and ``JITTER`` for a fixed shift in days;
``unlisted = "remove"`` becomes ``REMOVE ALL`` first. So the recipe alone, comments deleted,
imports back to the same action for every element, except where a recipe cannot say it: there
the line is the nearest one (``REMOVE``, at least as protective, unless said otherwise),
preceded by a ``# deid {...}`` comment recording deid's action, which pydicom/deid ignores and
:func:`deid.recipe.import_recipe` trusts only where exporting that action gives the same line,
and a ``# not expressible in a recipe: codes`` comment (:mod:`deid.recipe.fidelity`). What a
recipe cannot say about the whole profile (private elements: pydicom/deid's ``remove_private``
is an argument of the run, not a line) is said in the header with its code and written in a
``# deid-settings {...}`` comment.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from deid.ctp.exporter import chain_params, universe_tags
from deid.ctp.fidelity import action_key, canonical, code_counts
from deid.outputs.compare import Universe, comparison_universe
from deid.policy.actions import Action
from deid.policy.dictionary import info_for_tag
from deid.policy.profile_model import MatcherKind, PrivatePolicy, Profile, Unlisted
from deid.policy.resolver import Resolver, resolver_for
from deid.recipe.fidelity import (
    NEAREST,
    NEAREST_TEXT,
    NOT_EXPRESSIBLE,
    SETTINGS_NOT_EXPRESSIBLE,
    not_expressible,
    settings_not_expressible,
)
from deid.recipe.importer import fold
from deid.recipe.parse import RecipeLine, split_line
from deid.recipe.render import annotation_comment, element_field, line_text, private_field
from deid.recipe.values import Kind, Step, step_of

#: The comment that names, above an element's line, what a recipe cannot say of it.
CODES_PREFIX = "# not expressible in a recipe: "
_REMOVE_ALL = Step(RecipeLine(0, "header", "", "REMOVE", "ALL", None, "REMOVE ALL"),
                   Kind.REMOVE)


@dataclass(frozen=True)
class _Element:
    """The lines written for one element, and the codes of what the recipe cannot say."""

    lines: tuple[str, ...]
    codes: tuple[str, ...]


def export_recipe(profile: Profile, *, universe: Universe | None = None) -> str:
    """The profile as a pydicom/deid recipe (text).

    Parameters
    ----------
    profile
        A loaded profile; its whole chain is expressed.
    universe
        The elements to express (default: the comparison universe of this profile). Pass the
        universe of all compared profiles so that the recipe agrees with the profile on all.
    """
    resolver = resolver_for(profile)
    declared = chain_params(profile)
    allow_list = profile.effective_unlisted() is Unlisted.REMOVE
    baseline = action_key(Action.REMOVE if allow_list else Action.KEEP, {}, declared)
    named = {tag for layer in resolver.layers for tag in layer.by_tag}
    elements: list[_Element] = []
    for tag in sorted(set(universe_tags(universe or comparison_universe([profile])))):
        vr = _vr(tag)
        decision = resolver.decide(tag, vr)
        if tag in named or action_key(decision.action, decision.params, declared,
                                      vr) != baseline:
            elements.append(_element(element_field(tag), vr, decision.action, decision.params,
                                     declared, allow_list))
    elements += _private_elements(resolver, declared, allow_list)
    body = ["REMOVE ALL"] if allow_list else []
    body += [line for element in elements for line in element.lines]
    return "\n".join([*_header(profile, declared, elements), "FORMAT dicom", "", "%header", "",
                      *body]) + "\n"


def _vr(tag: int) -> str:
    info = info_for_tag(tag)
    return info.vr.split(" or ")[0] if info and info.vr else "UN"


def line_action(text: str, allow_list: bool) -> tuple[Action, Mapping[str, Any]]:
    """What one exported line alone does to its element, replayed as pydicom/deid runs it
    (after ``REMOVE ALL`` when ``allow_list``)."""
    parts = split_line(text)
    line = RecipeLine(0, "header", "", parts[0], parts[1], " ".join(parts[2:]) or None, text)
    outcome = fold([_REMOVE_ALL, step_of(line)] if allow_list else [step_of(line)])
    return outcome.action, outcome.params


def _element(field: str, vr: str, action: Action, params: Mapping[str, Any],
             declared: Mapping[str, str], allow_list: bool) -> _Element:
    """The line for what deid does to one element; where the line alone imports differently,
    deid's action in a ``# deid {...}`` comment and the codes of the reason above it."""
    action, params = canonical(action, params, vr)
    text = line_text(field, vr, action, params, declared, allow_list)
    got, got_params = line_action(text, allow_list)
    if action_key(got, got_params, declared, vr) == action_key(action, params, declared, vr):
        return _Element((text,), ())
    codes = not_expressible(action, params, vr, declared, allow_list) or (NEAREST,)
    return _Element((annotation_comment(action, params), CODES_PREFIX + ", ".join(codes), text),
                    codes)


def _private_elements(resolver: Resolver, declared: Mapping[str, str],
                      allow_list: bool) -> list[_Element]:
    """Rules for one element of a private creator's block, as ``(gggg,"Creator",ee)``."""
    out: dict[str, _Element] = {}
    for layer in resolver.layers:
        for rule in layer.private_elements:
            pattern, creator = rule.matcher.pattern, rule.matcher.creator
            field = private_field(pattern.text, creator) if pattern and creator else None
            if field is not None:
                out.setdefault(field, _element(field, "UN", rule.action, rule.params, declared,
                                               allow_list))
    return [out[field] for field in sorted(out)]


def _header(profile: Profile, params: Mapping[str, str], elements: list[_Element]) -> list[str]:
    chain = " <- ".join(member.id for member in profile.chain)
    lines = [
        f"# Exported by deid from profile {profile.id} ({profile.title}); provenance "
        f"{profile.provenance.value}; chain {chain}.",
        "# Each line is what deid does to that element (its action resolved for the element's "
        "VR),",
        "# and the line alone imports back to it. Where a recipe cannot say it, the line is the "
        "nearest",
        "# one, with a comment '# deid {...}' above it recording deid's action and a comment",
        "# 'not expressible in a recipe' naming why. pydicom/deid ignores comments; deid's "
        "import trusts",
        "# a '# deid' comment only where exporting its action gives that same line. Elements "
        "such as",
        "# (60E0,3000) stand for deid's repeating-group patterns.",
    ]
    for code, number in code_counts((element.codes for element in elements),
                                    [*NOT_EXPRESSIBLE, NEAREST]):
        text = NOT_EXPRESSIBLE[code][0] if code in NOT_EXPRESSIBLE else NEAREST_TEXT
        count = f"{number} element" + ("s" if number != 1 else "")
        lines.append(f"# Not expressible in a recipe ({count}): {code}: {text}.")
    for code in settings_not_expressible(profile):
        lines.append(f"# Not expressible in a recipe: {code}: "
                     f"{SETTINGS_NOT_EXPRESSIBLE[code][0]}.")
    blocks = sorted({rule.matcher.creator or "" for member in profile.chain
                     for rule in member.rules if rule.enabled
                     and rule.matcher.kind is MatcherKind.PRIVATE_CREATOR})
    if blocks:
        lines.append("# Whole private creator blocks: " + ", ".join(blocks))
    settings: dict[str, Any] = {"params": dict(params)} if params else {}
    private = profile.effective_private_tags()
    if private is not (PrivatePolicy.REMOVE if profile.effective_unlisted() is Unlisted.REMOVE
                       else PrivatePolicy.KEEP):  # not what the recipe alone gives
        settings["private_tags"] = private.value
    if settings:
        lines.append("# deid-settings " + json.dumps(settings, sort_keys=True))
    return [*lines, ""]
