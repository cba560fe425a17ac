"""The profiles of the tools people use: tied to their generator by checked-in excerpts of the
observed facts, and, for dicognito (a dev dependency), checked against what dicognito really
does to the sample files, element by element."""

from __future__ import annotations

import copy
import importlib.util
import json
import shutil
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pydicom
import pytest
from pydicom.dataset import Dataset

from deid import Action, list_profiles, load_profile, resolver_for
from deid.tags import is_private_creator

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "tools"
SAMPLE = ROOT / "data" / "sample" / "files"
TOOL_PROFILES = {"dicognito_default": "reconstructed",
                 "dicom_anonymizer_default": "published-script",
                 "pydicom_deid_default": "published-script"}


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_tool_profiles",
                                                  ROOT / "tools" / "gen_tool_profiles.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


def rules_by_matcher(text: str) -> dict[str, dict[str, Any]]:
    data = tomllib.loads(text)
    keys = ("tag", "keyword", "pattern", "private_creator", "element")
    return {json.dumps({key: rule[key] for key in keys if key in rule}, sort_keys=True): rule
            for rule in data["rules"]}


@pytest.mark.parametrize(("profile_id", "render", "excerpt"), [
    ("dicognito_default", "render_dicognito", "dicognito_facts_excerpt.json"),
    ("dicom_anonymizer_default", "render_dicom_anonymizer",
     "dicom_anonymizer_facts_excerpt.json"),
])
def test_generator_writes_the_shipped_rules_from_the_observed_facts(
        profile_id: str, render: str, excerpt: str) -> None:
    facts = json.loads((FIXTURES / excerpt).read_text(encoding="utf-8"))
    generated = rules_by_matcher(getattr(generator(), render)(facts))
    shipped = rules_by_matcher((ROOT / "deid" / "profiles" / f"{profile_id}.toml")
                               .read_text(encoding="utf-8"))
    assert generated, "the excerpt gives rules"
    for matcher, rule in generated.items():
        assert shipped.get(matcher) == rule, matcher
    kept = [key for key, fact in facts["tags"].items() if fact["outcome"] == "kept"
            and "category" not in fact]
    assert kept and all(f'"tag": "({key[:4]},{key[4:]})"' not in matcher
                        for key in kept for matcher in shipped)


def test_dicognito_file_meta_rules_come_from_the_observed_facts() -> None:
    """dicognito walks the file meta: what it leaves is kept, the UIDs it replaces are
    remapped; elements the writer decides (MediaStorageSOPInstanceUID, the Source AE Title)
    get no rule."""
    facts = json.loads((FIXTURES / "dicognito_facts_excerpt.json").read_text(encoding="utf-8"))
    rules = {rule.get("keyword"): rule["action"] for rule in tomllib.loads(
        generator().render_dicognito(facts))["rules"]}
    assert (rules["SendingApplicationEntityTitle"], rules["ReceivingApplicationEntityTitle"],
            rules["PrivateInformation"], rules["PrivateInformationCreatorUID"]) == (
        "keep", "keep", "keep", "uid")
    assert "MediaStorageSOPInstanceUID" not in rules
    assert "SourceApplicationEntityTitle" not in rules
    resolver = resolver_for(load_profile("dicognito_default"))
    assert resolver.decide(0x00020017, "AE", None).action is Action.KEEP


def test_generator_writes_the_shipped_pydicom_deid_rules_from_its_recipe_lines(
        tmp_path: Path) -> None:
    """The checked-in excerpt holds lines of pydicom/deid's default recipe at their line
    numbers (plain fields, field expressions, ADD with a constant and with variables); the
    recipe rebuilt from them gives, through the generator, exactly the shipped rules for the
    elements they decide."""
    excerpt = json.loads((FIXTURES / "pydicom_deid_recipe_excerpt.json")
                         .read_text(encoding="utf-8"))
    numbered = dict(excerpt["lines"])
    recipe = tmp_path / "deid.dicom"
    recipe.write_text("\n".join(numbered.get(n, "") for n in range(1, max(numbered) + 1))
                      + "\n", encoding="utf-8")
    facts = {"version": excerpt["version"], "recipe_file": excerpt["recipe_file"],
             "recipe": str(recipe)}
    generated = rules_by_matcher(generator().render_pydicom_deid(facts))
    shipped = rules_by_matcher((ROOT / "deid" / "profiles" / "pydicom_deid_default.toml")
                               .read_text(encoding="utf-8"))
    assert len(generated) > 100, "the field expressions expand over the dictionary"
    for matcher, rule in generated.items():
        assert shipped.get(matcher) == rule, matcher
    quoted = {rule["source"].split(": ", 1)[1] for rule in generated.values()}
    assert {"REMOVE endswith:time", "REMOVE contains:UID", "REMOVE PatientName",
            "ADD PatientIdentityRemoved YES"} <= quoted


