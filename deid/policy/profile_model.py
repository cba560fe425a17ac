"""The validated profile: frozen dataclasses built only by :mod:`deid.policy.profile_loader`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any

from deid.policy.actions import Action
from deid.tags import TagPattern, format_tag

SCHEMA_VERSION = 1


class Provenance(StrEnum):
    """Where a profile comes from."""

    STANDARD = "standard"
    PUBLISHED_SCRIPT = "published-script"
    RECONSTRUCTED = "reconstructed"
    USER = "user"
    CONSENSUS = "consensus"


class Unlisted(StrEnum):
    """What happens to standard elements no rule matches."""

    BASE = "base"
    KEEP = "keep"
    REMOVE = "remove"


class PrivatePolicy(StrEnum):
    """What happens to private elements no rule matches."""

    BASE = "base"
    REMOVE = "remove"
    KEEP = "keep"
    SAFE = "safe"


class MatcherKind(StrEnum):
    """Rule matchers, most specific first (the order in which a layer is searched)."""

    TAG = "tag"
    PRIVATE_ELEMENT = "private_element"
    PATTERN = "pattern"
    PRIVATE_CREATOR = "private_creator"
    VR = "vr"


@dataclass(frozen=True, slots=True)
class Matcher:
    """What a rule matches: a tag, a private element of a creator, a pattern, a creator, a VR."""

    kind: MatcherKind
    tag: int | None = None
    pattern: TagPattern | None = None
    creator: str | None = None
    vr: str | None = None

    def describe(self) -> str:
        """The matcher as a user would write it."""
        if self.kind is MatcherKind.TAG and self.tag is not None:
            return format_tag(self.tag)
        if self.kind is MatcherKind.PRIVATE_ELEMENT:
            return f"{self.pattern} of private creator {self.creator!r}"
        if self.kind is MatcherKind.PATTERN:
            return str(self.pattern)
        if self.kind is MatcherKind.PRIVATE_CREATOR:
            return f"private creator {self.creator!r}"
        return f"VR {self.vr}"

    @property
    def key(self) -> tuple[Any, ...]:
        """Two rules with the same key match exactly the same elements."""
        return (self.kind, self.tag, self.pattern.text if self.pattern else None,
                self.creator, self.vr)


@dataclass(frozen=True, slots=True)
class Rule:
    """One profile rule: a matcher, an action with parameters, and why."""

    number: int
    matcher: Matcher
    action: Action
    params: Mapping[str, Any]
    reason: str
    source: str
    enabled: bool = True
    decided_by: str = ""
    agreeing_profiles: tuple[str, ...] = ()


@dataclass(frozen=True, eq=False)
class Profile:
    """A validated de-identification profile with its base already loaded."""

    id: str
    title: str
    provenance: Provenance
    unlisted: Unlisted
    private_tags: PrivatePolicy
    rules: tuple[Rule, ...]
    options: tuple[str, ...] = ()
    base: Profile | None = None
    standard_table: str | None = None
    description: str = ""
    params: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    #: Secrets used as they are, so that keyed values are shared with every profile that
    #: names them too; every other secret is derived per profile (domain separation).
    linkage: tuple[str, ...] = ()
    path: Path | None = None
    sha256: str | None = None

    @property
    def chain(self) -> tuple[Profile, ...]:
        """This profile followed by its bases, nearest first."""
        chain: list[Profile] = []
        profile: Profile | None = self
        while profile is not None:
            chain.append(profile)
            profile = profile.base
        return tuple(chain)

    def effective_unlisted(self) -> Unlisted:
        """``keep`` or ``remove`` after following ``base`` through the chain."""
        for profile in self.chain:
            if profile.unlisted is not Unlisted.BASE:
                return profile.unlisted
        return Unlisted.KEEP  # unreachable: validation requires a value at the root

    def effective_private_tags(self) -> PrivatePolicy:
        """``remove``, ``keep`` or ``safe`` after options and the chain."""
        for profile in self.chain:
            if profile.private_tags is not PrivatePolicy.BASE:
                return profile.private_tags
            if "retain_safe_private" in profile.options:
                return PrivatePolicy.SAFE
        return PrivatePolicy.REMOVE

    def all_options(self) -> tuple[str, ...]:
        """Options switched on anywhere in the chain, nearest profile first, no repeats."""
        seen: dict[str, None] = {}
        for profile in self.chain:
            for option in profile.options:
                seen.setdefault(option, None)
        return tuple(seen)

    def uses_standard_table(self) -> bool:
        """True when the chain includes the PS3.15 Table E.1-1 Basic Profile rules."""
        return any(profile.standard_table for profile in self.chain)
