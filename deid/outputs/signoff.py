"""The sign-off report: one self-contained HTML file a DPO can read, print to PDF, sign and
file with a DPIA.

It opens with a plain-language conclusion; then the data reviewed (folder, file count, a
digest of the file list, date), the residual risks named one by one with the mitigation each
needs, what changed since the previously signed version of the same profile, the profile with
its own rules (counted as the Profiles page counts them) and its full effective rule table (every
tag it names, the PS3.15 table's rows included, and what it does to everything else), the
comparison with the reference profiles (PS3.15 Basic and the AI4HI profiles), k-anonymity,
the Aryanto-50 coverage, every finding per file, and a sign-off block whose decision is left
for the reviewer to tick. Every figure is also embedded as JSON (``<script id="figures">``) so
tools and tests can read it back. Evidence in the findings is masked; no original header
value appears.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from deid.audit import AuditResult
from deid.consensus.store import SIGNOFF_DECISIONS, DecisionStore, SignOff
from deid.outputs.compare import (
    PUBLISHED_FIGURES,
    Comparison,
    compare,
    comparison_universe,
    pairwise_diff,
    profile_actions,
)
from deid.policy.profile_loader import load_profile_text
from deid.policy.profile_model import Profile, Rule
from deid.policy.standard import dicom_edition
from deid.risk.report import BASELINE_ID, RiskReport, element_summary
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
.conclusion { border: 2px solid #333; padding: 0.6rem 1rem; background: #f7f7f7; }
.conclusion li { margin: 0.25rem 0; }
.tick { font-size: 1.1rem; margin-right: 1.5rem; }
@media print { body { margin: 0; max-width: none; } h2 { break-after: avoid; }
  tr { break-inside: avoid; } details { display: block; } details > summary { display: none; } }
"""


#: Column labels of the report's tables (snake_case names as people read them).
LABELS = {
    "profile_id": "Profile", "profile": "Profile", "provenance": "Provenance",
    "n_modified": "Tags modified", "n_kept": "Tags kept",
    "tags_treated_differently_from_this_profile": "Tags treated differently from this one",
    "risk_kind": "Risk kind", "severity": "Severity", "findings": "Findings",
    "quasi_identifiers": "Quasi-identifiers", "n_records": "Patients",
    "k_min": "Smallest group (k_min)", "n_records_below_k": "Patients in groups below k",
    "k_threshold": "k", "quasi_identifiers_left": "Left by the profile",
    "n_attributes": "Attributes", "n_untouched": "Left untouched", "untouched_keywords":
    "Untouched attributes", "element_path": "Element path", "tag": "Tag", "keyword": "Keyword",
    "reason": "Reason", "evidence": "Evidence (masked)", "file": "File", "summary":
    "What stays", "n_files": "Files after", "n_files_before": "Files before",
    "mitigation": "Mitigation needed", "risk": "Why it is a risk", "element": "Element",
    "action": "Action", "because": "The profile's reason", "name": "Name", "source": "Source",
    "rule": "Rule", "matcher": "Matches", "parameters": "Parameters", "signed_action":
    "Action when signed", "action_now": "Action now", "reason_now": "Reason now",
    "reviewer": "Reviewer", "date": "Date", "decision": "Decision", "comments": "Comments",
    "profile sha256": "Profile sha256 (start)", "item": "Item", "value": "Value",
    "explicit": "Named by",
}
#: Values of vocabularies as people read them.
VALUE_LABELS = {"direct_identifier": "direct identifier", "quasi_identifier": "quasi-identifier",
                "free_text": "free text", "approved_with_conditions": "approved with conditions"}
_VOCABULARY_COLUMNS = ("risk_kind", "decision")


@dataclass(frozen=True)
class ReviewedData:
    """The data a report was made on: where, how many files, a digest of their names, when."""

    folder: str
    n_files: int
    n_load_errors: int
    file_list_sha256: str
    reviewed_at: str


