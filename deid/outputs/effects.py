"""Per-file effects of profiles: the ``effects`` table, de-identified copies, and a vectorized
application to already-loaded header rows.

:func:`apply_profiles` reads each file's header once (in parallel, like the headers ingest),
plans every profile's outcome for every element (:mod:`deid.transform.plan`) and records the
action, the effect (what happened to the value) and, when asked, the original and resulting
values. When de-identified copies are written (``write_dicom``), or the element tree lacks a
value (a deflated file, a deferred long text), the file is read whole by pydicom and the same
plan is carried out by the engine. :func:`apply_to_headers` decides actions for rows of the
``headers`` table in column form: one decision per distinct (tag, VR, private creator), mapped
back by codes.
"""

from __future__ import annotations

import io
import os
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd
import pyarrow as pa

from deid.errors import DeidError
from deid.ingest.decode import tag_text
from deid.ingest.headers import (
    error_row,
    problem_rows,
    stream_job,
    warning_rows,
    without_values,
)
from deid.ingest.kinds import severity
from deid.ingest.reader import (
    ArchiveCache,
    Elements,
    check_whole,
    needs_full_read,
    read_elements,
    read_whole,
    whole_buffer,
)
from deid.ingest.runner import BatchOut, ErrorRow, Progress, run_job
from deid.ingest.sources import IngestLimits, Source, Upload, collect_sources
from deid.ingest.tables import (
    Written,
    error_frame,
    frame_from_batches,
    table_schema,
)
from deid.ingest.tree import UNDECODABLE, build_tree
from deid.policy.actions import Action, Effect, effect_of
from deid.policy.profile_model import Profile
from deid.policy.resolver import Resolver, resolver_for
from deid.secret_store import DEFAULT_SECRET, Secrets
from deid.transform import semantics
from deid.transform.byte_writer import copy_chunks, meta_end
from deid.transform.engine import result_of
from deid.transform.outcome import Outcome
from deid.transform.plan import FilePlan, Planner, warm_planning
from deid.transform.semantics import DEFAULT_WRITER, WriterIdentity, keyword_for

#: Actions whose transform needs a secret (``dummy`` too: a dummy UID is a keyed UID).
_SECRET_ACTIONS = frozenset({Action.UID, Action.HASH, Action.PSEUDONYM, Action.CLEAN,
                             Action.SHIFT_DATE, Action.DUMMY})


_DEFLATED = "1.2.840.10008.1.2.1.99"


class OutputFolderError(DeidError):
    """A folder for de-identified copies that could overwrite an input."""


def required_secrets(profiles: Iterable[Profile]) -> tuple[str, ...]:
    """Names of the secrets the profiles' rules may need (``default`` for UIDs always)."""
    names = {DEFAULT_SECRET}
    for profile in profiles:
        for layer in resolver_for(profile).layers:
            for rule in layer.rules:
                if rule.enabled and rule.action in _SECRET_ACTIONS and not (
                        rule.action is Action.SHIFT_DATE and rule.params.get("days")):
                    names.add(str(rule.params.get("secret", DEFAULT_SECRET)))
    return tuple(sorted(names))


def check_secrets(profiles: Iterable[Profile], secrets: Secrets) -> None:
    """Raise :class:`deid.SecretMissingError` for the first needed secret not given."""
    for name in required_secrets(profiles):
        secrets.get(name)


def check_output_folder(out_dir: str | os.PathLike[str],
                        inputs: Iterable[str | os.PathLike[str]]) -> Path:
    """The resolved output folder, refused when it is an input folder, inside one, or an
    input file."""
    out = Path(out_dir).resolve()
    for given in inputs:
        path = Path(given).resolve()
        if out == path or (path.is_dir() and out.is_relative_to(path)):
            raise OutputFolderError(f"{out_dir}: the folder for de-identified copies must not "
                                    f"be an input folder or inside one ({given})")
        if path.is_file() and path.is_relative_to(out):
            raise OutputFolderError(f"{out_dir}: the folder for de-identified copies holds an "
                                    f"input file ({given})")
    return out


