"""Tag effects in aggregate: one row per tag over every loaded file, with each profile's
action, how many files the profile leaves a residual risk in, and the filters of the page.

Pure pandas (no Streamlit): :mod:`ui.compute` caches the results, pages render them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from deid.policy.profile_model import Profile
from deid.policy.resolver import resolver_for
from deid.transform.semantics import decide_tag

#: Marks a cell whose profile leaves a residual risk on the tag.
RISK_MARK = "⚠"
#: Private filter choices, as (value, label) rows.
PRIVATE_CHOICES = (("all", "Standard and private"), ("standard", "Standard only"),
                   ("private", "Private only"))
#: Columns of the tag table before the per-profile ones.
TAG_COLUMNS = ("tag", "keyword", "group", "vr", "private_creator", "depth", "n_files",
               "n_elements", "n_values")


@dataclass(frozen=True)
class TagSummary:
    """The tag table and, aligned with it, the files per profile with a residual risk."""

    table: pd.DataFrame  # TAG_COLUMNS, one action column per profile, disagree, risky_in
    risk_files: pd.DataFrame  # index: table index; columns: profile ids; files with a finding
    profile_ids: tuple[str, ...]
    depth_min: pd.Series
    depth_max: pd.Series
    is_private: pd.Series


def _joined(values: pd.Series, limit: int = 3) -> str:
    unique = sorted({str(v) for v in values.dropna() if str(v)})
    text = " / ".join(unique[:limit])
    return text + (" / …" if len(unique) > limit else "")


def _codes(column: pd.Series) -> tuple[np.ndarray, pd.Index]:
    if isinstance(column.dtype, pd.CategoricalDtype):
        return column.cat.codes.to_numpy(), column.cat.categories
    codes, uniques = pd.factorize(column.astype(object), sort=False)
    return codes, pd.Index(uniques)


def _actions_per_tag(tag_codes: np.ndarray, actions: pd.Series, n_tags: int) -> list[str]:
    """For each tag code, the profile's distinct actions joined with `` / ``."""
    action_codes, names = _codes(actions)
    pairs = pd.DataFrame({"t": tag_codes, "a": action_codes}).drop_duplicates()
    pairs = pairs[pairs["t"] >= 0].sort_values(["t", "a"])
    labels = np.asarray(names.astype(str), dtype=object)
    out = [""] * n_tags
    for tag_code, group in pairs.groupby("t", sort=False)["a"]:
        out[int(tag_code)] = " / ".join(labels[group.to_numpy()])
    return out


