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

from deid.ctp.arguments import Context, is_secret_param, secret_name
from deid.ctp.expressions import map_element
from deid.ctp.functions import Problem
from deid.policy.dictionary import info_for_tag
from deid.policy.profile_model import MatcherKind, Rule

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
    annotated: bool


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
                         "".join(element.itertext()), "<!--" in raw and "deid" in raw)


def element_vr(tag: int | None) -> str | None:
    """The dictionary VR of a tag (the first of ``US or SS``), ``None`` when unknown."""
    info = info_for_tag(tag) if tag is not None else None
    return info.vr.split(" or ")[0] if info and info.vr else None


def context_for(expression: str, tag: int | None, params: Mapping[str, str]) -> Context:
    """A mapping context: declared parameters, and secret-looking parameters as secrets."""
    secrets = {name: secret_name(name) for name in _PARAM_REF_RE.findall(expression)
               if is_secret_param(name) and name not in params}
    return Context(tag, element_vr(tag), MappingProxyType(dict(params)),
                   MappingProxyType(secrets))


def rule_problems(rule: Rule, params: Mapping[str, str]) -> list[Problem]:
    """Problems of the CTP element a rule quotes; milder when CTP does not run it."""
    quoted = quoted_element(rule.source)
    if quoted is None or quoted.annotated:
        return []
    tag = rule.matcher.tag if rule.matcher.kind is MatcherKind.TAG else None
    mapped = map_element(quoted.expression, context_for(quoted.expression, tag, params))
    active = rule.enabled and quoted.enabled
    return [problem if active else Problem(problem.code, _DOWNGRADE[problem.severity],
                                           problem.message + " (the element is disabled)")
            for problem in mapped.problems]
