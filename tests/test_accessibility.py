"""What every page needs for a person who reads captions or drives it with a keyboard: caption
colours with a WCAG AA contrast, a visible focus ring, option labels without raw code marks,
and a glossary whose words the widgets use as help texts."""

from __future__ import annotations

import re

import pytest

from deid.policy.actions import Action
from tests.test_pages_support import page, problems, seeded
from ui import consensus, glossary, state, widgets

#: Backgrounds captions sit on: the sidebar's grey and the page's white (light theme).
BACKGROUNDS = ("#f0f2f6", "#ffffff")


def _luminance(colour: str) -> float:
    channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(foreground: str, background: str) -> float:
    """The WCAG contrast ratio of two #rrggbb colours."""
    light, dark = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_the_contrast_formula_matches_known_ratios() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)


def test_captions_have_aa_contrast_and_focus_shows() -> None:
    css = widgets.ACCESSIBLE_CSS
    caption = re.search(r'stCaptionContainer[^{]*\{ color: (#[0-9a-f]{6}); \}', css)
    assert caption is not None
    for background in BACKGROUNDS:
        assert contrast(caption.group(1), background) >= 4.5
    ring = re.search(r":focus-visible \{ outline: (\d+)px solid (#[0-9a-f]{6})", css)
    assert ring is not None and int(ring.group(1)) >= 2
    assert contrast(ring.group(2), "#ffffff") >= 3.0  # WCAG 1.4.11 non-text contrast


@pytest.mark.parametrize("action", [a.value for a in Action])
def test_action_labels_have_no_raw_backticks(action: str) -> None:
    assert "`" not in consensus.action_label(action)


def test_the_glossary_explains_the_jargon() -> None:
    for term in ("unlisted", "explicit", "VR", "k, k_min", "quasi-identifier", "residual risk",
                 "modify / keep / unspecified", "baseline", "provisional"):
        assert len(glossary.help_text(term)) > 40, term


def test_the_glossary_page_lists_and_finds_words() -> None:
    at = seeded(page("glossary")).run()
    assert not problems(at), problems(at)
    table = at.get_by_key(state.GLOSSARY_TABLE).dataframe[0].value
    assert set(table["word"]) == set(glossary.TERMS)
    at.text_input(key=state.GLOSSARY_SEARCH).input("k_min").run()
    table = at.get_by_key(state.GLOSSARY_TABLE).dataframe[0].value
    assert table["word"].tolist() == ["k, k_min"]