def summarize(headers: pd.DataFrame, actions: Mapping[str, pd.Series],
              findings: pd.DataFrame | None = None) -> TagSummary:
    """Aggregate the headers per tag.

    Parameters
    ----------
    headers
        The headers table (values may be null: then ``n_values`` is 0).
    actions
        Per profile id, each header row's action (as from
        :func:`deid.outputs.effects.apply_to_headers`).
    findings
        The residual_risk table (element findings count; combination findings have no tag).
    """
    ids = tuple(actions)
    tag_codes, tag_names = _codes(headers["tag"])
    used = np.unique(tag_codes[tag_codes >= 0])
    frame = pd.DataFrame({"t": tag_codes, "file": headers["file"].to_numpy(),
                          "keyword": headers["keyword"].to_numpy(),
                          "vr": headers["vr"].to_numpy(), "depth": headers["depth"].to_numpy(),
                          "is_private": headers["is_private"].to_numpy(dtype=bool),
                          "private_creator": headers["private_creator"].to_numpy(),
                          "value": headers["value"].to_numpy()})
    grouped = frame.groupby("t", sort=True)
    table = pd.DataFrame({
        "tag": [str(tag_names[code]) for code in used],
        "keyword": grouped["keyword"].agg(_joined).reindex(used).to_numpy(),
        "vr": grouped["vr"].agg(_joined).reindex(used).to_numpy(),
        "private_creator": grouped["private_creator"].agg(_joined).reindex(used).to_numpy(),
        "n_files": grouped["file"].nunique().reindex(used).to_numpy(),
        "n_elements": grouped.size().reindex(used).to_numpy(),
        "n_values": grouped["value"].nunique().reindex(used).to_numpy(),
    })
    depth_min = grouped["depth"].min().reindex(used).to_numpy(dtype=np.int64)
    depth_max = grouped["depth"].max().reindex(used).to_numpy(dtype=np.int64)
    table.insert(2, "group", table["tag"].str[1:5])
    table.insert(5, "depth", [str(lo) if lo == hi else f"{lo}-{hi}"
                              for lo, hi in zip(depth_min, depth_max, strict=True)])
    for pid in ids:
        per_tag = _actions_per_tag(tag_codes, actions[pid], len(tag_names))
        table[pid] = [per_tag[int(code)] for code in used]
    table["profiles_disagree"] = table[list(ids)].nunique(axis=1) > 1 if ids else False
    risk = _risk_files(table["tag"], ids, findings)
    table["risky_in"] = risk.gt(0).sum(axis=1).to_numpy() if ids else 0
    for pid in ids:
        marked = risk[pid].to_numpy() > 0
        table.loc[marked, pid] = table.loc[marked, pid] + f" {RISK_MARK}"
    return TagSummary(table, risk, ids, pd.Series(depth_min), pd.Series(depth_max),
                      grouped["is_private"].any().reindex(used).reset_index(drop=True))


def _risk_files(tags: pd.Series, ids: Sequence[str],
                findings: pd.DataFrame | None) -> pd.DataFrame:
    """Files with an element finding, per tag (rows as ``tags``) and profile (columns)."""
    empty = pd.DataFrame(0, index=range(len(tags)), columns=list(ids), dtype=np.int64)
    if findings is None or findings.empty or not ids:
        return empty
    element = findings[findings["tag"].astype(str) != ""]
    counts = (element.groupby(["tag", "profile_id"], observed=True)["file"].nunique()
              .unstack(fill_value=0))
    counts.index = counts.index.astype(str)
    aligned = counts.reindex(index=tags.astype(str).to_numpy(), columns=list(ids),
                             fill_value=0).fillna(0)
    aligned.index = range(len(tags))
    return aligned.astype(np.int64)


@dataclass(frozen=True)
class TagFilters:
    """The Tag effects page's filters (empty means no restriction)."""

    groups: tuple[str, ...] = ()
    search: str = ""
    vrs: tuple[str, ...] = ()
    depth: tuple[int, int] | None = None
    private: str = "all"
    disagree: bool = False
    risky: bool = False


def apply_filters(summary: TagSummary, filters: TagFilters) -> pd.DataFrame:
    """The rows of the tag table that pass every filter (index kept)."""
    table = summary.table
    mask = np.ones(len(table), dtype=bool)
    if filters.groups:
        mask &= table["group"].isin(filters.groups).to_numpy()
    text = filters.search.strip().lower()
    if text:
        mask &= (table["keyword"].str.lower().str.contains(text, regex=False)
                 | table["tag"].str.lower().str.contains(text, regex=False)).to_numpy()
    if filters.vrs:
        wanted = set(filters.vrs)
        mask &= np.array([bool(wanted & set(v.split(" / "))) for v in table["vr"]], dtype=bool)
    if filters.depth is not None:
        lo, hi = filters.depth
        mask &= ((summary.depth_min <= hi) & (summary.depth_max >= lo)).to_numpy()
    if filters.private == "standard":
        mask &= ~summary.is_private.to_numpy(dtype=bool)
    elif filters.private == "private":
        mask &= summary.is_private.to_numpy(dtype=bool)
    if filters.disagree:
        mask &= table["profiles_disagree"].to_numpy(dtype=bool)
    if filters.risky:
        mask &= table["risky_in"].to_numpy() > 0
    return table[mask]


