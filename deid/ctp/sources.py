"""Rule sources that quote a CTP script element, and the problems found by re-reading them.

An imported rule's ``source`` is ``CTP <script name>: <the original element>``. The linter reads
the element back and maps it again, so unknown functions, unparsable scripts, undeclared
parameters and VR mismatches are reported from the profile file alone.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from deid.ctp.annotation import judge_annotation
from deid.ctp.arguments import Context, element_vr, is_secret_param, secret_name
from deid.ctp.expressions import map_element, written_text
from deid.ctp.functions import Problem
from deid.ctp.script import annotation_text
from deid.policy.actions import Action
from deid.policy.dictionary import info_for_tag
from deid.policy.profile_model import MatcherKind, Rule
from deid.policy.vr_values import values_problem

SOURCE_PREFIX = "CTP "
_SOURCE_RE = re.compile(r"^CTP (?P<script>.+?): (?P<raw><e\b.*)$", re.DOTALL)
_PARAM_REF_RE = re.compile(r"[@$]([A-Za-z_][A-Za-z0-9_]*)")
_DOWNGRADE = {"error": "warning", "warning": "info", "info": "info"}


def element_source(script: str, raw: str) -> str:
    """The ``source`` of a rule imported from element ``raw`` of ``script``."""
    return f"{SOURCE_PREFIX}{script}: {raw}"


@dataclass(frozen=True, slots=True)
class QuotedElement:
    """A CTP element quoted in a rule source."""

    script: str
    enabled: bool
    expression: str
    annotation: str | None


def quoted_element(source: str) -> QuotedElement | None:
    """The element a rule source quotes, or ``None`` if it quotes none (or is unreadable)."""
    match = _SOURCE_RE.match(source)
    if not match:
        return None
    raw = match.group("raw")
    try:
        element = ET.fromstring(raw)
    except ET.ParseError:
        return None
    return QuotedElement(match.group("script"), element.get("en") == "T",
                         "".join(element.itertext()), annotation_text(raw))


def context_for(expression: str, tag: int | None, params: Mapping[str, str]) -> Context:
    """A mapping context: declared parameters, and secret-looking parameters as secrets."""
    secrets = {name: secret_name(name) for name in _PARAM_REF_RE.findall(expression)
               if is_secret_param(name) and name not in params}
    return Context(tag, element_vr(tag), MappingProxyType(dict(params)),
                   MappingProxyType(secrets))


def rule_problems(rule: Rule, params: Mapping[str, str]) -> list[Problem]:
    """Problems of the CTP element a rule quotes; milder when CTP does not run it. An element
    with a trusted ``deid`` comment was imported from the comment, not the script: its
    script's own problems are not the rule's."""
    quoted = quoted_element(rule.source)
    if quoted is None:
        return []
    tag = rule.matcher.tag if rule.matcher.kind is MatcherKind.TAG else None
    problems: list[Problem] = []
    if quoted.annotation is not None:
        judgement = judge_annotation(quoted.annotation, quoted.expression, tag, params,
                                     element_label(rule))
        if judgement.trusted is not None:
            return []
        problems += [judgement.problem] if judgement.problem else []
    ctx = context_for(quoted.expression, tag, params)
    mapped = map_element(quoted.expression, ctx)
    problems += mapped.problems
    if mapped.action is not Action.DUMMY:  # a dummy's value is checked on the rule itself
        problems += written_value_problems(quoted.expression, ctx)
    active = rule.enabled and quoted.enabled
    return [problem if active else Problem(problem.code, _DOWNGRADE[problem.severity],
                                           problem.message + " (the element is disabled)")
            for problem in problems]


def element_label(rule: Rule) -> str:
    """The element a rule names, as a finding names it: ``PatientName (0010,0010)``."""
    tag = rule.matcher.tag if rule.matcher.kind is MatcherKind.TAG else None
    info = info_for_tag(tag) if tag is not None else None
    described = rule.matcher.describe()
    return f"{info.keyword} {described}" if info and info.keyword else described


def written_value_problems(expression: str, ctx: Context) -> list[Problem]:
    """The text CTP writes into the element, when the script fixes it, if the VR forbids it
    (e.g. a call CTP does not define, which it copies as text into a date)."""
    text = written_text(expression, ctx)
    if text is None or not text or ctx.vr is None:
        return []
    problem = values_problem(ctx.vr, text)
    if problem is None:
        return []
    keyword = info.keyword if ctx.tag is not None and (info := info_for_tag(ctx.tag)) else ""
    where = f"{keyword} ({ctx.vr})" if keyword else f"an element of VR {ctx.vr}"
    return [Problem("value-invalid-for-vr", "error", f"CTP writes {text!r} into {where}: "
                    f"{problem}")]
