"""Audit a de-identified export: what a pipeline actually did, against the profile it claims,
and what identifying content is still in it.

:func:`audit` pairs each exported file with its original (:mod:`.pairs`), infers for every
element what was done (:mod:`.observe`), compares it with what the claimed profile's plan
(:mod:`deid.transform.plan`) says, and lists every deviation. :func:`audit_export` reviews an
export alone. Both also run the risk model on the exported values as they are (the plan that
keeps everything, :func:`deid.transform.plan.as_found`) with the export's consistency checks
(:mod:`.checks`) and k-anonymity over its quasi-identifiers. Nothing in either folder is written.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from deid.audit.checks import EXPORT_PROFILE, export_findings
from deid.audit.observe import (
    ABSENT,
    ADDED,
    CLEANED,
    CONSISTENT,
    DUMMY,
    EMPTIED,
    KEPT,
    OBSERVED,
    REMOVED,
    SHIFTED,
    TRUNCATED,
    Element,
    Replacements,
    compare,
)
from deid.audit.pairs import Pair, pair_files
from deid.ingest.decode import display, tag_text
from deid.ingest.headers import error_row
from deid.ingest.reader import ArchiveCache, planning_trees
from deid.ingest.runner import ErrorRow
from deid.ingest.sources import IngestLimits, Source
from deid.ingest.tables import error_frame
from deid.ingest.tree import Node
from deid.outputs.effects import required_secrets
from deid.policy.actions import Action
from deid.policy.profile_loader import load_profile_text
from deid.policy.profile_model import Profile
from deid.policy.schema import TABLES, conform
from deid.risk.kanon import DEFAULT_K
from deid.risk.report import RiskReport, assess_plans
from deid.secret_store import Secrets
from deid.transform.outcome import Added, Outcome
from deid.transform.plan import FilePlan, Planner, as_found
from deid.transform.semantics import is_empty, keyword_for

__all__ = ["AuditResult", "audit", "audit_export", "export_profile"]

#: What each planned action is seen as in a copy (an action that left the value: ``kept``).
_ACCEPTED: dict[Action, frozenset[str]] = {
    Action.EMPTY: frozenset({EMPTIED}),
    Action.DUMMY: frozenset({DUMMY, CONSISTENT}),
    Action.UID: frozenset({CONSISTENT}),
    Action.HASH: frozenset({CONSISTENT}),
    Action.PSEUDONYM: frozenset({CONSISTENT, DUMMY}),
    Action.SHIFT_DATE: frozenset({SHIFTED}),
    Action.TRUNCATE_DATE: frozenset({TRUNCATED}),
    Action.ROUND: frozenset({TRUNCATED}),
    Action.CLEAN: frozenset({CLEANED, DUMMY, CONSISTENT}),
}


def export_profile() -> Profile:
    """The review of an export as found: everything it holds is what it keeps."""
    return load_profile_text(
        f'schema_version = 1\nid = "{EXPORT_PROFILE}"\ntitle = "The export as found"\n'
        'provenance = "user"\nunlisted = "keep"\nprivate_tags = "keep"\n',
        name="export review")


@dataclass
class AuditResult:
    """The audit tables: pairs, elements, deviations, the export's residual risk and
    k-anonymity, and the files that could not be read."""

    audit_pairs: pd.DataFrame
    audit_elements: pd.DataFrame
    audit_deviations: pd.DataFrame
    risk: RiskReport
    load_errors: pd.DataFrame
    profile_id: str = ""
    #: Every element of every pair (when asked for): exported, element_path, keyword, vr,
    #: claimed_action, observed_action, agrees, original_value, exported_value, note.
    details: pd.DataFrame | None = None

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables by their export names."""
        return {"audit_pairs": self.audit_pairs, "audit_elements": self.audit_elements,
                "audit_deviations": self.audit_deviations,
                "residual_risk": self.risk.residual_risk, "k_anonymity": self.risk.k_anonymity,
                "k_classes": self.risk.k_classes, "load_errors": self.load_errors}

    @property
    def n_deviations(self) -> int:
        return len(self.audit_deviations)