def risk_flags(summary: TagSummary, rows: pd.DataFrame) -> pd.DataFrame:
    """True for the cells of ``rows`` (a part of the tag table) whose profile leaves a
    residual risk on the tag, for highlighting."""
    flags = pd.DataFrame(False, index=rows.index, columns=rows.columns)
    for pid in summary.profile_ids:
        if pid in flags.columns:
            flags[pid] = summary.risk_files.loc[rows.index, pid].to_numpy() > 0
    return flags


def tag_decisions(row: pd.Series, profiles: Sequence[Profile],
                  findings: pd.DataFrame | None,
                  label: Callable[[str], str] = str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Why each profile treats the tag of ``row`` (a tag table row) as it does: the rule that
    decides (its action, reason, source and layer) and the residual risk it leaves; and the
    findings on the tag."""
    tag = str(row["tag"])
    vr = str(row["vr"]).split(" / ")[0] or "UN"
    creator = str(row["private_creator"]).split(" / ")[0] or None
    code = int(tag[1:5] + tag[6:10], 16)
    on_tag = (findings[findings["tag"].astype(str) == tag] if findings is not None
              else pd.DataFrame(columns=["profile_id", "file", "risk_kind", "severity"]))
    rows = []
    for profile in profiles:
        decision = decide_tag(resolver_for(profile), code, vr, creator)
        mine = on_tag[on_tag["profile_id"].astype(str) == profile.id]
        rows.append({
            "profile": label(profile.id),
            "action in the files": str(row[profile.id]).replace(f" {RISK_MARK}", ""),
            "rule's action": decision.action.value,
            "reason": decision.reason,
            "source": decision.source,
            "decided by": decision.origin,
            "files at risk": int(mine["file"].nunique()),
            "risk": "; ".join(sorted({f"{kind} ({severity})" for kind, severity in zip(
                mine["risk_kind"].astype(str), mine["severity"].astype(str), strict=True)})),
        })
    return pd.DataFrame(rows), on_tag


def vr_options(summary: TagSummary) -> list[str]:
    return sorted({vr for text in summary.table["vr"] for vr in text.split(" / ") if vr})


def file_view(effects: pd.DataFrame, profile_ids: Sequence[str],
              findings: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One file's elements x profiles: original value, then action and result per profile.

    Returns the wide table and a same-shaped boolean frame, True where the profile leaves a
    residual risk on the element (for highlighting).
    """
    if effects.empty:
        return pd.DataFrame(columns=["element_path", "keyword", "vr", "original_value"]), \
            pd.DataFrame()
    frame = effects.astype({"element_path": object, "profile_id": object})
    base = (frame.drop_duplicates("element_path")[["element_path", "keyword", "vr",
                                                   "original_value"]]
            .astype(object).reset_index(drop=True))
    risky = set()
    if findings is not None and not findings.empty:
        risky = {(str(p), str(e)) for p, e in zip(findings["profile_id"],
                                                   findings["element_path"], strict=True)}
    flags = pd.DataFrame(False, index=base.index, columns=base.columns)
    for pid in profile_ids:
        part = frame[frame["profile_id"] == pid].drop_duplicates("element_path")
        part = part.set_index("element_path")
        action = part["action"].astype(object).reindex(base["element_path"]).to_numpy()
        result = part["result_value"].astype(object).reindex(base["element_path"]).to_numpy()
        base[f"{pid}: action"] = action
        base[f"{pid}: result"] = result
        marked = np.array([(pid, path) in risky for path in base["element_path"]], dtype=bool)
        flags[f"{pid}: action"] = marked
        flags[f"{pid}: result"] = marked
    base = base.fillna({"original_value": ""})
    for column in base.columns[4:]:
        if column.endswith(": action"):
            base[column] = base[column].fillna("(not in output)")
    return base, flags
