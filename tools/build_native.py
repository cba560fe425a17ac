"""Compile the planner's and the findings' hot modules with mypyc into ``build/native``.

Run by ``make`` before ``run``, ``test`` and ``bench`` (``make native``). The modules are
those of :data:`deid.native.MODULES`, compiled as they are (mypyc reads their type
annotations); the package loads the build only while its manifest matches the sources
(:mod:`deid.native`). Without a C compiler or Python's headers the build is skipped, and the
package runs as pure Python: the same tables, slower. A module that does not compile is an
error (exit 1), with mypyc's message.

    python tools/build_native.py [--force] [--strict]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.machinery
import io
import json
import os
import shutil
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from deid import native  # noqa: E402 - the repository's package, from any working directory

#: The shared library the compiled modules load (named, so that the build is stable).
GROUP = "deid_native"


def missing_toolchain() -> str | None:
    """What the build needs and this machine lacks (None when nothing is missing)."""
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(compiler) is None:
        return f"no C compiler ({compiler!r} is not on PATH)"
    header = Path(sysconfig.get_paths()["include"]) / "Python.h"
    if not header.is_file():
        return f"no Python headers ({header} is missing; Debian: python3-dev)"
    for module in ("mypyc", "setuptools"):
        try:
            __import__(module)
        except ImportError:
            return f"{module} is not installed (requirements-dev.txt)"
    return None


def module_file(name: str) -> str:
    """The source file of a module of the package, relative to the repository."""
    return name.replace(".", "/") + ".py"


def compile_into(target: Path, work: Path) -> None:
    """Compile :data:`deid.native.MODULES` into ``target`` (``work``: generated C and
    objects)."""
    from mypyc.build import mypycify
    from setuptools import Distribution

    extensions = mypycify([module_file(name) for name in native.MODULES], opt_level="3",
                          target_dir=str(work / "c"), group_name=GROUP)
    distribution = Distribution({"name": GROUP, "ext_modules": extensions})
    command = distribution.get_command_obj("build_ext")
    command.build_lib = str(target)  # type: ignore[attr-defined]
    command.build_temp = str(work / "objects")  # type: ignore[attr-defined]
    command.ensure_finalized()
    command.run()


def built_files(target: Path) -> dict[str, str]:
    """Each compiled module's file and the shared library's, relative to ``target``."""
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    files = {}
    for name in (*native.MODULES, f"{GROUP}__mypyc"):
        relative = name.replace(".", "/") + suffix
        if not (target / relative).is_file():
            raise FileNotFoundError(f"the build made no {relative}")
        files[name] = relative
    return files


def build(force: bool = False) -> str:
    """Build unless the build is current; what was done, in one line."""
    current = native.read_manifest()
    if current is not None and native.why_not_current(current) is None and not force:
        return f"native build is current ({len(native.MODULES)} modules in {native.BUILD_DIR})"
    digest = native.sources_digest()  # before compiling: an edit meanwhile makes it stale
    fresh = native.BUILD_DIR.with_name("native.new")
    work = native.BUILD_DIR.with_name("native-work")
    for folder in (fresh, work):
        shutil.rmtree(folder, ignore_errors=True)
    log = io.StringIO()
    previous = Path.cwd()
    os.chdir(ROOT)  # mypycify reads module paths relative to the working directory
    try:
        with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
            compile_into(fresh, work)
    except BaseException as error:
        shutil.rmtree(fresh, ignore_errors=True)  # the build in use, if any, stays
        raise RuntimeError(f"mypyc could not compile the modules: {error}\n"
                           f"{log.getvalue()[-4000:]}") from error
    finally:
        os.chdir(previous)
    manifest = native.manifest_for(built_files(fresh), digest=digest)
    (fresh / native.MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n",
                                         encoding="utf-8")
    shutil.rmtree(native.BUILD_DIR, ignore_errors=True)
    fresh.rename(native.BUILD_DIR)  # the generated C stays in build/native-work (profiling)
    return f"native build made: {len(native.MODULES)} modules compiled into {native.BUILD_DIR}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--force", action="store_true", help="rebuild even if current")
    parser.add_argument("--strict", action="store_true",
                        help="fail (exit 1) when the machine cannot build, instead of skipping")
    args = parser.parse_args(argv)
    problem = missing_toolchain()
    if problem is not None:
        print(f"make native: skipped, {problem}; the package runs as pure Python (the same "
              "tables, slower)")
        return 1 if args.strict else 0
    try:
        print(f"make native: {build(force=args.force)}")
    except (RuntimeError, FileNotFoundError) as error:
        print(f"make native: failed: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
