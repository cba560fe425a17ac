"""The sign-off report: one self-contained HTML file a DPO can read, print to PDF and sign.

It holds the profile's rules with reasons and sources, a comparison with the reference profiles
(PS3.15 Basic and the AI4HI profiles), the residual-risk findings and k-anonymity on the loaded
sample, the Aryanto-50 coverage and a sign-off block from the decision record. Every figure is
also embedded as JSON (``<script id="figures">``) so tools and tests can read it back. Evidence
in the findings is masked; no original header value appears.
"""

from __future__ import annotations

import datetime as dt
import html
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from deid.consensus.store import SignOff
from deid.outputs.compare import PUBLISHED_FIGURES, Comparison, compare, pairwise_diff
from deid.policy.profile_model import Profile, Rule
from deid.policy.standard import dicom_edition
from deid.risk.report import RiskReport
from deid.version import __version__

#: The reference profiles a profile is compared with, when present.
REFERENCE_IDS = ("ps315_basic", *PUBLISHED_FIGURES)
_CSS = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; color: #111; }
h1 { font-size: 1.6rem; }
h2 { font-size: 1.25rem; margin-top: 2rem; border-bottom: 1px solid #999; }
table { border-collapse: collapse; width: 100%; font-size: 0.85rem; margin: 0.5rem 0 1rem; }
th, td { border: 1px solid #bbb; padding: 0.2rem 0.4rem; text-align: left; vertical-align: top; }
th { background: #eee; } td.n { text-align: right; }
.meta td:first-child { width: 14rem; font-weight: 600; }
.sign td { height: 2.2rem; }
.high { background: #fde2e1; } .medium { background: #fff4d6; } .low { background: #eef6ee; }
@media print { body { margin: 0; max-width: none; } h2 { break-after: avoid; }
  tr { break-inside: avoid; } details { display: block; } details > summary { display: none; } }
"""


@dataclass(frozen=True)
class SignOffReport:
    """The report's HTML and the figures it shows."""

    html: str
    figures: dict[str, Any]


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_))


def _table(frame: pd.DataFrame, css_column: str | None = None, table_class: str = "") -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for record in frame.itertuples(index=False):
        values = list(record)
        css = f' class="{html.escape(str(getattr(record, css_column)))}"' if css_column else ""
        cells = "".join(
            f'<td class="n">{v}</td>' if _is_number(v)
            else f"<td>{html.escape('' if v is None or v is pd.NA else str(v))}</td>"
            for v in values)
        rows.append(f"<tr{css}>{cells}</tr>")
    attribute = f' class="{table_class}"' if table_class else ""
    return (f"<table{attribute}><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody>"
            "</table>")


def _rules_frame(profile: Profile) -> pd.DataFrame:
    rows = []
    for member in profile.chain:
        for rule in member.rules:
            rows.append(_rule_row(member.id, rule))
        if member.options:
            rows.append({"profile": member.id, "rule": "", "matcher": "PS3.15 options",
                         "action": ", ".join(member.options), "parameters": "",
                         "reason": "Options of PS3.15 Table E.1-1", "source": "DICOM PS3.15"})
        if member.standard_table:
            rows.append({"profile": member.id, "rule": "", "matcher": "Table E.1-1",
                         "action": "Basic Profile codes", "parameters": "",
                         "reason": "The Basic Application Level Confidentiality Profile",
                         "source": f"DICOM PS3.15 {dicom_edition()} Table E.1-1"})
    return pd.DataFrame(rows, columns=["profile", "rule", "matcher", "action", "parameters",
                                       "reason", "source"])


def _rule_row(profile_id: str, rule: Rule) -> dict[str, str]:
    params = ", ".join(f"{k}={v}" for k, v in rule.params.items() if k != "secret")
    return {"profile": profile_id, "rule": str(rule.number) + ("" if rule.enabled else " (off)"),
            "matcher": rule.matcher.describe(), "action": rule.action.value,
            "parameters": params, "reason": rule.reason, "source": rule.source}


def reference_comparison(profile: Profile, references: Sequence[Profile]) -> Comparison:
    """The profile compared with the reference profiles (itself excluded from them)."""
    others = [p for p in references if p.id != profile.id]
    return compare([profile, *others])


def _comparison_frame(profile: Profile, comparison: Comparison) -> pd.DataFrame:
    summary = comparison.tables["profile_summary"].set_index("profile_id")
    actions = comparison.tables["profile_actions"]
    rows = []
    for other in comparison.profiles:
        differing = 0 if other.id == profile.id else len(
            pairwise_diff(actions, profile.id, other.id))
        rows.append({"profile": other.id, "provenance": other.provenance.value,
                     "n_modified": int(summary.loc[other.id, "n_modified"]),
                     "n_kept": int(summary.loc[other.id, "n_kept"]),
                     "tags_treated_differently_from_this_profile": differing})
    return pd.DataFrame(rows)


def _figures(profile: Profile, comparison: Comparison, risk: RiskReport,
             n_load_errors: int) -> dict[str, Any]:
    findings = risk.residual_risk[risk.residual_risk["profile_id"] == profile.id]
    kanon = risk.k_anonymity[risk.k_anonymity["profile_id"] == profile.id]
    coverage = risk.aryanto_coverage[risk.aryanto_coverage["profile_id"] == profile.id]
    return {
        "profile_id": profile.id,
        "profile_sha256": profile.sha256,
        "dicom_edition": dicom_edition(),
        "n_universe": comparison.universe.size,
        "n_findings": len(findings),
        "findings_by_kind": {str(k): int(v) for k, v in
                             findings["risk_kind"].value_counts().sort_index().items()},
        "findings_by_severity": {str(k): int(v) for k, v in
                                 findings["severity"].value_counts().sort_index().items()},
        "k_anonymity": {str(r.quasi_identifiers): {"k_min": int(r.k_min),
                                                   "n_records": int(r.n_records),
                                                   "n_records_below_k": int(r.n_records_below_k),
                                                   "k_threshold": int(r.k_threshold)}
                        for r in kanon.itertuples()},
        "aryanto_untouched": int(coverage["n_untouched"].iloc[0]) if len(coverage) else None,
        "n_load_errors": n_load_errors,
    }


def _json_for_html(data: dict[str, Any]) -> str:
    """JSON safe inside a script element (no ``</`` can close it)."""
    return json.dumps(data, sort_keys=True).replace("</", "<\\/")


def read_figures(document: str) -> dict[str, Any]:
    """The figures embedded in a report's HTML."""
    start = document.index('<script type="application/json" id="figures">')
    start = document.index(">", start) + 1
    end = document.index("</script>", start)
    loaded: dict[str, Any] = json.loads(document[start:end])
    return loaded


def render_signoff_report(profile: Profile, comparison: Comparison, risk: RiskReport, *,
                          n_files: int, n_load_errors: int, signoffs: Sequence[SignOff] = (),
                          generated: str | None = None) -> SignOffReport:
    """The HTML report of one profile from its comparison and the risk on a sample."""
    figures = _figures(profile, comparison, risk, n_load_errors)
    findings = risk.residual_risk[risk.residual_risk["profile_id"] == profile.id]
    kanon = risk.k_anonymity[risk.k_anonymity["profile_id"] == profile.id]
    coverage = risk.aryanto_coverage[risk.aryanto_coverage["profile_id"] == profile.id]
    when = generated or dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    escape = html.escape
    meta = pd.DataFrame([
        ("Profile", f"{profile.id}: {profile.title}"), ("Provenance", profile.provenance.value),
        ("File sha256", profile.sha256 or ""),
        ("Base", profile.base.id if profile.base else "none"),
        ("PS3.15 options", ", ".join(profile.all_options()) or "none"),
        ("Unlisted elements", profile.effective_unlisted().value),
        ("Private elements", profile.effective_private_tags().value),
        ("Sample", f"{n_files:,} files read, {n_load_errors:,} could not be read"),
        ("Standard", f"DICOM PS3.15 {dicom_edition()}"), ("Tool", f"deid {__version__}"),
        ("Generated", when)], columns=["item", "value"])
    by_kind = findings.groupby(["risk_kind", "severity"]).size().reset_index(name="findings")
    sign_rows = pd.DataFrame(
        [{"reviewer": s.reviewer_label, "date": s.signed_at, "decision": s.decision,
          "comments": s.comments, "profile sha256": s.profile_sha256[:12]} for s in signoffs]
        or [{"reviewer": "", "date": "", "decision": "", "comments": "", "profile sha256": ""}])
    rules = _rules_frame(profile)
    findings_html = _table(findings.drop(columns=["profile_id"]), "severity")
    reconstructed = (" This profile is <strong>reconstructed</strong> from published "
                     "descriptions, not the project's own script." if
                     profile.provenance.value == "reconstructed" else "")
    body = f"""
<h1>Sign-off report: {escape(profile.title)}</h1>
<p>What this profile does to DICOM headers, how it compares with reference profiles, and what
stays risky on the loaded sample after it is applied.{reconstructed}</p>
<table class="meta"><tbody>{''.join(f'<tr><td>{escape(i)}</td><td>{escape(v)}</td></tr>'
                                     for i, v in meta.itertuples(index=False))}</tbody></table>
<h2>1. Rules, with reasons and sources</h2>
<p>{escape(profile.description)}</p>
<details open><summary>{len(rules)} rules</summary>{_table(rules)}</details>
<h2>2. Comparison with the reference profiles</h2>
<p>Over {comparison.universe.size:,} tags ({escape(comparison.universe.source)}).</p>
{_table(_comparison_frame(profile, comparison))}
<h2>3. Residual risk on the loaded sample</h2>
<p>{len(findings):,} findings. Evidence is masked.</p>
{_table(by_kind)}
<details><summary>All findings</summary>{findings_html}</details>
<h2>4. k-anonymity of the quasi-identifiers left</h2>
{_table(kanon.drop(columns=['profile_id']))}
<h2>5. Aryanto et al. (2015): the 50 attributes</h2>
{_table(coverage.drop(columns=['profile_id']))}
<h2>6. Sign-off</h2>
{_table(sign_rows, table_class="sign")}
<p>Reviewer's signature: ______________________ Date: ____________</p>
<script type="application/json" id="figures">{_json_for_html(figures)}</script>
"""
    document = (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                f"<title>Sign-off report: {escape(profile.id)}</title><style>{_CSS}</style>"
                f"</head><body>{body}</body></html>\n")
    return SignOffReport(document, figures)
