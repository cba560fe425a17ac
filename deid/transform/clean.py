"""Clean (PS3.15 action C) free text: remove the patient's own identifiers and ID-like content.

Cleaning keeps the words of a description and replaces what identifies: every identifier found
elsewhere in the same file (names of the patient and staff, IDs, accession numbers, birth date
in common spellings, addresses, telephone numbers) and anything shaped like a date, an e-mail
address, a telephone number, a long number or a UID.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

from deid.ingest.tree import remembered

REDACTED: Final = "***"
_PATTERNS: Final = tuple(
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


def clean_text(text: str, identifiers: Iterable[str]) -> str:
    """``text`` with every identifier and ID-like pattern replaced by ``***``."""
    cleaned = text
    for token in identifiers:
        cleaned = _token_pattern(token).sub(REDACTED, cleaned)
    for pattern in _PATTERNS:
        cleaned = pattern.sub(REDACTED, cleaned)
    return cleaned


def _token_pattern(token: str) -> re.Pattern[str]:
    """The whole-word, case-blind pattern of one identifier (compiled once; at most
    :data:`_TOKENS_REMEMBERED` are kept)."""
    return remembered(_TOKEN_PATTERNS, token, _compiled_token, _TOKENS_REMEMBERED)


def _compiled_token(token: str) -> re.Pattern[str]:
    return re.compile(rf"(?<!\w){re.escape(token)}(?!\w)", re.IGNORECASE)


_TOKENS_REMEMBERED: Final = 4096
_TOKEN_PATTERNS: Final[dict[str, re.Pattern[str]]] = {}
