"""The layout's promises: student-safe code never reaches the references or the grader."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {"solutions", "autograder"}


def imported_top_level_names(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_course_helpers_never_imports_solutions_or_autograder():
    files = sorted((ROOT / "course_helpers").rglob("*.py"))
    assert len(files) > 10
    offenders = {str(f.relative_to(ROOT)): sorted(imported_top_level_names(f) & FORBIDDEN) for f in files}
    assert not {k: v for k, v in offenders.items() if v}


def test_importing_every_course_helpers_module_loads_no_reference_code():
    """Dynamic imports (importlib, __import__) would escape the AST scan: check sys.modules too."""
    modules = sorted(".".join(f.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
                     for f in (ROOT / "course_helpers").rglob("*.py"))
    code = ("import importlib, sys\n"
            f"for m in {modules!r}: importlib.import_module(m)\n"
            "print(sorted({n.split('.')[0] for n in sys.modules} & {'solutions', 'autograder'}))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_generated_outputs_are_not_tracked():
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    if not tracked:  # not a git checkout (e.g. an unpacked archive): nothing to check
        return
    bad = [f for f in tracked if f.startswith(("_build/", "exercises/release/", "exercises/submitted/",
                                               "exercises/autograded/", "exercises/feedback/"))
           or f.endswith("gradebook.db")]
    assert not bad


def test_ruff_finds_nothing():
    ruff = Path(sys.executable).with_name("ruff")
    out = subprocess.run([str(ruff), "check", "--no-cache", "."], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-3000:]
