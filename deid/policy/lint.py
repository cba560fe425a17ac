"""Lint profiles: what a reviewer should know before trusting one.

:func:`lint_profile` runs every check of :data:`CHECKS` and returns :class:`LintFinding` rows,
errors first. Codes:

- ``unknown-function``, ``unparsable-expression``, ``suspicious-literal``,
  ``unmappable-function``, ``secret-parameter``: read back from CTP elements quoted in sources.
- ``annotation-mismatch`` (error): a CTP element carries a ``<!--deid {...}-->`` comment whose
  action does not export to the element's script (:mod:`deid.ctp.annotation`), or a recipe line
  stands under a ``# deid {...}`` comment whose action does not export to that line
  (:mod:`deid.recipe.annotation`): the comment is not trusted and the script or line is
  imported; ``unreadable-annotation`` (warning): the comment is not readable.
- ``not-representable``: read back from pydicom/deid recipe lines quoted in sources (field
  expressions expanded over the dictionary, values supplied at run time).
- ``undeclared-parameter``: a template, input or root names a parameter ``[params]`` lacks (or a
  CTP element uses ``@NAME`` without ``<p t="NAME">``); ``empty-parameter``: a parameter used by
  a rule has no value.
- ``tag-not-in-dictionary``: a standard tag pydicom's dictionary lacks (``info`` for PS3.15
  Table E.1-1 attributes newer than the dictionary, ``warning`` otherwise).
- ``contradictory-rules``: a tag rule overrides a pattern rule of the same profile with another
  action; or a rule keeps an attribute the Basic Profile modifies that no enabled option
  retains, while the output claims the Basic Profile.
- ``action-invalid-for-vr``: an action the element's VR does not allow (the engine removes the
  element instead), or a CTP function mapped to another action for that reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from deid.ctp.exporter import chain_params
from deid.ctp.globals import BUILTIN_SOURCE
from deid.ctp.sources import rule_problems
from deid.policy.actions import ACTIONS, ALL_VRS, Action
from deid.policy.dictionary import DICTIONARY_SOURCE, dictionary_entries, info_for_tag
from deid.policy.profile_model import MatcherKind, Profile, Rule, Unlisted
from deid.policy.resolver import options_layer
from deid.policy.standard import table_e1_1
from deid.policy.vr_values import MAX_LENGTH, values_problem
from deid.recipe.sources import problems_of_line, quoted_line
from deid.tags import format_tag, is_private_group, parse_tag

SEVERITIES = ("error", "warning", "info")
_FIELD_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::\d+)?\}")
_BUILTINS = {"value", "patient", "hash"}
_EXAMPLES = 3
_TAG_RE = re.compile(r"^\([0-9A-F]{4},[0-9A-F]{4}\)$")
_TEMPLATE_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::(\d+))?\}")
_DIGEST_HEX = {"sha256": 64, "sha512": 128, "sha512_256": 64, "sha384": 96, "sha3_256": 64,
               "blake2b": 128}


@dataclass(frozen=True, slots=True)
class LintFinding:
    """One finding: which profile and rule (1-based, ``None`` for the profile), how serious
    (``error``, ``warning``, ``info``), a stable code, and a message saying what to do."""

    profile_id: str
    rule: int | None
    severity: str
    code: str
    message: str


Check = Callable[[Profile], Iterator[LintFinding]]


def lint_profile(profile: Profile) -> list[LintFinding]:
    """Every finding of every check, errors first, then by rule number."""
    findings = [finding for check in CHECKS.values() for finding in check(profile)]
    return sorted(findings, key=lambda f: (SEVERITIES.index(f.severity), f.rule or 0, f.code,
                                           f.message))


def _ctp_sources(profile: Profile) -> Iterator[LintFinding]:
    for rule in profile.rules:
        for problem in rule_problems(rule, profile.params):
            yield LintFinding(profile.id, rule.number, problem.severity, problem.code,
                              problem.message)


def _templates(rule: Rule) -> Iterator[tuple[str, str]]:
    for key in ("value", "input", "root", "template"):
        value = rule.params.get(key)
        if isinstance(value, str):
            for name in _FIELD_RE.findall(value):
                yield key, name


def _parameters(profile: Profile) -> Iterator[LintFinding]:
    used: dict[str, int] = {}
    for rule in profile.rules:
        for key, name in _templates(rule):
            if name in _BUILTINS and key in ("input", "template"):
                continue
            if name not in profile.params:
                yield LintFinding(profile.id, rule.number, "error", "undeclared-parameter",
                                  f"{key} uses {{{name}}} but [params] declares no {name}")
            elif rule.enabled:
                used.setdefault(name, rule.number)
    for name, number in sorted(used.items()):
        if not profile.params[name].strip():
            yield LintFinding(profile.id, number, "info", "empty-parameter",
                              f"parameter {name} is empty: set it in [params] before use "
                              f"(first used by rule {number})")


def _dictionary(profile: Profile) -> Iterator[LintFinding]:
    newer = {row.tag for row in table_e1_1()}
    for rule in profile.rules:
        tag = rule.matcher.tag
        if rule.matcher.kind is not MatcherKind.TAG or tag is None or is_private_group(tag):
            continue
        if info_for_tag(tag) is None:
            text = format_tag(tag)
            if text in newer:
                yield LintFinding(profile.id, rule.number, "info", "tag-not-in-dictionary",
                                  f"{text} is in PS3.15 Table E.1-1 but newer than the data "
                                  "dictionary (VR unknown; not checked)")
            else:
                yield LintFinding(profile.id, rule.number,
                                  "warning" if rule.enabled else "info",
                                  "tag-not-in-dictionary", f"{text} is not in the "
                                  f"{DICTIONARY_SOURCE}: check the tag")


def _vrs(profile: Profile) -> Iterator[LintFinding]:
    for rule in profile.rules:
        allowed = ACTIONS[rule.action].vrs
        if rule.matcher.kind is MatcherKind.TAG and rule.matcher.tag is not None:
            info = info_for_tag(rule.matcher.tag)
            bad = [vr for vr in (info.vr.split(" or ") if info else [])
                   if vr in ALL_VRS and vr not in allowed]
            if bad:
                yield _vr_finding(profile, rule, f"{format_tag(rule.matcher.tag)} may have VR "
                                  f"{' or '.join(bad)}")
        elif rule.matcher.kind is MatcherKind.PATTERN and rule.matcher.pattern is not None:
            pattern = rule.matcher.pattern
            bad = [info.tag for info in dictionary_entries() if not info.is_pattern
                   and pattern.matches(int(info.tag[1:5] + info.tag[6:10], 16))
                   and info.vr.split(" or ")[0] in ALL_VRS
                   and info.vr.split(" or ")[0] not in allowed]
            if bad and rule.action is not Action.KEEP:
                yield _vr_finding(profile, rule, f"{pattern} covers {len(bad)} dictionary "
                                  f"elements whose VR it does not fit, e.g. "
                                  f"{', '.join(bad[:_EXAMPLES])}")


def _vr_finding(profile: Profile, rule: Rule, what: str) -> LintFinding:
    return LintFinding(profile.id, rule.number, "warning" if rule.enabled else "info",
                       "action-invalid-for-vr", f"{rule.action.value}: {what}; the engine "
                       "removes such elements instead")


def _overridden_patterns(profile: Profile) -> Iterator[LintFinding]:
    rules = [rule for rule in profile.rules if rule.enabled and rule.source != BUILTIN_SOURCE]
    tags = [rule for rule in rules if rule.matcher.kind is MatcherKind.TAG]
    for pattern_rule in rules:
        pattern = pattern_rule.matcher.pattern
        if pattern_rule.matcher.kind is not MatcherKind.PATTERN or pattern is None:
            continue
        against = [rule for rule in tags if rule.matcher.tag is not None
                   and pattern.matches(rule.matcher.tag) and rule.action is not
                   pattern_rule.action]
        if against:
            examples = ", ".join(f"{format_tag(rule.matcher.tag or 0)} {rule.action.value}"
                                 for rule in against[:_EXAMPLES])
            yield LintFinding(profile.id, pattern_rule.number, "warning",
                              "contradictory-rules", f"{pattern} {pattern_rule.action.value} "
                              f"is overridden by {len(against)} tag rules with other actions "
                              f"(e.g. {examples}): check which one is meant")


def _basic_profile_kept(profile: Profile) -> Iterator[LintFinding]:
    if not profile.uses_standard_table():
        return
    options = profile.all_options()
    retained = options_layer(options).by_tag if options else {}
    for row in table_e1_1():
        if row.basic_profile == "K" or not _TAG_RE.match(row.tag):
            continue
        tag = parse_tag(row.tag)
        if tag in retained:
            continue
        rule = next((rule for rule in profile.rules if rule.enabled and rule.matcher.kind is
                     MatcherKind.TAG and rule.matcher.tag == tag), None)
        if rule is not None and rule.action is Action.KEEP:
            yield LintFinding(profile.id, rule.number, "warning", "contradictory-rules",
                              f"keeps {row.tag} {row.attribute_name}, which the Basic Profile "
                              f"changes ({row.basic_profile}) and no enabled option retains, "
                              "while the output claims the Basic Profile (CID 7050 113100)")


def _recipe_sources(profile: Profile) -> Iterator[LintFinding]:
    """What a quoted pydicom/deid recipe line says that the rules cannot, and ``# deid``
    comments the line contradicts (once per line)."""
    seen: set[tuple[str, int, str]] = set()
    declared = chain_params(profile)
    allow_list = profile.effective_unlisted() is Unlisted.REMOVE
    for rule in profile.rules:
        quoted = quoted_line(rule.source)
        if quoted is None:
            continue
        for severity, code, message in problems_of_line(quoted.line, declared, allow_list):
            if (quoted.label, quoted.number, message) not in seen:
                seen.add((quoted.label, quoted.number, message))
                yield LintFinding(profile.id, rule.number, severity, code, message)


def _values(profile: Profile) -> Iterator[LintFinding]:
    """Values a rule writes that its element's VR cannot hold (or that the engine must cut)."""
    params = chain_params(profile)
    for rule in profile.rules:
        vr = _rule_vr(rule)
        if not rule.enabled or vr is None or (vr not in MAX_LENGTH and vr not in ("UC", "UT")):
            continue
        where = _rule_target(rule, vr)
        if rule.action is Action.DUMMY and rule.params.get("value"):
            text = _FIELD_RE.sub(lambda m: params.get(m.group(1), ""), rule.params["value"])
            problem = values_problem(vr, text)
            if problem:
                yield LintFinding(profile.id, rule.number, "error", "value-invalid-for-vr",
                                  f"dummy writes {text!r} into {where}: {problem}")
        elif rule.action in (Action.HASH, Action.PSEUDONYM):
            length = len(_generated_sample(rule, params))
            limit = MAX_LENGTH.get(vr, 0)
            if limit and length > limit:
                yield LintFinding(profile.id, rule.number, "warning", "value-invalid-for-vr",
                                  f"{rule.action.value} writes {length} characters into "
                                  f"{where}, which allows {limit}: the engine cuts the value "
                                  "to fit (collisions become likelier); a CTP export would "
                                  "write an invalid value")


