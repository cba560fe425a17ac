"""Write profile TOML text deterministically (the format :mod:`deid.policy.profile_loader`
reads)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from deid.policy.actions import ACTIONS, Action

_BARE_KEY_RE = re.compile(r"^[A-Za-z0-9_-]+$")


def toml_string(text: str) -> str:
    """A TOML basic string (JSON escaping, plus DEL, which TOML also forbids raw)."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def toml_value(value: Any) -> str:
    """A TOML scalar: string, integer, float or boolean."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    return toml_string(str(value))


def toml_key(key: str) -> str:
    """A bare key when allowed, else a quoted one."""
    return key if _BARE_KEY_RE.match(key) else toml_string(key)


@dataclass(frozen=True)
class RuleText:
    """One ``[[rules]]`` entry as written: matcher, action, parameters, reason and source."""

    matcher: tuple[tuple[str, str], ...]
    action: Action
    params: Mapping[str, Any]
    reason: str
    source: str
    enabled: bool = True
    comment: str = ""
    decided_by: str = ""
    agreeing_profiles: tuple[str, ...] = ()

    def lines(self) -> list[str]:
        """The TOML lines of this rule (parameters equal to their default are left out)."""
        out = [f"# {line}" for line in self.comment.splitlines()]
        out.append("[[rules]]")
        out += [f"{key} = {toml_string(value)}" for key, value in self.matcher]
        out.append(f"action = {toml_string(self.action.value)}")
        for key, spec in ACTIONS[self.action].params.items():
            if key in self.params and self.params[key] != spec.default:
                out.append(f"{key} = {toml_value(self.params[key])}")
        if not self.enabled:
            out.append("enabled = false")
        if self.decided_by:
            out.append(f"decided_by = {toml_string(self.decided_by)}")
        if self.agreeing_profiles:
            listed = ", ".join(toml_string(p) for p in self.agreeing_profiles)
            out.append(f"agreeing_profiles = [{listed}]")
        out.append(f"reason = {toml_string(self.reason)}")
        out.append(f"source = {toml_string(self.source)}")
        return out


@dataclass
class ProfileText:
    """A whole profile file: header comments, top-level keys, ``[params]`` and rules."""

    header: list[str]
    top: list[tuple[str, Any, str]]  # key, value, comment written above it
    params: Mapping[str, str]
    rules: list[RuleText] = field(default_factory=list)

    def render(self) -> str:
        """The file text, ending with a newline."""
        out = [f"# {line}" if line else "#" for line in self.header]
        for key, value, comment in self.top:
            out += [f"# {line}" for line in comment.splitlines()]
            out.append(f"{key} = {toml_value(value)}")
        if self.params:
            out += ["", "[params]"]
            out += [f"{toml_key(key)} = {toml_string(value)}"
                    for key, value in self.params.items()]
        for rule in self.rules:
            out += ["", *rule.lines()]
        return "\n".join(out) + "\n"


def comment_lines(text: str, width: int = 96) -> Iterable[str]:
    """Wrap ``text`` into comment-sized lines."""
    words = text.split()
    line = ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            yield line
            line = word
        else:
            line = f"{line} {word}" if line else word
    if line:
        yield line
