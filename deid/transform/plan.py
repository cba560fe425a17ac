"""Plan what a profile does to every element of one file: each element's outcome, once.

A plan is computed from a file's element trees (:mod:`deid.ingest.tree`: the fast reader's, or
one built from a pydicom data set) with the decisions of :mod:`deid.transform.semantics` and the
value transforms of :mod:`deid.transform.dispatch`. The executors only carry it out: the
effects table lists its outcomes, the engine builds a pydicom data set from it, the byte writer
writes the file's bytes from it, and the risk model reads the values it leaves.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Final, NamedTuple

from deid.errors import SecretMissingError
from deid.ingest.decode import keyword_of, tag_text
from deid.ingest.tree import UNDECODABLE, Node, Unread, per_tree
from deid.policy import iods
from deid.policy.actions import BINARY_VRS, Action
from deid.policy.iods import Requirements, requirements_for
from deid.policy.profile_model import Profile
from deid.policy.resolver import Decision, resolver_for
from deid.policy.standard import e11_row_for
from deid.secret_store import Secrets
from deid.tags import is_private_creator, private_creator_tag
from deid.transform import markers, semantics
from deid.transform.dispatch import REMOVE_ELEMENT, DerivedKeys, TransformState, transform_value
from deid.transform.outcome import KEPT, REMOVED, Added, Outcome, walk
from deid.transform.semantics import DEFAULT_WRITER, WriterIdentity


@dataclass
class FilePlan:
    """The outcomes of one file's elements under one profile, and what is added."""

    profile: Profile
    meta: list[Outcome]
    body: list[Outcome]
    added: list[Added]
    added_meta: list[Added]
    patient_key: str
    #: The file as found (an export reviewed on its own), not a profile's outcome.
    as_found: bool = False

    def outcomes(self) -> Iterator[Outcome]:
        """Every outcome, file meta first, then the data set depth first in tag order."""
        yield from walk(self.meta)
        yield from walk(self.body)

    @property
    def modified(self) -> bool:
        """True when anything in the data set changed (the markers are then written)."""
        return any(outcome.modified for outcome in self.body)

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled by its fields (a compiled class is not restored attribute by attribute).
        return FilePlan, (self.profile, self.meta, self.body, self.added, self.added_meta,
                          self.patient_key, self.as_found)


class _Holder:
    """What :func:`deid.transform.dispatch.transform_value` reads of an element."""

    __slots__ = ("VR", "value")

    def __init__(self, vr: str, value: Any) -> None:
        self.VR = vr
        self.value = value


class _Context(NamedTuple):
    """Where a data set is in its file: its path prefix, the keywords of the sequences it is
    in, its depth, and whether its elements are cleaned or replaced by dummies."""

    prefix: str = ""
    keywords: tuple[str, ...] = ()
    depth: int = 0
    cleaning: bool = False
    dummying: bool = False

    def item(self, path: str, keyword: str, number: int, cleaning: bool,
             dummying: bool) -> _Context:
        return _Context(f"{path}[{number}].", (*self.keywords, keyword), self.depth + 1,
                        cleaning, dummying)


#: The top level of a file.
_TOP: Final = _Context()
#: The actions the planner's loops test for (module constants, which the compiled planner
#: reads directly instead of looking up the enum's members every time).
KEEP: Final = Action.KEEP
REMOVE: Final = Action.REMOVE
EMPTY: Final = Action.EMPTY
#: Makes an outcome from its fields in order (planning's hot path: no keyword handling).
_new: Final = tuple.__new__
_OUTCOME: Final = Outcome


class _File:
    """What one plan needs besides the tree: transform state, the IOD's requirements and the
    file's levels as the planners of all profiles read them (:func:`_levels_of`)."""

    __slots__ = ("levels", "requirements", "state")

    def __init__(self, state: TransformState, requirements: Requirements | None,
                 levels: Levels) -> None:
        self.state = state
        self.requirements = requirements
        self.levels = levels


#: What decides an element's decision: ``(tag, VR, private creator, cleaning, dummying)``.
DecisionKey = tuple[int, str, str | None, bool, bool]
#: One element as a level's loop reads it: its tag, the node, its path, whether its value can
#: be kept or removed as it is (no items, decodable), and the number of its decision key
#: outside cleaned or dummied sequences (:func:`key_number`; -1 for a private creator).
Entry = tuple[int, Node, str, bool, int]
#: A file's levels read so far, by the level's id (with the level, so that the id stays its
#: own).
Levels = dict[int, tuple[list[Node], list[Entry]]]


