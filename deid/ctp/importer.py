"""Import a CTP DicomAnonymizer script as a profile: TOML text, the loaded profile, findings.

Every ``<e>`` becomes a rule (``enabled = false`` when CTP does not run it) quoting the original
element in ``source``; ``<r>`` and ``<k>`` become the private policy, ``unlisted`` and pattern
rules; ``<p>`` parameters become ``[params]``, except secrets, which become secret names.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from deid.ctp.annotation import judge_annotation
from deid.ctp.arguments import Context, element_tag, is_secret_param, secret_name
from deid.ctp.expressions import map_element
from deid.ctp.functions import EXACT, Mapped, Problem
from deid.ctp.globals import Globals, builtin_rules, global_rules, read_globals
from deid.ctp.profile_text import ProfileText, RuleText, comment_lines
from deid.ctp.script import CtpScript, ScriptItem, parse_script
from deid.ctp.sources import context_for, element_source
from deid.policy.actions import Action
from deid.policy.profile_loader import load_profile_text
from deid.policy.profile_model import Profile
from deid.tags import format_tag

if TYPE_CHECKING:
    from deid.policy.lint import LintFinding

_PARAM_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PRIVATE_TARGET_RE = re.compile(r"^([0-9A-Fa-f]{4}),?\[(.+)\]([0-9A-Fa-f]{2})$")
_OVERLAY = 0x6000


@dataclass(frozen=True)
class CtpImport:
    """The result of importing a script: the profile file text, the profile, and findings."""

    toml_text: str
    profile: Profile
    findings: tuple[LintFinding, ...]


@dataclass(frozen=True)
class _Note:
    """A finding of the import itself (not re-derivable from the profile file)."""

    rule: int | None
    problem: Problem


def import_ctp_script(text: str, *, profile_id: str, name: str, title: str | None = None,
                      provenance: str = "user") -> CtpImport:
    """Import a CTP DicomAnonymizer script.

    Parameters
    ----------
    text
        The script (XML).
    profile_id
        The new profile's id.
    name
        The script's name, quoted in every rule's ``source`` (e.g. ``"anon.script"``).
    title
        The profile title (default: ``CTP script <name>``).
    provenance
        ``user`` (default), or ``published-script`` for a published script.

    Raises
    ------
    CtpScriptError
        The text is not a readable script.
    ProfileError
        The result is not a valid profile (e.g. a bad ``profile_id``).
    """
    from deid.policy.lint import LintFinding, lint_profile  # deid.policy.lint reads CTP sources

    toml_text, profile, notes = build_profile(text, profile_id=profile_id, name=name,
                                              title=title, provenance=provenance)
    findings = [LintFinding(profile.id, note.rule, note.problem.severity, note.problem.code,
                            note.problem.message) for note in notes]
    return CtpImport(toml_text, profile, tuple(findings + lint_profile(profile)))


def build_profile(text: str, *, profile_id: str, name: str, title: str | None = None,
                  provenance: str = "user") -> tuple[str, Profile, list[_Note]]:
    """The profile text, the loaded profile and the import's own notes (no linting)."""
    script = parse_script(text, name)
    document, notes = _Importer(script).build(profile_id, title or f"CTP script {name}",
                                              provenance)
    toml_text = document.render()
    profile = load_profile_text(toml_text, name=f"{profile_id}.toml (imported from {name})")
    return toml_text, profile, notes


