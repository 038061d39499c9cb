"""Regenerate, validate and release the nbgrader assignments.

Usage (from the repository root):

    python -m scripts.make_exercises                 # all five: generate, validate, release
    python -m scripts.make_exercises 01_rnn 03_lstm  # only these
    python -m scripts.make_exercises --no-validate   # skip `nbgrader validate` (it runs every notebook)
    python -m scripts.make_exercises --no-release    # skip `nbgrader generate_assignment`
    python -m scripts.make_exercises --check         # exit 1 if source/ or manifest.json is stale

The instructor notebooks `exercises/source/<a>/<a>.ipynb` are generated; edit
`exercises/authoring/<a>.md` (MyST Markdown, read with jupytext) instead. The authoring text uses
a few one-line markers that this script expands, so that the solution code is always the code of
the reference package `solutions/` and cannot drift:

``# @graded NAME``
    A graded function. The cell becomes the function from ``solutions.NAME``: its signature and
    docstring, the leading shape checks (given to students), and the rest of its body between
    ``### BEGIN SOLUTION`` / ``### END SOLUTION`` (nbgrader swaps that for a stub that raises
    NotImplementedError). Private helpers of the reference (``_gates``, ``_step`` ...) are inlined as
    nested functions inside the solution region so the students' version can be written freely.
    nbgrader metadata: solution cell, grade_id ``impl_NAME``.
``# @prior NAME``
    A function the student wrote in an earlier assignment and pastes in here: same layout as
    ``@graded`` but not graded (grade_id ``prior_NAME``).
``# @given NAME [NAME ...]``
    Helpers given to students as they are (shape checks, sigmoid, constants): the source of each
    name, looked up in the reference package. Read-only cell.
``# Tests for NAME (P points)``  (first line of a code cell)
    The visible tests of NAME: an nbgrader grade cell, grade_id ``test_NAME``, P points.
``+++ {"answer": "answer_ID", "points": P}``  (metadata of a Markdown cell)
    A manually graded written answer. Its text is the instructor's model answer, replaced by
    "YOUR ANSWER HERE" in the release.

Everything else is copied as it is. The script also writes `exercises/manifest.json`, which the
autograder reads: per assignment the notebook, the graded functions with their points, the
manually graded answers with theirs, and the ``prior`` functions the student pastes in.
"""

from __future__ import annotations

import argparse
import ast
import collections.abc
import importlib
import inspect
import json
import os
import pkgutil
import re
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import jupytext
import nbformat

ROOT = Path(__file__).resolve().parent.parent
EXERCISES = ROOT / "exercises"
AUTHORING = EXERCISES / "authoring"
SOURCE = EXERCISES / "source"
MANIFEST = EXERCISES / "manifest.json"
ASSIGNMENTS = ("01_rnn", "02_bptt", "03_lstm", "04_gru", "05_attention")

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
GRADED_RE = re.compile(r"^# @(graded|prior) (\w+)\s*$")
GIVEN_RE = re.compile(r"^# @given ((?:[\w.]+\s*)+)$")
TEST_RE = re.compile(r"^# Tests for (\w+) \((\d+) points?\)")
SCHEMA = 3


# --------------------------------------------------------------------------------------------
# Reading the reference package
# --------------------------------------------------------------------------------------------

def _solutions():
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return importlib.import_module("solutions")


def find_reference(name: str) -> tuple[types.ModuleType, object]:
    """The object `name` from the reference package, and the module that defines it.

    `name` is either exported by `solutions` or written `module.attr` (e.g. `_validate.check_shapes`).
    """
    pkg = _solutions()
    if "." in name:
        mod_name, attr = name.rsplit(".", 1)
        module = importlib.import_module(f"solutions.{mod_name}")
        return module, getattr(module, attr)
    if not hasattr(pkg, name):
        # Not (yet) exported by solutions/__init__.py: look in the package's modules.
        for info in pkgutil.iter_modules(pkg.__path__):
            module = importlib.import_module(f"solutions.{info.name}")
            if inspect.isfunction(getattr(module, name, None)) and getattr(module, name).__module__ == module.__name__:
                return module, getattr(module, name)
        raise SystemExit(f"make_exercises: solutions has no '{name}'")
    obj = getattr(pkg, name)
    module = inspect.getmodule(obj) if callable(obj) else pkg
    return module, obj


