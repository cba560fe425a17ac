"""Session-state and widget keys, defined once so pages and tests agree on them.

Keys are ``<page>.<what>``. Values the whole session shares (the loaded headers, the active
profiles, uploaded profiles, secrets) live under ``session.*`` and ``profiles.*``; widgets
whose choice should survive a page switch are created with ``persist_state="session"``.
"""

from __future__ import annotations

from typing import Final

# -- shared by every page ------------------------------------------------------------------
#: The loaded headers (:class:`ui.session.Loaded`), or absent.
LOADED: Final = "session.loaded"
#: True once the bundled sample was offered (loaded at the first start of a session).
SAMPLE_OFFERED: Final = "session.sample_offered"
#: The session's secrets (:class:`ui.session.SessionSecrets`).
SECRETS: Final = "session.secrets"
#: Ids of the active profiles (the multiselect on the Load page).
ACTIVE_PROFILES: Final = "profiles.active"
#: Profiles uploaded in this session: id -> :class:`ui.profiles.UploadedProfile`.
UPLOADED_PROFILES: Final = "profiles.uploaded"
#: True when the user asked for the residual-risk assessment of a large load.
RISK_REQUESTED: Final = "risk.requested"
#: True when the user asked for the effects table of a large load.
EFFECTS_REQUESTED: Final = "effects.requested"
#: The data folder of the decision record (``decisions.sqlite``): Consensus and Profiles.
DATA_DIR: Final = "session.data_dir"

# -- Load ------------------------------------------------------------------------------------
LOAD_FOLDER: Final = "load.folder"
LOAD_FOLDER_BUTTON: Final = "load.folder_button"
LOAD_ZIP: Final = "load.zip"
LOAD_ZIP_BUTTON: Final = "load.zip_button"
LOAD_UPLOADS: Final = "load.uploads"
LOAD_UPLOADS_BUTTON: Final = "load.uploads_button"
LOAD_SAMPLE_BUTTON: Final = "load.sample_button"
LOAD_DATASET: Final = "load.dataset"
LOAD_DATASET_BUTTON: Final = "load.dataset_button"
LOAD_CANCEL: Final = "load.cancel"
LOAD_CLEAR_BUTTON: Final = "load.clear_button"
LOAD_ERRORS_TABLE: Final = "load.errors_table"
LOAD_FILES_TABLE: Final = "load.files_table"

# -- Tag effects -----------------------------------------------------------------------------
TAG_PROFILES: Final = "tags.profiles"
TAG_GROUPS: Final = "tags.groups"
TAG_SEARCH: Final = "tags.search"
TAG_VRS: Final = "tags.vrs"
TAG_DEPTH: Final = "tags.depth"
TAG_PRIVATE: Final = "tags.private"
TAG_DISAGREE: Final = "tags.disagree"
TAG_RISKY: Final = "tags.risky"
TAG_TABLE: Final = "tags.table"
#: The tags in the tag table's rows, in order (a row selection names a row by its position).
TAG_TABLE_TAGS: Final = "tags.table_tags"
TAG_DETAIL: Final = "tags.detail"
TAG_DETAIL_TABLE: Final = "tags.detail_table"
TAG_FINDINGS_TABLE: Final = "tags.findings_table"
TAG_FILE: Final = "tags.file"
TAG_FILE_TABLE: Final = "tags.file_table"
TAG_FILE_FINDINGS: Final = "tags.file_findings"
TAG_RISK_BUTTON: Final = "tags.risk_button"

