"""Export a profile as a pydicom/deid recipe that imports back to the same actions.

The whole effective chain is expressed tag by tag over the comparison universe (repeating-group
patterns written for their 16 groups, like the CTP exporter): ``KEEP``, ``REMOVE``, ``BLANK``,
``REPLACE`` with a fixed value, ``REPLACE`` with ``deid_func:dicom_uuid`` for new UIDs and
``JITTER`` for a fixed shift in days. ``unlisted = "remove"`` becomes ``REMOVE ALL`` first.
Where a recipe has only a nearer action (a keyed hash, a pseudonym, a per-patient date shift,
cleaning, rounding, truncation, an empty value under ``REMOVE ALL``), the line is ``REMOVE``,
at least as protective, preceded by a comment ``# deid {...}`` that pydicom/deid ignores and
:func:`deid.recipe.import_recipe` reads back. What a recipe cannot say at all (keeping only safe
private elements, removing private elements: pydicom/deid's ``remove_private`` is an argument,
not a recipe line) is written in a ``# deid-settings {...}`` comment and said in the header.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from deid.ctp.exporter import action_key, chain_params, universe_tags
from deid.outputs.compare import Universe, comparison_universe
from deid.policy.actions import ACTIONS, BINARY_VRS, Action
from deid.policy.dictionary import info_for_tag
from deid.policy.profile_model import MatcherKind, PrivatePolicy, Profile, Unlisted
from deid.policy.resolver import resolver_for
from deid.recipe.fields import keyword_tag
from deid.recipe.parse import RecipeLine
from deid.recipe.values import default_dummy, step_of
from deid.tags import format_tag
from deid.transform.values import dummy_value


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
    params = chain_params(profile)
    allow_list = profile.effective_unlisted() is Unlisted.REMOVE
    baseline = Action.REMOVE if allow_list else Action.KEEP
    named = {tag for layer in resolver.layers for tag in layer.by_tag}
    body: list[str] = ["REMOVE ALL"] if allow_list else []
    for tag in sorted(set(universe_tags(universe or comparison_universe([profile])))):
        info = info_for_tag(tag)
        vr = info.vr.split(" or ")[0] if info and info.vr else "UN"
        decision = resolver.decide(tag, vr)
        if tag in named or decision.action is not baseline or decision.params:
            body += _lines(_field(tag), vr, decision.action, decision.params, params,
                           allow_list)
    body += _private_lines(profile, params, allow_list)
    return "\n".join([*_header(profile, params), "FORMAT dicom", "", "%header", "", *body]) + "\n"


def _field(tag: int) -> str:
    """The keyword where the dictionary has one that names exactly this tag, else the tag."""
    info = info_for_tag(tag)
    if info and info.keyword and not info.is_pattern and keyword_tag(info.keyword) == tag:
        return info.keyword
    return format_tag(tag)


def _lines(field: str, vr: str, action: Action, params: Mapping[str, Any],
           declared: Mapping[str, str], allow_list: bool) -> list[str]:
    """The recipe line for one element, with a ``# deid`` comment when it is only nearest."""
    text = _nearest(field, vr, action, params, declared, allow_list)
    line = RecipeLine(0, "header", "", text.split()[0], field,
                      text.split(None, 2)[2] if text.count(" ") >= 2 else None, text)
    step = step_of(line)
    got = step.action if step.action is not None else {
        "KEEP": Action.KEEP, "REMOVE": Action.REMOVE, "BLANK": Action.EMPTY}[line.action]
    got_params = default_dummy(got, step.params, vr)
    if action_key(got, got_params, declared) == action_key(action, params, declared):
        return [text]
    spec = ACTIONS[action].params
    record = {"action": action.value, **{key: value for key, value in params.items()
                                         if key in spec and value != spec[key].default}}
    return ["# deid " + json.dumps(record, sort_keys=True), text]


