"""The committee's worklist: the tags where the profiles to reconcile take different actions.

Each row shows every profile's action, the majority action and the profiles that take it, and
the residual-risk findings the majority action leaves on the loaded sample. Ties in the
majority are broken towards the most protective action.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from deid.outputs.compare import Universe, comparison_universe, profile_actions, representative
from deid.policy.actions import PROTECTIVE_ORDER, Action
from deid.policy.profile_model import Profile
from deid.policy.resolver import resolver_for
from deid.transform.semantics import decide_tag

WORKLIST_COLUMNS = ("tag", "keyword", "name", "vr", "group", "disagree", "actions",
                    "majority_action", "majority_profiles", "risk")


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


def _risk_by_tag(findings: pd.DataFrame | None) -> dict[tuple[str, str], str]:
    """``(tag, profile_id)`` -> a short summary of the findings at that tag."""
    if findings is None or findings.empty:
        return {}
    summary: dict[tuple[str, str], str] = {}
    grouped = findings[findings["tag"] != ""].groupby(["tag", "profile_id"], sort=True)
    for (tag, profile_id), rows in grouped:
        kinds = ", ".join(f"{kind} ({severity})" for (kind, severity), _ in
                          rows.groupby(["risk_kind", "severity"], sort=True))
        summary[(str(tag), str(profile_id))] = f"{kinds} in {rows['file'].nunique()} file(s)"
    return summary


def build_worklist(profiles: Sequence[Profile], *, all_tags: bool = False,
                   findings: pd.DataFrame | None = None,
                   universe: Universe | None = None) -> pd.DataFrame:
    """One row per tag where the profiles disagree (every tag with ``all_tags``)."""
    universe = universe or comparison_universe(profiles)
    actions = profile_actions(profiles, universe)
    ids = [profile.id for profile in profiles]
    wide = actions.pivot(index="tag", columns="profile_id", values="action").loc[:, ids]
    info = actions.drop_duplicates("tag").set_index("tag")
    risk = _risk_by_tag(findings)
    rows = []
    for tag, row in wide.iterrows():
        chosen = [str(row[i]) for i in ids]
        disagree = len(set(chosen)) > 1
        if not (disagree or all_tags):
            continue
        top = majority(chosen)
        agreeing = [i for i, action in zip(ids, chosen, strict=True) if action == top]
        risks = sorted({risk[(str(tag), i)] for i in agreeing if (str(tag), i) in risk})
        rows.append({
            "tag": tag, "keyword": info.loc[tag, "keyword"], "name": info.loc[tag, "name"],
            "vr": info.loc[tag, "vr"], "group": str(tag)[1:5], "disagree": disagree,
            "actions": "; ".join(f"{i}: {a}" for i, a in zip(ids, chosen, strict=True)),
            "majority_action": top, "majority_profiles": ",".join(agreeing),
            "risk": "; ".join(risks),
        })
    return pd.DataFrame(rows, columns=list(WORKLIST_COLUMNS))


def profile_views(profiles: Sequence[Profile], tag: str, vr: str = "") -> list[ProfileView]:
    """Every profile's action, parameters, reason and source for one universe tag."""
    code = representative(tag)
    views = []
    for profile in profiles:
        decision = decide_tag(resolver_for(profile), code, vr or "UN")
        views.append(ProfileView(profile.id, decision.action, dict(decision.params),
                                 decision.reason, decision.source, decision.explicit))
    return views
