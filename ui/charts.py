"""Plotly figures of the dashboard, built from the exported tables (no Streamlit here).

Figures use plotly's bundled JavaScript only: nothing is fetched from the internet.
"""

from __future__ import annotations

import html
import itertools
from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from deid.outputs.compare import three_state

#: Colours of effects, as the legend reads them (blue, red, grey: one flat colour per state).
EFFECT_COLOURS = {"modify": "#1f77b4", "keep": "#d62728", "unspecified": "#c7c7c7"}
SEVERITY_ORDER = ("high", "medium", "low")
SEVERITY_COLOURS = {"high": "#b2182b", "medium": "#ef8a62", "low": "#fddbc7"}
#: Heat map colours: kept (red) through modified (blue).
HEAT_SCALE = [[0.0, "#d62728"], [0.5, "#f2f2f2"], [1.0, "#1f77b4"]]


def _html(value: object) -> str:
    """Text for a Plotly label: Plotly reads a few HTML tags (``<a href>`` among them) in
    labels, so text from files and profiles is escaped."""
    return html.escape(str(value))


def _states(actions: pd.DataFrame, states: int) -> pd.Series:
    return three_state(actions) if states == 3 else actions["effect"].astype(str)


def heatmap_by_group(actions: pd.DataFrame, profile_ids: Sequence[str],
                     states: int = 2) -> go.Figure:
    """Share of each DICOM group's tags a profile modifies (groups x profiles)."""
    frame = pd.DataFrame({"group": actions["tag"].astype(str).str[1:5],
                          "profile_id": actions["profile_id"].astype(str),
                          "state": _states(actions, states).astype(str).to_numpy()})
    frame["modify"] = frame["state"] == "modify"
    frame["unspecified"] = frame["state"] == "unspecified"
    grouped = frame.groupby(["group", "profile_id"], sort=True)
    share = grouped["modify"].mean().unstack().reindex(columns=list(profile_ids))
    counts = grouped.size().unstack().reindex(columns=list(profile_ids))
    modified = grouped["modify"].sum().unstack().reindex(columns=list(profile_ids))
    unspecified = grouped["unspecified"].sum().unstack().reindex(columns=list(profile_ids))
    text = np.empty(share.shape, dtype=object)
    for i, group in enumerate(share.index):
        for j, pid in enumerate(share.columns):
            line = (f"group {_html(group)}, {_html(pid)}<br>{int(modified.iat[i, j])} of "
                    f"{int(counts.iat[i, j])} tags modified")
            if states == 3:
                line += f"<br>{int(unspecified.iat[i, j])} left to the profile's default"
            text[i, j] = line
    figure = go.Figure(go.Heatmap(
        z=share.to_numpy(dtype=float), x=list(share.columns), y=list(share.index),
        text=text, hoverinfo="text", colorscale=HEAT_SCALE, zmin=0, zmax=1,
        colorbar={"title": "share modified"}))
    figure.update_layout(title="Modify/Keep by DICOM group (share of the group's tags modified)",
                         yaxis={"title": "group", "autorange": "reversed", "type": "category"},
                         xaxis={"title": "profile", "type": "category"},
                         height=max(400, 12 * len(share.index) + 150), margin={"t": 60})
    return figure


#: The states of the every-tag heat map, in legend order, with their colours.
STATE_ORDER = ("modify", "keep", "unspecified")
#: At most this many rows get a tag label of their own; longer maps are labelled by group.
TAG_LABELS_UP_TO = 150
_GROUP_LABELS = 60


def categorical_scale(colours: Sequence[str]) -> list[list[object]]:
    """A stepwise colour scale giving each of ``len(colours)`` integer codes one flat colour
    (with ``zmin=-0.5``, ``zmax=n-0.5``)."""
    n = len(colours)
    scale: list[list[object]] = []
    for code, colour in enumerate(colours):
        scale += [[code / n, colour], [(code + 1) / n, colour]]
    return scale