@per_tree
def _levels_of(body: list[Node]) -> Levels:
    """The levels of a file as its planners read them, filled as they are met: the planners
    of one file, one per profile, share each element's path and decision key."""
    return {}


def _entries(nodes: list[Node], prefix: str, levels: Levels) -> list[Entry]:
    """The entries of a level whose elements' paths start with ``prefix``."""
    known = levels.get(id(nodes))
    if known is not None and known[0] is nodes:
        return known[1]
    entries: list[Entry] = []
    for node in nodes:
        tag = node.tag
        entries.append((tag, node, prefix + tag_text(tag),
                        node.items is None and not node.flags & UNDECODABLE,
                        -1 if is_private_creator(tag)
                        else key_number((tag, node.vr, node.creator, False, False))))
    levels[id(nodes)] = (nodes, entries)
    return entries


#: The decision keys met in this process, numbered in the order met: a file's levels hold an
#: element's number, which every profile's planner then looks its decision up by (in a list,
#: instead of hashing the key once per profile).
_KEY_NUMBERS: Final[dict[DecisionKey, int]] = {}
_NUMBERED_KEYS: Final[list[DecisionKey]] = []


def key_number(key: DecisionKey) -> int:
    """The number of a decision key (the same in every planner of this process)."""
    number = _KEY_NUMBERS.get(key)
    if number is None:
        number = _KEY_NUMBERS[key] = len(_NUMBERED_KEYS)
        _NUMBERED_KEYS.append(key)
    return number