_ACTION_NAMES = {action: action.value for action in Action}


#: Which executor wrote a file's de-identified copy (the effects table's ``writer``).
WRITER_BYTES, WRITER_PYDICOM = "bytes", "pydicom"


class EffectColumns:
    """Column lists of the effects table for one batch."""

    def __init__(self, include_values: bool) -> None:
        self.include_values = include_values
        self.files: list[str] = []
        self.columns: dict[str, list[object]] = {name: [] for name in (
            "file", "path", "tag", "keyword", "vr", "profile", "action", "effect", "before",
            "after", "writer")}

    def add(self, name: str, profile_id: str, rows: Iterable[Row],
            writer: str | None = None) -> None:
        """Append one file's record under one profile (``writer``: which executor wrote its
        copy, None when no copy was written)."""
        if not self.files or self.files[-1] != name:
            self.files.append(name)
        index = len(self.files) - 1
        rows = list(rows)
        c = self.columns
        count = len(rows)
        c["file"].extend([index] * count)
        c["profile"].extend([profile_id] * count)
        c["writer"].extend([writer] * count)
        if not rows:
            return
        paths, tags, keywords, vrs, actions, effects, befores, afters = zip(*rows, strict=True)
        c["path"].extend(paths)
        c["tag"].extend(tags)
        c["keyword"].extend(keywords)
        c["vr"].extend(vrs)
        c["action"].extend([_ACTION_NAMES[action] for action in actions])
        c["effect"].extend(effects)
        c["before"].extend(befores if self.include_values else [None] * count)
        c["after"].extend(afters if self.include_values else [None] * count)

    def batch(self) -> pa.RecordBatch:
        """The rows as an Arrow record batch with the table's schema."""
        c = self.columns
        files = pa.DictionaryArray.from_arrays(pa.array(c["file"], pa.int32()),
                                               pa.array(self.files, pa.string()))
        text = [pa.array(c[name], pa.string()).dictionary_encode() for name in (
            "path", "tag", "keyword", "vr", "profile", "action", "effect", "before", "after")]
        risk = pa.nulls(len(c["file"]), pa.bool_())  # not assessed here: see deid.risk
        writer = pa.array(c["writer"], pa.string()).dictionary_encode()
        return pa.RecordBatch.from_arrays([files, *text, risk, writer],
                                          schema=table_schema("effects"))


#: One record row: path, tag, keyword, vr, action, effect, before, after.
Row = tuple[str, str, str, str, Action, str, str | None, str | None]


def plan_rows(plan: FilePlan, include_values: bool) -> list[Row]:
    """The effects rows of one file's plan (values displayed only when asked for)."""
    return [_row(outcome, include_values) for outcome in plan.outcomes()]


def _row(outcome: Outcome, include_values: bool) -> Row:
    node = outcome.node
    undecodable = bool(node.flags & UNDECODABLE)
    return (outcome.path, tag_text(node.tag), "" if undecodable else keyword_for(node.tag),
            node.vr.split(" or ")[0], outcome.action, _MODIFY if outcome.modified else _KEEP,
            outcome.before if include_values else None,
            outcome.after if include_values else None)


_MODIFY, _KEEP = Effect.MODIFY.value, Effect.KEEP.value


