"""The compiled build of the planner's and the findings' hot modules, used only when it is
current.

``tools/build_native.py`` (run by ``make``) compiles :data:`MODULES` with mypyc into
``build/native`` and writes a manifest there: the modules, the Python it was built for, and a
digest of every source file of the package. :func:`install` (called as the package is
imported) loads the compiled modules only when that manifest matches the sources as they are:
an edited module is never shadowed by a stale build, and without a build (no C compiler) the
package runs as pure Python. Both give the same tables (``tests/test_native.py``).

``DEID_PURE_PYTHON=1`` in the environment keeps the pure-Python modules whatever is built.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

#: The modules compiled: the planner (with the decisions it reads and the value transforms it
#: calls), the markers, the element semantics, the findings and the element trees they walk,
#: and the k-anonymity counts.
MODULES = (
    "deid.ingest.decode",
    "deid.ingest.tree",
    "deid.policy.decision",
    "deid.risk.findings",
    "deid.risk.kanon",
    "deid.tags",
    "deid.transform.clean",
    "deid.transform.dispatch",
    "deid.transform.markers",
    "deid.transform.outcome",
    "deid.transform.plan",
    "deid.transform.semantics",
    "deid.transform.values",
)
#: The environment variable that keeps the pure-Python modules.
PURE_ENV = "DEID_PURE_PYTHON"
PACKAGE = Path(__file__).resolve().parent
#: Where ``tools/build_native.py`` puts the build (the repository's ``build/``, ignored by git).
BUILD_DIR = PACKAGE.parent / "build" / "native"
MANIFEST = "manifest.json"
#: The manifest's format; a build of another format is not used.
FORMAT = 1


@dataclass(frozen=True)
class NativeStatus:
    """Whether the compiled modules are in use, and why (or why not)."""

    compiled: bool
    reason: str
    modules: tuple[str, ...] = ()


_STATUS = NativeStatus(False, "not checked yet")


def status() -> NativeStatus:
    """Whether this process runs the compiled modules."""
    return _STATUS


def python_tag() -> str:
    """The interpreter a build is for (extension modules load only into the same)."""
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]  # e.g. .cpython-311-x86_64-linux-gnu.so
    return suffix.removeprefix(".").removesuffix(".so").removesuffix(".pyd")


def sources_digest(package: Path = PACKAGE) -> str:
    """A digest of every Python source of the package (paths and contents)."""
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def manifest_for(files: dict[str, str], digest: str) -> dict[str, object]:
    """The manifest of a build of the sources of ``digest`` (:func:`sources_digest`): each
    module's (and the shared library's) file relative to the build directory, and the
    Python it is for."""
    return {"format": FORMAT, "python": python_tag(), "sources": digest,
            "modules": list(MODULES), "files": files}


def why_not_current(manifest: dict[str, object], package: Path = PACKAGE,
                    build: Path = BUILD_DIR) -> str | None:
    """Why a build's manifest cannot be used with these sources (None when it can)."""
    if manifest.get("format") != FORMAT or manifest.get("modules") != list(MODULES):
        return "the native build is of another layout: `make native` rebuilds it"
    if manifest.get("python") != python_tag():
        return (f"the native build is for {manifest.get('python')}, not this Python "
                f"({python_tag()}): `make native` rebuilds it")
    files = manifest.get("files")
    if not isinstance(files, dict) or not set(MODULES) <= set(files):
        return "the native build's manifest lists no file for some module: `make native`"
    missing = [name for name in files.values() if not (build / str(name)).is_file()]
    if missing:
        return f"the native build lacks {missing[0]}: `make native` rebuilds it"
    if manifest.get("sources") != sources_digest(package):
        return ("the sources changed since the native build (it is not used, so that no "
                "edited module is shadowed): `make native` rebuilds it")
    return None


def read_manifest(build: Path = BUILD_DIR) -> dict[str, object] | None:
    """The build's manifest, or None without a (readable) build."""
    try:
        found = json.loads((build / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None


class _Finder(importlib.abc.MetaPathFinder):
    """Finds the compiled modules (and the shared library they load) in the build."""

    def __init__(self, files: dict[str, Path]) -> None:
        self.files = files

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        file = self.files.get(fullname)
        if file is None:
            return None
        loader = importlib.machinery.ExtensionFileLoader(fullname, str(file))
        return importlib.util.spec_from_file_location(fullname, file, loader=loader)


def install(build: Path = BUILD_DIR) -> NativeStatus:
    """Load the compiled modules from now on if the build is current (see the module
    docstring); the status says which modules run, and why."""
    global _STATUS
    if any(isinstance(finder, _Finder) for finder in sys.meta_path):
        return _STATUS
    _STATUS = _decide(build)
    if _STATUS.compiled:
        manifest = read_manifest(build) or {}
        files = manifest.get("files")
        assert isinstance(files, dict)
        sys.meta_path.insert(0, _Finder({name: build / str(file)
                                         for name, file in files.items()}))
    return _STATUS


def _decide(build: Path) -> NativeStatus:
    if os.environ.get(PURE_ENV, "").strip() not in ("", "0"):
        return NativeStatus(False, f"pure Python: {PURE_ENV} is set")
    manifest = read_manifest(build)
    if manifest is None:
        return NativeStatus(False, "pure Python: no native build (`make native` makes one "
                                   "where a C compiler is installed)")
    problem = why_not_current(manifest, build=build)
    if problem is not None:
        return NativeStatus(False, f"pure Python: {problem}")
    already = [name for name in MODULES if name in sys.modules]
    if already:
        return NativeStatus(False, f"pure Python: {already[0]} was imported before the "
                                   "native build could be installed")
    return NativeStatus(True, f"compiled: {len(MODULES)} modules from {build}", MODULES)
