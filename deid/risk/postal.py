"""Postal codes from PatientAddress, for common European and US formats.

One table of formats, tried in order; the last match in the address wins for purely numeric
formats (postal codes follow the street and house number). The result is upper-case with single
spaces, e.g. ``SW1A 2AA``, ``1017 GC``, ``104 31``, ``62704``.
"""

from __future__ import annotations

import re

#: (format, pattern with one group for the code), most specific first.
POSTAL_FORMATS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern)) for name, pattern in (
        ("United Kingdom", r"\b([A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2})\b"),
        ("Netherlands", r"\b(\d{4} ?[A-Z]{2})\b"),
        ("United States (state + ZIP)", r"\b[A-Z]{2} (\d{5}(?:-\d{4})?)\b"),
        ("Portugal", r"\b(\d{4}-\d{3})\b"),
        ("Poland", r"\b(\d{2}-\d{3})\b"),
        ("Greece, Sweden, Czechia, Slovakia", r"\b(\d{3} \d{2})\b"),
        ("five digits (Germany, France, Spain, Italy, Finland, US ZIP, ...)", r"\b(\d{5})\b"),
        ("four digits (Belgium, Austria, Switzerland, Denmark, Norway, ...)", r"\b(\d{4})\b"),
    )
)


def postal_code(address: str | None) -> str | None:
    """The postal code in ``address``, or ``None`` when no known format matches."""
    if not address:
        return None
    text = re.sub(r"\s+", " ", str(address).upper())
    for _, pattern in POSTAL_FORMATS:
        matches = pattern.findall(text)
        if matches:
            return re.sub(r"\s+", " ", matches[-1]).strip()
    return None