@dataclass(frozen=True)
class EffectsJob:
    """Read each file's header and record what every profile does to every element."""

    profiles: tuple[Profile, ...]
    secrets: Secrets
    include_values: bool = False
    limits: IngestLimits = field(default_factory=IngestLimits)
    write_dicom: str | None = None
    inputs: tuple[str, ...] = ()
    writer: WriterIdentity = DEFAULT_WRITER
    #: Names of inputs whose copy is refused (another input lands on the same file).
    refused: frozenset[str] = frozenset()

    def warm(self) -> None:
        """Load the IOD tables and compile the profiles (once per process)."""
        warm_planning(self.profiles)

    @cached_property
    def _inputs_resolved(self) -> frozenset[Path]:
        """The input paths, resolved once per job (every copy is checked against them)."""
        return frozenset(Path(path).resolve() for path in self.inputs)

    def process_batch(self, sources: Sequence[Source]) -> BatchOut:
        columns = EffectColumns(self.include_values)
        errors: list[ErrorRow] = []
        archives = ArchiveCache()
        appliers = [Planner(profile, self.secrets, writer=self.writer)
                    for profile in self.profiles]
        for source in sources:
            try:
                read = read_elements(source, self.limits, archives, show=self.include_values)
            except Exception as error:  # noqa: BLE001 - one bad file never stops the run
                errors.append(error_row(source.name, error,
                                        include_values=self.include_values))
                continue
            errors.extend(warning_rows(source.name, read, include_values=self.include_values))
            try:
                self._one(source, read, appliers, columns, archives)
            except Exception as error:  # noqa: BLE001 - reported per file, the run goes on
                message = f"{type(error).__name__}: {error}"
                errors.append((source.name, "apply_failed", message if self.include_values
                               else without_values(message), severity("apply_failed")))
        return BatchOut(columns.batch(), errors, len(sources))

    def _one(self, source: Source, read: Elements, planners: list[Planner],
             columns: EffectColumns, archives: ArchiveCache) -> None:
        writing = self.write_dicom is not None and source.name not in self.refused
        if not needs_full_read(read) and (not writing or read.dataset is None):
            plans = [planner.plan(read.meta, read.body) for planner in planners]
            written = self._write_bytes(source, plans, archives) if writing else None
            for plan in plans:
                columns.add(source.name, plan.profile.id, plan_rows(plan, self.include_values),
                            written)
            return
        forced = any(kind == "no_preamble" for kind, _ in read.warnings)
        # pydicom's warnings quote values; the header read already reported them (masked
        # unless values were asked for)
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always")
            dataset = read_whole(source, self.limits, archives, forced)
            check_whole(read, dataset)
            meta, body = build_tree(dataset, read_deferred=True)
            for planner in planners:
                plan = planner.plan(meta, body)
                if writing:
                    copy = io.BytesIO()
                    result_of(plan, dataset).dataset.save_as(copy, enforce_file_format=True)
                    self._save(source, plan.profile, copy.getvalue())
                columns.add(source.name, planner.profile.id,
                            plan_rows(plan, self.include_values),
                            WRITER_PYDICOM if writing else None)

    def _write_bytes(self, source: Source, plans: list[FilePlan],
                     archives: ArchiveCache) -> str:
        """Each plan's copy written from the input's bytes (the byte-level writer)."""
        with whole_buffer(source, self.limits, archives) as (buf, size):
            start = meta_end(buf, size)
            for plan in plans:
                with copy_chunks(buf, size, plan, start) as chunks:
                    self._save(source, plan.profile, chunks)
        return WRITER_BYTES

    def _save(self, source: Source, profile: Profile,
              data: bytes | Sequence[bytes | bytearray | memoryview]) -> None:
        relative = Path(source.relative)
        if relative.is_absolute() or ".." in relative.parts:
            raise OutputFolderError(f"{source.name}: cannot mirror this name under the output "
                                    "folder")
        assert self.write_dicom is not None
        target = Path(self.write_dicom) / profile.id / relative
        resolved = target.resolve()
        if (source.path and resolved == Path(source.path).resolve()) or \
                resolved in self._inputs_resolved:
            raise OutputFolderError(f"{target}: would overwrite an input file")
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("wb") as handle:
            if isinstance(data, bytes):
                handle.write(data)
            else:
                handle.writelines(data)


@dataclass
class EffectsResult:
    """The effects table and the load errors, as pandas frames."""

    effects: pd.DataFrame
    load_errors: pd.DataFrame


