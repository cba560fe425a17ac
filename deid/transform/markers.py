"""Record in the output what de-identification was done, as PS3.15 E.1.1 requires.

PatientIdentityRemoved ``YES``, DeidentificationMethod (the profile), the
DeidentificationMethodCodeSequence with the CID 7050 codes of the Basic Profile and the options
used, and LongitudinalTemporalInformationModified.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from deid.policy.actions import Action
from deid.policy.profile_model import Profile
from deid.policy.resolver import OPTION_TITLES

if TYPE_CHECKING:
    from deid.transform.engine import ElementEffect

#: DICOM PS3.16 CID 7050 "De-identification Method" codes (scheme DCM).
CID_7050: Mapping[str, str] = MappingProxyType({
    "basic": "113100",
    "clean_graphics": "113103",
    "clean_structured_content": "113104",
    "clean_descriptors": "113105",
    "retain_long_full_dates": "113106",
    "retain_long_modified_dates": "113107",
    "retain_patient_characteristics": "113108",
    "retain_device_identity": "113109",
    "retain_uids": "113110",
    "retain_safe_private": "113111",
    "retain_institution_identity": "113112",
})
_BASIC_MEANING = "Basic Application Confidentiality Profile"
_DATE_VRS = ("DA", "DT")


def add_markers(output: Dataset, profile: Profile, effects: Iterable[ElementEffect]) -> tuple[
        str, ...]:
    """Write the de-identification markers into ``output``; return the keywords written."""
    output.PatientIdentityRemoved = "YES"
    output.DeidentificationMethod = [f"deid profile {profile.id}"[:64]]
    written = ["PatientIdentityRemoved", "DeidentificationMethod"]
    codes = _method_codes(profile)
    if codes:
        output.DeidentificationMethodCodeSequence = Sequence(codes)
        written.append("DeidentificationMethodCodeSequence")
    output.LongitudinalTemporalInformationModified = _temporal_state(effects)
    written.append("LongitudinalTemporalInformationModified")
    return tuple(written)


def _code_item(value: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue = value
    item.CodingSchemeDesignator = "DCM"
    item.CodeMeaning = meaning
    return item


def _method_codes(profile: Profile) -> list[Dataset]:
    if not profile.uses_standard_table():
        return []
    items = [_code_item(CID_7050["basic"], _BASIC_MEANING)]
    for option in profile.all_options():
        items.append(_code_item(CID_7050[option], OPTION_TITLES[option]))
    return items


def _temporal_state(effects: Iterable[ElementEffect]) -> str:
    """MODIFIED if dates were shifted or truncated, UNMODIFIED if kept, else REMOVED."""
    actions = {effect.action for effect in effects if effect.vr in _DATE_VRS}
    if actions & {Action.SHIFT_DATE, Action.TRUNCATE_DATE, Action.CLEAN}:
        return "MODIFIED"
    if Action.KEEP in actions:
        return "UNMODIFIED"
    return "REMOVED"
