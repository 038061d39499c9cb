"""Gradescope's ``autograder.zip`` for one assignment.

    python -m autograder gradescope-bundle --assignment 01_rnn [--visibility after_due_date]
                                           [--execution-time 600] [--out autograder.zip]

The zip follows Gradescope's autograder specification
(https://gradescope-autograders.readthedocs.io/en/latest/specs/): ``setup.sh`` and
``run_autograder`` at its root; Gradescope unpacks it into ``/autograder/source``, runs
``setup.sh`` once when it builds the image, then ``run_autograder`` (working directory
``/autograder``) for every submission, which must write ``/autograder/results/results.json``
from the files in ``/autograder/submission``.

What goes in, and nothing else:

- the grader's modules needed to grade one notebook: the import closure of
  ``autograder/__main__.py`` (the ``gradescope`` command) and of the assignment's hidden tests,
  over ``autograder``, ``solutions`` and ``course_helpers``, leaving out the instructor-side
  modules (:data:`INSTRUCTOR_ONLY`: batch, gradebook, feedback pages, late policy, this bundler,
  synthetic notebooks);
- ``autograder/hidden/<assignment>.py`` only (no other assignment's hidden tests);
- the references the hidden tests load (``solutions/``);
- ``exercises/manifest.json`` holding only this assignment's entry (points, notebook name);
- ``requirements.txt``: the third-party distributions those modules import, pinned as in the
  repository's requirements.txt (or, failing that, at the installed version);
- no instructor notebook, no exercise sources, no book.

``run_autograder`` reads ``AUTOGRADER_ROOT`` (default ``/autograder``) and ``AUTOGRADER_PYTHON``
(default: the venv ``setup.sh`` made, else ``python3``) so that the bundle can be tried in a
scratch folder without Docker or network.
"""

from __future__ import annotations

import ast
import json
import re
import sys
import zipfile
from dataclasses import asdict
from pathlib import Path

from autograder.report import VISIBILITIES
from autograder.sandbox import Limits

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("autograder", "solutions", "course_helpers")
INSTRUCTOR_ONLY = {"autograder.batch", "autograder.gradebook", "autograder.feedback",
                   "autograder.late", "autograder.gradescope_bundle", "autograder.synth",
                   "autograder.class_report", "autograder.similarity", "autograder.synth_class"}

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image.
# It installs the pinned packages grading needs into a venv of their own.
set -euo pipefail
SRC="${AUTOGRADER_ROOT:-/autograder}/source"
VENV="${AUTOGRADER_ROOT:-/autograder}/venv"
if ! command -v python3 >/dev/null || ! python3 -c 'import sys; assert sys.version_info >= (3, 11)'; then
    apt-get update && apt-get install -y --no-install-recommends python3 python3-venv python3-pip
fi
python3 -c 'import sys; assert sys.version_info >= (3, 11), "the grader needs Python >= 3.11"'
python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --no-cache-dir --upgrade pip
"$VENV/bin/python" -m pip install --no-cache-dir -r "$SRC/requirements.txt"
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission (working directory /autograder).
# AUTOGRADER_ROOT / AUTOGRADER_PYTHON rebase it for a local trial run.
set -u
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
if [ -z "${{AUTOGRADER_PYTHON:-}}" ]; then
    AUTOGRADER_PYTHON=python3
    [ -x "$ROOT/venv/bin/python" ] && AUTOGRADER_PYTHON="$ROOT/venv/bin/python"
fi
mkdir -p "$ROOT/results"
cd "$ROOT/source"
export PYTHONPATH="$ROOT/source" PYTHONIOENCODING=utf-8
exec "$AUTOGRADER_PYTHON" -m autograder gradescope --assignment {assignment} \\
    --manifest "$ROOT/source/exercises/manifest.json" \\
    --submission "$ROOT/submission" --results "$ROOT/results/results.json" \\
    --visibility {visibility} {execution_time}--timeout {timeout:g} --memory-mb {memory_mb}