@dataclass
class _Pair:
    """One readable pair: the original's plan and the elements compared."""

    pair: Pair
    plan: FilePlan
    elements: list[Element]
    added: frozenset[str]


@dataclass
class _Run:
    errors: list[ErrorRow] = field(default_factory=list)
    exported: list[tuple[str, list[Node], list[Node]]] = field(default_factory=list)


@dataclass
class AuditState:
    """What judging an element needs from every pair: which replacements are consistent, and
    the date offsets and day differences seen per patient. States of disjoint sets of pairs
    merge (:meth:`update`), so pairs can be read batch by batch."""

    replacements: Replacements = field(default_factory=Replacements)
    offsets: dict[str, set[int]] = field(default_factory=dict)
    deltas: dict[str, set[int]] = field(default_factory=dict)

    @classmethod
    def of(cls, done: Sequence[_Pair]) -> AuditState:
        """The state of these pairs."""
        replacements = Replacements()
        for item in done:
            for element in item.elements:
                replacements.add(element)
        return cls(replacements, dict(_offsets(done)), dict(_deltas(done)))

    def update(self, other: AuditState) -> None:
        """Add another set of pairs' state."""
        self.replacements.update(other.replacements)
        for mine, theirs in ((self.offsets, other.offsets), (self.deltas, other.deltas)):
            for patient, days in theirs.items():
                mine.setdefault(patient, set()).update(days)


def audit(originals: Iterable[str | os.PathLike[str]],
          exported: Iterable[str | os.PathLike[str]], profile: Profile, *,
          pair: str = "path", mapping: str | os.PathLike[str] | None = None,
          include_values: bool = False, limits: IngestLimits | None = None,
          k: int = DEFAULT_K, qi_sets: Sequence[str] | None = None,
          details: bool = False) -> AuditResult:
    """Audit the files under ``exported`` against their originals under ``originals`` and
    the ``profile`` the export claims (see the module docstring). ``details`` keeps every
    element of every pair (:attr:`AuditResult.details`), for viewing one pair."""
    limits = limits or IngestLimits()
    pairing = pair_files(originals, exported, mode=pair, mapping=mapping, limits=limits)
    run = _Run(list(pairing.errors))
    planner = planner_for(profile)
    done = list(_read_pairs(pairing.pairs, planner, limits, run))
    rows, records = _judge(done, AuditState.of(done), include_values)
    deviations = [record for record in records if not record["agrees"]]
    return AuditResult(_pairs_table(pairing.pairs), _elements_table(element_counts(rows)),
                       _deviations_table(deviations), _export_risk(run.exported, k, qi_sets),
                       error_frame(run.errors), profile.id,
                       _details(records) if details else None)


def audit_export(exported: Iterable[str | os.PathLike[str]], *,
                 limits: IngestLimits | None = None, k: int = DEFAULT_K,
                 qi_sets: Sequence[str] | None = None) -> AuditResult:
    """Review an export on its own: the risk model on its values, its consistency checks and
    k-anonymity (audit_pairs lists its files; there are no elements to compare)."""
    limits = limits or IngestLimits()
    pairing = pair_files([], exported, limits=limits)
    run = _Run(list(pairing.errors))
    archives = ArchiveCache()
    for item in pairing.pairs:
        assert item.exported is not None
        read = _read(item.exported, limits, archives, run)
        if read is not None:
            run.exported.append((item.exported.name, *read))
    pairs = export_pairs(pairing.pairs)
    return AuditResult(_pairs_table(pairs), _elements_table({}), _deviations_table([]),
                       _export_risk(run.exported, k, qi_sets), error_frame(run.errors))


@dataclass
class PairBatch:
    """A batch of pairs read: the pairs both of whose files are readable (the original planned,
    the elements compared), the exported files' trees, and the problem rows."""

    done: list[_Pair]
    exported: list[tuple[str, list[Node], list[Node]]]
    errors: list[ErrorRow]


