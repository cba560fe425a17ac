"""Whole-dictionary comparison of profiles: what each does to every tag, and where they differ.

The universe is every entry of the data dictionary (retired included, repeating groups as
patterns such as ``(60xx,3000)``) plus every tag or pattern a compared profile names. Each
profile's action on each tag is what the engine would do to that tag in a file
(:func:`deid.transform.semantics.decide_tag`: the resolver's decision with the structural
overrides, resolved to what the action does to a value of the tag's VR), reduced to
*modify* or *keep*; ``explicit`` tells whether a rule names the tag or the profile's default
(``unlisted``, ``private_tags``) decides it.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import pandas as pd

from deid.policy.actions import effect_of
from deid.policy.dictionary import DICTIONARY_SOURCE, TagInfo, dictionary_entries
from deid.policy.profile_model import MatcherKind, Profile
from deid.policy.resolver import Decision, Resolver, resolver_for
from deid.policy.schema import conform
from deid.policy.standard import table_e1_1
from deid.tags import TagPattern, format_tag, parse_tag
from deid.transform.semantics import decide_tag

#: The published AI4HI comparison (Kondylakis et al. 2024, Insights Imaging 15:130, Table 2):
#: tags modified within the differences, and tags only this profile modifies.
PUBLISHED_FIGURES: Mapping[str, tuple[int, int]] = MappingProxyType({
    "procancer_i": (4526, 1333),
    "chaimeleon_images_w_ecrfs": (139, 0),
    "chaimeleon_images_only": (176, 0),
    "primage": (143, 0),
    "incisive": (325, 0),
    "eucanimage": (403, 0),
})
PUBLISHED_MODIFIED_BY_ALL = 47
PUBLISHED_DIFFERENCES = 4568
#: Pattern digits stand for this hex digit when a pattern row is decided: even, so the
#: representative stays in a standard group, and unlike any single tag's digits.
_REPRESENTATIVE_DIGIT = 0xE


@dataclass(frozen=True, slots=True)
class UniverseTag:
    """One row of the comparison universe."""

    tag: str
    keyword: str
    name: str
    vr: str
    retired: bool
    is_pattern: bool
    code: int
    from_profiles: bool


@dataclass(frozen=True)
class Universe:
    """The tags compared, with where they come from."""

    tags: tuple[UniverseTag, ...]
    source: str

    @property
    def size(self) -> int:
        return len(self.tags)


def representative(tag_text: str) -> int:
    """The tag decided for a row: the tag itself, or for a pattern its wildcard digits as E."""
    if "x" not in tag_text:
        return parse_tag(tag_text)
    pattern = TagPattern.parse(tag_text)
    filler = 0
    for shift in range(0, 32, 4):
        if not (pattern.mask >> shift) & 0xF:
            filler |= _REPRESENTATIVE_DIGIT << shift
    return pattern.value | filler


def _row(info: TagInfo, from_profiles: bool) -> UniverseTag:
    return UniverseTag(info.tag, info.keyword, info.name, info.vr.split(" or ")[0],
                       info.retired, info.is_pattern, representative(info.tag), from_profiles)


def _named_by(profile: Profile) -> set[str]:
    """Tags and patterns the profile's chain names (rules, options and standard table)."""
    named: set[str] = set()
    for layer in resolver_for(profile).layers:
        for rule in layer.rules:
            if not rule.enabled:
                continue
            if rule.matcher.kind is MatcherKind.TAG and rule.matcher.tag is not None:
                named.add(format_tag(rule.matcher.tag))
            elif rule.matcher.kind is MatcherKind.PATTERN and rule.matcher.pattern:
                named.add(rule.matcher.pattern.text)
    return named


def comparison_universe(profiles: Sequence[Profile],
                        base: Sequence[TagInfo] | None = None) -> Universe:
    """The dictionary (or ``base``) plus every tag or pattern a profile names."""
    entries = dictionary_entries() if base is None else tuple(base)
    known = {info.tag for info in entries}
    names = {row.tag: row for row in table_e1_1()}
    extra = sorted(set().union(*(_named_by(p) for p in profiles)) - known) if profiles else []
    rows = [_row(info, False) for info in entries]
    for tag in extra:
        row = names.get(tag)
        rows.append(UniverseTag(tag, "", row.attribute_name if row else "", "",
                                bool(row and row.retired), "x" in tag, representative(tag),
                                True))
    rows.sort(key=lambda row: row.tag)
    where = DICTIONARY_SOURCE if base is None else "the given tag list"
    patterns = sum(1 for info in entries if info.is_pattern)
    source = (f"{where}: {len(entries):,} entries ({patterns} repeating-group patterns), plus "
              f"{len(extra):,} tags or patterns named by the compared profiles")
    return Universe(tuple(rows), source)