def reviewed_data(folders: Sequence[str], files: Iterable[str], n_load_errors: int = 0,
                  when: str | None = None) -> ReviewedData:
    """What identifies the data reviewed: the folder(s), the number of files, the sha256 of
    their sorted names (relative to the common folder, one per line) and the date."""
    roots = [f if os.path.isdir(f) else os.path.dirname(f) for f in folders]
    common = os.path.commonpath([os.path.abspath(r) for r in roots]) if roots else ""
    names = sorted(_relative(str(name), common) for name in files)
    digest = hashlib.sha256("\n".join(names).encode("utf-8")).hexdigest()
    return ReviewedData(", ".join(str(f) for f in folders) or "uploaded files", len(names),
                        n_load_errors, digest,
                        when or dt.datetime.now(dt.UTC).strftime("%Y-%m-%d"))


def _relative(name: str, root: str) -> str:
    if not root:
        return name
    absolute = name if os.path.isabs(name) else os.path.abspath(name)
    prefix = root.rstrip(os.sep) + os.sep
    return absolute[len(prefix):] if absolute.startswith(prefix) else name


@dataclass(frozen=True)
class PreviousVersion:
    """The latest sign-off of another version of the same profile, and what changed since
    (None when that version's text was not kept)."""

    signoff: SignOff
    changes: pd.DataFrame | None


def version_changes(signed: Profile, current: Profile) -> pd.DataFrame:
    """Tags the current version treats differently from the signed one."""
    universe = comparison_universe([signed, current])
    before = profile_actions([signed], universe).set_index("tag")
    now = profile_actions([current], universe).set_index("tag")
    differ = before.index[before["action"].astype(str) != now["action"].astype(str)]
    rows = [{"tag": tag, "keyword": now.loc[tag, "keyword"],
             "signed_action": before.loc[tag, "action"], "action_now": now.loc[tag, "action"],
             "reason_now": now.loc[tag, "reason"], "source": now.loc[tag, "source"]}
            for tag in differ]
    return pd.DataFrame(rows, columns=["tag", "keyword", "signed_action", "action_now",
                                       "reason_now", "source"])


def previous_version(store: DecisionStore | None, profile: Profile) -> PreviousVersion | None:
    """The previously signed version of ``profile`` (another sha256, the latest signed), with
    the tags it treated differently when its text was kept in the record."""
    if store is None:
        return None
    others = [s for s in store.sign_offs(profile.id) if s.profile_sha256 != profile.sha256]
    if not others:
        return None
    last = others[-1]
    text = store.signed_profile_text(last.profile_sha256)
    if text is None:
        return PreviousVersion(last, None)
    try:
        signed = load_profile_text(text, name=f"{profile.id} as signed on {last.signed_at}")
    except (ValueError, OSError):
        return PreviousVersion(last, None)
    return PreviousVersion(last, version_changes(signed, profile))


@dataclass(frozen=True)
class SignOffReport:
    """The report's HTML and the figures it shows."""

    html: str
    figures: dict[str, Any]


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_))


def readable(frame: pd.DataFrame) -> pd.DataFrame:
    """Column names and vocabulary values as people read them (no snake_case)."""
    shown = frame.copy()
    for column in _VOCABULARY_COLUMNS:
        if column in shown.columns:
            shown[column] = shown[column].astype(str).map(lambda v: VALUE_LABELS.get(v, v))
    return shown.rename(columns={c: LABELS.get(c, str(c).replace("_", " ").capitalize())
                                 for c in shown.columns})


def _cell(value: object) -> str:
    if _is_number(value):
        return f'<td class="n">{value}</td>'
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return "<td></td>"
    if isinstance(value, (bool, np.bool_)):
        return f"<td>{'yes' if value else 'no'}</td>"
    return f"<td>{html.escape(str(value))}</td>"


def _table(frame: pd.DataFrame, css_column: str | None = None, table_class: str = "") -> str:
    css_values = frame[css_column].astype(str).tolist() if css_column else None
    shown = readable(frame)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in shown.columns)
    rows = []
    for number, record in enumerate(shown.itertuples(index=False)):
        css = f' class="{html.escape(css_values[number])}"' if css_values else ""
        rows.append(f"<tr{css}>{''.join(_cell(v) for v in record)}</tr>")
    attribute = f' class="{table_class}"' if table_class else ""
    return (f"<table{attribute}><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody>"
            "</table>")


def own_rules(profile: Profile) -> pd.DataFrame:
    """The profile's own rules, as the Profiles page lists them (same rows, same count)."""
    rows = [_rule_row(rule) for rule in profile.rules]
    return pd.DataFrame(rows, columns=["rule", "matcher", "action", "parameters", "reason",
                                       "source"])