def read_pair_batch(pairs: Sequence[Pair], planner: Planner, limits: IngestLimits, *,
                    alone: bool = False) -> PairBatch:
    """Read a batch of pairs as :func:`audit` does (``alone``: as :func:`audit_export` does,
    every exported file read and nothing compared)."""
    run = _Run()
    if alone:
        archives = ArchiveCache()
        for item in pairs:
            assert item.exported is not None
            read = _read(item.exported, limits, archives, run)
            if read is not None:
                run.exported.append((item.exported.name, *read))
        return PairBatch([], run.exported, run.errors)
    done = list(_read_pairs(pairs, planner, limits, run))
    return PairBatch(done, run.exported, run.errors)


def judge_batch(done: Sequence[_Pair], state: AuditState,
                include_values: bool) -> tuple[ElementCounts, list[dict[str, object]]]:
    """A batch's audit_elements counts and audit_deviations rows, judged with the ``state``
    of every pair."""
    rows, records = _judge(done, state, include_values)
    return element_counts(rows), [record for record in records if not record["agrees"]]


def audit_tables(pairs: Sequence[Pair], counts: ElementCounts,
                 deviations: Sequence[dict[str, object]]) -> tuple[pd.DataFrame, ...]:
    """The audit_pairs, audit_elements and audit_deviations tables."""
    return _pairs_table(pairs), _elements_table(counts), _deviations_table(deviations)


def export_pairs(pairs: Sequence[Pair]) -> list[Pair]:
    """The pairs of an export reviewed alone, as audit_pairs lists them."""
    return [Pair(None, item.exported, "export") for item in pairs]


def planner_for(profile: Profile) -> Planner:
    """The planner of the claimed profile (random secrets: the audit compares actions, not
    the values a secret derives)."""
    return Planner(profile, Secrets.ephemeral(*_secret_names(profile)))


def _secret_names(profile: Profile) -> list[str]:
    return list(required_secrets([profile]))


def _read(source: Source, limits: IngestLimits, archives: ArchiveCache,
          run: _Run) -> tuple[list[Node], list[Node]] | None:
    try:
        return planning_trees(source, limits, archives)
    except Exception as error:  # noqa: BLE001 - every unreadable file is a row
        run.errors.append(error_row(source.name, error))
        return None


def _read_pairs(pairs: Sequence[Pair], planner: Planner, limits: IngestLimits,
                run: _Run) -> Iterator[_Pair]:
    archives = ArchiveCache()
    for item in pairs:
        if item.original is None or item.exported is None:
            continue
        original = _read(item.original, limits, archives, run)
        exported = _read(item.exported, limits, archives, run)
        if exported is not None:
            run.exported.append((item.exported.name, *exported))
        if original is None or exported is None:
            continue
        plan = planner.plan(*original)
        elements = [*compare(original[0], exported[0]), *compare(original[1], exported[1])]
        yield _Pair(item, plan, elements, frozenset(_added_paths(plan)))


def _added_paths(plan: FilePlan) -> Iterator[str]:
    def walk(element: Added, prefix: str) -> Iterator[str]:
        path = prefix + tag_text(element.tag)
        yield path
        if element.vr == "SQ":
            for number, item in enumerate(element.value):
                for child in item:
                    yield from walk(child, f"{path}[{number}].")

    for element in (*plan.added_meta, *plan.added):
        yield from walk(element, "")


def _offsets(done: Sequence[_Pair]) -> dict[str, set[int]]:
    """Every date offset seen per patient (the original's patient key)."""
    seen: dict[str, set[int]] = defaultdict(set)
    for item in done:
        for element in item.elements:
            if element.observed == SHIFTED and element.shift_days is not None:
                seen[item.plan.patient_key or item.pair.exported.name].add(  # type: ignore[union-attr]
                    element.shift_days)
    return seen


def _deltas(done: Sequence[_Pair]) -> dict[str, set[int]]:
    """Every day difference of a changed date per patient, truncated-looking ones included."""
    seen: dict[str, set[int]] = defaultdict(set)
    for item in done:
        patient = item.plan.patient_key or item.pair.exported.name  # type: ignore[union-attr]
        for element in item.elements:
            if element.shift_days is not None:
                seen[patient].add(element.shift_days)
    return seen


