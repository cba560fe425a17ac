"""The README documents every action, parameter, option and profile key (a setting that is
not documented fails here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from deid.policy.actions import ACTIONS, Action
from deid.policy.profile_loader import _RULE_KEYS, _TOP_KEYS
from deid.policy.standard import OPTION_IDS

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
PARAMS = sorted({name for spec in ACTIONS.values() for name in spec.params})


@pytest.mark.parametrize("action", [action.value for action in Action])
def test_every_action_is_documented(action: str) -> None:
    assert f"| `{action}` |" in README


@pytest.mark.parametrize("name", PARAMS)
def test_every_action_parameter_is_documented(name: str) -> None:
    assert f"`{name}`" in README


@pytest.mark.parametrize("key", sorted(_TOP_KEYS | _RULE_KEYS | set(OPTION_IDS)))
def test_every_profile_key_and_option_is_documented(key: str) -> None:
    assert f"`{key}" in README


def test_the_compound_rule_and_option_precedence_are_documented() -> None:
    for text in ("`X/Z` → `Z`", "`X/Z/U*` → `U`", "most protective action wins"):
        assert text in README
