#!/usr/bin/env python3
"""Observe what an installed de-identification tool does to each DICOM element; print JSON.

Run by ``tools/gen_tool_profiles.py`` with the Python of a throwaway virtual environment that
holds the tool (never the project's ``.venv``: pydicom/deid's module is also called ``deid``).
It imports only the tool and pydicom, never this repository's ``deid``.

For ``dicognito`` and ``dicom-anonymizer`` it builds data sets holding one element per entry of
pydicom's data dictionary (top level; sequences with one item holding one LO element), runs the
tool on two such data sets with different values, and records per tag what happened: removed,
emptied, unchanged, set to the same value both times (a constant), or set to values that follow
the input (a consistent replacement); plus the tool file whose code or table decided it. For
``deid`` (pydicom/deid) it reports where the default recipe is installed; the recipe is then
read by ``deid.recipe`` in the project's environment. Facts only: no code or text of the tool
is copied into the output beyond tag keywords and the values the tool writes.
"""

from __future__ import annotations

import copy
import importlib
import inspect
import json
import sys
from pathlib import Path
from typing import Any

import pydicom
from pydicom.datadict import DicomDictionary
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

VALUES = {
    "A": {"text": "ALPHA1", "DA": "20200102", "TM": "101112", "DT": "20200102101112",
          "UI": "1.2.826.0.1.3680043.10.1", "number": "11", "AS": "041Y", "bytes": b"AB"},
    "B": {"text": "BRAVO2", "DA": "20210304", "TM": "131415", "DT": "20210304131415",
          "UI": "1.2.826.0.1.3680043.10.2", "number": "22", "AS": "052Y", "bytes": b"CD"},
}
TEXT_VRS = {"AE", "CS", "LO", "LT", "PN", "SH", "ST", "UC", "UT", "UR"}
NUMBER_VRS = {"DS", "IS"}
BINARY_NUMBER_VRS = {"FL", "FD", "SS", "US", "SL", "UL", "SV", "UV"}
BINARY_VRS = {"OB", "OW", "OF", "OD", "OL", "OV", "UN"}


def value_for(vr: str, kind: str) -> Any:
    values = VALUES[kind]
    if vr in TEXT_VRS:
        return "ALPHA1" if vr != "CS" else values["text"].upper()
    if vr in ("DA", "TM", "DT", "UI", "AS"):
        return values[vr]
    if vr in NUMBER_VRS:
        return values["number"]
    if vr in BINARY_NUMBER_VRS:
        return int(values["number"])
    if vr in BINARY_VRS:
        return values["bytes"]
    if vr == "AT":
        return 0x00100010
    return None


def dictionary_dataset(kind: str) -> Dataset:
    """One element per (non-repeating) dictionary tag, with values of this kind."""
    dataset = Dataset()
    dataset.file_meta = pydicom.dataset.FileMetaDataset()
    for tag, entry in sorted(DicomDictionary.items()):
        vr = entry[0].split(" or ")[0]
        if tag >> 16 in (0x0000, 0x0002) or tag & 0xFFFF == 0:
            continue
        try:
            if vr == "SQ":
                item = Dataset()
                item.CodeMeaning = "ALPHA1" if kind == "A" else "BRAVO2"
                dataset.add_new(tag, vr, Sequence([item]))
            else:
                value = value_for(vr, kind)
                if vr in TEXT_VRS and vr != "CS":
                    value = "ALPHA1" if kind == "A" else "BRAVO2"
                if value is not None:
                    dataset.add_new(tag, vr, value)
        except Exception:  # noqa: BLE001 - a value pydicom refuses: leave the tag out
            continue
    return dataset


def observe(before: Dataset, after: Dataset, tag: int) -> Any:
    """What became of one element: None (removed), or its value as text."""
    if tag not in after:
        return None
    element = after[tag]
    if element.VR == "SQ":
        items = element.value or []
        if not items:
            return ""
        first = items[0]
        return str(first.CodeMeaning) if "CodeMeaning" in first else "<item>"
    value = element.value
    if value is None or value == "" or value == b"":
        return ""
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)


def classify(tag: int, a_before: Dataset, a_after: Dataset, b_before: Dataset,
             b_after: Dataset) -> dict[str, Any]:
    got_a, got_b = observe(a_before, a_after, tag), observe(b_before, b_after, tag)
    was_a = observe(a_before, a_before, tag)
    if got_a is None:
        return {"outcome": "removed"}
    if got_a == "":
        return {"outcome": "emptied"}
    if got_a == was_a:
        return {"outcome": "kept"}
    if got_a == got_b:
        return {"outcome": "constant", "value": got_a}
    return {"outcome": "replaced"}


PRIVATE_PROBES = (("MITRA LINKED ATTRIBUTES 1.0", 0x0031, 0x20),
                  ("SOME VENDOR PRIVATE 1.0", 0x0009, 0x01))


def private_facts(anonymize: Any) -> list[dict[str, Any]]:
    """What the tool does to a private element of each probe creator (LO, element xx)."""
    found = []
    for creator, group, element in PRIVATE_PROBES:
        runs = []
        for value in ("ALPHA1", "BRAVO2"):
            dataset = Dataset()
            dataset.file_meta = pydicom.dataset.FileMetaDataset()
            dataset.add_new((group << 16) | 0x0010, "LO", creator)
            dataset.add_new((group << 16) | 0x1000 | element, "LO", value)
            before = copy.deepcopy(dataset)
            anonymize(dataset)
            runs.append((before, dataset))
        fact = classify((group << 16) | 0x1000 | element, *runs[0], *runs[1])
        found.append({"creator": creator, "group": f"{group:04X}", "element": f"{element:02X}",
                      **fact})
    return found


