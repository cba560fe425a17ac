"""Boundaries the architecture relies on, checked on the source itself.

- ``deid/`` is a library: it never imports Streamlit, prints, or ends the process.
- The product and its tests work on a clone that has no shared folder beside it.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
DEID_FILES = sorted((REPO_ROOT / "deid").rglob("*.py"))

#: Calls that print or end the process, as (module or None, function name).
FORBIDDEN_CALLS = {
    (None, "print"),
    (None, "exit"),
    (None, "quit"),
    ("sys", "exit"),
    ("os", "_exit"),
}


def _module_label(path: Path) -> str:
    return path.relative_to(REPO_ROOT).as_posix()


def _violations(tree: ast.AST) -> Iterator[str]:
    """Imports of Streamlit and forbidden calls in one module, as ``line: what`` strings."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "streamlit":
                    yield f"line {node.lineno}: import {alias.name}"
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if module.split(".")[0] == "streamlit":
                yield f"line {node.lineno}: from {module} import ..."
            if module in {"sys", "os"}:
                for alias in node.names:
                    if (module, alias.name) in FORBIDDEN_CALLS:
                        yield f"line {node.lineno}: from {module} import {alias.name}"
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and (None, func.id) in FORBIDDEN_CALLS:
                yield f"line {node.lineno}: {func.id}(...)"
            elif (
                isinstance(func, ast.Attribute)
                and isinstance(func.value, ast.Name)
                and (func.value.id, func.attr) in FORBIDDEN_CALLS
            ):
                yield f"line {node.lineno}: {func.value.id}.{func.attr}(...)"


def test_deid_has_modules() -> None:
    assert DEID_FILES, "no deid/**/*.py found: the boundary checks below would pass vacuously"


@pytest.mark.parametrize("path", DEID_FILES, ids=_module_label)
def test_deid_module_stays_a_library(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = list(_violations(tree))
    assert not found, (
        f"{_module_label(path)} must not import streamlit, print or exit (raise an error from "
        f"deid.errors instead; the CLI writes to a stream it is given): {found}"
    )


def test_violation_finder_catches_each_kind() -> None:
    source = (
        "import streamlit as st\nfrom streamlit import cache_data\nimport sys\n"
        "from sys import exit\nprint('x')\nsys.exit(1)\nexit()\nquit()\nimport os\nos._exit(1)\n"
    )
    assert len(list(_violations(ast.parse(source)))) == 8


def test_importing_deid_does_not_load_streamlit() -> None:
    code = "import sys, deid; sys.stdout.write(str('streamlit' in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "False", "importing deid pulled in streamlit (directly or not)"


# The needles are assembled so that this file does not contain them itself.
SHARED_NEEDLES = (b".." + b"/shared", b"shared" + b"/reference")
#: Product and test files: what must work on a clone without the shared folder.
SCANNED = ("app.py", "pages", "ui", "deid", "tests", ".streamlit", "Makefile", ".ci")
SKIPPED_PARTS = {"__pycache__", "artifacts", ".pytest_cache"}


def _scanned_files() -> list[Path]:
    files: list[Path] = []
    for name in SCANNED:
        top = REPO_ROOT / name
        candidates = [top] if top.is_file() else sorted(top.rglob("*"))
        files.extend(
            p for p in candidates if p.is_file() and not SKIPPED_PARTS.intersection(p.parts)
        )
    return files


def test_product_does_not_depend_on_the_shared_folder() -> None:
    offenders = [
        f"{_module_label(path)} mentions {needle.decode()}"
        for path in _scanned_files()
        for needle in SHARED_NEEDLES
        if needle in path.read_bytes()
    ]
    assert not offenders, (
        "the product and its tests must work on a clone without the shared folder: ship what "
        f"you need (e.g. a small fixture under tests/) or cite it by title: {offenders}"
    )


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported_modules(path: Path, known: set[str]) -> set[str]:
    """The deid modules ``path`` imports at import time (not inside functions or behind
    TYPE_CHECKING), each resolved to a module (``from deid.x import y`` is ``deid.x.y`` when
    that is a module, else ``deid.x``)."""
    found: set[str] = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in known)
        elif isinstance(node, ast.ImportFrom) and node.module in known:
            for alias in node.names:
                child = f"{node.module}.{alias.name}"
                found.add(child if child in known else node.module)
    return found


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle as a list of modules, or [] when the graph has none."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(module: str) -> list[str]:
        state[module] = 1
        stack.append(module)
        for child in sorted(graph.get(module, ())):
            if state.get(child) == 1:
                return [*stack[stack.index(child):], child]
            if child not in state and (found := visit(child)):
                return found
        stack.pop()
        state[module] = 2
        return []

    for module in sorted(graph):
        if module not in state and (found := visit(module)):
            return found
    return []


def test_deid_modules_import_no_cycle() -> None:
    known = {_module_name(path) for path in DEID_FILES}
    graph = {_module_name(path): _imported_modules(path, known) - {_module_name(path)}
             for path in DEID_FILES if path.name != "__init__.py"}
    assert graph.get("deid.transform.engine")
    cycle = _cycle(graph)
    assert not cycle, f"circular import among deid modules: {' -> '.join(cycle)}"


def test_cycle_finder_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) == []


#: The library's layers, lowest first (README, "Where an element's fate is decided"): a module
#: imports only modules of its own layer or of layers below. Each entry is a module prefix; the
#: longest prefix names a module's layer.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("deid.errors", "deid.tags", "deid.secret_store", "deid.version"),
    ("deid.policy",),  # what a profile says, and the resolver
    ("deid.outputs.export",),  # the tables' formats (Parquet, CSV) and schemas
    ("deid.ingest",),  # reading headers into element trees
    ("deid.transform",),  # every rule after the resolver, the plan, the executors
    ("deid.outputs.compare", "deid.outputs.effects"),  # tables of what the plans do
    ("deid.risk",),
    ("deid.ctp", "deid.recipe", "deid.policy.lint", "deid.consensus"),  # scripts, the record
    ("deid.audit",),
    ("deid.outputs",),  # the sign-off report
    ("deid.distributed",),
    ("deid.commands", "deid.cli_ingest", "deid.cli", "deid", "deid.__main__"),
)


def _layer(module: str) -> int:
    best, layer = -1, -1
    for number, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, layer = len(prefix), number
    assert layer >= 0, f"{module} is in no layer: add it to LAYERS"
    return layer


def _every_import(path: Path) -> set[str]:
    """The deid modules ``path`` names in any import statement (functions included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("deid."))
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("deid."):
            found.add(str(node.module))
    return found


def test_deid_modules_import_only_their_layer_and_those_below() -> None:
    upward = []
    for path in DEID_FILES:
        module = _module_name(path)
        for imported in sorted(_every_import(path)):
            if _layer(imported) > _layer(module):
                upward.append(f"{module} imports {imported}")
    assert upward == []


def test_the_layer_finder_places_the_longest_prefix() -> None:
    assert _layer("deid.policy.lint") == _layer("deid.ctp.exporter") > _layer(
        "deid.policy.resolver")
    assert _layer("deid.outputs.signoff") > _layer("deid.audit") > _layer("deid.outputs.effects")