@dataclass(frozen=True)
class _Row:
    path: str
    tag: str
    keyword: str
    vr: str
    claimed: str
    observed: str
    agrees: bool
    note: str


def _judge(done: Sequence[_Pair], state: AuditState,
           include_values: bool) -> tuple[list[_Row], list[dict[str, object]]]:
    """Every element's row (for audit_elements) and record (for audit_deviations and the
    details of one pair); ``state`` is that of every pair (these and the others)."""
    replacements, offsets, deltas = state.replacements, state.offsets, state.deltas
    rows: list[_Row] = []
    records: list[dict[str, object]] = []
    for item in done:
        outcomes = {outcome.path: outcome for outcome in item.plan.outcomes()}
        patient = item.plan.patient_key or item.pair.exported.name  # type: ignore[union-attr]
        for element in item.elements:
            if element.path.endswith(",0000)"):
                continue  # group lengths: recomputed by every writer
            observed = replacements.resolve(element)
            outcome = outcomes.get(element.path)
            if (observed == TRUNCATED and outcome is not None
                    and outcome.action is Action.SHIFT_DATE
                    and deltas.get(patient) == {element.shift_days}):
                observed = SHIFTED  # a shift that happened to land on the first of a month
            claimed, accepted = (_claim(outcome, element.path in item.added, element.path)
                                 if outcome
                                 or element.path in item.added
                                 else _inherited(outcomes, element.path))
            note = ""
            agrees = observed in accepted
            if observed == SHIFTED and len(offsets.get(patient, ())) > 1:
                agrees = False
                note = (f"{len(offsets[patient])} different date offsets for one patient: "
                        "intervals are not kept")
            node = element.node
            row = _Row(element.path, tag_text(node.tag), keyword_for(node.tag),
                       node.vr.split(" or ")[0], claimed, observed, agrees, note)
            rows.append(row)
            records.append(_record(item.pair, row, element, include_values))
        seen = {element.path for element in item.elements}
        for path in sorted(item.added - seen):
            if _claim(None, True, path)[0] == "writer":
                continue
            tag = int(path.rsplit(".", 1)[-1][1:10].replace(",", ""), 16)
            row = _Row(path, tag_text(tag), keyword_for(tag), "", "add", ABSENT, False,
                       "the profile writes it; the export does not have it")
            rows.append(row)
            records.append(_record(item.pair, row, None, include_values))
    return rows, records


def _inherited(outcomes: dict[str, Outcome], path: str) -> tuple[str, frozenset[str]]:
    """An element inside a sequence the plan removes or empties goes with it."""
    while "." in path:
        path = path.rsplit(".", 1)[0].rsplit("[", 1)[0]
        outcome = outcomes.get(path)
        if outcome is not None and (outcome.removed or outcome.items == []):
            return f"{outcome.action.value} (its sequence)", frozenset({REMOVED})
    return "none", frozenset()


#: What the writer does whatever the profile (its own file meta identity, the markers): not a
#: rule of the claimed profile, so any observation agrees (the markers' absence or falsehood
#: is a residual-risk finding of the export instead).
_WRITER_ORIGINS = frozenset({"marker"})
_MARKER_PATHS = frozenset({"(0012,0062)", "(0012,0063)", "(0012,0064)", "(0028,0303)"})
_WRITER_TAGS = frozenset({"(0002,0012)", "(0002,0013)", "(0002,0016)"})


def _claim(outcome: Outcome | None, added: bool, path: str = "") -> tuple[str, frozenset[str]]:
    """The claimed action's name and the observations that agree with it."""
    top = path.split(".")[0].split("[")[0]
    if top in _WRITER_TAGS or top in _MARKER_PATHS or (
            outcome is not None and outcome.decision.origin in _WRITER_ORIGINS):
        return "writer", frozenset(OBSERVED)
    if outcome is None:
        return ("add", frozenset({ADDED})) if added else ("none", frozenset())
    name = outcome.action.value
    if outcome.removed:
        return name, frozenset({REMOVED})
    if outcome.items is not None:
        emptied = outcome.action is Action.EMPTY and outcome.modified
        return name, frozenset({EMPTIED} if emptied else {KEPT})
    if not outcome.modified:
        return name, frozenset({KEPT})
    if is_empty(outcome.output_value):
        return name, frozenset({EMPTIED})  # e.g. a dummy whose value is an empty parameter
    return name, _ACCEPTED.get(outcome.action, frozenset())