def _group_ticks(tags: Sequence[str]) -> tuple[list[str], list[str]]:
    """Tick positions at the first tag of each DICOM group, thinned to fit."""
    values: list[str] = []
    texts: list[str] = []
    last_group, last_at = "", -len(tags)
    spacing = max(1, len(tags) // _GROUP_LABELS)
    for index, tag in enumerate(tags):
        group = tag[1:5]
        if group != last_group and index - last_at >= spacing:
            values.append(tag)
            texts.append(f"group {group}")
            last_at = index
        last_group = group
    return values, texts


def filter_tags(actions: pd.DataFrame, search: str = "", groups: Sequence[str] = ()
                ) -> pd.DataFrame:
    """The rows of ``actions`` whose tag, keyword or name contains ``search`` (any case) and
    whose group is one of ``groups`` (all when empty)."""
    keep = pd.Series(True, index=actions.index)
    text = search.strip().lower()
    if text:
        keep &= (actions["tag"].astype(str).str.lower().str.contains(text, regex=False)
                 | actions["keyword"].astype(str).str.lower().str.contains(text, regex=False)
                 | actions["name"].astype(str).str.lower().str.contains(text, regex=False))
    if groups:
        keep &= actions["tag"].astype(str).str[1:5].isin(list(groups))
    return actions[keep]


def heatmap_by_tag(actions: pd.DataFrame, profile_ids: Sequence[str],
                   states: int = 2) -> go.Figure:
    """Every tag x profile in categorical colours (modify, keep and, with three states,
    unspecified), hover naming the tag, keyword and action; tags labelled one by one when
    few, by DICOM group otherwise."""
    frame = pd.DataFrame({"tag": actions["tag"].astype(str),
                          "keyword": actions["keyword"].astype(str),
                          "profile_id": actions["profile_id"].astype(str),
                          "action": actions["action"].astype(str),
                          "state": _states(actions, states).astype(str).to_numpy()})
    labels = [label for label in STATE_ORDER if states == 3 or label != "unspecified"]
    codes = {label: code for code, label in enumerate(labels)}
    wide = frame.pivot(index="tag", columns="profile_id", values="state")
    wide = wide.reindex(columns=list(profile_ids)).sort_index()
    action = frame.pivot(index="tag", columns="profile_id", values="action").reindex(
        index=wide.index, columns=list(profile_ids))
    keywords = frame.drop_duplicates("tag").set_index("tag")["keyword"].reindex(wide.index)
    z = wide.apply(lambda column: column.map(codes)).to_numpy(dtype=float)
    text = np.array([[f"{_html(tag)} {_html(kw)}<br>{_html(pid)}: {_html(act)} ({state})"
                      for pid, state, act in zip(wide.columns, row, acts, strict=True)]
                     for tag, kw, row, acts in zip(wide.index, keywords,
                                                   wide.to_numpy(dtype=object),
                                                   action.to_numpy(dtype=object), strict=True)],
                    dtype=object)
    figure = go.Figure(go.Heatmap(
        z=z, x=list(wide.columns), y=list(wide.index), text=text, hoverinfo="text",
        colorscale=categorical_scale([EFFECT_COLOURS[label] for label in labels]),
        zmin=-0.5, zmax=len(labels) - 0.5, xgap=1,
        colorbar={"title": "effect", "tickvals": list(range(len(labels))),
                  "ticktext": labels, "lenmode": "pixels", "len": 40 * len(labels) + 40,
                  "yanchor": "top", "y": 1}))
    tags = list(wide.index)
    if len(tags) <= TAG_LABELS_UP_TO:
        ticks = {"tickvals": tags, "ticktext": [
            f"{tag} {kw}".strip() for tag, kw in zip(tags, keywords, strict=True)],
            "title": "tag"}
        height = max(300, 18 * len(tags) + 160)
    else:
        values, texts = _group_ticks(tags)
        ticks = {"tickvals": values, "ticktext": texts,
                 "title": "tags in tag order (hover a cell for its tag)"}
        height = 1100
    figure.update_layout(title=f"Modify/Keep for each of {len(tags):,} tags",
                         yaxis={"autorange": "reversed", "type": "category", **ticks},
                         xaxis={"type": "category", "side": "top"}, height=height,
                         margin={"t": 90})
    return figure


def modified_kept_bars(summary: pd.DataFrame) -> go.Figure:
    """Tags each profile modifies and keeps over the whole universe."""
    ids = summary["profile_id"].astype(str).tolist()
    figure = go.Figure([
        go.Bar(name="modified", x=ids, y=summary["n_modified"].astype(int).tolist(),
               marker_color=EFFECT_COLOURS["modify"]),
        go.Bar(name="kept", x=ids, y=summary["n_kept"].astype(int).tolist(),
               marker_color=EFFECT_COLOURS["keep"]),
    ])
    figure.update_layout(barmode="stack", title="Tags modified and kept, per profile",
                         yaxis={"title": "tags"}, xaxis={"type": "category"}, height=420)
    return figure


def findings_by_kind(findings: pd.DataFrame, profile_ids: Sequence[str]) -> go.Figure:
    """Residual-risk findings per profile, stacked by risk kind."""
    counts = (findings.groupby(["profile_id", "risk_kind"], observed=True).size()
              .unstack(fill_value=0).reindex(index=list(profile_ids), fill_value=0))
    figure = go.Figure([go.Bar(name=str(kind), x=list(counts.index),
                               y=counts[kind].astype(int).tolist())
                        for kind in counts.columns])
    figure.update_layout(barmode="stack", title="Findings per profile, by risk kind",
                         yaxis={"title": "findings"}, xaxis={"type": "category"}, height=420)
    return figure


def findings_by_severity(findings: pd.DataFrame, profile_ids: Sequence[str]) -> go.Figure:
    """Residual-risk findings per profile, stacked by severity."""
    counts = (findings.groupby(["profile_id", "severity"], observed=True).size()
              .unstack(fill_value=0).reindex(index=list(profile_ids), fill_value=0))
    figure = go.Figure([go.Bar(name=severity, x=list(counts.index),
                               y=counts[severity].astype(int).tolist(),
                               marker_color=SEVERITY_COLOURS[severity])
                        for severity in SEVERITY_ORDER if severity in counts.columns])
    figure.update_layout(barmode="stack", title="Findings per profile, by severity",
                         yaxis={"title": "findings"}, xaxis={"type": "category"}, height=420)
    return figure


def size_buckets(k: int) -> list[tuple[int, int, str]]:
    """``(low, high, label)`` buckets of class sizes: one per size below k, then wider ones."""
    buckets = [(size, size, str(size)) for size in range(1, k)]
    edges = [k, 10, 20, 50, 100, 200, 500, 1000, 10_000]
    edges = [k] + [edge for edge in edges if edge > k]
    for low, high in itertools.pairwise(edges):
        buckets.append((low, high - 1, str(low) if high - 1 == low else f"{low}-{high - 1}"))
    buckets.append((edges[-1], 10**12, f"{edges[-1]}+"))
    return buckets


def class_size_bars(classes: pd.DataFrame, quasi_identifiers: str, k: int,
                    profile_ids: Sequence[str]) -> go.Figure:
    """How the records spread over class sizes for one quasi-identifier set, per profile."""
    part = classes[classes["quasi_identifiers"] == quasi_identifiers]
    buckets = size_buckets(k)
    labels = [label for _, _, label in buckets]
    traces = []
    for pid in profile_ids:
        rows = part[part["profile_id"] == pid]
        y = [int(rows.loc[(rows["class_size"] >= low) & (rows["class_size"] <= high),
                          "n_records"].sum()) for low, high, _ in buckets]
        if sum(y):
            traces.append(go.Bar(name=pid, x=labels, y=y))
    figure = go.Figure(traces)
    if k > 1:
        figure.add_vrect(x0=-0.5, x1=k - 1.5, fillcolor="#b2182b", opacity=0.08, line_width=0,
                         annotation_text=f"below k = {k}", annotation_position="top left")
    figure.update_layout(barmode="group", height=420,
                         title="Records by class size: " + _html(quasi_identifiers),
                         xaxis={"title": "class size (records sharing the values)",
                                "type": "category", "categoryorder": "array",
                                "categoryarray": labels},
                         yaxis={"title": "records"})
    return figure


def aryanto_bars(coverage: pd.DataFrame) -> go.Figure:
    """Of the 50 attributes of Aryanto et al. (2015): modified and left untouched."""
    ids = coverage["profile_id"].astype(str).tolist()
    figure = go.Figure([
        go.Bar(name="modified", x=ids, y=coverage["n_modified"].astype(int).tolist(),
               marker_color=EFFECT_COLOURS["modify"]),
        go.Bar(name="untouched (kept)", x=ids, y=coverage["n_untouched"].astype(int).tolist(),
               marker_color=EFFECT_COLOURS["keep"]),
    ])
    figure.update_layout(barmode="stack", height=380, yaxis={"title": "attributes"},
                         title="Aryanto et al. (2015) attributes: modified or untouched",
                         xaxis={"type": "category"})
    return figure