"""


def _module_file(name: str) -> Path | None:
    parts = name.split(".")
    if parts[0] not in PACKAGES:
        return None
    base = REPO.joinpath(*parts)
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    return None


def _imports(path: Path) -> set[str]:
    """Every module a file imports (absolute names; relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    rel = path.relative_to(REPO).with_suffix("")
    package = list(rel.parts[:-1]) if rel.name != "__init__" else list(rel.parts[:-1])
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            out.add(mod)
            out |= {f"{mod}.{a.name}" for a in node.names if a.name != "*"}
    return {m for m in out if m}


def closure(assignment: str) -> tuple[list[Path], set[str]]:
    """(the repository files grading ``assignment`` needs, the third-party top-level modules
    they import)."""
    hidden = REPO / "autograder" / "hidden" / f"{assignment}.py"
    if not hidden.is_file():
        raise ValueError(f"no hidden tests for assignment {assignment!r} (expected {hidden})")
    todo = [REPO / "autograder" / "__main__.py", REPO / "autograder" / "__init__.py",
            REPO / "autograder" / "submission.py", REPO / "autograder" / "hidden" / "__init__.py",
            hidden]
    files: set[Path] = set()
    third: set[str] = set()
    stdlib = set(sys.stdlib_module_names)
    while todo:
        f = todo.pop()
        if f in files:
            continue
        files.add(f)
        # the package __init__ files along the way are imported too
        for parent in f.relative_to(REPO).parents:
            init = REPO / parent / "__init__.py"
            if parent.parts and init.is_file() and init not in files:
                todo.append(init)
        for mod in _imports(f):
            top = mod.split(".")[0]
            if top in PACKAGES:
                if mod in INSTRUCTOR_ONLY or (mod.startswith("autograder.hidden.")
                                              and mod != f"autograder.hidden.{assignment}"):
                    continue
                target = _module_file(mod)
                if target is not None and target not in files:
                    todo.append(target)
            elif top not in stdlib and top != "__future__":
                third.add(top)
    return sorted(files), third


def _pins(modules: set[str]) -> list[str]:
    """``name==version`` for the distributions providing ``modules``: the repository's pin if
    requirements.txt has one, else the installed version."""
    from importlib.metadata import packages_distributions, version

    pinned = {}
    req = REPO / "requirements.txt"
    if req.is_file():
        for line in req.read_text(encoding="utf-8").splitlines():
            m = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*==\s*([^\s;#]+)", line)
            if m:
                pinned[re.sub(r"[-_.]+", "-", m.group(1)).lower()] = f"{m.group(1)}=={m.group(2)}"
    dists = packages_distributions()
    out = set()
    for mod in sorted(modules):
        for dist in dists.get(mod, []):
            key = re.sub(r"[-_.]+", "-", dist).lower()
            out.add(pinned.get(key) or f"{dist}=={version(dist)}")
    return sorted(out, key=str.lower)


def build_bundle(assignment: str, out: str | Path = "autograder.zip", *,
                 manifest: str | Path | None = None, visibility: str = "visible",
                 execution_time: float | None = None,
                 limits: Limits | None = None) -> tuple[Path, list[str]]:
    """Write the zip; returns (its path, the names it holds).

    Raises ValueError for an unknown assignment, an assignment missing from the manifest or a
    visibility that is not one of :data:`autograder.report.VISIBILITIES`."""
    from autograder.judge import DEFAULT_MANIFEST

    if visibility not in VISIBILITIES:
        raise ValueError(f"visibility must be one of {', '.join(VISIBILITIES)}, not {visibility!r}")
    if execution_time is not None and execution_time <= 0:
        raise ValueError(f"execution time must be positive seconds, not {execution_time}")
    limits = limits or Limits()
    man_path = Path(manifest) if manifest else DEFAULT_MANIFEST
    entry = json.loads(man_path.read_text(encoding="utf-8")).get(assignment)
    if not entry:
        raise ValueError(f"{man_path} has no entry for assignment {assignment!r}")
    files, third = closure(assignment)
    run = RUN_AUTOGRADER.format(
        assignment=assignment, visibility=visibility,
        execution_time=f"--execution-time {execution_time:g} " if execution_time else "",
        timeout=limits.timeout_s, memory_mb=limits.memory_mb)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    names = []
    tmp = out.with_name(f".{out.name}.tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        def add(name: str, data: str | bytes, mode: int = 0o644) -> None:
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
            names.append(name)

        add("setup.sh", SETUP_SH, 0o755)
        add("run_autograder", run, 0o755)
        add("requirements.txt", "\n".join(_pins(third)) + "\n")
        add("exercises/manifest.json", json.dumps({assignment: entry}, indent=1) + "\n")
        add("bundle.json", json.dumps({"assignment": assignment, "visibility": visibility,
                                       "execution_time": execution_time,
                                       "limits": asdict(limits)}, indent=1) + "\n")
        for f in files:
            add(f.relative_to(REPO).as_posix(), f.read_bytes())
    tmp.replace(out)
    return out, names