def _module_tree(module: types.ModuleType) -> tuple[str, ast.Module]:
    text = inspect.getsource(module)
    return text, ast.parse(text)


def module_level_source(module: types.ModuleType, name: str) -> str:
    """Source text of the top-level def or assignment of `name` in `module`."""
    text, tree = _module_tree(module)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef) and node.name == name:
            return ast.get_source_segment(text, node, padded=False)
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                return ast.get_source_segment(text, node)
    raise SystemExit(f"make_exercises: {name} is not defined at the top level of {module.__name__}")


def _is_check_call(node: ast.AST) -> bool:
    """A call of a shape/type check helper: check_shapes(...), _check_gru(...)."""
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and (node.func.id.startswith("check_") or node.func.id.startswith("_check")))


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _private_helpers(module: types.ModuleType, node: ast.AST, seen: list[str]) -> list[str]:
    """Private module-level functions (not checks) that `node` calls, recursively, in call order."""
    _, tree = _module_tree(module)
    private = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)
               and n.name.startswith("_") and not n.name.startswith("_check")}
    for call in ast.walk(node):
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id in private:
            name = call.func.id
            if name not in seen:
                seen.append(name)
                helper = ast.parse(module_level_source(module, name)).body[0]
                _private_helpers(module, helper, seen)
    return seen


def _alias_replacements(module: types.ModuleType) -> dict[str, str]:
    """Module-level type aliases (RNNCache = tuple[...]) and the plain type a notebook writes instead."""
    out = {}
    for name, value in vars(module).items():
        origin = getattr(value, "__origin__", None)
        if isinstance(value, types.GenericAlias) and origin is tuple:
            out[name] = "tuple"
        elif isinstance(value, types.GenericAlias) and origin is collections.abc.Callable:
            out[name] = "Callable"
        elif isinstance(value, types.UnionType):
            out[name] = "dict | list"
    return out


def function_parts(name: str) -> dict[str, str]:
    """Split the reference function `name` into the parts a notebook cell is made of.

    Returns header (def line(s), aliases replaced), docstring (indented), given (leading shape
    checks), helpers (private helpers as nested defs, indented) and solution (the rest of the body).
    All parts are source text at the function's indentation (4 spaces).
    """
    module, func = find_reference(name)
    if not inspect.isfunction(func):
        raise SystemExit(f"make_exercises: solutions.{name} is not a function")
    src = textwrap.dedent(inspect.getsource(func))
    lines = src.splitlines()
    fn = ast.parse(src).body[0]
    assert isinstance(fn, ast.FunctionDef)
    doc = fn.body[0]
    if not (isinstance(doc, ast.Expr) and isinstance(doc.value, ast.Constant)
            and isinstance(doc.value.value, str)):
        raise SystemExit(f"make_exercises: solutions.{name} has no docstring")
    header = "\n".join(lines[: doc.lineno - 1])
    for alias, plain in _alias_replacements(module).items():
        header = re.sub(rf"\b{alias}\b", plain, header)
    docstring = "\n".join(lines[doc.lineno - 1: doc.end_lineno])

    known = {a.arg for a in fn.args.args + fn.args.kwonlyargs}
    body = fn.body[1:]
    n_given = 0
    for stmt in body:
        value = stmt.value if isinstance(stmt, ast.Expr | ast.Assign) else None
        callee_ok = value is not None and _is_check_call(value)
        loaded = {n for n in _names(value) if n not in known} if callee_ok else set()
        # A check that reads only the parameters (and what earlier checks returned) is given as it is.
        if callee_ok and all(n.startswith(("check_", "_check")) or n == "np" for n in loaded):
            n_given += 1
            if isinstance(stmt, ast.Assign):
                known |= {n.id for t in stmt.targets for n in ast.walk(t) if isinstance(n, ast.Name)}
        else:
            break
    start = body[0].lineno if body else doc.end_lineno + 1
    if n_given:
        given = "\n".join(lines[body[0].lineno - 1: body[n_given - 1].end_lineno])
        rest_start = body[n_given - 1].end_lineno + 1
    else:
        given = ""
        rest_start = doc.end_lineno + 1
    del start
    solution = "\n".join(lines[rest_start - 1: fn.end_lineno]).strip("\n")

    helpers = []
    for helper in _private_helpers(module, fn, []):
        helpers.append(textwrap.indent(module_level_source(module, helper), "    "))
    return {"header": header, "docstring": docstring, "given": given,
            "helpers": "\n\n".join(helpers), "solution": solution}


