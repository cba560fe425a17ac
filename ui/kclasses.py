"""Sizes of the k-anonymity equivalence classes, for the distribution plots.

``deid.risk`` reports k (the smallest class) and the records below k; the Residual risk page
also shows how the records spread over class sizes. The classes are rebuilt from the effects
table exactly as ``deid.risk.kanon`` builds them: one record per patient (the original
PatientID, else the file; the patient's first file stands for it), the quasi-identifier values
the profile leaves in the output (``''`` when absent), PostalCode derived from the output's
PatientAddress, and only the quasi-identifiers the profile leaves split classes.
"""

from __future__ import annotations

from collections import Counter

import pandas as pd

from deid.dictionary import keyword_to_tag
from deid.risk.kanon import POSTAL_CODE
from deid.risk.postal import postal_code
from deid.tags import format_tag

CLASS_COLUMNS = ["profile_id", "quasi_identifiers", "class_size", "n_records"]


def _top_level(frame: pd.DataFrame, keywords: set[str]) -> pd.DataFrame:
    """Rows of top-level elements with these keywords (element_path is the bare tag)."""
    tags = {format_tag(tag) for kw in keywords if (tag := keyword_to_tag(kw)) is not None}
    path = frame["element_path"].astype(str)
    return frame[path.isin(tags)]


def patient_files(headers: pd.DataFrame) -> dict[str, str]:
    """Patient key -> the patient's first file, in load order."""
    files = [str(f) for f in pd.unique(headers["file"].astype(object))]
    ids = _top_level(headers, {"PatientID"})
    by_file = {str(f): str(v).strip() if isinstance(v, str) else ""
               for f, v in zip(ids["file"].astype(object), ids["value"].astype(object),
                               strict=True)}
    first: dict[str, str] = {}
    for file in files:
        first.setdefault(by_file.get(file) or file, file)
    return first


def class_sizes(headers: pd.DataFrame, effects: pd.DataFrame,
                k_anonymity: pd.DataFrame) -> pd.DataFrame:
    """Records per class size, per profile and quasi-identifier set of ``k_anonymity``."""
    if k_anonymity.empty or headers.empty:
        return pd.DataFrame(columns=CLASS_COLUMNS)
    records = list(patient_files(headers).values())
    names = {name for qi in k_anonymity["quasi_identifiers"] for name in str(qi).split("+")}
    keywords = {"PatientAddress" if name == POSTAL_CODE else name for name in names}
    wanted = _top_level(effects, keywords)
    rows = []
    for profile_id, sets in k_anonymity.groupby("profile_id", sort=False, observed=True):
        part = wanted[wanted["profile_id"].astype(str) == str(profile_id)]
        values: dict[tuple[str, str], str] = {}
        for file, keyword, result in zip(part["file"].astype(object),
                                         part["keyword"].astype(object),
                                         part["result_value"].astype(object), strict=True):
            text = result.strip() if isinstance(result, str) else ""
            if keyword == "PatientAddress":
                values[(str(file), POSTAL_CODE)] = postal_code(text) or ""
            values[(str(file), str(keyword))] = text
        for qi, left_text in zip(sets["quasi_identifiers"], sets["quasi_identifiers_left"],
                                 strict=True):
            left = [name for name in str(left_text or "").split("+") if name]
            keys = [tuple(values.get((file, name), "") for name in left) for file in records]
            sizes = Counter(keys)
            spread = Counter(sizes[key] for key in keys)
            rows.extend({"profile_id": str(profile_id), "quasi_identifiers": str(qi),
                         "class_size": size, "n_records": count}
                        for size, count in sorted(spread.items()))
    return pd.DataFrame(rows, columns=CLASS_COLUMNS)