def _rule_vr(rule: Rule) -> str | None:
    if rule.matcher.kind is MatcherKind.VR:
        return rule.matcher.vr
    if rule.matcher.kind is MatcherKind.TAG and rule.matcher.tag is not None:
        info = info_for_tag(rule.matcher.tag)
        return info.vr.split(" or ")[0] if info and info.vr else None
    return None


def _rule_target(rule: Rule, vr: str) -> str:
    info = info_for_tag(rule.matcher.tag) if rule.matcher.tag is not None else None
    return f"{info.keyword} ({vr})" if info and info.keyword else f"elements of VR {vr}"


def _generated_sample(rule: Rule, params: dict[str, str]) -> str:
    """A value of the length and alphabet the rule's hash or pseudonym writes."""
    full = _DIGEST_HEX[rule.params.get("algorithm", "sha256")]
    length = rule.params.get("length", 0) or full
    if rule.action is Action.HASH:
        return str(rule.params.get("prefix", "")) + "f" * length

    def field(match: re.Match[str]) -> str:
        name, width = match.group(1), match.group(2)
        text = "f" * full if name in ("hash", "patient") else params.get(name, "")
        return text[: int(width)] if width else text

    return _TEMPLATE_RE.sub(field, str(rule.params["template"]))


#: The checks, by name (each yields findings for one profile).
CHECKS: dict[str, Check] = {
    "ctp-sources": _ctp_sources,
    "parameters": _parameters,
    "dictionary": _dictionary,
    "vr": _vrs,
    "overridden-patterns": _overridden_patterns,
    "basic-profile-kept": _basic_profile_kept,
    "values": _values,
    "recipe-sources": _recipe_sources,
}