def function_cell_source(name: str, docstring: str | None = None) -> str:
    """The code of a graded (or prior) function cell, with nbgrader's solution markers.

    docstring: the authoring text's own docstring (a string literal) to use instead of the reference's.
    """
    p = function_parts(name)
    if docstring is not None:
        p["docstring"] = textwrap.indent(docstring.strip(), "    ")
    out = [p["header"], p["docstring"]]
    if p["given"]:
        out.append(p["given"])
    out.append("    " + BEGIN)
    if p["helpers"]:
        out.append(p["helpers"])
        out.append("")
    out.append(p["solution"])
    out.append("    " + END)
    return "\n".join(out)


def given_cell_source(names: list[str]) -> str:
    parts = []
    for name in names:
        module, _ = find_reference(name)
        parts.append(module_level_source(module, name.rsplit(".", 1)[-1]))
    return "\n\n\n".join(parts)


# --------------------------------------------------------------------------------------------
# Building one notebook
# --------------------------------------------------------------------------------------------

def _nbgrader(grade_id: str, *, grade=False, solution=False, locked=False, points=None) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": SCHEMA,
            "solution": solution, "task": False}
    if points is not None:
        meta["points"] = points
    return meta


def build_notebook(assignment: str) -> tuple[nbformat.NotebookNode, dict]:
    """The instructor notebook of `assignment` and its manifest entry."""
    path = AUTHORING / f"{assignment}.md"
    nb = jupytext.reads(path.read_text(encoding="utf-8"), fmt="md:myst")
    functions: dict[str, int] = {}
    manual: dict[str, int] = {}
    impl: set[str] = set()
    prior: list[str] = []
    n_given = 0
    for cell in nb.cells:
        cell.metadata.pop("lines_to_next_cell", None)
        src = cell.source.strip("\n")
        if cell.cell_type == "markdown" and "answer" in cell.metadata:
            grade_id = cell.metadata.pop("answer")
            points = int(cell.metadata.pop("points"))
            cell.metadata["nbgrader"] = _nbgrader(grade_id, grade=True, solution=True, points=points)
            manual[grade_id] = points
            continue
        if cell.cell_type != "code":
            continue
        first = src.splitlines()[0] if src else ""
        if m := GRADED_RE.match(first):
            kind, name = m.groups()
            rest = src[len(first):].strip()
            if rest and not (rest.startswith('"""') and rest.endswith('"""')):
                raise SystemExit(f"{path}: after '# @{kind} {name}' only a docstring may follow")
            cell.source = function_cell_source(name, rest or None)
            prefix = "impl" if kind == "graded" else "prior"
            cell.metadata["nbgrader"] = _nbgrader(f"{prefix}_{name}", solution=True)
            if kind == "graded":
                impl.add(name)
            else:
                prior.append(name)
        elif m := GIVEN_RE.match(src):
            n_given += 1
            names = m.group(1).split()
            cell.source = given_cell_source(names)
            cell.metadata["nbgrader"] = _nbgrader(f"given_{n_given}", locked=True)
        elif m := TEST_RE.match(first):
            name, points = m.group(1), int(m.group(2))
            if name not in impl:
                raise SystemExit(f"{path}: tests for {name} come before its '# @graded {name}' cell")
            if name in functions:
                raise SystemExit(f"{path}: two test cells for {name}")
            cell.metadata["nbgrader"] = _nbgrader(f"test_{name}", grade=True, locked=True, points=points)
            functions[name] = points
        elif "@graded" in first or "@prior" in first or "@given" in first:
            raise SystemExit(f"{path}: a marker must be alone in its cell: {first!r}")
    missing = impl - set(functions)
    if missing:
        raise SystemExit(f"{path}: graded functions without a test cell: {sorted(missing)}")
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python",
                                 "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    nb.metadata.pop("jupytext", None)
    nb.nbformat, nb.nbformat_minor = 4, 5
    for k, cell in enumerate(nb.cells):
        cell["id"] = f"{assignment}-{k:03d}"   # stable ids: regenerating changes nothing
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    # prior: ungraded functions from earlier assignments that the student pastes in and the graded
    # ones call (found by name in the notebook, like every helper).
    entry = {"notebook": f"{assignment}.ipynb", "functions": functions, "manual": manual, "prior": prior}
    return nb, entry