def _rule_row(rule: Rule) -> dict[str, str]:
    params = ", ".join(f"{k}={v}" for k, v in sorted(rule.params.items()) if k != "secret")
    return {"rule": str(rule.number) + ("" if rule.enabled else " (off)"),
            "matcher": rule.matcher.describe(), "action": rule.action.value,
            "parameters": params, "reason": rule.reason, "source": rule.source}


def effective_rules(profile: Profile, comparison: Comparison) -> pd.DataFrame:
    """Every tag of the universe the profile names (its rules, its base's, its options and
    the PS3.15 table's rows), with the action, reason and source that decide it."""
    actions = comparison.tables["profile_actions"]
    mine = actions[(actions["profile_id"] == profile.id) & actions["explicit"].astype(bool)]
    return mine[["tag", "keyword", "name", "action", "reason", "source"]].reset_index(drop=True)


def _defaults_frame(profile: Profile, comparison: Comparison) -> pd.DataFrame:
    actions = comparison.tables["profile_actions"]
    mine = actions[(actions["profile_id"] == profile.id) & ~actions["explicit"].astype(bool)]
    counts = mine["action"].astype(str).value_counts().sort_index()
    rows = [{"item": "Every other standard element (unlisted = "
                     f"{profile.effective_unlisted().value})",
             "value": ", ".join(f"{action}: {n:,} tags" for action, n in counts.items())},
            {"item": "Private elements", "value": profile.effective_private_tags().value}]
    return pd.DataFrame(rows, columns=["item", "value"])


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


def conclusion(profile: Profile, summary: pd.DataFrame, reviewed: ReviewedData,
               previous: PreviousVersion | None) -> list[str]:
    """The report's conclusion in plain words, one sentence a line (no decision taken)."""
    files = f"{reviewed.n_files:,} file{'s' if reviewed.n_files != 1 else ''}"
    lines = []
    if summary.empty:
        lines.append(f"On the {files} reviewed, nothing that could identify a patient was "
                     f"found after {profile.id}.")
    else:
        high = summary[summary["severity"] == "high"]
        lines.append(f"On the {files} reviewed, {len(summary):,} element"
                     f"{'s' if len(summary) != 1 else ''} or combination"
                     f"{'s' if len(summary) != 1 else ''} can still identify a patient, or "
                     f"help to, after {profile.id}: {len(high):,} of high severity.")
        named = ", ".join(summary["element"].astype(str).head(5))
        lines.append(f"The most serious: {named}. Section 2 names each with the mitigation "
                     "it needs.")
    lines.append("Before signing, decide for each risk whether its mitigation is applied "
                 "or the risk is accepted, and record conditions in the comments.")
    if previous is None:
        lines.append(f"No earlier version of {profile.id} was signed off in this record.")
    elif previous.changes is None:
        lines.append(f"An earlier version was signed on {previous.signoff.signed_at} "
                     f"({previous.signoff.decision.replace('_', ' ')}); its text was not "
                     "kept, so the changes since cannot be listed.")
    else:
        lines.append(f"Since the version signed on {previous.signoff.signed_at} "
                     f"({previous.signoff.decision.replace('_', ' ')}), "
                     f"{len(previous.changes):,} tag"
                     f"{'s are' if len(previous.changes) != 1 else ' is'} treated differently "
                     "(section 3).")
    return lines


