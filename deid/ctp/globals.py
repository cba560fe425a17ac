"""CTP's global commands (``<r>``, ``<k>``) and built-in behaviour, as profile settings and rules.

As ``DICOMAnonymizer.processElements`` applies them: private groups are removed unless scripted
(``privategroups``), or kept when safe (``safeprivateelements``); unscripted elements are removed
(``unspecifiedelements``), except kept groups (``<k t="gggg">``), groups 0002, 0028 and 7FE0,
SOPClassUID, SOPInstanceUID and StudyInstanceUID, and overlays or curves whose removal is off;
``overlays`` removes groups 60xx even when scripted; ``curves`` removes groups 50xx.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from deid.ctp.functions import Problem
from deid.ctp.profile_text import RuleText
from deid.ctp.script import CtpScript, ScriptItem
from deid.ctp.sources import SOURCE_PREFIX
from deid.policy.actions import Action
from deid.tags import format_tag

REMOVE_TARGETS = ("privategroups", "unspecifiedelements", "overlays", "curves")
SAFE_PRIVATE = "safeprivateelements"
CURVES = "(50xx,xxxx)"
OVERLAYS = "(60xx,xxxx)"
BUILTIN_SOURCE = "CTP DicomAnonymizer (built-in behaviour)"
#: Groups and elements CTP keeps whatever the script says about unscripted elements.
BUILTIN_GROUPS = ((0x0002, "the file meta information"), (0x0028, "the image description"),
                  (0x7FE0, "the pixel data"))
BUILTIN_TAGS = ((0x00080016, "SOPClassUID"), (0x00080018, "SOPInstanceUID"),
                (0x0020000D, "StudyInstanceUID"))


@dataclass(frozen=True)
class Globals:
    """The script's global commands, as CTP reads them (the last of each kind wins)."""

    remove_private: bool = False
    remove_unspecified: bool = False
    remove_overlays: bool = False
    remove_curves: bool = False
    keep_safe_private: bool = False
    keep_groups: tuple[int, ...] = ()
    unlisted_source: str = ""
    private_source: str = ""

    @property
    def private_policy(self) -> str:
        """``remove``, ``safe`` or ``keep``: what happens to unscripted private elements."""
        if self.remove_private or self.remove_unspecified:
            return "safe" if self.keep_safe_private else "remove"
        return "keep"


def read_globals(script: CtpScript, note: Callable[[Problem], None]) -> Globals:
    """Read the ``<r>`` and ``<k>`` commands, reporting those CTP does not know."""
    flags = {target: False for target in (*REMOVE_TARGETS, SAFE_PRIVATE)}
    raws: dict[str, str] = {}
    groups: list[int] = []
    for item in (*script.of_kind("r"), *script.of_kind("k")):
        target = item.target
        if item.kind == "k" and target.startswith("safe"):
            target = SAFE_PRIVATE
        elif item.kind == "k":
            group = _group(target)
            if group is None:
                note(Problem("unknown-command", "warning", f"{item.raw}: not a group (gggg) "
                             "nor safeprivateelements; ignored"))
            elif item.enabled:
                groups.append(group)
            continue
        if target not in flags:
            note(Problem("unknown-command", "warning", f"{item.raw}: CTP knows no such "
                         "command; ignored"))
            continue
        if item.enabled or not flags[target]:
            raws[target] = item.raw
        flags[target] = flags[target] or item.enabled
    unlisted = raws.get("unspecifiedelements", "no <r t=\"unspecifiedelements\">")
    private = " ".join(raws.get(key, "") for key in ("privategroups", SAFE_PRIVATE)).strip()
    return Globals(flags["privategroups"], flags["unspecifiedelements"], flags["overlays"],
                   flags["curves"], flags[SAFE_PRIVATE], tuple(dict.fromkeys(groups)),
                   f"{SOURCE_PREFIX}{script.name}: {unlisted}",
                   f"{SOURCE_PREFIX}{script.name}: {private or 'no private-group commands'}")


def _group(target: str) -> int | None:
    return int(target, 16) if re.fullmatch(r"[0-9A-Fa-f]{1,4}", target) else None


def global_rules(script: CtpScript, flags: Globals) -> list[RuleText]:
    """Pattern rules of ``<r t="curves|overlays">`` and ``<k t="gggg">`` (enabled or not)."""
    commands: dict[str, list[ScriptItem]] = {}
    for item in (*script.of_kind("r"), *script.of_kind("k")):
        pattern = _command(item.kind, item.target)[0]
        if pattern is not None:
            commands.setdefault(pattern, []).append(item)
    rules = []
    for pattern, items in commands.items():
        enabled = [item for item in items if item.enabled]
        item = (enabled or items)[0]
        _, action, what = _command(item.kind, item.target)
        verdict = "" if enabled else "Disabled in the script (CTP does not run it). "
        rules.append(RuleText((("pattern", pattern),), action, {},
                              f"{verdict}CTP {what}. Mapped to {action.value}.",
                              f"{SOURCE_PREFIX}{script.name}: {item.raw}", bool(enabled)))
    return rules


def _command(kind: str, target: str) -> tuple[str | None, Action, str]:
    if kind == "r" and target == "curves":
        return CURVES, Action.REMOVE, "removes curves (groups 50xx)"
    if kind == "r" and target == "overlays":
        return OVERLAYS, Action.REMOVE, "removes overlays (groups 60xx), even scripted ones"
    group = _group(target) if kind == "k" else None
    if group is None:
        return None, Action.KEEP, ""
    return (f"({group:04X},xxxx)", Action.KEEP,
            f"keeps group {group:04X} unless an element script says otherwise")


def builtin_rules(flags: Globals, scripted: set[int]) -> list[RuleText]:
    """What CTP keeps on its own when it removes unscripted elements."""
    if not flags.remove_unspecified:
        return []
    rules = []
    kept = [(group, what) for group, what in BUILTIN_GROUPS if group not in flags.keep_groups]
    kept += [(0x6000, "overlays")] if not flags.remove_overlays else []
    kept += [(0x5000, "curves")] if not flags.remove_curves else []
    for group, what in kept:
        pattern = f"({group >> 8:02X}xx,xxxx)" if group in (0x5000, 0x6000) else (
            f"({group:04X},xxxx)")
        rules.append(_builtin((("pattern", pattern),), f"keeps {what} (group {pattern[1:5]}) "
                              "unless an element script says otherwise"))
    for tag, keyword in BUILTIN_TAGS:
        if tag not in scripted:
            rules.append(_builtin((("tag", format_tag(tag)),), f"keeps {keyword} unless an "
                                  "element script says otherwise"))
    return rules


def _builtin(matcher: tuple[tuple[str, str], ...], what: str) -> RuleText:
    return RuleText(matcher, Action.KEEP, {}, f"CTP always {what}, even when unspecified "
                    "elements are removed. Mapped to keep.", BUILTIN_SOURCE)
