"""clean_text: each identifier replaced as a whole word, case aside, one after the other."""

from __future__ import annotations

import pytest

from deid.transform import clean
from deid.transform.clean import clean_text


@pytest.mark.parametrize(("text", "identifiers", "expected"), [
    ("Seen by John Doe today", ("JOHN", "DOE"), "Seen by *** *** today"),
    ("doe DOE Doe", ("Doe",), "*** *** ***"),
    ("DOEs and JOHNDOE stay", ("DOE",), "DOEs and JOHNDOE stay"),
    # one after the other: the first identifier's replacement hides the second
    ("JOHN DOE", ("DOE", "JOHN DOE"), "JOHN ***"),
    ("JOHN DOE", ("JOHN DOE", "DOE"), "***"),
    ("a.b+c (x)y", ("b+c", "(x)"), "a.*** (x)y"),
    ("call 555-123-4567", (), "call ***"),
    ("nothing to see", (), "nothing to see"),
])
def test_identifiers_are_replaced_in_order(text: str, identifiers: tuple[str, ...],
                                           expected: str) -> None:
    assert clean_text(text, identifiers) == expected


def test_the_compiled_patterns_are_bounded() -> None:
    clean._TOKEN_PATTERNS.clear()
    tokens = [f"NAME{number}" for number in range(clean._TOKENS_REMEMBERED + 10)]
    assert clean_text(" ".join(tokens), tokens) == " ".join(["***"] * len(tokens))
    assert 0 < len(clean._TOKEN_PATTERNS) <= clean._TOKENS_REMEMBERED