#: Each resolver's decisions by (tag, VR), kept while the resolver lives: a profile compared
#: again (another set of profiles, another page) costs dictionary look-ups.
_TAG_DECISIONS: weakref.WeakKeyDictionary[Resolver, dict[tuple[int, str], Decision]] = (
    weakref.WeakKeyDictionary())


def profile_actions(profiles: Sequence[Profile], universe: Universe | None = None
                    ) -> pd.DataFrame:
    """One row per profile and universe tag: action, effect, explicit, reason, source."""
    universe = universe or comparison_universe(profiles)
    rows = universe.tags
    info = {
        "tag": [row.tag for row in rows], "keyword": [row.keyword for row in rows],
        "name": [row.name for row in rows], "vr": [row.vr for row in rows],
        "retired": [row.retired for row in rows],
    }
    frames = []
    for profile in profiles:
        resolver = resolver_for(profile)
        known = _TAG_DECISIONS.setdefault(resolver, {})
        decisions = []
        for row in rows:
            key = (row.code, row.vr or "UN")
            decision = known.get(key)
            if decision is None:
                decision = known[key] = decide_tag(resolver, *key)
            decisions.append(decision)
        frames.append(pd.DataFrame({
            "profile_id": profile.id, **info,
            "action": [d.action.value for d in decisions],
            "effect": [effect_of(d.action).value for d in decisions],
            "explicit": [d.explicit for d in decisions],
            "reason": [d.reason for d in decisions],
            "source": [d.source for d in decisions],
        }))
    return conform("profile_actions", pd.concat(frames, ignore_index=True))


def _wide(actions: pd.DataFrame, value: str, profile_ids: Sequence[str]) -> pd.DataFrame:
    wide = actions.pivot(index="tag", columns="profile_id", values=value)
    return wide.loc[:, list(profile_ids)]


def _tag_info(actions: pd.DataFrame) -> pd.DataFrame:
    return actions.drop_duplicates("tag").set_index("tag")[["keyword", "name", "vr", "retired"]]


def _profile_ids(actions: pd.DataFrame) -> list[str]:
    return [str(profile_id) for profile_id in actions["profile_id"].unique()]


def three_state(actions: pd.DataFrame) -> pd.Series:
    """``modify``/``keep`` where a rule names the tag, else ``unspecified``."""
    return actions["effect"].where(actions["explicit"], "unspecified")


def tag_matrix(actions: pd.DataFrame) -> pd.DataFrame:
    """One row per tag, one column per profile holding its action."""
    ids = _profile_ids(actions)
    wide = _tag_info(actions).join(_wide(actions, "action", ids)).reset_index()
    return conform("tag_matrix", wide, ids)


def _effects(actions: pd.DataFrame, states: int) -> pd.DataFrame:
    frame = actions.assign(state=three_state(actions)) if states == 3 else actions.assign(
        state=actions["effect"])
    return _wide(frame, "state", _profile_ids(actions))


def _differing(effects: pd.DataFrame) -> np.ndarray:
    """Rows whose values are not all equal."""
    values = effects.to_numpy(dtype=object)
    differing: np.ndarray = (values != values[:, :1]).any(axis=1)
    return differing


def modified_by_all_profiles(actions: pd.DataFrame) -> pd.DataFrame:
    """Tags every compared profile modifies, with each profile's action."""
    ids = _profile_ids(actions)
    effects = _effects(actions, 2)
    modified = effects.index[(effects == "modify").all(axis=1)]
    wide = _tag_info(actions)[["keyword", "name"]].join(_wide(actions, "action", ids))
    return conform("modified_by_all_profiles", wide.loc[modified].reset_index(), ids)