def notebook_text(nb: nbformat.NotebookNode) -> str:
    return nbformat.writes(nb) + "\n"


def manifest_text(entries: dict) -> str:
    return json.dumps(entries, indent=2) + "\n"


# --------------------------------------------------------------------------------------------
# nbgrader
# --------------------------------------------------------------------------------------------

def kernel_env() -> dict[str, str]:
    """Environment in which notebooks run: the course's packages importable, torch on one thread."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    # nbgrader runs `alembic` (and kernels run `python`) from PATH: put this interpreter's bin first.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.setdefault("OMP_NUM_THREADS", "1")
    env.setdefault("MKL_NUM_THREADS", "1")
    return env


def nbgrader(*args: str, course_dir: Path = EXERCISES) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("nbgrader")
    cmd = [str(exe) if exe.exists() else "nbgrader", *args]
    print("+ (cd", course_dir, "&&", " ".join(cmd[1:]) + ")", flush=True)
    return subprocess.run(cmd, cwd=course_dir, env=kernel_env(), capture_output=True, text=True)


def validate(assignment: str, course_dir: Path = EXERCISES) -> None:
    nb = course_dir / "source" / assignment / f"{assignment}.ipynb"
    res = nbgrader("validate", str(nb), course_dir=course_dir)
    out = res.stdout + res.stderr
    if res.returncode != 0 or "Success!" not in out:
        raise SystemExit(f"nbgrader validate failed for {assignment}:\n{out[-4000:]}")


def release(assignments: list[str], course_dir: Path = EXERCISES) -> None:
    # One nbgrader process for all of them when possible (its start-up is most of the time).
    ids = ["*"] if sorted(assignments) == sorted(ASSIGNMENTS) else list(assignments)
    for a in ids:
        res = nbgrader("generate_assignment", a, "--force", course_dir=course_dir)
        if res.returncode != 0 or "ERROR" in res.stderr:
            raise SystemExit(f"nbgrader generate_assignment failed for {a}:\n{(res.stdout + res.stderr)[-4000:]}")
    for a in assignments:
        if not (course_dir / "release" / a / f"{a}.ipynb").exists():
            raise SystemExit(f"nbgrader generate_assignment did not release {a}")


# --------------------------------------------------------------------------------------------
# Leak check of a release
# --------------------------------------------------------------------------------------------

FORBIDDEN = [
    (re.compile(r"###\s*(BEGIN|END)\s+SOLUTION"), "a solution marker"),
    (re.compile(r"(BEGIN|END)\s+HIDDEN\s+TESTS"), "a hidden-test marker"),
    (re.compile(r"^\s*(from|import)\s+(solutions|autograder)\b", re.M), "an import of solutions/autograder"),
    (re.compile(r"""(import_module|__import__)\(\s*["'](solutions|autograder)"""), "an import of solutions/autograder"),
]
_TRIVIAL = re.compile(r"^[\W\d_]*$|^(return|else:|pass|try:|finally:|break|continue)\b.{0,10}$")


def _solution_regions(text: str) -> tuple[list[str], list[str]]:
    """Lines inside ### BEGIN/END SOLUTION regions, and the lines outside them."""
    inside, outside, depth = [], [], 0
    for line in text.splitlines():
        if BEGIN in line:
            depth += 1
        elif END in line:
            depth -= 1
        elif depth:
            inside.append(line.strip())
        else:
            outside.append(line.strip())
    return inside, outside