def render_signoff_report(profile: Profile, comparison: Comparison, risk: RiskReport, *,
                          n_files: int, n_load_errors: int, signoffs: Sequence[SignOff] = (),
                          generated: str | None = None, reviewed: ReviewedData | None = None,
                          previous: PreviousVersion | None = None,
                          relative_to: str = "",
                          audit: AuditResult | None = None) -> SignOffReport:
    """The HTML report of one profile from its comparison and the risk on a sample (the
    :data:`~deid.risk.report.BASELINE_ID` findings, when assessed, give the baseline); with
    ``audit``, the figures of an export audited against this profile."""
    reviewed = reviewed or ReviewedData("", n_files, n_load_errors, "", "")
    figures = _figures(profile, comparison, risk, n_load_errors)
    everything = risk.residual_risk
    findings = everything[everything["profile_id"] == profile.id]
    kanon = risk.k_anonymity[risk.k_anonymity["profile_id"] == profile.id]
    coverage = risk.aryanto_coverage[risk.aryanto_coverage["profile_id"] == profile.id]
    summary = element_summary(everything[everything["profile_id"].isin(
        [profile.id, BASELINE_ID])], [profile])
    rules = own_rules(profile)
    effective = effective_rules(profile, comparison)
    figures.update({"n_own_rules": len(rules), "n_effective_rules": len(effective),
                    "n_residual_risks": len(summary), "n_files": reviewed.n_files,
                    "file_list_sha256": reviewed.file_list_sha256,
                    "previous_sha256": previous.signoff.profile_sha256 if previous else None,
                    "n_changed_since_signed": (len(previous.changes) if previous is not None
                                               and previous.changes is not None else None)})
    when = generated or dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    escape = html.escape
    data_rows = pd.DataFrame([
        ("Folder", reviewed.folder or "not given"),
        ("Files reviewed", f"{reviewed.n_files:,} ({reviewed.n_load_errors:,} could not be "
                           "read)"),
        ("Digest of the file list", reviewed.file_list_sha256 and
         f"sha256 {reviewed.file_list_sha256} (of the sorted file names, one per line)"),
        ("Reviewed on", reviewed.reviewed_at or when),
    ], columns=["item", "value"])
    meta = pd.DataFrame([
        ("Profile", f"{profile.id}: {profile.title}"), ("Provenance", profile.provenance.value),
        ("File sha256", profile.sha256 or ""),
        ("Base", profile.base.id if profile.base else "none"),
        ("PS3.15 options", ", ".join(profile.all_options()) or "none"),
        ("Rules of its own", f"{len(rules):,} (as the Profiles page lists them)"),
        ("Tags it names, base and standard table included", f"{len(effective):,}"),
        ("Unlisted elements", profile.effective_unlisted().value),
        ("Private elements", profile.effective_private_tags().value),
        ("Standard", f"DICOM PS3.15 {dicom_edition()}"), ("Tool", f"deid {__version__}"),
        ("Generated", when)], columns=["item", "value"])
    by_kind = findings.groupby(["risk_kind", "severity"]).size().reset_index(name="findings")
    per_file = findings.drop(columns=["profile_id"]).assign(
        file=[_relative(str(f), relative_to) for f in findings["file"]])
    per_file = per_file[["keyword", "severity", "risk_kind", "reason", "file", "element_path",
                         "tag", "evidence"]]
    risks = summary[["summary", "severity", "risk_kind", "n_files", "n_files_before",
                     "mitigation", "risk"]]
    reconstructed = (" This profile is <strong>reconstructed</strong> from published "
                     "descriptions, not the project's own script." if
                     profile.provenance.value == "reconstructed" else "")
    changes = _changes_html(profile, previous)
    body = f"""
<h1>Sign-off report: {escape(profile.title)}</h1>
<p>What this profile does to DICOM headers, what stays risky on the data reviewed after it is
applied, and how it compares with reference profiles.{reconstructed}</p>
<div class="conclusion"><h2>Conclusion</h2><ul>{''.join(
        f'<li>{escape(line)}</li>' for line in conclusion(profile, summary, reviewed, previous))}
</ul></div>
<h2>1. The data reviewed</h2>
{_table(data_rows, table_class="meta")}
<h2>2. Residual risks and the mitigation each needs</h2>
<p>{len(summary):,} elements or combinations stay a risk ({len(findings):,} findings over the
files; evidence is masked). "Files before" counts the same risk in the files as they are,
before de-identification.</p>
{_table(risks, "severity")}
{_table(by_kind)}
<h2>3. Changes since the previously signed version</h2>
{changes}
<h2>4. The profile: rules, with reasons and sources</h2>
{_table(meta, table_class="meta")}
<p>{escape(profile.description)}</p>
<h3>Its own rules ({len(rules):,})</h3>
{_table(rules) if len(rules) else "<p>None: everything comes from its base and defaults.</p>"}
<h3>Effective rule table: every tag it names ({len(effective):,})</h3>
<details open><summary>{len(effective):,} tags</summary>{_table(effective)}</details>
{_table(_defaults_frame(profile, comparison), table_class="meta")}
<h2>5. Comparison with the reference profiles</h2>
<p>Over {comparison.universe.size:,} tags ({escape(comparison.universe.source)}).</p>
{_table(_comparison_frame(profile, comparison))}
<h2>6. k-anonymity of the quasi-identifiers left</h2>
{_table(kanon.drop(columns=['profile_id']))}
<h2>7. Aryanto et al. (2015): the 50 attributes</h2>
{_table(coverage.drop(columns=['profile_id']))}
<h2>8. Every finding, file by file</h2>
<details><summary>{len(per_file):,} findings</summary>{_table(per_file, "severity")}</details>
{_audit_html(audit, figures)}
<h2>9. Sign-off</h2>
{_signoff_html(signoffs)}
<script type="application/json" id="figures">{_json_for_html(figures)}</script>
"""
    document = (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                f"<title>Sign-off report: {escape(profile.id)}</title><style>{_CSS}</style>"
                f"</head><body>{body}</body></html>\n")
    return SignOffReport(document, figures)


