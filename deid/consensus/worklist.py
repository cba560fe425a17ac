"""The committee's worklist: the tags where the profiles to reconcile take different actions.

Each row shows every profile's action, the majority action and the profiles that take it, the
residual-risk findings the majority action leaves on the loaded sample, the profiles under
which the tag is a residual risk at all (``risky_under``), and in how many loaded files the
tag is present (``n_files``). Rows come in the order that matters to a committee: tags present
in the loaded files first, those risky under any profile first among them (by severity), then
the rest in tag order. Ties in the majority are broken towards the most protective action.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from deid.outputs.compare import Universe, comparison_universe, profile_actions, representative
from deid.policy.actions import PROTECTIVE_ORDER, Action
from deid.policy.profile_model import Profile
from deid.policy.resolver import resolver_for
from deid.tags import TagPattern, parse_tag
from deid.transform.semantics import decide_tag

WORKLIST_COLUMNS = ("tag", "keyword", "name", "vr", "group", "disagree", "actions",
                    "majority_action", "majority_profiles", "risk", "risky_under", "severity",
                    "n_files")
_SEVERITY_RANK = {"high": 0, "medium": 1, "low": 2, "": 3}


@dataclass(frozen=True)
class ProfileView:
    """What one profile does to one tag: action, parameters, reason, source."""

    profile_id: str
    action: Action
    params: Mapping[str, Any]
    reason: str
    source: str
    explicit: bool


def majority(actions: Sequence[str]) -> str:
    """The most common action; ties go to the most protective."""
    counts = Counter(actions)
    best = max(counts.values())
    tied = [Action(action) for action, count in counts.items() if count == best]
    return min(tied, key=PROTECTIVE_ORDER.index).value


@dataclass(frozen=True)
class TagRisk:
    """The findings at one tag under one profile: summary text and highest severity."""

    text: str
    severity: str


def _risk_by_tag(findings: pd.DataFrame | None) -> dict[tuple[str, str], TagRisk]:
    """``(tag, profile_id)`` -> a short summary of the findings at that tag: each kind with its
    severity (sorted), in how many files, and the highest severity (the first found among
    equals)."""
    if findings is None or findings.empty:
        return {}
    keys = ["tag", "profile_id"]
    tagged = findings.loc[findings["tag"].astype(str) != "",
                          [*keys, "risk_kind", "severity", "file"]].astype(
        {"tag": str, "profile_id": str, "risk_kind": str, "severity": str})
    if tagged.empty:
        return {}
    pairs = tagged[[*keys, "risk_kind", "severity"]].drop_duplicates().sort_values(
        [*keys, "risk_kind", "severity"])
    kinds = (pairs["risk_kind"] + " (" + pairs["severity"] + ")").groupby(
        [pairs["tag"], pairs["profile_id"]], sort=True).agg(", ".join)
    n_files = tagged.groupby(keys, sort=True)["file"].nunique()
    ranked = tagged.assign(_rank=tagged["severity"].map(_SEVERITY_RANK).fillna(3),
                           _row=range(len(tagged)))
    worst = ranked.sort_values(["_rank", "_row"]).groupby(keys, sort=True)["severity"].first()
    return {(str(tag), str(profile_id)): TagRisk(f"{text} in {n_files[(tag, profile_id)]} "
                                                 "file(s)", worst[(tag, profile_id)])
            for (tag, profile_id), text in kinds.items()}


def files_by_tag(headers: pd.DataFrame, universe: Universe) -> dict[str, int]:
    """Universe tag -> in how many loaded files it is present (at any depth); a repeating-group
    pattern such as ``(60xx,3000)`` counts the files holding any tag it matches."""
    if headers.empty:
        return {}
    tags = headers["tag"].astype(str)
    counts = headers.groupby(tags, observed=True, sort=False)["file"].nunique()
    plain = {row.tag for row in universe.tags if not row.is_pattern}
    present = {str(tag): int(n) for tag, n in counts.items() if str(tag) in plain}
    others: list[tuple[str, int]] = []
    for tag in counts.index:
        if str(tag) not in plain:
            try:
                others.append((str(tag), parse_tag(str(tag))))
            except ValueError:
                continue
    for row in universe.tags:
        if not row.is_pattern:
            continue
        pattern = TagPattern.parse(row.tag)
        matched = [text for text, code in others if pattern.matches(code)]
        if matched:
            present[row.tag] = int(headers.loc[tags.isin(matched), "file"].nunique())
    return present


def build_worklist(profiles: Sequence[Profile], *, all_tags: bool = False,
                   findings: pd.DataFrame | None = None,
                   universe: Universe | None = None,
                   present: Mapping[str, int] | None = None) -> pd.DataFrame:
    """One row per tag where the profiles disagree (every tag with ``all_tags``), in the
    order that matters (see the module); ``present`` is :func:`files_by_tag`."""
    universe = universe or comparison_universe(profiles)
    actions = profile_actions(profiles, universe)
    ids = [profile.id for profile in profiles]
    wide = actions.pivot(index="tag", columns="profile_id", values="action").loc[:, ids]
    wide = wide.astype(str)
    info = actions.drop_duplicates("tag").set_index("tag").reindex(wide.index)
    combos = pd.Series(list(zip(*(wide[i] for i in ids), strict=True)), index=wide.index)
    disagree = combos.map(lambda combo: len(set(combo)) > 1)
    if not all_tags:
        keep = disagree.to_numpy(dtype=bool)
        wide, info, combos, disagree = wide[keep], info[keep], combos[keep], disagree[keep]
    described: dict[tuple[str, ...], tuple[str, str, str]] = {}
    for combo in set(combos):
        top = majority(combo)
        described[combo] = (top, ",".join(i for i, a in zip(ids, combo, strict=True)
                                          if a == top),
                            "; ".join(f"{i}: {a}" for i, a in zip(ids, combo, strict=True)))
    risk = _risk_by_tag(findings)
    risky: dict[str, list[str]] = defaultdict(list)
    worst: dict[str, str] = {}
    for (tag, pid), found in risk.items():
        if pid in ids:
            risky[tag].append(pid)
            if _SEVERITY_RANK[found.severity] < _SEVERITY_RANK[worst.get(tag, "")]:
                worst[tag] = found.severity
    tags = [str(tag) for tag in wide.index]
    table = pd.DataFrame({
        "tag": tags, "keyword": info["keyword"].astype(str).to_numpy(),
        "name": info["name"].astype(str).to_numpy(), "vr": info["vr"].astype(str).to_numpy(),
        "group": [tag[1:5] for tag in tags], "disagree": disagree.to_numpy(dtype=bool),
        "actions": [described[c][2] for c in combos],
        "majority_action": [described[c][0] for c in combos],
        "majority_profiles": [described[c][1] for c in combos],
    }, columns=list(WORKLIST_COLUMNS))
    table["risk"] = [_majority_risk(risk, tag, agreeing) for tag, agreeing in
                     zip(tags, table["majority_profiles"], strict=True)]
    table["risky_under"] = [",".join(p for p in ids if p in risky.get(tag, ())) for tag in tags]
    table["severity"] = [worst.get(tag, "") for tag in tags]
    counts = present or {}
    table["n_files"] = pd.array([counts.get(tag, 0) for tag in tags], dtype="int64")
    return rank(table)


def _majority_risk(risk: Mapping[tuple[str, str], TagRisk], tag: str, agreeing: str) -> str:
    found = sorted({risk[(tag, pid)].text for pid in agreeing.split(",") if (tag, pid) in risk})
    return "; ".join(found)


def rank(table: pd.DataFrame) -> pd.DataFrame:
    """Present in the loaded files first, risky under any profile first among those (highest
    severity first), then in tag order."""
    order = pd.DataFrame({"absent": table["n_files"] == 0,
                          "safe": table["risky_under"] == "",
                          "severity": table["severity"].map(_SEVERITY_RANK).fillna(3),
                          "tag": table["tag"]})
    ranked = order.sort_values(["absent", "safe", "severity", "tag"], kind="stable").index
    return table.loc[ranked].reset_index(drop=True)


def profile_views(profiles: Sequence[Profile], tag: str, vr: str = "") -> list[ProfileView]:
    """Every profile's action, parameters, reason and source for one universe tag."""
    code = representative(tag)
    views = []
    for profile in profiles:
        decision = decide_tag(resolver_for(profile), code, vr or "UN")
        views.append(ProfileView(profile.id, decision.action, dict(decision.params),
                                 decision.reason, decision.source, decision.explicit))
    return views