class Planner:
    """Plan one profile's outcomes for files; decisions cached per element kind."""

    #: At most this many decisions imposed on removed elements are remembered (by default;
    #: an instance's ``removals_limit``).
    REMOVALS = 50_000

    def __init__(self, profile: Profile, secrets: Secrets, *,
                 writer: WriterIdentity = DEFAULT_WRITER) -> None:
        self.profile = profile
        self.resolver = resolver_for(profile)
        self.writer = writer
        linkage = {name for member in profile.chain for name in member.linkage}
        self.keys = DerivedKeys(secrets, profile.id, linkage)
        self._decisions: dict[DecisionKey, Decision] = {}
        #: Decisions by the number of their key (:func:`key_number`), filled as met.
        self._numbered: list[Decision | None] = []
        self._transforms = TransformMemo()
        self._changed: dict[tuple[int, str, Action], tuple[Decision, Decision]] = {}
        self._meta_decisions: dict[tuple[int, str], Decision] = {}
        self._removals: dict[tuple[int, tuple[str, ...], int, int],
                             tuple[Requirements | None, Decision, Decision | None]] = {}
        self.removals_limit = self.REMOVALS
        self._options = frozenset(profile.all_options())

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuilt from what made it (a compiled class is not restored attribute by
        # attribute); what it remembers is not sent.
        return _planner, (self.profile, self.keys.secrets, self.writer)

    def decide(self, tag: int, vr: str, creator: str | None, cleaning: bool = False,
               dummying: bool = False) -> Decision:
        """:func:`deid.transform.semantics.decide` (``vr`` may be ``"OB or OW"``: its first
        VR decides), cached."""
        key = (tag, vr, creator, cleaning, dummying)
        decision = self._decisions.get(key)
        if decision is None:
            decision = self._decisions[key] = semantics.decide(
                self.resolver, tag, vr.split(" or ")[0], creator, cleaning=cleaning,
                dummying=dummying)
        return decision

    def _decide_numbered(self, number: int) -> Decision:
        """:meth:`decide` of the key numbered ``number``, remembered by its number."""
        numbered = self._numbered
        if number >= len(numbered):
            numbered.extend([None] * (number + 1 - len(numbered)))
        decision = numbered[number] = self.decide(*_NUMBERED_KEYS[number])
        return decision

    def plan(self, meta: list[Node], body: list[Node]) -> FilePlan:
        """The plan of one file from its file meta and data set trees."""
        key, identifiers, requirements = _what_the_file_decides(body)
        state = TransformState(self.keys, key, identifiers, self.profile.params)
        file = _File(state, requirements, _levels_of(body))
        body_out = self._level(body, _TOP, file)
        meta_out, added_meta = self._meta(meta, body_out, file)
        plan = FilePlan(self.profile, meta_out, body_out, [], added_meta, key)
        if plan.modified:
            plan.added = markers.write_markers(self.profile.id, self._options,
                                               plan.body, (plan.meta, plan.body))
        return plan

    # -- one data set (the top level or a sequence item) --------------------------------------

    def _level(self, nodes: list[Node], context: _Context, file: _File) -> list[Outcome]:
        known, cleaning, dummying = self._decisions, context.cleaning, context.dummying
        plain = not cleaning and not dummying
        removed_overlays = self._removed_overlays(nodes) if context.depth == 0 else None
        element, depth = self._element, context.depth
        requirements = file.requirements
        done: dict[int, Outcome] = {}
        numbered = self._numbered
        for tag, node, path, simple, number in _entries(nodes, context.prefix, file.levels):
            if number < 0:
                continue  # a private creator: what its block keeps decides (below)
            if plain:
                found = numbered[number] if number < len(numbered) else None
                decision = found if found is not None else self._decide_numbered(number)
            else:
                key = (tag, node.vr, node.creator, cleaning, dummying)
                cached = known.get(key)
                decision = cached if cached is not None else self.decide(*key)
            if removed_overlays and tag >> 16 in removed_overlays \
                    and decision.action is not REMOVE:
                decision = semantics.overlay_group_decision(tag >> 16)
            action = decision.action
            if simple:
                if action is KEEP:  # as _outcome keeps a value
                    done[tag] = _new(_OUTCOME, (path, node, depth, decision, action, False,
                                                KEPT, None, ""))
                    continue
                if action is REMOVE:  # as _element removes one
                    removed = _new(_OUTCOME, (path, node, depth, decision, action, True,
                                              REMOVED, None, ""))
                    done[tag] = removed if requirements is None or tag >> 16 & 1 \
                        or decision is semantics.GROUP_LENGTH \
                        else self._removed_as_required(removed, node, decision, context, file)
                    continue
            done[tag] = element(node, decision, context, file, path)
        if len(done) == len(nodes):
            return list(done.values())  # no private creator at this level
        kept_blocks = {private_creator_tag(tag) for tag, outcome in done.items()
                       if not outcome.removed}
        out = []
        for node in nodes:
            outcome = done.get(node.tag)
            if outcome is None:
                kept = node.tag in kept_blocks
                outcome = Outcome(context.prefix + tag_text(node.tag), node, context.depth,
                                  semantics.creator_decision(kept),
                                  Action.KEEP if kept else Action.REMOVE, not kept,
                                  KEPT if kept else REMOVED, None, "")
            out.append(outcome)
        return out

    def _removed_overlays(self, nodes: list[Node]) -> frozenset[int]:
        """The overlay groups whose Overlay Data is removed: removed whole."""
        return frozenset(
            node.tag >> 16 for node in nodes
            if node.tag & 0xFFFF == semantics.OVERLAY_DATA_ELEMENT
            and semantics.is_overlay_group(node.tag)
            and self.decide(node.tag, node.vr, node.creator).action is Action.REMOVE)

    def _element(self, node: Node, decision: Decision, context: _Context,
                 file: _File, path: str | None = None) -> Outcome:
        """An element's outcome, with the IOD's requirements applied (see
        :func:`deid.transform.semantics.required`; ``path``: the element's, when known)."""
        outcome = self._outcome(node, decision, context, file, path)
        if not outcome.removed and outcome.action is not EMPTY:
            return outcome  # only what is removed or emptied can break the object
        if file.requirements is None or node.flags & UNDECODABLE or node.tag >> 16 & 1 \
                or decision is semantics.GROUP_LENGTH:
            return outcome
        return self._as_required(outcome, node, decision, context, file)

    def _as_required(self, outcome: Outcome, node: Node, decision: Decision,
                     context: _Context, file: _File) -> Outcome:
        """A removed or emptied standard element's outcome as the IOD's requirements need
        it."""
        kind, changed = _requirement(outcome, context, file)
        if changed is None:
            return outcome
        required = self._outcome(node, self._required(decision, kind or "3", changed),
                                 context, file, outcome.path)
        if outcome.note:  # e.g. a transform that failed closed: say so
            return required._replace(note=f"{outcome.note}; {changed.value} instead (Type "
                                     f"{kind or 3} in this IOD)")
        return required

    def _removed_as_required(self, removed: Outcome, node: Node, decision: Decision,
                             context: _Context, file: _File) -> Outcome:
        """:meth:`_as_required` of a standard element removed as it is: the decision the IOD
        imposes instead (if any) is remembered per IOD, place, tag and decision."""
        requirements = file.requirements
        key = (id(requirements), context.keywords, node.tag, id(decision))
        known = self._removals.get(key)
        if known is None or known[0] is not requirements or known[1] is not decision:
            if len(self._removals) >= self.removals_limit:
                self._removals.clear()
            kind, changed = _requirement(removed, context, file)
            known = self._removals[key] = (
                requirements, decision,
                None if changed is None else self._required(decision, kind or "3", changed))
        instead = known[2]
        return removed if instead is None \
            else self._outcome(node, instead, context, file, removed.path)

    def _required(self, decision: Decision, kind: str, action: Action) -> Decision:
        """:func:`deid.transform.semantics.required`, cached (with the decision it changes,
        so that its id stays its own)."""
        key = (id(decision), kind, action)
        found = self._changed.get(key)
        if found is None:
            found = self._changed[key] = (decision, semantics.required(decision, kind, action))
        return found[1]

    def _outcome(self, node: Node, decision: Decision, context: _Context,
                 file: _File, path: str | None = None) -> Outcome:
        action = decision.action
        depth = context.depth
        if path is None:
            path = context.prefix + tag_text(node.tag)
        if node.flags & UNDECODABLE:
            keep = action is Action.KEEP
            note = "value could not be decoded; " + ("kept as raw bytes (VR UN)" if keep
                                                      else "removed")
            return Outcome(path, node, depth, decision, Action.KEEP if keep else Action.REMOVE,
                           not keep, KEPT if keep else REMOVED, None, note)
        if node.items is not None:
            return self._sequence(node, decision, path, context, file)
        if action is KEEP:
            return Outcome(path, node, depth, decision, action, False, KEPT, None, "")
        if action is REMOVE:
            return Outcome(path, node, depth, decision, action, True, REMOVED, None, "")
        if action is EMPTY:
            empty = b"" if _vr(node) in BINARY_VRS else ""
            changed = not semantics.is_empty(node.value)
            return Outcome(path, node, depth, decision, action, changed, empty, None,
                           "" if changed else "already empty: unchanged")
        return self._transformed(node, decision, path, depth, file.state)

    def _transformed(self, node: Node, decision: Decision, path: str, depth: int,
                     state: TransformState) -> Outcome:
        action = decision.action
        if isinstance(node.value, Unread) and action is not Action.DUMMY:
            return _fail_closed(node, decision, path, depth, "the value was not read")
        key = self._transforms.key(decision, node, state)
        done = self._transforms.get(key)
        if done is None:
            done = _transform(node, decision, state)
            self._transforms.put(key, decision, done)
        value, problem, changed = done
        if problem is not None:
            return _fail_closed(node, decision, path, depth, problem)
        if value is REMOVE_ELEMENT:
            return Outcome(path, node, depth, decision, action, True, REMOVED, None, "")
        note = "" if changed else f"{action.value} leaves this value unchanged"
        return Outcome(path, node, depth, decision, action, changed,
                       list(value) if type(value) is list else value, None, note)

    def _sequence(self, node: Node, decision: Decision, path: str, context: _Context,
                  file: _File) -> Outcome:
        """Remove, empty (no items), or walk the items: keep and uid apply the profile inside,
        clean also cleans what no rule names, dummy replaces what no rule names."""
        action, depth = decision.action, context.depth
        originals = node.items or []
        if action is Action.REMOVE:
            return Outcome(path, node, depth, decision, action, True, REMOVED, None, "")
        if action is Action.EMPTY:
            return Outcome(path, node, depth, decision, action, bool(originals), KEPT, [], "")
        if action in (Action.KEEP, Action.CLEAN, Action.UID, Action.DUMMY):
            keyword = keyword_of(node.tag)
            cleaning = context.cleaning or action is Action.CLEAN
            items = [self._level(item, context.item(path, keyword, number, cleaning,
                                                    action is Action.DUMMY), file)
                     for number, item in enumerate(originals)]
            changed = any(outcome.modified for item in items for outcome in item)
            return Outcome(path, node, depth, decision, action, changed, KEPT, items, "")
        return _fail_closed(node, decision, path, depth, "not valid for a sequence")

    # -- the file meta ------------------------------------------------------------------------

    def _meta(self, meta: list[Node], body: list[Outcome],
              file: _File) -> tuple[list[Outcome], list[Added]]:
        out: list[Outcome] = []
        present = set()
        for node in meta:
            present.add(node.tag)
            if node.tag == semantics.MEDIA_STORAGE_SOP_INSTANCE_UID:
                out.append(self._media_storage(node, body, file.state))
                continue
            decision = self._meta_decisions.get((node.tag, node.vr))
            if decision is None:
                decision = self._meta_decisions[(node.tag, node.vr)] = semantics.meta_decision(
                    self.resolver, node.tag, _vr(node), self.writer)
            out.append(self._outcome(node, decision, _TOP, file))
        return out, self._added_meta(present, body)

    def _media_storage(self, node: Node, body: list[Outcome],
                       state: TransformState) -> Outcome:
        path = tag_text(node.tag)
        new_value = _sop_instance_uid(body)
        if new_value is None and not node.flags & UNDECODABLE:
            try:
                new_value = transform_value(Action.UID, {}, _Holder("UI", node.value), state)
            except Exception as error:  # noqa: BLE001 - fail closed
                return _fail_closed(node, semantics.media_storage_decision(Action.UID), path, 0,
                                    f"{type(error).__name__}: {error}")
        if new_value is None:
            return _fail_closed(node, semantics.media_storage_decision(Action.UID), path, 0,
                                "no SOP Instance UID to follow")
        changed = not semantics.same_value(node.value, new_value)
        action = Action.UID if changed else Action.KEEP
        return Outcome(path, node, 0, semantics.media_storage_decision(action), action, changed,
                       new_value if changed else KEPT, None, "")

    def _added_meta(self, present: set[int], body: list[Outcome]) -> list[Added]:
        """File meta elements the writer adds when the file did not have them."""
        added = []
        writer = self.writer
        for tag, value in ((semantics.IMPLEMENTATION_CLASS_UID, writer.implementation_class_uid),
                           (semantics.IMPLEMENTATION_VERSION_NAME,
                            writer.implementation_version_name)):
            if tag not in present:
                added.append(Added(tag, "UI" if tag == semantics.IMPLEMENTATION_CLASS_UID
                                   else "SH", value))
        if semantics.SOURCE_AE_TITLE not in present:
            added.append(Added(semantics.SOURCE_AE_TITLE, "AE", writer.source_ae_title))
        if semantics.MEDIA_STORAGE_SOP_INSTANCE_UID not in present:
            uid = _sop_instance_uid(body)
            if uid is not None:
                added.append(Added(semantics.MEDIA_STORAGE_SOP_INSTANCE_UID, "UI", uid))
        return sorted(added)


def _planner(profile: Profile, secrets: Secrets, writer: WriterIdentity) -> Planner:
    """A planner unpickled (:meth:`Planner.__reduce__`)."""
    return Planner(profile, secrets, writer=writer)


#: A transform's result: the new value (or :data:`REMOVE_ELEMENT`), why it cannot be made
#: (else None), and whether it differs from the element's value.
Transformed = tuple[Any, str | None, bool]


def _transform(node: Node, decision: Decision, state: TransformState) -> Transformed:
    """The element's new value (or :data:`REMOVE_ELEMENT`), or why it cannot be made."""
    try:
        value = transform_value(decision.action, decision.params,
                                _Holder(_vr(node), node.value), state)
    except SecretMissingError:
        raise  # the run is misconfigured: no file can be de-identified
    except Exception as error:  # noqa: BLE001 - any other failure removes the element
        return None, f"{type(error).__name__}: {error}", True
    return value, None, value is REMOVE_ELEMENT or not semantics.same_value(node.value, value)


#: Actions whose result can depend on the patient (its key or identifying strings).
_PER_PATIENT: Final = frozenset({Action.HASH, Action.PSEUDONYM, Action.SHIFT_DATE, Action.CLEAN})
_PLAIN_TYPES: Final = (str, bytes, int, float)


#: At most this many values are remembered per planner (about 9 MB of UIDs) by default; then
#: it starts over.
TRANSFORMS_REMEMBERED: Final = 20_000


class TransformMemo:
    """Transformed values of one planner, remembered by what decides them: the decision, the
    VR, the value and (for actions that read it) the patient. The elements of a series repeat
    (study and series UIDs, dates, names): each is transformed once per patient."""

    __slots__ = ("_done", "limit")

    def __init__(self, limit: int = TRANSFORMS_REMEMBERED) -> None:
        self._done: dict[tuple[Any, ...], tuple[Decision, Transformed]] = {}
        self.limit = limit

    @staticmethod
    def key(decision: Decision, node: Node, state: TransformState) -> tuple[Any, ...] | None:
        """What decides the transform, or None when the value is not a plain one."""
        value = node.value
        kind = type(value)
        if kind is list:
            if not all(type(item) is str for item in value):
                return None
            value = tuple(value)
        elif kind not in _PLAIN_TYPES:
            return None
        patient = (state.patient_key, state.identifiers) \
            if decision.action in _PER_PATIENT else None
        return (id(decision), node.vr, kind, value, patient)

    def get(self, key: tuple[Any, ...] | None) -> Transformed | None:
        if key is None:
            return None
        found = self._done.get(key)
        return None if found is None else found[1]

    def put(self, key: tuple[Any, ...] | None, decision: Decision, done: Transformed) -> None:
        """Remember ``done`` (the decision is kept with it, so that its id stays its own)."""
        if key is None:
            return
        if len(self._done) >= self.limit:
            self._done.clear()
        self._done[key] = (decision, done)


def warm_planning(profiles: Iterable[Profile]) -> None:
    """Load what planning any file needs: the IOD requirement tables and each profile's
    resolver (cached per process)."""
    iods.preload()
    for profile in profiles:
        resolver_for(profile)


@per_tree
def _what_the_file_decides(body: list[Node]) -> tuple[str, tuple[str, ...],
                                                      Requirements | None]:
    """The patient key, the identifying strings and the IOD's requirements of a file: the
    same under every profile."""
    return (semantics.patient_key(body), semantics.collect_identifiers(body),
            _requirements(body))


def _requirements(body: list[Node]) -> Requirements | None:
    """What the file's IOD requires (None for a SOP Class PS3.3 does not define)."""
    sop_class = next((node.value for node in body if node.tag == semantics.SOP_CLASS_UID), None)
    if not isinstance(sop_class, str):
        return None
    return _requirements_of(sop_class, tuple(node.tag for node in body))


@lru_cache(maxsize=1024)
def _requirements_of(sop_class: str, tags: tuple[int, ...]) -> Requirements | None:
    """The requirements of a SOP Class for files with these top-level tags (the files of a
    series have the same)."""
    return requirements_for(sop_class, (keyword_of(tag) for tag in tags))


def _requirement(outcome: Outcome, context: _Context,
                 file: _File) -> tuple[str | None, Action | None]:
    """The element's Type in the file's IOD, and the action it needs instead of the
    outcome's (None when the outcome is fine as it is)."""
    assert file.requirements is not None
    keyword = keyword_of(outcome.tag)
    kind = file.requirements.type_of((*context.keywords, keyword)) if keyword else None
    return kind, _required_action(outcome, kind)


def _required_action(outcome: Outcome, kind: str | None) -> Action | None:
    """The action the IOD needs instead of the outcome's, or None when it is fine as it is."""
    if outcome.removed:
        if kind is None:
            return None
        if kind.startswith("2"):
            return Action.EMPTY
        return Action.DUMMY if e11_row_for(outcome.tag) is not None else Action.KEEP
    if outcome.action is not Action.EMPTY:
        return None
    if kind is None:
        return Action.REMOVE if outcome.node.items is not None else None
    if kind in ("1", "1C") and outcome.modified:
        return Action.DUMMY if e11_row_for(outcome.tag) is not None else Action.KEEP
    return None


def _sop_instance_uid(body: list[Outcome]) -> Any:
    for outcome in body:
        if outcome.tag == semantics.SOP_INSTANCE_UID:
            return outcome.output_value
    return None


def _fail_closed(node: Node, decision: Decision, path: str, depth: int,
                 problem: str) -> Outcome:
    note = f"{decision.action.value} could not be applied ({problem}); element removed"
    return Outcome(path, node, depth, decision, Action.REMOVE, True, REMOVED, None, note)


def _vr(node: Node) -> str:
    return node.vr.split(" or ")[0]


_AS_FOUND: Final = Decision(Action.KEEP, MappingProxyType({}), "As found in the file.", "the file",
                            "as found", False)


def as_found(profile: Profile, meta: list[Node], body: list[Node]) -> FilePlan:
    """A plan that leaves every element as it is, file meta included: what a file already
    holds, for reviewing an export on its own (``profile`` names the review)."""
    return FilePlan(profile, _kept(meta, "", 0), _kept(body, "", 0), [], [],
                    semantics.patient_key(body), as_found=True)


def _kept(nodes: list[Node], prefix: str, depth: int) -> list[Outcome]:
    out = []
    for node in nodes:
        path = prefix + tag_text(node.tag)
        items = None if node.items is None else [
            _kept(item, f"{path}[{number}].", depth + 1) for number, item in enumerate(node.items)]
        out.append(Outcome(path, node, depth, _AS_FOUND, Action.KEEP, False, KEPT, items, ""))
    return out
