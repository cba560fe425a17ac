"""The residual_risk table: from findings (:func:`findings_table`), and as Arrow made where
the findings are found.

A worker (of the local pool or of a Dask cluster) turns its batch's findings into Arrow columns
without pandas (:func:`findings_arrow`); the process that gathers the batches then holds
columns of text, not one :class:`~deid.risk.findings.Finding` per row, and builds the table from
them (:func:`residual_frame`). Both give the same rows, columns and types.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from operator import itemgetter

import pandas as pd
import pyarrow as pa

from deid.policy.schema import TABLES, conform
from deid.risk.findings import Finding


def findings_arrow(findings: Sequence[Finding], schema: pa.Schema | None = None) -> pa.Table:
    """``findings`` as residual_risk rows in the table's sort order (``schema``: the table's
    Arrow schema, e.g. stamped with export metadata)."""
    spec = TABLES["residual_risk"]
    names = spec.column_names()
    rows = [finding.row() for finding in findings]
    rows.sort(key=itemgetter(*(names.index(name) for name in spec.sort_by)))
    schema = schema or spec.arrow_schema()
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    return pa.Table.from_arrays([pa.array(column, type=field.type)
                                 for column, field in zip(columns, schema, strict=True)],
                                schema=schema)


def findings_table(findings: Iterable[Finding]) -> pd.DataFrame:
    """The residual_risk table of ``findings``."""
    found = list(findings)
    columns: dict[str, list[object]] = {
        name: [getattr(finding, name) for finding in found]
        for name in ("profile_id", "file", "element_path", "tag", "keyword", "reason",
                     "evidence")}
    columns["risk_kind"] = [finding.risk_kind.value for finding in found]
    columns["severity"] = [finding.severity.value for finding in found]
    frame = pd.DataFrame(columns, columns=TABLES["residual_risk"].column_names())
    return conform("residual_risk", frame)


def residual_frame(arrived: Sequence[pa.Table], findings: Iterable[Finding]) -> pd.DataFrame:
    """The residual_risk table of the findings that ``arrived`` as Arrow (in that order) and
    of ``findings`` after them (from the findings alone when none arrived: pandas builds it
    faster)."""
    if not arrived:
        return findings_table(findings)
    gathered = pa.concat_tables([*arrived, findings_arrow(list(findings))])
    return conform("residual_risk", gathered.to_pandas(types_mapper=_AS_STRINGS.get))


#: Arrow text read straight into the table's pandas dtype (no copy made to convert it).
_AS_STRINGS = {pa.string(): pd.StringDtype("pyarrow")}
