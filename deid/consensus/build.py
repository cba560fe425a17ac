"""Turn a committee's decisions into a profile (provenance ``consensus``) and a CTP script.

For every tag of the comparison universe the consensus profile does what was decided; where
nothing was decided it does what all reconciled profiles agree on, and where they disagree and
no decision was taken yet, their majority action (marked *provisional* in the rule's reason).
Its defaults are the most protective of the profiles' defaults, and explicit rules cover every
tag whose action differs from those defaults.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from deid.consensus.store import Decision
from deid.consensus.worklist import majority
from deid.ctp.profile_text import ProfileText, RuleText, comment_lines
from deid.outputs.compare import Universe, comparison_universe, profile_actions, representative
from deid.policy.actions import Action
from deid.policy.profile_loader import is_profile_id, load_profile_text
from deid.policy.profile_model import PrivatePolicy, Profile, Provenance, Unlisted
from deid.policy.resolver import resolver_for
from deid.transform.semantics import decide_tag

_PRIVATE_ORDER = (PrivatePolicy.REMOVE, PrivatePolicy.SAFE, PrivatePolicy.KEEP)


@dataclass(frozen=True)
class ConsensusProfile:
    """The consensus profile as TOML text and loaded, with how many tags were decided."""

    toml_text: str
    profile: Profile
    n_decided: int
    n_provisional: int


def _defaults(profiles: Sequence[Profile]) -> tuple[Unlisted, PrivatePolicy]:
    unlisted = {profile.effective_unlisted() for profile in profiles}
    private = {profile.effective_private_tags() for profile in profiles}
    chosen_unlisted = Unlisted.REMOVE if Unlisted.REMOVE in unlisted else Unlisted.KEEP
    chosen_private = min(private, key=_PRIVATE_ORDER.index)
    return chosen_unlisted, chosen_private


def _default_action(tag: str, vr: str, defaults: Profile) -> Action | None:
    """What the consensus defaults (no rules) do to a universe tag (None: depends on the
    private creator)."""
    code = representative(tag)
    if (code >> 16) & 1 and defaults.private_tags is PrivatePolicy.SAFE:
        return None
    return decide_tag(resolver_for(defaults), code, vr or "UN").action


def _matcher(tag: str) -> tuple[tuple[str, str], ...]:
    return (("pattern", tag),) if "x" in tag else (("tag", tag),)


def build_consensus(consensus_id: str, title: str, profiles: Sequence[Profile],
                    decisions: Mapping[str, Decision], *,
                    universe: Universe | None = None) -> ConsensusProfile:
    """The consensus profile of ``profiles`` under ``decisions`` (tag -> latest decision)."""
    if not is_profile_id(consensus_id):
        raise ValueError(f"consensus name {consensus_id!r}: use lower-case letters, digits and _"
                         " (it becomes the profile id)")
    universe = universe or comparison_universe(profiles)
    actions = profile_actions(profiles, universe)
    ids = [profile.id for profile in profiles]
    wide = actions.pivot(index="tag", columns="profile_id", values="action").loc[:, ids]
    vrs = actions.drop_duplicates("tag").set_index("tag")["vr"]
    unlisted, private = _defaults(profiles)
    defaults = Profile(consensus_id, title, Provenance.CONSENSUS, unlisted, private, ())
    rules: list[RuleText] = []
    provisional = decided = 0
    for tag, row in wide.iterrows():
        chosen = [str(row[i]) for i in ids]
        decision = decisions.get(str(tag))
        rule = _decided(str(tag), decision, ids, chosen, consensus_id) if decision else None
        if rule is not None:
            decided += 1
        elif len(set(chosen)) > 1:
            rule = _provisional(str(tag), str(vrs[tag]), profiles, ids, chosen, consensus_id)
            provisional += 1
        elif Action(chosen[0]) is not _default_action(str(tag), str(vrs[tag]), defaults):
            rule = _unanimous(str(tag), str(vrs[tag]), profiles, ids)
        if rule is not None:
            rules.append(rule)
    text = ProfileText(
        header=_header(consensus_id, ids, decided, provisional),
        top=[("schema_version", 1, ""), ("id", consensus_id, ""), ("title", title, ""),
             ("provenance", "consensus", ""),
             ("description", f"Consensus of {', '.join(ids)}.", ""),
             ("unlisted", unlisted.value, "The most protective default of the profiles."),
             ("private_tags", private.value, "The most protective private policy.")],
        params=_params(profiles), rules=rules).render()
    return ConsensusProfile(text, load_profile_text(text, name=f"{consensus_id}.toml"),
                            decided, provisional)


def _params(profiles: Sequence[Profile]) -> dict[str, str]:
    params: dict[str, str] = {}
    for profile in profiles:
        for member in reversed(profile.chain):
            for key, value in member.params.items():
                params.setdefault(key, value)
    return dict(sorted(params.items()))


def _header(consensus_id: str, ids: Sequence[str], decided: int, provisional: int) -> list[str]:
    intro = (f"Consensus profile {consensus_id} of {', '.join(ids)}, written by deid from the "
             f"committee's decision record: {decided} tag(s) decided, {provisional} provisional "
             "(majority action, not yet decided). Each rule says who decided it and which "
             "profiles agreed.")
    return list(comment_lines(intro))


def _decided(tag: str, decision: Decision, ids: Sequence[str], chosen: Sequence[str],
             consensus_id: str) -> RuleText:
    agreeing = tuple(i for i, action in zip(ids, chosen, strict=True)
                     if action == decision.new_action)
    return RuleText(_matcher(tag), Action(decision.new_action), dict(decision.params),
                    decision.reason,
                    f"consensus {consensus_id}: decision #{decision.id} by "
                    f"{decision.decider_label} on {decision.decided_at}",
                    decided_by=decision.decider_label, agreeing_profiles=agreeing)


def _view(profile: Profile, tag: str, vr: str) -> tuple[Action, dict[str, object], str, str]:
    decision = decide_tag(resolver_for(profile), representative(tag), vr or "UN")
    return decision.action, dict(decision.params), decision.reason, decision.source


def _provisional(tag: str, vr: str, profiles: Sequence[Profile], ids: Sequence[str],
                 chosen: Sequence[str], consensus_id: str) -> RuleText:
    top = majority(chosen)
    agreeing = tuple(i for i, action in zip(ids, chosen, strict=True) if action == top)
    first = next(p for p in profiles if p.id == agreeing[0])
    action, params, reason, source = _view(first, tag, vr)
    return RuleText(_matcher(tag), action, params,
                    f"Provisional, not yet decided: the majority action of "
                    f"{', '.join(agreeing)}. {first.id}: {reason}",
                    f"consensus {consensus_id}: majority; {source}",
                    agreeing_profiles=agreeing)


def _unanimous(tag: str, vr: str, profiles: Sequence[Profile], ids: Sequence[str]) -> RuleText:
    action, params, reason, source = _view(profiles[0], tag, vr)
    return RuleText(_matcher(tag), action, params,
                    f"All reconciled profiles agree. {profiles[0].id}: {reason}", source,
                    agreeing_profiles=tuple(ids))
