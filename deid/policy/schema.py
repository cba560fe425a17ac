"""Every exported table's columns, types and sort order, defined once.

Table and column names are a contract (users' notebooks depend on them): change them only by
adding. Tables with one column per compared profile declare that block with
:data:`PROFILE_COLUMNS`; it is expanded with the profile ids in the order they were compared.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import pandas as pd
import pyarrow as pa

#: Placeholder in a table's columns for "one column per compared profile".
PROFILE_COLUMNS = "{profile_id}"

_ARROW_TYPES: Mapping[str, pa.DataType] = MappingProxyType({
    "string": pa.string(),
    "bool": pa.bool_(),
    "int64": pa.int64(),
    # Dictionary-encoded text (pandas ``category``): tables with one row per element.
    "dictionary": pa.dictionary(pa.int32(), pa.string()),
})


@dataclass(frozen=True)
class TableSpec:
    """A table: ordered ``(column, type)`` pairs, the columns rows are sorted by, and what
    type the per-profile columns have (when the table has them)."""

    name: str
    columns: tuple[tuple[str, str], ...]
    sort_by: tuple[str, ...]
    profile_column_type: str = "string"

    def column_names(self, profile_ids: Sequence[str] = ()) -> list[str]:
        """The columns in order, per-profile columns expanded."""
        names: list[str] = []
        for column, _ in self.columns:
            names.extend(profile_ids if column == PROFILE_COLUMNS else [column])
        return names

    def arrow_schema(self, profile_ids: Sequence[str] = ()) -> pa.Schema:
        """The Arrow schema of the table for these profiles."""
        fields: list[pa.Field] = []
        for column, kind in self.columns:
            if column == PROFILE_COLUMNS:
                fields.extend(pa.field(p, _ARROW_TYPES[self.profile_column_type])
                              for p in profile_ids)
            else:
                fields.append(pa.field(column, _ARROW_TYPES[kind]))
        return pa.schema(fields)


def _spec(name: str, columns: str, sort_by: str, profile_type: str = "string") -> TableSpec:
    pairs = tuple(tuple(part.split(":")) for part in columns.split())
    return TableSpec(name, pairs, tuple(sort_by.split()), profile_type)  # type: ignore[arg-type]


_TAG_INFO = "tag:string keyword:string name:string vr:string retired:bool"

TABLES: Mapping[str, TableSpec] = MappingProxyType({spec.name: spec for spec in (
    _spec("profile_actions",
          f"profile_id:string {_TAG_INFO} action:string effect:string explicit:bool "
          "reason:string source:string", "profile_id tag"),
    _spec("tag_matrix", f"{_TAG_INFO} {PROFILE_COLUMNS}:string", "tag"),
    _spec("modified_by_all_profiles", f"tag:string keyword:string name:string "
          f"{PROFILE_COLUMNS}:string", "tag"),
    _spec("differences_among_profiles", f"tag:string keyword:string name:string "
          f"{PROFILE_COLUMNS}:string", "tag"),
    _spec("profile_summary",
          "profile_id:string title:string provenance:string n_universe:int64 "
          "n_modified:int64 n_kept:int64 n_explicit:int64 n_modified_in_differences:int64 "
          "n_only_modified_by_this_profile:int64 published_n_modified_in_differences:int64 "
          "published_n_only_modified:int64", "profile_id"),
    _spec("residual_risk",
          "profile_id:string file:string element_path:string tag:string keyword:string "
          "risk_kind:string severity:string reason:string evidence:string",
          "profile_id file element_path risk_kind keyword"),
    _spec("k_anonymity",
          "profile_id:string quasi_identifiers:string n_records:int64 k_min:int64 "
          "n_records_below_k:int64 k_threshold:int64 quasi_identifiers_left:string",
          "profile_id quasi_identifiers"),
    _spec("k_classes",
          "profile_id:string quasi_identifiers:string class_size:int64 n_records:int64",
          "profile_id quasi_identifiers class_size"),
    _spec("aryanto_coverage",
          "profile_id:string n_attributes:int64 n_untouched:int64 n_modified:int64 "
          "untouched_keywords:string", "profile_id"),
    _spec("decisions",
          "decision_id:int64 consensus_id:string tag:string decider:string decided_at:string "
          "previous_action:string new_action:string params:string reason:string "
          "agreeing_profiles:string decider_verified:bool decider_subject:string "
          "row_hash:string", "decision_id"),
    _spec("pairwise_diff",
          "tag:string keyword:string name:string profile_a:string profile_b:string "
          "action_a:string action_b:string effect_a:string effect_b:string reason_a:string "
          "reason_b:string source_a:string source_b:string", "tag"),
    _spec("audit_pairs", "original:string exported:string paired_by:string",
          "exported original"),
    _spec("audit_elements",
          "element_path:string tag:string keyword:string vr:string claimed_action:string "
          "observed_action:string agrees:bool n_files:int64 note:string",
          "element_path claimed_action observed_action"),
    _spec("audit_deviations",
          "original:string exported:string element_path:string tag:string keyword:string "
          "claimed_action:string observed_action:string original_value:string "
          "exported_value:string note:string", "exported element_path"),
    # Per-file tables: rows by file (stable: a file's elements stay in walk order, file meta
    # first, sequence items depth first, as pydicom's Dataset.walk visits them).
    _spec("headers",
          "file:dictionary element_path:dictionary tag:dictionary keyword:dictionary "
          "vr:dictionary depth:int64 is_private:bool private_creator:dictionary "
          "value:dictionary", "file"),
    _spec("load_errors",
          "file:string error_kind:string message:string severity:string", "file"),
    _spec("effects",
          "file:dictionary element_path:dictionary tag:dictionary keyword:dictionary "
          "vr:dictionary profile_id:dictionary action:dictionary effect:dictionary "
          "original_value:dictionary result_value:dictionary residual_risk:bool "
          "writer:dictionary", "file profile_id"),
)})


def conform(table: str, frame: pd.DataFrame, profile_ids: Sequence[str] = ()) -> pd.DataFrame:
    """``frame`` with exactly the table's columns, in order, with its dtypes, rows sorted."""
    spec = TABLES[table]
    names = spec.column_names(profile_ids)
    missing = [name for name in names if name not in frame.columns]
    if missing:
        raise ValueError(f"table {table} lacks columns {missing}")
    schema = spec.arrow_schema(profile_ids)
    ordered = frame.loc[:, names]
    if len(ordered):
        ordered = ordered.sort_values(list(spec.sort_by), kind="stable")
    ordered = ordered.reset_index(drop=True)
    dtypes = {field.name: _pandas_dtype(field.type) for field in schema}
    return ordered.astype(dtypes)


def _pandas_dtype(arrow_type: pa.DataType) -> str:
    if arrow_type == pa.bool_():
        return "boolean"
    if arrow_type == pa.int64():
        return "Int64"
    if pa.types.is_dictionary(arrow_type):
        return "category"
    return "string"