def _prepare(paths: Iterable[str | os.PathLike[str]], profiles: Sequence[Profile],
             secrets: Secrets, uploads: Iterable[Upload], include_values: bool,
             limits: IngestLimits | None,
             write_dicom: str | os.PathLike[str] | None,
             writer: WriterIdentity = DEFAULT_WRITER) -> tuple[list[Source], list[ErrorRow],
                                                               EffectsJob]:
    inputs = [os.fspath(path) for path in paths]
    limits = limits or IngestLimits()
    check_secrets(profiles, secrets)
    out = None if write_dicom is None else str(check_output_folder(write_dicom, inputs))
    sources, problems = collect_sources(inputs, uploads, limits)
    errors = problem_rows(problems)
    duplicates = _duplicate_targets(sources) if out is not None else set()
    refused = [s for s in sources if s.relative in duplicates]
    errors += [(s.name, "output_refused", f"another input has the same relative path "
                f"({_target_key(s.relative)}): no de-identified copy written; its effects "
                "are recorded", severity("output_refused")) for s in refused]
    job = EffectsJob(tuple(profiles), secrets, include_values, limits, out, tuple(inputs),
                     writer, refused=frozenset(s.name for s in refused))
    return sources, errors, job


def effects_job(paths: Iterable[str | os.PathLike[str]], profiles: Sequence[Profile], *,
                secrets: Secrets, uploads: Iterable[Upload] = (), include_values: bool = False,
                limits: IngestLimits | None = None,
                write_dicom: str | os.PathLike[str] | None = None,
                writer: WriterIdentity = DEFAULT_WRITER
                ) -> tuple[list[Source], list[ErrorRow], EffectsJob]:
    """The inputs, the load_errors rows found before reading, and the job recording effects
    batch by batch (to run it elsewhere: a Dask cluster); arguments as for
    :func:`apply_profiles`."""
    return _prepare(paths, profiles, secrets, uploads, include_values, limits, write_dicom,
                    writer)


def _target_key(relative: str) -> str:
    """Where a copy of ``relative`` lands, as the file system sees it: ``ok/./c.dcm``,
    ``ok//c.dcm`` and ``ok/c.dcm`` are one file (the writer joins the name as a path)."""
    return PurePosixPath(relative.replace(os.sep, "/")).as_posix()


def _duplicate_targets(sources: Sequence[Source]) -> set[str]:
    """The relative names of inputs whose copies would land on the same file."""
    by_target: dict[str, list[str]] = {}
    for source in sources:
        by_target.setdefault(_target_key(source.relative), []).append(source.relative)
    return {name for names in by_target.values() if len(names) > 1 for name in names}


def apply_profiles(paths: Iterable[str | os.PathLike[str]], profiles: Sequence[Profile], *,
                   secrets: Secrets, uploads: Iterable[Upload] = (),
                   include_values: bool = False, workers: int | None = None,
                   progress: Progress | None = None, limits: IngestLimits | None = None,
                   write_dicom: str | os.PathLike[str] | None = None,
                   writer: WriterIdentity = DEFAULT_WRITER) -> EffectsResult:
    """Apply ``profiles`` to every file under ``paths`` and in ``uploads``.

    Parameters
    ----------
    profiles
        Profiles from :func:`deid.load_profile`.
    secrets
        :class:`deid.Secrets`; every secret the profiles need must be there (checked first).
    include_values
        Fill ``original_value`` and ``result_value`` (else null).
    write_dicom
        A folder for de-identified copies, ``<folder>/<profile id>/<relative path>``; refused
        when it is (or is inside) an input folder. Inputs are never written.
    writer
        What the copies' file meta names as their writer (its Source AE Title): this tool by
        default; the effects table's file meta rows say the same.
    workers, progress, limits
        As for :func:`deid.ingest.load_headers`.
    """
    sources, errors, job = _prepare(paths, profiles, secrets, uploads, include_values, limits,
                                    write_dicom, writer)
    batches = []
    for out in run_job(sources, job, workers=workers, progress=progress):
        if out.table is not None and out.table.num_rows:
            batches.append(out.table)
        errors.extend(out.errors)
    return EffectsResult(frame_from_batches("effects", batches), error_frame(errors))