def tags_of(dataset: Dataset) -> list[int]:
    """The tags of a data set's top-level elements (iterating a data set gives elements)."""
    return [int(element.tag) for element in dataset]


def meta_facts(anonymize: Any) -> dict[str, dict[str, Any]]:
    """What the tool does to each file meta element (group 0002 of the dictionary, group
    length excepted), put into the file meta of an otherwise empty data set."""
    runs = []
    for kind in ("A", "B"):
        dataset = Dataset()
        dataset.file_meta = pydicom.dataset.FileMetaDataset()
        for tag, entry in sorted(DicomDictionary.items()):
            vr = entry[0].split(" or ")[0]
            value = value_for(vr, kind)
            if tag >> 16 == 0x0002 and tag & 0xFFFF and value is not None:
                dataset.file_meta.add_new(tag, vr, value)
        before = copy.deepcopy(dataset)
        anonymize(dataset)
        runs.append((before.file_meta, dataset.file_meta))
    return {f"{tag:08X}": classify(tag, *runs[0], *runs[1]) for tag in tags_of(runs[0][0])}


def module_file(obj: Any) -> str:
    """The file of the tool that holds ``obj``'s code, relative to site-packages."""
    holder = obj if inspect.ismodule(obj) or inspect.isfunction(obj) else type(obj)
    path = Path(inspect.getfile(holder))
    parts = path.parts
    return "/".join(parts[parts.index("site-packages") + 1:]) if "site-packages" in parts else (
        path.name)


def dicognito_facts() -> dict[str, Any]:
    from dicognito import __version__
    from dicognito.anonymizer import Anonymizer

    runs = {}
    for kind in ("A", "B"):
        before = dictionary_dataset(kind)
        after = dictionary_dataset(kind)
        Anonymizer(seed="deid-tool-facts").anonymize(after)
        runs[kind] = (before, after)
    probe = Anonymizer(seed="deid-tool-facts")
    tags = {}
    fresh = dictionary_dataset("A")
    for tag in tags_of(runs["A"][0]):
        fact = classify(tag, *runs["A"], *runs["B"])
        element = copy.deepcopy(fresh[tag])
        holder = Dataset()
        holder.add(element)
        for handler in probe._element_handlers:
            if handler(holder, element):
                fact["file"] = module_file(handler)
                break
        tags[f"{tag:08X}"] = fact
    return {"tool": "dicognito", "version": __version__, "tags": tags,
            "meta": meta_facts(Anonymizer(seed="deid-tool-facts").anonymize),
            "private": private_facts(Anonymizer(seed="deid-tool-facts").anonymize)}


def dicom_anonymizer_facts() -> dict[str, Any]:
    from importlib.metadata import version

    from dicomanonymizer import simpledicomanonymizer as simple
    from dicomanonymizer.dicomfields_selector import (
        ANONYMIZATION_CATEGORIES,
        dicom_anonymization_database_selector,
    )

    default = inspect.signature(simple.initialize_actions).parameters["dicom_version"].default
    table = dicom_anonymization_database_selector(default)
    module = importlib.import_module(f"dicomanonymizer.dicom_anonymization_databases.{default}")
    runs = {}
    for kind in ("A", "B"):
        before = dictionary_dataset(kind)
        after = dictionary_dataset(kind)
        simple.anonymize_dataset(after)
        runs[kind] = (before, after)
    categories: dict[str, str] = {}
    patterns = []
    for category in (name for name in ANONYMIZATION_CATEGORIES if name != "ALL_TAGS"):
        for entry in table[category]:
            if len(entry) == 2:
                categories[f"{entry[0]:04X}{entry[1]:04X}"] = category  # the last list wins
            else:
                patterns.append({"group": entry[0], "element": entry[1], "group_mask": entry[2],
                                 "element_mask": entry[3], "category": category})
    tags = {}
    for tag in tags_of(runs["A"][0]):
        fact = classify(tag, *runs["A"], *runs["B"])
        key = f"{tag:08X}"
        if key in categories:
            fact["category"] = categories[key]
        tags[key] = fact
    return {"tool": "dicom-anonymizer", "version": version("dicom_anonymizer"),
            "table": default, "file": module_file(module).replace(".pyc", ".py"),
            "patterns": patterns, "tags": tags,
            "private": private_facts(simple.anonymize_dataset)}


def deid_facts() -> dict[str, Any]:
    import deid
    from deid.version import __version__

    data = Path(deid.__file__).parent / "data"
    return {"tool": "deid", "version": __version__, "recipe": str(data / "deid.dicom"),
            "recipe_file": "deid/data/deid.dicom"}


def main() -> int:
    tool = sys.argv[1]
    facts = {"dicognito": dicognito_facts, "dicom-anonymizer": dicom_anonymizer_facts,
             "deid": deid_facts}[tool]()
    facts["pydicom"] = pydicom.__version__
    json.dump(facts, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.path = [path for path in sys.path if not path.endswith("tools")]
    raise SystemExit(main())
