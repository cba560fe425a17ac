"""The benchmark corpus: DICOM files that install with packages, copied to N files.

Sources: pydicom's bundled test files, and when they can be installed into a virtual
environment of their own (``/tmp/deid-bench-corpus``, from ``corpus-requirements.txt``), the
files of pydicom-data and nibabel's test DICOM (Siemens MR with CSA headers). Only files that a
plain ``pydicom.dcmread(stop_before_pixels=True)`` loop reads and whose every value converts are
kept (the baseline must run), at most 4 MiB each. They are copied round-robin into folders of
1,000 files under a temporary folder; nothing is written into the repository.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import venv
import warnings
from pathlib import Path

import pydicom

HERE = Path(__file__).resolve().parent
CORPUS_VENV = Path("/tmp/deid-bench-corpus")
MAX_BYTES = 4 << 20
PER_FOLDER = 1000


def _install_corpus_packages() -> Path | None:
    """site-packages of the corpus venv, installing it if needed; None if that fails."""
    python = CORPUS_VENV / "bin" / "python"
    try:
        if not python.exists():
            venv.create(CORPUS_VENV, with_pip=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet",
                        "--disable-pip-version-check", "-r",
                        str(HERE / "corpus-requirements.txt")],
                       check=True, capture_output=True, timeout=600)
        found = subprocess.run([str(python), "-c", "import site; print(site.getsitepackages()"
                                "[0])"], check=True, capture_output=True, text=True)
    except (OSError, subprocess.SubprocessError) as error:
        sys.stdout.write(f"corpus: pydicom-data/nibabel not installed ({error}); using "
                         "pydicom's test files only\n")
        return None
    return Path(found.stdout.strip())


def _readable(path: Path) -> bool:
    """True when the baseline loop (read header, touch every value) runs on the file."""
    if path.stat().st_size > MAX_BYTES:
        return False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dataset = pydicom.dcmread(path, stop_before_pixels=True)
            for element in dataset.iterall():
                str(element.value)
    except Exception:  # noqa: BLE001 - files pydicom cannot read are left out
        return False
    return True


def source_files(extra: bool = True) -> tuple[list[Path], dict[str, int]]:
    """The distinct source files, and how many came from each package."""
    groups = {"pydicom": sorted((Path(pydicom.__file__).parent / "data" / "test_files")
                                .glob("*.dcm"))}
    site = _install_corpus_packages() if extra else None
    if site is not None:
        groups["pydicom-data"] = sorted((site / "data_store" / "data").glob("*.dcm"))
        groups["nibabel"] = sorted((site / "nibabel").rglob("*.dcm"))
    files: list[Path] = []
    counts: dict[str, int] = {}
    for name, paths in groups.items():
        kept = [path for path in paths if _readable(path)]
        counts[name] = len(kept)
        files.extend(kept)
    return files, counts


def make_corpus(sources: list[Path], target: Path, count: int) -> list[Path]:
    """Copy ``sources`` round-robin to ``count`` files in folders of 1,000 under ``target``;
    return the folders."""
    folders: list[Path] = []
    for index in range(count):
        folder = target / f"part{index // PER_FOLDER:03d}"
        if index % PER_FOLDER == 0:
            folder.mkdir(parents=True, exist_ok=True)
            folders.append(folder)
        source = sources[index % len(sources)]
        shutil.copyfile(source, folder / f"{index:06d}_{source.name}")
    return folders
