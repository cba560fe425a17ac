"""Clean (PS3.15 action C) free text: remove the patient's own identifiers and ID-like content.

Cleaning keeps the words of a description and replaces what identifies: every identifier found
elsewhere in the same file (names of the patient and staff, IDs, accession numbers, birth date
in common spellings, addresses, telephone numbers) and anything shaped like a date, an e-mail
address, a telephone number, a long number or a UID.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

REDACTED = "***"
#: Keywords whose values identify the patient or the encounter when they recur in free text.
IDENTIFIER_KEYWORDS = (
    "PatientID", "OtherPatientIDs", "IssuerOfPatientID", "AccessionNumber", "StudyID",
    "MedicalRecordLocator", "RequestedProcedureID", "PatientAddress", "PatientTelephoneNumbers",
    "InstitutionName", "InstitutionAddress", "StationName", "DeviceSerialNumber",
    "PatientBirthDate", "AdmissionID", "ServiceEpisodeID", "PerformedProcedureStepID",
    "ScheduledProcedureStepID", "FillerOrderNumberImagingServiceRequest",
    "PlacerOrderNumberImagingServiceRequest",
)
_MIN_TOKEN = 3
_PATTERNS = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        r"[\w.+-]+@[\w-]+(\.[\w-]+)+",                       # e-mail address
        r"\b\d+(\.\d+){3,}\b",                               # UID-like dotted numbers
        r"\b(19|20)\d{2}[-/.](0?[1-9]|1[0-2])[-/.](0?[1-9]|[12]\d|3[01])\b",  # 2021-05-17
        r"\b(0?[1-9]|[12]\d|3[01])[-/.](0?[1-9]|1[0-2])[-/.](19|20)\d{2}\b",  # 17/05/2021
        r"\+?\(?\d[\d ()-]{6,}\d",                           # telephone numbers, long numbers
        r"\b[A-Z]{0,4}-?\d{5,}\b",                           # MRN-like codes: MRN-48213977
    )
)


def birth_date_spellings(value: str) -> list[str]:
    """A DA birth date ``YYYYMMDD`` in the spellings people type in free text."""
    digits = value.strip()
    if not re.fullmatch(r"\d{8}", digits):
        return [digits] if digits else []
    year, month, day = digits[:4], digits[4:6], digits[6:]
    return [digits, f"{year}-{month}-{day}", f"{day}/{month}/{year}", f"{day}.{month}.{year}",
            f"{month}/{day}/{year}"]


def _name_tokens(value: str) -> list[str]:
    tokens = [value]
    for group in value.split("="):
        tokens.append(group)
        tokens.extend(part for part in re.split(r"[\^ ,]+", group) if part)
    return tokens


def collect_identifiers(dataset: Dataset) -> tuple[str, ...]:
    """Identifying strings found anywhere in ``dataset``: person names (and their parts) and
    the values of :data:`IDENTIFIER_KEYWORDS`, longest first."""
    found: set[str] = set()
    for element in readable_elements(dataset):
        value = element.value
        values = list(value) if isinstance(value, (list, tuple, MultiValue)) else [value]
        if element.VR == "PN":
            for item in values:
                found.update(_name_tokens(str(item)))
        elif element.keyword == "PatientBirthDate":
            for item in values:
                found.update(birth_date_spellings(str(item)))
        elif element.keyword in IDENTIFIER_KEYWORDS:
            for item in values:
                text = str(item).strip()
                found.add(text)
                found.update(part.strip() for part in re.split(r",", text))
    tokens = {token.strip() for token in found if len(token.strip()) >= _MIN_TOKEN}
    return tuple(sorted(tokens, key=lambda token: (-len(token), token)))


def readable_elements(dataset: Dataset) -> Iterator[DataElement]:
    """Every readable element at any depth; values pydicom cannot decode are skipped."""
    for tag in list(dataset.keys()):
        try:
            element = dataset[tag]
        except Exception:  # noqa: BLE001 - undecodable values carry nothing we can match
            continue
        if element.VR == "SQ":
            for item in element.value or []:
                yield from readable_elements(item)
        else:
            yield element


def clean_text(text: str, identifiers: Iterable[str]) -> str:
    """``text`` with every identifier and ID-like pattern replaced by ``***``."""
    cleaned = text
    for token in identifiers:
        cleaned = re.sub(rf"(?<!\w){re.escape(token)}(?!\w)", REDACTED, cleaned,
                         flags=re.IGNORECASE)
    for pattern in _PATTERNS:
        cleaned = pattern.sub(REDACTED, cleaned)
    return cleaned