def write_effects(paths: Iterable[str | os.PathLike[str]], profiles: Sequence[Profile],
                  out_dir: str | Path, *, secrets: Secrets, uploads: Iterable[Upload] = (),
                  include_values: bool = False, formats: Sequence[str] = ("parquet", "csv"),
                  workers: int | None = None, progress: Progress | None = None,
                  limits: IngestLimits | None = None,
                  write_dicom: str | os.PathLike[str] | None = None,
                  writer: WriterIdentity = DEFAULT_WRITER) -> Written:
    """Stream ``effects`` and ``load_errors`` into ``out_dir``; arguments as for
    :func:`apply_profiles`. Returns the table files written and counts."""
    sources, errors, job = _prepare(paths, profiles, secrets, uploads, include_values, limits,
                                    write_dicom, writer)
    files = len(sources) + sum(1 for row in errors if row[1] != "output_refused")
    return stream_job("effects", sources, job, out_dir, formats, errors=errors, files=files,
                      profiles=profiles, workers=workers, progress=progress)


def apply_to_headers(headers: pd.DataFrame, profile: Profile) -> pd.DataFrame:
    """Each row's action and effect under ``profile``, decided once per distinct
    (tag, VR, private creator) and mapped back by categorical codes.

    This is the profile's decision for the element itself (group lengths dropped,
    SpecificCharacterSet kept, as the engine does; a private creator row gets the decision for
    its own tag and creator). What depends on a file's structure (the items of a removed
    sequence, cleaning inside a cleaned one, private creators following the elements kept in
    their blocks) is in the per-file record of :func:`apply_profiles`.

    Returns a frame with the headers' ``file``, ``element_path``, ``tag``, ``keyword`` and
    ``vr``, and ``profile_id``, ``action``, ``effect`` (``category`` columns).
    """
    tag = _categorical(headers["tag"])
    vr = _categorical(headers["vr"])
    creator = _categorical(headers["private_creator"])
    key = (tag.codes.astype(np.int64) * (len(vr.categories) + 1)
           + vr.codes.astype(np.int64)) * (len(creator.categories) + 1) + creator.codes
    codes, uniques = pd.factorize(key, sort=False)
    resolver = resolver_for(profile)
    vr_size, creator_size = len(vr.categories) + 1, len(creator.categories) + 1
    actions = []
    for value in uniques:
        creator_code = int(value % creator_size)
        rest = int(value // creator_size)
        tag_text_ = str(tag.categories[rest // vr_size])
        vr_code = rest % vr_size
        vr_text = str(vr.categories[vr_code]) if vr_code < len(vr.categories) else "UN"
        creator_text = (str(creator.categories[creator_code])
                        if 0 <= creator_code < len(creator.categories) else None)
        actions.append(_row_action(resolver, tag_text_, vr_text, creator_text).value)
    action_names = sorted(set(actions))
    position = np.array([action_names.index(a) for a in actions], dtype=np.int8)
    action = pd.Categorical.from_codes(position[codes], categories=action_names)
    effect_names = [effect_of(Action(a)).value for a in action_names]
    effect_categories = sorted(set(effect_names))
    effect_codes = np.array([effect_categories.index(e) for e in effect_names], dtype=np.int8)
    effect = pd.Categorical.from_codes(effect_codes[position[codes]],
                                       categories=effect_categories)
    frame = headers[["file", "element_path", "tag", "keyword", "vr"]].copy()
    frame["profile_id"] = pd.Categorical.from_codes(np.zeros(len(frame), dtype=np.int8),
                                                    categories=[profile.id])
    frame["action"] = action
    frame["effect"] = effect
    return frame


def _categorical(column: pd.Series) -> pd.Categorical:
    if isinstance(column.dtype, pd.CategoricalDtype):
        values = column.array
        assert isinstance(values, pd.Categorical)
        return values
    return pd.Categorical(column.astype(object))


def _row_action(resolver: Resolver, tag: str, vr: str, creator: str | None) -> Action:
    return semantics.decide_tag(resolver, int(tag[1:5] + tag[6:10], 16), vr, creator).action
