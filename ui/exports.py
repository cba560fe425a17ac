"""The Export page's tables: the CLI's tables and columns, values left out unless asked for.

``headers.value`` and ``effects.original_value``/``result_value`` are nulled unless the user
ticks the checkbox that says what including them means. Bytes are made by
:func:`deid.outputs.export.table_bytes`, exactly as ``python -m deid … --out DIR`` writes the files.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from deid.outputs.export import table_bytes
from deid.risk import report

#: Columns that hold header values, per table.
VALUE_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "headers": ("value",),
    "effects": ("original_value", "result_value"),
}
#: Tables in the order the Export page lists them, with what each holds.
TABLE_NOTES: Mapping[str, str] = {
    "headers": "every element of every loaded file",
    "load_errors": "files that could not be read, and warnings",
    "effects": "element x profile: action, effect, residual risk",
    "profile_actions": "profile x tag of the dictionary: action, reason, source",
    "tag_matrix": "tag x one action column per profile",
    "modified_by_all_profiles": "tags every active profile modifies",
    "differences_among_profiles": "tags not treated alike (modify/keep)",
    "profile_summary": "per profile: modified, kept, explicit, published figures",
    "residual_risk": "findings: kind, severity, reason, masked evidence",
    "k_anonymity": "profile x quasi-identifier set: k, records below k",
    "k_classes": "profile x quasi-identifier set x class size: records",
    "aryanto_coverage": "per profile: Aryanto et al. (2015) attributes untouched",
}
#: The comparison tables (they cover profiles, not files).
COMPARISON_TABLES = ("profile_actions", "tag_matrix", "modified_by_all_profiles",
                     "differences_among_profiles", "profile_summary")
#: Tables about the loaded files alone (no profile).
FILE_TABLES = ("headers", "load_errors")


def covers(table: str, profile_ids: list[str]) -> str:
    """What a table covers, said beside its download buttons."""
    if table in FILE_TABLES:
        return "the loaded files (no profile)"
    profiles = f"the active profiles ({', '.join(profile_ids)})"
    return profiles if table in COMPARISON_TABLES else f"the loaded files under {profiles}"


MIME = {"parquet": "application/vnd.apache.parquet", "csv": "text/csv"}
VALUES_LABEL = ("Include original header values: these can identify patients; only share the "
                "files under your DPO's rules")


def without_values(table: str, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its value columns nulled (same columns and types)."""
    columns = [c for c in VALUE_COLUMNS.get(table, ()) if c in frame.columns]
    if not columns:
        return frame
    nulled = frame.copy()
    for column in columns:
        nulled[column] = pd.Categorical.from_codes(np.full(len(frame), -1, dtype=np.int8),
                                                   categories=pd.Index([], dtype=object))
    return nulled


def mark_residual_risk(effects: pd.DataFrame, findings: pd.DataFrame | None) -> pd.DataFrame:
    """``effects`` marked from the findings (:func:`deid.risk.report.mark_residual_risk`);
    unchanged when there are no findings to mark from."""
    if findings is None or findings.empty or effects.empty:
        return effects
    return report.mark_residual_risk(effects, findings)


@dataclass(frozen=True)
class Download:
    """One download button's file: its name, MIME type and a deferred maker of its bytes."""

    table: str
    fmt: str
    file_name: str
    mime: str
    make: Callable[[], bytes]


def downloads(tables: Mapping[str, pd.DataFrame], metadata: Mapping[str, str],
              include_values: bool) -> list[Download]:
    """Parquet and CSV downloads of every table (values nulled unless ``include_values``)."""
    out = []
    for name, frame in tables.items():
        shared = frame if include_values else without_values(name, frame)
        for fmt in ("parquet", "csv"):
            out.append(Download(name, fmt, f"{name}.{fmt}", MIME[fmt],
                                _maker(name, shared, fmt, dict(metadata))))
    return out


def _maker(name: str, frame: pd.DataFrame, fmt: str,
           metadata: Mapping[str, str]) -> Callable[[], bytes]:
    def make() -> bytes:
        return table_bytes(name, frame, fmt, metadata)

    return make
