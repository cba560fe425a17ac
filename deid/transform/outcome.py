"""What happens to one element, as planned (:mod:`deid.transform.plan`) and carried out by
every executor: :class:`Outcome`, the :data:`KEPT` and :data:`REMOVED` values, and
:class:`Added` elements the de-identifier writes."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Final, NamedTuple

from deid.ingest.decode import display
from deid.ingest.tree import UNDECODABLE, UNDECODABLE_TEXT, Node
from deid.policy.actions import Action
from deid.policy.resolver import Decision


class _Kept:
    def __repr__(self) -> str:
        return "KEPT"

    def __reduce__(self) -> str:
        return "KEPT"  # unpickled as this module's KEPT: ``value is KEPT`` still holds


class _Removed:
    def __repr__(self) -> str:
        return "REMOVED"

    def __reduce__(self) -> str:
        return "REMOVED"


#: The outcome's value when the element is written as it is.
KEPT: Final[Any] = _Kept()
#: The outcome's value when the element is not written.
REMOVED: Final[Any] = _Removed()


class Outcome(NamedTuple):
    """What happens to one element of a file.

    ``value`` is :data:`KEPT`, :data:`REMOVED` or the new value; a sequence written has
    ``items``: the outcomes of each of its items (``[]`` when emptied). ``modified`` is what
    happened to the value, not what the action is called: an action whose result equals the
    input leaves it ``False``.
    """

    path: str
    node: Node
    depth: int
    decision: Decision
    action: Action
    modified: bool
    value: Any
    items: list[list[Outcome]] | None
    note: str

    @property
    def tag(self) -> int:
        return self.node.tag

    @property
    def vr(self) -> str:
        return self.node.vr

    @property
    def removed(self) -> bool:
        return self.value is REMOVED

    @property
    def before(self) -> str | None:
        """The displayed original value."""
        return UNDECODABLE_TEXT if self.node.flags & UNDECODABLE else self.node.shown

    @property
    def after(self) -> str | None:
        """The displayed value written (None when removed)."""
        if self.value is REMOVED:
            return None
        if self.items is not None:
            return f"<{len(self.items)} item(s)>"
        if self.value is KEPT:
            return self.before if self.node.shown is not None or self.node.flags & UNDECODABLE \
                else display(self.node.value)
        return display(_plain(self.value))

    @property
    def output_value(self) -> Any:
        """The value written (the original one when kept); None for sequences."""
        if self.value is REMOVED or self.items is not None:
            return None
        return self.node.value if self.value is KEPT else self.value


class Added(NamedTuple):
    """An element the de-identifier writes that the file did not have (markers, file meta);
    a sequence's ``value`` is its items, each a list of :class:`Added`."""

    tag: int
    vr: str
    value: Any


def walk(outcomes: Sequence[Outcome]) -> Iterator[Outcome]:
    """Every outcome, depth first (a sequence before its items' outcomes)."""
    flat: list[Outcome] = []
    _flatten(outcomes, flat)
    return iter(flat)


def _flatten(outcomes: Sequence[Outcome], flat: list[Outcome]) -> None:
    for outcome in outcomes:
        flat.append(outcome)
        if outcome.items is not None:
            for item in outcome.items:
                _flatten(item, flat)


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value
