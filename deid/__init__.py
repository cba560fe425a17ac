"""deid: review and apply DICOM de-identification profiles (a pure library, no UI).

The public API: load profiles, apply them to pydicom data sets, and read the standard tables.
"""

from deid import native

native.install()  # the compiled hot modules when their build is current (deid.native)

# ruff: noqa: E402 - the compiled modules must be found before anything imports them

from deid.ctp import export_ctp_script, import_ctp_script
from deid.errors import DeidError, DicomInputError, ProfileError, SecretMissingError
from deid.ingest import load_headers
from deid.outputs.effects import apply_profiles
from deid.policy.actions import ACTIONS, Action, Effect
from deid.policy.lint import lint_profile
from deid.policy.profile_loader import (
    ProfileInfo,
    list_profiles,
    load_profile,
    load_profile_text,
    load_profiles,
)
from deid.policy.profile_model import Profile, Rule
from deid.policy.resolver import Decision, Resolver, resolver_for
from deid.recipe import export_recipe, import_recipe
from deid.risk.report import assess, assess_paths
from deid.secret_store import Secrets
from deid.transform.engine import DeidResult, ElementEffect, apply_profile, read_dataset
from deid.version import __version__

__all__ = [
    "ACTIONS",
    "Action",
    "Decision",
    "DeidError",
    "DeidResult",
    "DicomInputError",
    "Effect",
    "ElementEffect",
    "Profile",
    "ProfileError",
    "ProfileInfo",
    "Resolver",
    "Rule",
    "SecretMissingError",
    "Secrets",
    "__version__",
    "apply_profile",
    "apply_profiles",
    "assess",
    "assess_paths",
    "export_ctp_script",
    "export_recipe",
    "import_ctp_script",
    "import_recipe",
    "lint_profile",
    "list_profiles",
    "load_headers",
    "load_profile",
    "load_profile_text",
    "load_profiles",
    "read_dataset",
    "resolver_for",
]