def _audit_html(audit: AuditResult | None, figures: dict[str, Any]) -> str:
    """Section 8b: an export audited against this profile, when one was (its figures also go
    into the report's figures)."""
    if audit is None:
        return ""
    pairs = audit.audit_pairs
    paired = int(pairs["paired_by"].isin(["path", "uid-map"]).sum())
    unpaired = int((pairs["paired_by"] == "unpaired").sum())
    elements = audit.audit_elements
    deviating = elements[~elements["agrees"].astype(bool)]
    figures.update({"audit_files_paired": paired, "audit_files_unpaired": unpaired,
                    "audit_deviations": audit.n_deviations,
                    "audit_elements_deviating": len(deviating),
                    "audit_export_findings": len(audit.risk.residual_risk)})
    rows = pd.DataFrame([
        ("Files paired with their originals", f"{paired:,}"),
        ("Files in one folder only", f"{unpaired:,}"),
        ("Deviations from this profile (element x file)", f"{audit.n_deviations:,}"),
        ("Elements that deviate", f"{len(deviating):,}"),
        ("Residual-risk findings on the exported values", f"{len(audit.risk.residual_risk):,}"),
        ("Files that could not be read", f"{len(audit.load_errors):,}"),
    ], columns=["item", "value"])
    worst = deviating.sort_values("n_files", ascending=False).head(30)[
        ["element_path", "keyword", "claimed_action", "observed_action", "n_files", "note"]]
    return (f"<h2>8b. Audit of an export made with this profile</h2>"
            f"<p>What a pipeline actually did, element by element, against what this profile "
            f"says (python -m deid audit).</p>{_table(rows, table_class='meta')}"
            + (_table(worst) if len(worst) else "<p>No deviation.</p>"))


def _changes_html(profile: Profile, previous: PreviousVersion | None) -> str:
    escape = html.escape
    if previous is None:
        return f"<p>No earlier version of {escape(profile.id)} was signed off in this record.</p>"
    signed = (f"{escape(previous.signoff.signed_at)} by "
              f"{escape(previous.signoff.reviewer_label)} "
              f"({escape(previous.signoff.decision.replace('_', ' '))}; sha256 "
              f"{escape(previous.signoff.profile_sha256[:16])}…)")
    if previous.changes is None:
        return (f"<p>An earlier version was signed on {signed}; its text was not kept in the "
                "record, so the tags it treated differently cannot be listed.</p>")
    if previous.changes.empty:
        return f"<p>Signed on {signed}: no tag is treated differently now.</p>"
    return (f"<p>Signed on {signed}: {len(previous.changes):,} tags are treated differently "
            f"now.</p>{_table(previous.changes)}")


def _signoff_html(signoffs: Sequence[SignOff]) -> str:
    recorded = ""
    if signoffs:
        rows = pd.DataFrame([{"reviewer": s.reviewer_label, "date": s.signed_at,
                              "decision": s.decision, "comments": s.comments,
                              "profile sha256": s.profile_sha256[:12]} for s in signoffs])
        recorded = "<p>Recorded in the decision record for this version:</p>" + _table(rows)
    ticks = "".join(f'<span class="tick">&#9744; {html.escape(VALUE_LABELS.get(d, d))}</span>'
                    for d in SIGNOFF_DECISIONS)
    return (f"{recorded}<p>Decision (tick one): {ticks}</p>"
            "<p>Conditions or reservations: ____________________________________________</p>"
            "<p>Reviewer's name: ______________________ Signature: ______________________ "
            "Date: ____________</p>")