class _Importer:
    """Builds the profile text of one script."""

    def __init__(self, script: CtpScript) -> None:
        self.script = script
        self.notes: list[_Note] = []
        self.params: dict[str, str] = {}
        self.secrets: dict[str, str] = {}
        self._read_params()
        self.globals: Globals = read_globals(script, self._note)
        self.elements = {tag: item for item in script.of_kind("e") if item.enabled
                         and (tag := _plain_tag(item.target)) is not None}

    def _note(self, problem: Problem, rule: int | None = None) -> None:
        self.notes.append(_Note(rule, problem))

    def _read_params(self) -> None:
        for item in self.script.of_kind("p"):
            name = item.target
            if not _PARAM_NAME_RE.match(name):
                self._note(Problem("unusable-parameter", "warning", f"{item.raw}: parameter "
                                   "names must be identifiers; not imported"))
            elif is_secret_param(name):
                self.secrets[name] = secret_name(name)
                self._note(Problem("secret-parameter", "info", f"<p t=\"{name}\"> holds a "
                                   f"secret: its value is not written; rules use secret "
                                   f"{secret_name(name)!r}, supplied as DEID_SECRET_"
                                   f"{secret_name(name).upper()}"))
            else:
                self.params[name] = item.text

    def build(self, profile_id: str, title: str, provenance: str
              ) -> tuple[ProfileText, list[_Note]]:
        """The profile text and the import's own findings."""
        rules = [rule for item in self.script.of_kind("e") if (rule := self._element(item))]
        rules = self._resolve_duplicates(rules)
        rules += global_rules(self.script, self.globals)
        rules += builtin_rules(self.globals, set(self.elements))
        for item in self.script.items:
            if item.kind not in ("p", "e", "k", "r"):
                self._note(Problem("unknown-command", "warning", f"<{item.kind}> is not a CTP "
                                   "script command; ignored"))
        document = ProfileText(self._header(), self._top(profile_id, title, provenance),
                               MappingProxyType(self.params), rules)
        return document, self.notes

    def _element(self, item: ScriptItem) -> RuleText | None:
        matcher = _matcher(item.target)
        if matcher is None:
            self._note(Problem("unreadable-tag", "error", f"{item.raw}: t is neither ggggeeee "
                               "nor gggg[BlockID]ee; the element cannot be imported"))
            return None
        tag = _plain_tag(item.target)
        ctx = context_for(item.text, tag, self.params)
        ctx = Context(ctx.tag, ctx.vr, ctx.params, MappingProxyType({**ctx.secrets,
                                                                     **self.secrets}),
                      self._element_secret)
        mapped = map_element(item.text, ctx)
        mapped, why = self._annotated(item, tag, mapped)
        if (self.globals.remove_overlays and item.enabled and tag is not None
                and (tag >> 24) << 8 == _OVERLAY):
            mapped = Mapped(Action.REMOVE, meaning="an overlay element: 'Remove overlays' "
                            "removes it before element scripts run")
        return RuleText(matcher, mapped.action, mapped.params,
                        _reason(item, mapped, why), element_source(self.script.name, item.raw),
                        item.enabled)

    def _annotated(self, item: ScriptItem, tag: int | None,
                   mapped: Mapped) -> tuple[Mapped, str]:
        """The action a deid export recorded in a comment where CTP has only a nearest script,
        trusted only when exporting it gives this very script (:mod:`deid.ctp.annotation`);
        otherwise the script's own action (the lint reports the comment)."""
        if item.annotation is None:
            return mapped, ""
        judgement = judge_annotation(item.annotation, item.text, tag, self.params,
                                     item.target)
        trusted = judgement.trusted
        if trusted is None:
            code = judgement.problem.code if judgement.problem else "annotation-mismatch"
            return mapped, (f" A deid comment in the element is not trusted ({code}): the "
                            "script is imported as CTP runs it.")
        why = (f" The deid comment restores {trusted.action.value}, which CTP cannot express "
               f"(CTP runs the nearest: {mapped.action.value}).")
        return Mapped(trusted.action, trusted.params, mapped.meaning), why

    def _element_secret(self, element: str) -> str | None:
        """The secret used by the script of ``element`` (for @hashuid's third argument)."""
        tag = element_tag(element)
        item = self.elements.get(tag) if tag is not None else None
        if item is None:
            return None
        for name, secret in self.secrets.items():
            if f"@{name}" in item.text:
                return secret
        return None

    def _resolve_duplicates(self, rules: list[RuleText]) -> list[RuleText]:
        """Two enabled elements for one tag: CTP runs one; keep the last, disable the rest."""
        last = {rule.matcher: index for index, rule in enumerate(rules) if rule.enabled}
        out = []
        for index, rule in enumerate(rules):
            if rule.enabled and last[rule.matcher] != index:
                self._note(Problem("contradictory-rules", "warning", f"two enabled <e> for "
                                   f"{dict(rule.matcher)}: CTP runs only one; the last is "
                                   "kept"), index + 1)
                rule = RuleText(rule.matcher, rule.action, rule.params,
                                "Overridden: a later <e> names the same element. "
                                + rule.reason, rule.source, enabled=False)
            out.append(rule)
        return out

    def _header(self) -> list[str]:
        name = self.script.name
        return [
            f"Imported from the CTP DicomAnonymizer script {name} by deid.ctp.import_ctp_script.",
            "Every <e> is a rule quoting the original element in `source`; `reason` says what",
            "CTP does and the canonical action chosen (\"mapped to\" when it is CTP's own,",
            "\"nearest action\" otherwise). Disabled elements are kept with enabled = false.",
            "Secrets named by the script are never written: supply them as DEID_SECRET_<NAME>.",
        ]

    def _top(self, profile_id: str, title: str, provenance: str
             ) -> list[tuple[str, Any, str]]:
        g = self.globals
        elements = self.script.of_kind("e")
        enabled = sum(1 for item in elements if item.enabled)
        unlisted = "remove" if g.remove_unspecified else "keep"
        description = (
            f"CTP DicomAnonymizer script {self.script.name}: {len(elements)} element scripts "
            f"({enabled} enabled), {len(self.script.of_kind('k'))} keep and "
            f"{len(self.script.of_kind('r'))} remove commands, {len(self.script.of_kind('p'))} "
            f"parameters. Elements it does not script are "
            f"{'removed (an allow-list)' if g.remove_unspecified else 'kept'}; private "
            f"elements: {g.private_policy}.")
        return [
            ("schema_version", 1, ""),
            ("id", profile_id, ""),
            ("title", title, ""),
            ("provenance", provenance, ""),
            ("description", description, ""),
            ("unlisted", unlisted, "\n".join(comment_lines(g.unlisted_source))),
            ("private_tags", g.private_policy, "\n".join(comment_lines(g.private_source))),
        ]


def _plain_tag(target: str) -> int | None:
    return int(target, 16) if re.fullmatch(r"[0-9A-Fa-f]{8}", target) else None


def _matcher(target: str) -> tuple[tuple[str, str], ...] | None:
    tag = _plain_tag(target)
    if tag is not None:
        return (("tag", format_tag(tag)),)
    match = _PRIVATE_TARGET_RE.match(target)
    if match and int(match.group(1), 16) & 1:
        group, creator, element = match.groups()
        return (("private_creator", creator.strip()),
                ("element", f"({group.upper()},xx{element.upper()})"))
    return None


def _reason(item: ScriptItem, mapped: Mapped, why: str) -> str:
    script = " ".join(item.text.split()) or "(empty script)"
    if len(script) > 70:
        script = script[:67] + "..."
    verdict = "Mapped to" if mapped.action in EXACT and not why else "Nearest action:"
    text = (f"CTP {script}: {mapped.meaning}. {verdict} {mapped.action.value}"
            f"{_param_text(mapped.params)}.{why}")
    if not item.enabled:
        text = "Disabled in the script (CTP does not run it). " + text
    return text


def _param_text(params: Mapping[str, Any]) -> str:
    shown = ", ".join(f"{key} {value}" for key, value in params.items())
    return f" ({shown})" if shown else ""