# -- Compare profiles ------------------------------------------------------------------------
CMP_PROFILES: Final = "compare.profiles"
CMP_AI4HI_BUTTON: Final = "compare.ai4hi_button"
CMP_FAMILY_BUTTON_PREFIX: Final = "compare.family_button."
CMP_STATES: Final = "compare.states"
CMP_HEATMAP: Final = "compare.heatmap"
CMP_HEATMAP_MODE: Final = "compare.heatmap_mode"
CMP_HEATMAP_SEARCH: Final = "compare.heatmap_search"
CMP_HEATMAP_GROUPS: Final = "compare.heatmap_groups"
CMP_COUNTS: Final = "compare.counts"
CMP_SUMMARY_TABLE: Final = "compare.summary_table"
CMP_PUBLISHED_TABLE: Final = "compare.published_table"
CMP_MODIFIED_TABLE: Final = "compare.modified_by_all_table"
CMP_DIFFERENCES_TABLE: Final = "compare.differences_table"
CMP_PAIR_A: Final = "compare.pair_a"
CMP_PAIR_B: Final = "compare.pair_b"
CMP_PAIR_TABLE: Final = "compare.pair_table"

# -- Residual risk ---------------------------------------------------------------------------
RISK_K: Final = "risk.k"
RISK_QI_SETS: Final = "risk.qi_sets"
RISK_QI_EXTRA: Final = "risk.qi_extra"
RISK_PROFILE_FILTER: Final = "risk.profile_filter"
RISK_KIND_FILTER: Final = "risk.kind_filter"
RISK_BUTTON: Final = "risk.button"
RISK_BY_KIND: Final = "risk.by_kind"
RISK_BY_SEVERITY: Final = "risk.by_severity"
RISK_FINDINGS_TABLE: Final = "risk.findings_table"
RISK_SUMMARY_TABLE: Final = "risk.summary_table"
RISK_KANON_TABLE: Final = "risk.kanon_table"
RISK_KANON_SET: Final = "risk.kanon_set"
RISK_CLASS_SIZES: Final = "risk.class_sizes"
RISK_ARYANTO_TABLE: Final = "risk.aryanto_table"
RISK_ARYANTO_CHART: Final = "risk.aryanto_chart"

# -- Consensus -------------------------------------------------------------------------------
CONS_PROFILES: Final = "consensus.profiles"
CONS_NAME: Final = "consensus.name"
CONS_TITLE: Final = "consensus.title"
CONS_DECIDER: Final = "consensus.decider"
CONS_ALL_TAGS: Final = "consensus.all_tags"
CONS_GROUPS: Final = "consensus.groups"
CONS_SEARCH: Final = "consensus.search"
CONS_RISKY: Final = "consensus.risky"
CONS_STATUS: Final = "consensus.status"
CONS_DECIDED_BY: Final = "consensus.decided_by"
CONS_RISK_BUTTON: Final = "consensus.risk_button"
CONS_PROGRESS: Final = "consensus.progress"
CONS_TABLE: Final = "consensus.table"
#: The tags in the worklist table's rows, in order (a row selection names a row by position).
CONS_TABLE_TAGS: Final = "consensus.table_tags"
CONS_TAG: Final = "consensus.tag"
CONS_VIEWS_TABLE: Final = "consensus.views_table"
CONS_HISTORY_TABLE: Final = "consensus.history_table"
#: "" (choose the action) or the id of the profile whose rule is taken.
CONS_TAKE: Final = "consensus.take"
CONS_ACTION: Final = "consensus.action"
CONS_REASON: Final = "consensus.reason"
CONS_DECIDE_BUTTON: Final = "consensus.decide_button"
#: The tag and action the decision form was filled for (a new tag resets the form).
CONS_FORM_TAG: Final = "consensus.form_tag"
CONS_FORM_ACTION: Final = "consensus.form_action"
#: The outcome of the last click (kind, message), shown once.
CONS_FLASH: Final = "consensus.flash"
CONS_SAVE_FLASH: Final = "consensus.save_flash"
CONS_TOML_DOWNLOAD: Final = "consensus.toml_download"
CONS_CTP_DOWNLOAD: Final = "consensus.ctp_download"
CONS_USE_BUTTON: Final = "consensus.use_button"
CONS_DIFF_PROFILE: Final = "consensus.diff_profile"
CONS_DIFF_TABLE: Final = "consensus.diff_table"
CONS_DECISIONS_TABLE: Final = "consensus.decisions_table"
#: "Open a consensus from the record" (a consensus name, or "" for none).
CONS_OPEN: Final = "consensus.open"
#: The (data folder, name) whose saved set-up was last restored (a new one restores again).
CONS_OPENED: Final = "consensus.opened"
#: What restoring a consensus could not do (profiles missing or changed), shown once.
CONS_RESTORE_NOTE: Final = "consensus.restore_note"
#: The sample paths the open consensus was assessed on (from its saved set-up).
CONS_SOURCES: Final = "consensus.sources"
CONS_FAMILY_BUTTON_PREFIX: Final = "consensus.family_button."
CONS_SAVE_SETUP_BUTTON: Final = "consensus.save_setup_button"
CONS_RESTORE_BUTTON: Final = "consensus.restore_button"
CONS_LOAD_SOURCES_BUTTON: Final = "consensus.load_sources_button"
CONS_OVERVIEW_TABLE: Final = "consensus.overview_table"
CONS_PRESENT: Final = "consensus.present"
CONS_RISKY_ANY: Final = "consensus.risky_any"
CONS_ORDER: Final = "consensus.order"
#: True once the page read the URL's query parameters in this session.
CONS_URL_READ: Final = "consensus.url_read"
#: URL query parameters of the Consensus page (a reload or a shared link reopens it).
QUERY_CONSENSUS: Final = "consensus"
QUERY_RECORD: Final = "record"