def differences_among_profiles(actions: pd.DataFrame, *, states: int = 2) -> pd.DataFrame:
    """Tags not treated the same by all profiles: ``modify``/``keep`` per profile (with
    ``states=3``, tags a profile leaves to its default are ``unspecified``)."""
    ids = _profile_ids(actions)
    effects = _effects(actions, states)
    differing = effects.index[_differing(effects)]
    wide = _tag_info(actions)[["keyword", "name"]].join(effects)
    return conform("differences_among_profiles", wide.loc[differing].reset_index(), ids)


def profile_summary(actions: pd.DataFrame, profiles: Sequence[Profile]) -> pd.DataFrame:
    """Per profile: universe size, modified, kept, explicit, modified within the differences,
    modified by this profile only, and the published figures for the AI4HI profiles."""
    effects = _effects(actions, 2)
    modified = effects == "modify"
    differing = _differing(effects)
    only = modified & (modified.sum(axis=1) == 1).to_numpy()[:, None]
    explicit = actions.groupby("profile_id", sort=False)["explicit"].sum()
    rows = []
    for profile in profiles:
        published = PUBLISHED_FIGURES.get(profile.id, (None, None))
        rows.append({
            "profile_id": profile.id, "title": profile.title,
            "provenance": profile.provenance.value, "n_universe": len(effects),
            "n_modified": int(modified[profile.id].sum()),
            "n_kept": int((~modified[profile.id]).sum()),
            "n_explicit": int(explicit[profile.id]),
            "n_modified_in_differences": int((modified[profile.id] & differing).sum()),
            "n_only_modified_by_this_profile": int(only[profile.id].sum()),
            "published_n_modified_in_differences": published[0],
            "published_n_only_modified": published[1],
        })
    return conform("profile_summary", pd.DataFrame(rows))


def pairwise_diff(actions: pd.DataFrame, profile_a: str, profile_b: str) -> pd.DataFrame:
    """Tags where two profiles take different actions, with both actions, reasons, sources."""
    a = actions[actions["profile_id"] == profile_a].set_index("tag")
    b = actions[actions["profile_id"] == profile_b].set_index("tag")
    for profile_id, frame in ((profile_a, a), (profile_b, b)):
        if frame.empty:
            raise ValueError(f"profile {profile_id!r} is not in the compared profiles")
    differ = a.index[(a["action"] != b.loc[a.index, "action"]).to_numpy()]
    a, b = a.loc[differ], b.loc[differ]
    frame = pd.DataFrame({
        "tag": differ, "keyword": a["keyword"].to_numpy(), "name": a["name"].to_numpy(),
        "profile_a": profile_a, "profile_b": profile_b,
        "action_a": a["action"].to_numpy(), "action_b": b["action"].to_numpy(),
        "effect_a": a["effect"].to_numpy(), "effect_b": b["effect"].to_numpy(),
        "reason_a": a["reason"].to_numpy(), "reason_b": b["reason"].to_numpy(),
        "source_a": a["source"].to_numpy(), "source_b": b["source"].to_numpy(),
    })
    return conform("pairwise_diff", frame)


@dataclass(frozen=True)
class Comparison:
    """Every comparison table for one set of profiles."""

    universe: Universe
    profiles: tuple[Profile, ...]
    tables: Mapping[str, pd.DataFrame]


def compare(profiles: Sequence[Profile], *, universe: Universe | None = None,
            states: int = 2) -> Comparison:
    """Build profile_actions, tag_matrix, modified_by_all_profiles,
    differences_among_profiles and profile_summary."""
    if not profiles:
        raise ValueError("compare needs at least one profile")
    ids = [profile.id for profile in profiles]
    if len(set(ids)) != len(ids):
        raise ValueError(f"a profile id is given twice: {', '.join(ids)}")
    universe = universe or comparison_universe(profiles)
    actions = profile_actions(profiles, universe)
    tables = {
        "profile_actions": actions,
        "tag_matrix": tag_matrix(actions),
        "modified_by_all_profiles": modified_by_all_profiles(actions),
        "differences_among_profiles": differences_among_profiles(actions, states=states),
        "profile_summary": profile_summary(actions, profiles),
    }
    return Comparison(universe, tuple(profiles), MappingProxyType(tables))

