"""Fixtures shared by the test modules."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository's top folder (where ``app.py`` and ``Makefile`` are)."""
    return REPO_ROOT


#: The process's main module as the test run started it.
_MAIN = sys.modules.get("__main__")


@pytest.fixture(autouse=True)
def _main_module_restored() -> Iterator[None]:
    """Put back the process's ``__main__`` around each test: an AppTest run leaves a page
    script there, and worker processes started later (a Dask LocalCluster spawns them) would
    run that page again as their main module."""
    if _MAIN is not None:
        sys.modules["__main__"] = _MAIN
    yield
    if _MAIN is not None:
        sys.modules["__main__"] = _MAIN