def _nearest(field: str, vr: str, action: Action, params: Mapping[str, Any],
             declared: Mapping[str, str], allow_list: bool) -> str:
    if action is Action.KEEP:
        return f"KEEP {field}"
    if action is Action.EMPTY and not allow_list:
        return f"BLANK {field}"
    if action is Action.DUMMY:
        value = _dummy_text(vr, params, declared)
        if value is not None:
            return f"REPLACE {field} {value}"
    if action is Action.UID and vr == "UI":
        return f"REPLACE {field} deid_func:dicom_uuid"
    if action is Action.SHIFT_DATE and params.get("days"):
        return f"JITTER {field} {int(params['days'])}"
    return f"REMOVE {field}"


def _dummy_text(vr: str, params: Mapping[str, Any], declared: Mapping[str, str]) -> str | None:
    """The fixed text a dummy writes, when a recipe line can carry it."""
    if vr in BINARY_VRS or vr in ("SQ", "UI", "AT", "UN"):
        return None
    text = str(params.get("value") or dummy_value(vr))
    for name, value in declared.items():
        text = text.replace("{" + name + "}", value)
    if (not text.strip() or "#" in text or "{" in text or text != text.strip()
            or text.split(":")[0] in ("var", "func", "deid_func")):
        return None
    return text


def _private_lines(profile: Profile, declared: Mapping[str, str],
                   allow_list: bool) -> list[str]:
    """Rules for one element of a private creator's block, as ``(gggg,"Creator",ee)``."""
    out: dict[str, list[str]] = {}
    for layer in resolver_for(profile).layers:
        for rule in layer.private_elements:
            pattern, creator = rule.matcher.pattern, rule.matcher.creator
            if pattern is None or creator is None or '"' in creator or pattern.text[6:8] != "xx":
                continue
            field = f'({pattern.text[1:5]},"{creator}",{pattern.text[8:10]})'
            out.setdefault(field, _lines(field, "UN", rule.action, rule.params, declared,
                                         allow_list))
    return [line for field in sorted(out) for line in out[field]]


def _header(profile: Profile, params: Mapping[str, str]) -> list[str]:
    chain = " <- ".join(member.id for member in profile.chain)
    private = profile.effective_private_tags()
    unlisted = profile.effective_unlisted()
    lines = [
        f"# Exported by deid from profile {profile.id} ({profile.title}); provenance "
        f"{profile.provenance.value}; chain {chain}.",
        "# Each line is deid's decision for that element. Where a recipe has only a nearer "
        "action,",
        "# the line is REMOVE and the comment '# deid {...}' above it records deid's action "
        "(pydicom/deid",
        "# ignores comments). Elements such as (60E0,3000) stand for deid's repeating-group "
        "patterns.",
    ]
    settings: dict[str, Any] = {"params": dict(params)} if params else {}
    if private is not PrivatePolicy.KEEP and unlisted is not Unlisted.REMOVE:
        settings["private_tags"] = private.value
        lines.append("# Private elements: run pydicom/deid with remove_private=True "
                     "(replace_identifiers); a recipe line cannot say it."
                     + (" Keeping only safe private attributes (PS3.15 E.3.10-1) is not "
                        "expressible." if private is PrivatePolicy.SAFE else ""))
    if private is not PrivatePolicy.REMOVE and unlisted is Unlisted.REMOVE:
        settings["private_tags"] = private.value
        lines.append("# Not expressible: private elements kept while every other element is "
                     "removed (REMOVE ALL removes private elements too).")
    blocks = sorted({rule.matcher.creator or "" for member in profile.chain
                     for rule in member.rules if rule.enabled
                     and rule.matcher.kind is MatcherKind.PRIVATE_CREATOR})
    if blocks:
        lines.append("# Not expressible (whole private creator blocks): " + ", ".join(blocks))
    if settings:
        lines.append("# deid-settings " + json.dumps(settings, sort_keys=True))
    return [*lines, ""]

