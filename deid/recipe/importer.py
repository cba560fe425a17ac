"""Import a pydicom/deid recipe as a profile: TOML text, the loaded profile, and findings.

The ``%header`` lines are replayed for each element they name, as pydicom/deid runs them
(:mod:`deid.recipe.values`), and the outcome becomes one rule quoting the deciding line in its
``source``. ``REMOVE ALL`` becomes ``unlisted = "remove"`` (and private elements removed);
otherwise what no line names is kept, and private elements are kept unless the recipe is run with
``remove_private`` (pass ``remove_private=True``). What a profile cannot say exactly is reported,
never dropped: field expressions (expanded over the data dictionary), ``values:`` groups, values
the caller supplies (``var:``, ``func:``), ``%filter`` pixel criteria.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from deid.ctp.profile_text import ProfileText, RuleText
from deid.policy.actions import Action
from deid.policy.dictionary import info_for_tag
from deid.policy.profile_loader import load_profile_text
from deid.policy.profile_model import Profile
from deid.recipe.annotation import judge_line
from deid.recipe.fields import Target, TargetKind, resolve_field
from deid.recipe.parse import Recipe, RecipeLine, parse_recipe
from deid.recipe.sources import line_source, problems_of_line
from deid.recipe.values import Kind, Step, default_dummy, step_of
from deid.tags import TagPattern, parse_tag

if TYPE_CHECKING:
    from deid.policy.lint import LintFinding

Key = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class RecipeImport:
    """The result of importing a recipe: the profile file text, the profile, and findings."""

    toml_text: str
    profile: Profile
    findings: tuple[LintFinding, ...]


def import_recipe(text: str, *, profile_id: str, name: str, title: str | None = None,
                  provenance: str = "user", remove_private: bool = False,
                  source_label: str | None = None) -> RecipeImport:
    """Import a pydicom/deid recipe.

    Parameters
    ----------
    text
        The recipe text.
    profile_id, name, title, provenance
        The new profile's id, the recipe's name (quoted in every rule's ``source``), its title
        (default ``deid recipe <name>``) and provenance (``user`` by default).
    remove_private
        True when the recipe is run with pydicom/deid's ``remove_private=True``.
    source_label
        How rule sources name the recipe (default ``deid recipe <name>``), e.g. with the
        version of the package it comes from.

    Raises
    ------
    RecipeError
        The text is not a readable recipe.
    ProfileError
        The result is not a valid profile (e.g. a bad ``profile_id``).
    """
    from deid.policy.lint import LintFinding, lint_profile  # deid.policy.lint reads sources

    recipe = parse_recipe(text, name)
    builder = _Builder(recipe, source_label or f"deid recipe {name}", remove_private)
    document = builder.document(profile_id, title or f"deid recipe {name}", provenance)
    toml_text = document.render()
    profile = load_profile_text(toml_text, name=f"{profile_id}.toml (imported from {name})")
    notes = [LintFinding(profile.id, None, severity, code, message)
             for severity, code, message in builder.notes]
    return RecipeImport(toml_text, profile, tuple(notes + lint_profile(profile)))


class _Builder:
    """Replays a recipe's header lines per element and writes the rules."""

    def __init__(self, recipe: Recipe, label: str, remove_private: bool) -> None:
        self.recipe = recipe
        self.label = label
        self.remove_private = remove_private
        self.notes: list[tuple[str, str, str]] = []
        self.settings = self._settings()
        self.declared = {str(key): str(value)
                         for key, value in dict(self.settings.get("params", {})).items()}
        plain = [(line, self._target(line), step_of(line)) for line in recipe.header()]
        self.allow_list = fold(step for _, target, step in plain
                               if target.kind is TargetKind.ALL).action is Action.REMOVE
        self.lines = [(line, target, self._judged(line, step)) for line, target, step in plain]

    def _judged(self, line: RecipeLine, plain: Step) -> Step:
        """The line's step: from its ``# deid`` comment where that comment may be trusted
        (:mod:`deid.recipe.annotation`), else what pydicom/deid runs."""
        if line.annotation is None:
            return plain
        trusted = judge_line(line, self.declared, self.allow_list).trusted
        return plain if trusted is None else step_of(line, trusted)

    def _target(self, line: RecipeLine) -> Target:
        target = resolve_field(line.field)
        if target.kind is TargetKind.FIELDS:
            group = self.recipe.group("fields", target.detail)
            parts = [resolve_field(member.field) for member in group]
            matchers = tuple(m for part in parts for m in part.matchers)
            exact = all(part.exact for part in parts)
            if not exact:
                self.notes.append(("warning", "not-representable", f"line {line.number} "
                                   f"{line.text!r}: %fields {target.detail} holds field "
                                   "expressions, expanded over pydicom's data dictionary; "
                                   "private and newer elements are not covered"))
            return Target(TargetKind.TAG if exact else TargetKind.EXPANDED, matchers,
                          detail=f"%fields {target.detail}: {len(group)} FIELD lines")
        return target

    def document(self, profile_id: str, title: str, provenance: str) -> ProfileText:
        """The profile text: settings from ``ALL`` lines, then one rule per named element."""
        everything = [step for _, target, step in self.lines if target.kind is TargetKind.ALL]
        default = fold(everything)
        unlisted = "remove" if default.action is Action.REMOVE else "keep"
        private = "remove" if self.remove_private or unlisted == "remove" else "keep"
        private = str(self.settings.get("private_tags", private))
        if default.action not in (Action.KEEP, Action.REMOVE):
            self.notes.append(("error", "not-representable", f"line {default.line}: "
                               f"{default.action.value} of every element is not a profile "
                               "default; unlisted elements are kept"))
        rules = [self._rule(key, steps) for key, steps in self._timelines().items()]
        self._report_unmapped()
        quoted = {rule.source for rule in rules}
        for line, _, _ in self.lines:
            if line_source(self.label, line) not in quoted:
                self.notes += problems_of_line(line, self.declared, self.allow_list)
        top = [("schema_version", 1, ""), ("id", profile_id, ""), ("title", title, ""),
               ("provenance", provenance, ""), ("description", self._description(), ""),
               ("unlisted", unlisted, ""), ("private_tags", private, "")]
        return ProfileText(self._header(), top, MappingProxyType(self.declared), rules)

    def _timelines(self) -> dict[Key, list[Step]]:
        """For each matcher a line names, the steps that reach its elements, in order: the
        lines naming it, and the broad lines (VR, group, ``ALL``) that cover it."""
        reaching: dict[Key, set[int]] = {}
        for index, (_, target, _) in enumerate(self.lines):
            for key in target.matchers:
                reaching.setdefault(key, set()).add(index)
        broad = [(index, target) for index, (_, target, _) in enumerate(self.lines)
                 if target.kind in (TargetKind.VR, TargetKind.GROUP, TargetKind.ALL)]
        for key, indices in reaching.items():
            indices.update(index for index, target in broad if _covers(target, key))
        return {key: [self.lines[index][2] for index in sorted(indices)]
                for key, indices in reaching.items()}

    def _rule(self, key: Key, steps: list[Step]) -> RuleText:
        outcome = fold(steps)
        params = default_dummy(outcome.action, dict(outcome.params), _key_vr(key))
        deciding = outcome.step
        history = "; ".join(f"line {step.line.number} {step.line.action}" for step in steps)
        reason = (f"pydicom/deid runs {history}: the element is "
                  f"{_OUTCOME[outcome.action]}.")
        if outcome.note:
            reason += f" {outcome.note[0].upper()}{outcome.note[1:]}."
        line = deciding.line if deciding else steps[-1].line
        if deciding is not None and deciding.annotated:
            reason += (f" The deid comment above line {line.number} restores "
                       f"{outcome.action.value}, which a recipe cannot express.")
        elif line.annotation is not None:
            reason += (f" The deid comment above line {line.number} is not trusted "
                       "(annotation-mismatch): the line is imported as pydicom/deid runs it.")
        source = line_source(self.label, line)
        return RuleText(key, outcome.action, params, reason, source)

    def _settings(self) -> dict[str, Any]:
        """What a deid export said in ``# deid-settings`` that a recipe cannot say."""
        try:
            settings = json.loads(self.recipe.settings or "{}")
        except ValueError:
            settings = {}
        if not isinstance(settings, dict) or settings.get("private_tags") not in (
                None, "remove", "keep", "safe") or not isinstance(settings.get("params", {}),
                                                                  dict):
            self.notes.append(("warning", "unreadable-annotation", "the deid-settings comment "
                               "is not readable; ignored"))
            return {}
        return settings

    def _report_unmapped(self) -> None:
        for line, target, _ in self.lines:
            if target.kind in (TargetKind.VALUES, TargetKind.UNKNOWN):
                severity = "error" if target.kind is TargetKind.VALUES else "warning"
                code = ("not-representable" if target.kind is TargetKind.VALUES
                        else "unknown-field")
                self.notes.append((severity, code, f"line {line.number} {line.text!r}: "
                                   f"{target.detail}; no rule imported"))
        for number, text, why in self.recipe.skipped:
            self.notes.append(("warning", "skipped-line", f"line {number} {text!r}: {why}"))
        labels = self.recipe.filter_labels()
        if labels:
            self.notes.append(("info", "not-representable", f"{len(labels)} %filter LABEL "
                               "groups select images for pixel cleaning (burned-in text): a "
                               "tag profile has no pixel step; not imported"))

    def _description(self) -> str:
        header = self.recipe.header()
        labels = self.recipe.filter_labels()
        return (f"pydicom/deid recipe {self.recipe.name}: {len(header)} %header lines, "
                f"{len(labels)} %filter labels (pixel criteria, not imported). What no line "
                "names is kept; every rule quotes its line in `source`.")

    def _header(self) -> list[str]:
        return [
            f"Imported from the pydicom/deid recipe {self.recipe.name} by "
            "deid.recipe.import_recipe.",
            "Each rule is the outcome of the %header lines that reach the element, replayed as",
            "pydicom/deid runs them; `source` quotes the deciding line. Field expressions",
            "(contains:, startswith:, endswith:, except:) are expanded over pydicom's data",
            "dictionary and reported by `lint`; see docs/profiles.md for what is not",
            "representable.",
        ]


@dataclass(frozen=True)
class Outcome:
    """What a run of steps leaves: the action, its parameters, the deciding step, a note."""

    action: Action
    params: MappingProxyType[str, Any]
    step: Step | None
    note: str

    @property
    def line(self) -> int:
        return self.step.line.number if self.step else 0


def fold(steps: Iterable[Step]) -> Outcome:
    """Replay steps on one element: KEEP shields from all but ADD; REPLACE and JITTER shield
    from REMOVE; otherwise the last step that changes the element wins."""
    steps = list(steps)
    protected = any(step.kind is Kind.PROTECT for step in steps)
    shielded = any(step.shields for step in steps)
    action: Action = Action.KEEP
    params: dict[str, Any] = {}
    deciding: Step | None = None
    notes = [step.note for step in steps if step.note and not step.exact]
    for step in steps:
        if step.kind is Kind.PROTECT:
            deciding = deciding or step
            continue
        if protected and step.line.action != "ADD":
            continue
        if step.kind is Kind.REMOVE and not shielded:
            action, params, deciding = Action.REMOVE, {}, step
        elif step.kind is Kind.BLANK and action is not Action.REMOVE:
            action, params, deciding = Action.EMPTY, {}, step
        elif step.kind is Kind.SET and step.action is not None:
            if step.action is Action.SHIFT_DATE and action is Action.SHIFT_DATE:
                days = int(params.get("days", 0)) + int(step.params["days"])
                action, params, deciding = Action.SHIFT_DATE, {"days": days}, step
            elif (step.action is Action.SHIFT_DATE and action is not Action.KEEP
                  and not step.annotated):
                continue  # a jitter of a removed, emptied or replaced value changes nothing
            else:
                action, params, deciding = step.action, dict(step.params), step
        elif step.kind is Kind.NOTHING and deciding is None:
            deciding = step
    if protected and action is Action.KEEP:
        deciding = next(step for step in steps if step.kind is Kind.PROTECT)
    return Outcome(action, MappingProxyType(params), deciding, " ".join(dict.fromkeys(notes)))


_OUTCOME = {
    Action.KEEP: "kept", Action.REMOVE: "removed", Action.EMPTY: "emptied (BLANK)",
    Action.DUMMY: "replaced by a fixed value", Action.UID: "given a new UID",
    Action.SHIFT_DATE: "shifted by a fixed number of days (JITTER)", Action.HASH: "hashed",
    Action.PSEUDONYM: "replaced by a pseudonym", Action.CLEAN: "cleaned",
    Action.TRUNCATE_DATE: "truncated", Action.ROUND: "rounded",
}


def _key_vr(key: Key) -> str:
    kind, value = key[0]
    info = info_for_tag(parse_tag(value)) if kind == "tag" else None
    return info.vr.split(" or ")[0] if info and info.vr else "UN"


def _covers(target: Target, key: Key) -> bool:
    """True when a broad target (VR, group, ALL) reaches the elements of ``key``."""
    if target.kind is TargetKind.ALL:
        return True
    kind, value = key[0]
    if target.kind is TargetKind.VR and kind == "tag":
        info = info_for_tag(parse_tag(value))
        return bool(info) and info is not None and info.vr.split(" or ")[0] == target.matchers[
            0][0][1]
    if target.kind is TargetKind.GROUP:
        pattern = TagPattern.parse(target.matchers[0][0][1])
        if kind == "tag":
            return pattern.matches(parse_tag(value))
        if kind == "element":
            return False
        if kind == "private_creator":
            element = dict(key).get("element", "")
            return bool(element) and pattern.matches(TagPattern.parse(element).value)
    return False