@pytest.mark.parametrize("profile_id", sorted(TOOL_PROFILES))
def test_tool_profiles_cite_the_tool_version_and_file_for_every_rule(profile_id: str) -> None:
    profile = load_profile(profile_id)
    assert profile.provenance == TOOL_PROFILES[profile_id]
    assert profile.path is not None
    first = profile.path.read_text(encoding="utf-8").splitlines()[0]
    assert first == "# Generated by tools/gen_tool_profiles.py; do not edit."
    for rule in profile.rules:
        assert any(f"{tool} {version}" in rule.source for tool, version in (
            ("dicognito", "0.19.0"), ("dicom-anonymizer", "2.1.0"), ("pydicom/deid", "0.4.13")))
        assert ".py" in rule.source or "deid/data/deid.dicom line" in rule.source


def test_every_tool_profile_is_shipped() -> None:
    assert set(TOOL_PROFILES) <= {info.id for info in list_profiles()}


# --- dicognito on the sample: the profile predicts what it does ---------------------------------

#: Differences the profile cannot represent (docs/profiles.md), as (keyword, why).
CONDITIONAL = {
    "time": "dicognito shifts a time only when its date (same keyword, Date for Time) is there",
    "InstitutionAddress": "dicognito replaces it only together with InstitutionName",
}


def outcome(action: Action) -> str:
    return {Action.KEEP: "kept", Action.REMOVE: "removed"}.get(action, "replaced")


def elements(before: Dataset, after: Dataset | None, path: str = ""
             ) -> Iterator[tuple[str, Dataset, pydicom.DataElement, str]]:
    """(path, the data set holding it, the original element, what dicognito did), nested."""
    for element in before:
        if element.tag.element == 0 or is_private_creator(element.tag):
            continue
        here = f"{path}{element.tag}"
        new = after.get(element.tag) if after is not None else None
        if new is None:
            yield here, before, element, "removed"
            continue
        if element.VR == "SQ":
            yield here, before, element, "kept"
            for index, item in enumerate(element.value):
                items = new.value or []
                yield from elements(item, items[index] if index < len(items) else None,
                                    f"{here}[{index}].")
            continue
        yield here, before, element, "kept" if new.value == element.value else "replaced"


def predicted(resolver: Any, holder: Dataset, element: pydicom.DataElement) -> str:
    creator = None
    if element.tag.is_private:
        creator_tag = (element.tag.group << 16) | (element.tag.element >> 8)
        creator = str(holder[creator_tag].value) if creator_tag in holder else None
    return outcome(resolver.decide(int(element.tag), element.VR, creator).action)


def explained(holder: Dataset, element: pydicom.DataElement) -> str | None:
    """Why a difference is one of the documented conditions, or ``None``."""
    keyword = element.keyword
    if element.VR == "TM" and keyword.replace("Time", "Date") not in holder:
        return CONDITIONAL["time"]
    if keyword == "InstitutionAddress" and "InstitutionName" not in holder:
        return CONDITIONAL["InstitutionAddress"]
    return None


def test_dicognito_profile_predicts_what_dicognito_does_to_the_sample(tmp_path: Path) -> None:
    from dicognito.anonymizer import Anonymizer

    resolver = resolver_for(load_profile("dicognito_default"))
    anonymizer = Anonymizer(seed="deid test")
    compared = explained_count = 0
    wrong = []
    for source in sorted(SAMPLE.glob("*.dcm")):
        copy_path = tmp_path / source.name
        shutil.copyfile(source, copy_path)
        original = pydicom.dcmread(copy_path)
        anonymized = copy.deepcopy(original)
        anonymizer.anonymize(anonymized)
        for path, holder, element, seen in elements(original, anonymized):
            if element.value in (None, "", b"") or (element.VR == "SQ" and not element.value):
                continue  # nothing to replace: kept and replaced look the same
            expected = predicted(resolver, holder, element)
            compared += 1
            if expected != seen:
                if explained(holder, element):
                    explained_count += 1
                    continue
                wrong.append((source.name, path, element.keyword, expected, seen))
        assert source.read_bytes() == copy_path.read_bytes()   # dicognito ran on a copy in memory
    assert compared > 500
    assert wrong == []
    assert explained_count < compared // 20


def test_readme_lists_every_shipped_profile_with_its_provenance() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    for info in list_profiles():
        rows = [line for line in readme if line.startswith(f"| `{info.id}` |")
                and line.rstrip().endswith(f"| {info.provenance} |")]
        assert rows, f"README's profile list lacks {info.id} ({info.provenance})"
