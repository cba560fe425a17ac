"""The comparison figures the README and docs/profiles.md quote for the six AI4HI profiles equal
what ``compare`` computes today (a change of a profile or of the semantics that moves them
fails here until the documents say so)."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pandas as pd
import pytest

from deid import load_profile
from deid.outputs.compare import (
    differences_among_profiles,
    modified_by_all_profiles,
    profile_actions,
    profile_summary,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
AI4HI = ("procancer_i", "chaimeleon_images_w_ecrfs", "chaimeleon_images_only", "primage",
         "incisive", "eucanimage")
#: A table row: `` | `id` | modified | within the differences (…) | … | only this profile … ``.
_ROW = re.compile(r"^\| `(?P<id>[a-z0-9_]+)` \| (?P<modified>[\d,]+) \| (?P<within>[\d,]+) \(.*?\)"
                  r" \|(?: [\d,]+ \|)? (?P<only>[\d,]+)")


@cache
def _computed() -> tuple[pd.DataFrame, int, int]:
    profiles = [load_profile(pid) for pid in AI4HI]
    actions = profile_actions(profiles)
    return (profile_summary(actions, profiles).set_index("profile_id"),
            len(modified_by_all_profiles(actions)), len(differences_among_profiles(actions)))


def _number(text: str) -> int:
    return int(text.replace(",", ""))


def _rows(text: str) -> dict[str, tuple[int, int, int]]:
    found = {}
    for line in text.splitlines():
        match = _ROW.match(line)
        if match and match["id"] in AI4HI:
            found[match["id"]] = (_number(match["modified"]), _number(match["within"]),
                                  _number(match["only"]))
    return found


@pytest.mark.parametrize("document", ["README.md", "docs/profiles.md"])
def test_the_documents_quote_todays_comparison(document: str) -> None:
    text = (REPO_ROOT / document).read_text(encoding="utf-8")
    summary, by_all, differing = _computed()
    quoted = _rows(text)
    assert set(quoted) == set(AI4HI), document
    for profile_id, (modified, within, only) in quoted.items():
        row = summary.loc[profile_id]
        assert (modified, within, only) == (
            row["n_modified"], row["n_modified_in_differences"],
            row["n_only_modified_by_this_profile"]), (document, profile_id)
    assert f"{by_all:,} tags are modified by all six" in " ".join(text.split())
    assert f"{differing:,}" in text