# -- Profiles --------------------------------------------------------------------------------
PROFILES_TABLE: Final = "profiles.table"
PROFILE_READ: Final = "profiles.read"
PROFILE_FACTS_TABLE: Final = "profiles.facts_table"
PROFILE_RULES_TABLE: Final = "profiles.rules_table"
PROFILE_LINT_TABLE: Final = "profiles.lint_table"
PROFILE_UPLOAD: Final = "profiles.upload"
PROFILE_CTP_ID: Final = "profiles.ctp_id"
PROFILE_ADD_BUTTON: Final = "profiles.add_button"
PROFILE_TOML_DOWNLOAD: Final = "profiles.toml_download"
SIGNOFF_REVIEWER: Final = "profiles.signoff_reviewer"
SIGNOFF_DECISION: Final = "profiles.signoff_decision"
SIGNOFF_COMMENTS: Final = "profiles.signoff_comments"
SIGNOFF_BUTTON: Final = "profiles.signoff_button"
SIGNOFF_TABLE: Final = "profiles.signoff_table"
SIGNOFF_DOWNLOAD: Final = "profiles.signoff_download"
SIGNOFF_RISK_BUTTON: Final = "profiles.signoff_risk_button"
#: The outcome of the last sign-off click (kind, message), shown once.
SIGNOFF_FLASH: Final = "profiles.signoff_flash"

# -- Glossary --------------------------------------------------------------------------------
GLOSSARY_SEARCH: Final = "glossary.search"
GLOSSARY_TABLE: Final = "glossary.table"

# -- Export ----------------------------------------------------------------------------------
EXPORT_VALUES: Final = "export.include_values"
EXPORT_EFFECTS_BUTTON: Final = "export.effects_button"


def download_key(table: str, fmt: str) -> str:
    """The key of the download button of one table in one format."""
    return f"export.{table}.{fmt}"


def consensus_param_key(name: str) -> str:
    """The key of the input of one action parameter in the Consensus decision form."""
    return f"consensus.param.{name}"


def worklist_download_key(fmt: str) -> str:
    """The key of the worklist's download button in one format."""
    return f"consensus.worklist.{fmt}"


def compare_download_key(table: str, fmt: str) -> str:
    """The key of a download button of the Compare page (what the page shows)."""
    return f"compare.download.{table}.{fmt}"


def decisions_download_key(fmt: str) -> str:
    """The key of the decision record's download button in one format."""
    return f"consensus.decisions.{fmt}"


def login_key(who_key: str, provider: str | None) -> str:
    """The key of the Log in button (one per provider) next to the identity input
    ``who_key``."""
    return f"{who_key}.login.{provider or 'default'}"


def logout_key(who_key: str) -> str:
    """The key of the Log out button next to the identity input ``who_key``."""
    return f"{who_key}.logout"