def secret_lines(source_dir: Path, autograder_dir: Path | None = None) -> set[str]:
    """Lines that only instructors may see: solution code, model answers, hidden-test code.

    A line counts when it is not trivial and does not also occur in the student-visible part of
    any instructor notebook (a docstring line or a visible test may legitimately repeat it).
    """
    secret, visible = set(), set()
    for nb_path in sorted(source_dir.glob("*/*.ipynb")):
        nb = nbformat.read(nb_path, as_version=4)
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type == "markdown" and meta.get("solution"):
                secret |= {line.strip() for line in cell.source.splitlines()}
                continue
            inside, outside = _solution_regions(cell.source)
            secret |= set(inside)
            visible |= set(outside)
    if autograder_dir is not None and autograder_dir.is_dir():
        for path in autograder_dir.rglob("*.py"):
            secret |= {s for s in (line.strip() for line in path.read_text().splitlines()) if len(s) >= 30}
    return {s for s in secret - visible if len(s) >= 12 and not _TRIVIAL.match(s)}


def leak_report(release_dir: Path, secrets: set[str]) -> list[str]:
    """Every problem found in the files under release_dir (empty when the release is clean)."""
    problems = []
    files = sorted(p for p in release_dir.rglob("*") if p.is_file())
    if not files:
        return [f"{release_dir} holds no files"]
    for path in files:
        rel = path.relative_to(release_dir)
        try:
            raw = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        if path.suffix == ".ipynb":
            nb = nbformat.reads(raw, as_version=4)
            text = "\n".join(cell.source for cell in nb.cells)
        else:
            text = raw
        for pattern, what in FORBIDDEN:
            if m := pattern.search(text):
                problems.append(f"{rel}: {what}: {m.group(0).strip()!r}")
        lines = {line.strip() for line in text.splitlines()}
        for s in sorted(lines & secrets):
            problems.append(f"{rel}: instructor-only line: {s!r}")
    return problems


# --------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*", default=list(ASSIGNMENTS))
    parser.add_argument("--check", action="store_true", help="only report whether source/ is up to date")
    parser.add_argument("--no-validate", action="store_true")
    parser.add_argument("--no-release", action="store_true")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.assignments) - set(ASSIGNMENTS))
    if unknown:
        parser.error(f"unknown assignment(s) {unknown}; choose from {', '.join(ASSIGNMENTS)}")

    manifest = json.loads(MANIFEST.read_text()) if MANIFEST.exists() else {}
    stale = []
    for a in args.assignments:
        nb, entry = build_notebook(a)
        out = SOURCE / a / f"{a}.ipynb"
        text = notebook_text(nb)
        if not out.exists() or out.read_text(encoding="utf-8") != text:
            stale.append(str(out.relative_to(ROOT)))
            if not args.check:
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_text(text, encoding="utf-8")
                print(f"wrote {out.relative_to(ROOT)}")
        manifest[a] = entry
    manifest = {a: manifest[a] for a in ASSIGNMENTS if a in manifest}
    if not MANIFEST.exists() or MANIFEST.read_text() != manifest_text(manifest):
        stale.append(str(MANIFEST.relative_to(ROOT)))
        if not args.check:
            MANIFEST.write_text(manifest_text(manifest))
            print(f"wrote {MANIFEST.relative_to(ROOT)}")
    if args.check:
        if stale:
            print("out of date (run `make exercises`):", *stale, sep="\n  ")
            return 1
        print("exercises/source and manifest.json are up to date")
        return 0
    if not args.no_validate:
        for a in args.assignments:
            validate(a)
    if not args.no_release:
        release(args.assignments)
        secrets = secret_lines(SOURCE, ROOT / "autograder")
        problems = [p for a in args.assignments for p in leak_report(EXERCISES / "release" / a, secrets)]
        if problems:
            print("LEAK CHECK FAILED:", *problems, sep="\n  ")
            return 1
        print("released into", (EXERCISES / "release").relative_to(ROOT), "(leak check passed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