def _record(pair: Pair, row: _Row, element: Element | None,
            include_values: bool) -> dict[str, object]:
    def shown(node: Node | None) -> str | None:
        if not include_values or node is None or node.items is not None:
            return None
        return display(node.value)

    return {"original": pair.original.name if pair.original else "",
            "exported": pair.exported.name if pair.exported else "",
            "element_path": row.path, "tag": row.tag, "keyword": row.keyword,
            "claimed_action": row.claimed, "observed_action": row.observed,
            "original_value": shown(element.original if element else None),
            "exported_value": shown(element.exported if element else None), "note": row.note,
            "vr": row.vr, "agrees": row.agrees}


_DETAIL_COLUMNS = ("exported", "original", "element_path", "tag", "keyword", "vr",
                   "claimed_action", "observed_action", "agrees", "original_value",
                   "exported_value", "note")


def _details(records: Sequence[dict[str, object]]) -> pd.DataFrame:
    frame = pd.DataFrame(list(records), columns=list(_DETAIL_COLUMNS))
    return frame.astype({"agrees": "boolean"}).reset_index(drop=True)


def _pairs_table(pairs: Sequence[Pair]) -> pd.DataFrame:
    rows = [{"original": item.original.name if item.original else "",
             "exported": item.exported.name if item.exported else "",
             "paired_by": item.paired_by} for item in pairs]
    return conform("audit_pairs", pd.DataFrame(rows, columns=_columns("audit_pairs")))


#: An audit_elements row's key: element_path, tag, keyword, vr, claimed, observed, agrees.
ElementKey = tuple[str, str, str, str, str, str, bool]
#: Per key: how many elements, and their notes.
ElementCounts = dict[ElementKey, tuple[int, frozenset[str]]]


def element_counts(rows: Iterable[_Row]) -> ElementCounts:
    """The audit_elements rows of some pairs, before they are merged with the others'."""
    counts: dict[ElementKey, list[Any]] = {}
    for row in rows:
        entry = counts.setdefault((row.path, row.tag, row.keyword, row.vr, row.claimed,
                                   row.observed, row.agrees), [0, set()])
        entry[0] += 1
        if row.note:
            entry[1].add(row.note)
    return {key: (count, frozenset(notes)) for key, (count, notes) in counts.items()}


def merge_element_counts(parts: Iterable[ElementCounts]) -> ElementCounts:
    """The counts of disjoint sets of pairs, added."""
    merged: ElementCounts = {}
    for part in parts:
        for key, (count, notes) in part.items():
            before = merged.get(key, (0, frozenset()))
            merged[key] = (before[0] + count, before[1] | notes)
    return merged


def _elements_table(counts: ElementCounts) -> pd.DataFrame:
    table = [{"element_path": key[0], "tag": key[1], "keyword": key[2], "vr": key[3],
              "claimed_action": key[4], "observed_action": key[5], "agrees": key[6],
              "n_files": count, "note": "; ".join(sorted(notes))}
             for key, (count, notes) in counts.items()]
    return conform("audit_elements", pd.DataFrame(table, columns=_columns("audit_elements")))


def _deviations_table(rows: Sequence[dict[str, object]]) -> pd.DataFrame:
    return conform("audit_deviations",
                   pd.DataFrame(list(rows), columns=_columns("audit_deviations")))


def _columns(table: str) -> list[str]:
    return TABLES[table].column_names()


def _export_risk(files: Sequence[tuple[str, list[Node], list[Node]]], k: int,
                 qi_sets: Sequence[str] | None) -> RiskReport:
    """The risk model on the exported values as they are, with the consistency checks."""
    profile = export_profile()
    plans = ((name, as_found(profile, meta, body), body) for name, meta, body in files)
    checks = export_findings([(name, body) for name, _, body in files])
    return assess_plans(plans, [profile], k=k, qi_sets=qi_sets, extra=checks)
