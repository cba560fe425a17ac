"""What a profile does to one element, and where that comes from (:mod:`deid.policy.resolver`
decides it; the planner reads it for every element, so this module is compiled with it)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from deid.policy.actions import Action


@dataclass(frozen=True, slots=True)
class Decision:
    """What a profile does to one element, and where that comes from."""

    action: Action
    params: Mapping[str, Any]
    reason: str
    source: str
    origin: str
    explicit: bool
    #: A rule names this element's tag (a tag, keyword, private element or pattern matcher),
    #: not only its VR or its private block.
    specific: bool = False

    def __reduce__(self) -> tuple[type[Decision], tuple[Any, ...]]:
        # Pickled by its fields (a compiled frozen class is not restored field by field).
        return Decision, (self.action, self.params, self.reason, self.source, self.origin,
                          self.explicit, self.specific)
