"""The nbgrader assignments: one source of truth, clean releases, working notebooks.

- the manifest the autograder reads agrees with the notebooks' nbgrader metadata;
- exercises/source is what `make exercises` makes from exercises/authoring and solutions/;
- the solution code in the instructor notebooks is the code of solutions/ (compared as syntax trees);
- `nbgrader generate_assignment` releases all five in a temporary copy, and the release holds no
  solution code, no model answer, no hidden test and no import of solutions or autograder;
- the instructor notebooks pass their visible tests (executed with nbclient);
- the released notebooks, submitted as they are and autograded by nbgrader, run top to bottom
  with NotImplementedError as the only error, and score zero.
"""

from __future__ import annotations

import ast
import inspect
import json
import re
import shutil
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scripts import make_exercises as mx  # noqa: E402

ASSIGNMENTS = mx.ASSIGNMENTS
STUDENT_SAFE_IMPORTS = {"numpy", "matplotlib", "torch", "course_helpers", "collections", "time"}


def source_nb(a: str) -> nbformat.NotebookNode:
    return nbformat.read(mx.SOURCE / a / f"{a}.ipynb", as_version=4)


def nbgrader_cells(nb):
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader")
        if meta:
            yield cell, meta


# ------------------------------------------------------------------------------------------
# Static checks of the instructor notebooks
# ------------------------------------------------------------------------------------------

def test_manifest_matches_notebook_metadata():
    manifest = json.loads(mx.MANIFEST.read_text())
    assert list(manifest) == list(ASSIGNMENTS)
    for a in ASSIGNMENTS:
        nb = source_nb(a)
        functions, manual, impl, prior = {}, {}, set(), []
        for cell, meta in nbgrader_cells(nb):
            gid = meta["grade_id"]
            if meta.get("grade") and cell.cell_type == "code":
                assert gid.startswith("test_"), gid
                functions[gid[len("test_"):]] = meta["points"]
            elif meta.get("grade") and meta.get("solution"):
                manual[gid] = meta["points"]
            elif meta.get("solution") and gid.startswith("impl_"):
                impl.add(gid[len("impl_"):])
            elif meta.get("solution") and gid.startswith("prior_"):
                prior.append(gid[len("prior_"):])
        entry = manifest[a]
        assert entry["notebook"] == f"{a}.ipynb"
        assert entry["functions"] == functions, a
        assert entry["manual"] == manual, a
        assert entry["prior"] == prior, a
        assert impl == set(functions), f"{a}: every graded function needs impl_F and test_F cells"
        for name in functions:   # the function is defined, by name, in its impl cell
            cell = next(c for c, m in nbgrader_cells(nb) if m["grade_id"] == f"impl_{name}")
            assert re.search(rf"^def {name}\(", cell.source, re.M), name
    assert manifest["02_bptt"]["manual"] == {"answer_gradient_norms": 5}


def test_sources_are_up_to_date_with_authoring_and_solutions():
    """Regenerating from exercises/authoring and solutions/ changes nothing (run `make exercises`)."""
    manifest = json.loads(mx.MANIFEST.read_text())
    for a in ASSIGNMENTS:
        nb, entry = mx.build_notebook(a)
        committed = (mx.SOURCE / a / f"{a}.ipynb").read_text(encoding="utf-8")
        assert mx.notebook_text(nb) == committed, f"{a}: exercises/source is stale, run `make exercises`"
        assert manifest[a] == entry, a


def test_every_assignment_trains_checks_and_asks_for_a_derivation():
    """Issue 15: in every assignment the student trains a model with their own code and a test cell
    checks its outcome; every assignment has a hand-graded written part (a derivation; 02's is the
    gradient-norm recursion) whose model answer holds a rubric."""
    manifest = json.loads(mx.MANIFEST.read_text())
    for a in ASSIGNMENTS:
        nb = source_nb(a)
        code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
        assert "# The outcome:" in code, f"{a}: no visible test on a training run's outcome"
        assert manifest[a]["manual"], f"{a}: no hand-graded answer"
        for cell, meta in nbgrader_cells(nb):
            if cell.cell_type == "markdown" and meta.get("solution"):
                assert "Rubric" in cell.source, f"{a}: {meta['grade_id']} has no rubric"


def test_backward_docstrings_describe_the_reference_cache():
    """The backward functions' docstrings say what the reference forward puts in its cache."""
    for a in ASSIGNMENTS:
        for cell, meta in nbgrader_cells(source_nb(a)):
            name = meta["grade_id"].split("_", 1)[1]
            if meta["grade_id"].startswith("impl_") and name.endswith("_backward"):
                doc = ast.get_docstring(next(n for n in ast.parse(cell.source).body if isinstance(n, ast.FunctionDef)))
                assert "The reference builds the tuple" in doc, f"{a}: {name}"


def _body_without_docstring(fn: ast.FunctionDef) -> list[ast.stmt]:
    body = fn.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return body


def _reference_function(name: str):
    module, func = mx.find_reference(name)
    return module, ast.parse(textwrap.dedent(inspect.getsource(func))).body[0]


def test_solution_code_is_the_reference_code():
    """Every graded (and pasted-in) function's code equals solutions' code, statement for statement.

    Private helpers of the reference appear as nested functions inside the solution region; each
    must equal the reference helper, and the rest of the body must equal the reference body.
    """
    checked = 0
    for a in ASSIGNMENTS:
        for cell, meta in nbgrader_cells(source_nb(a)):
            gid = meta["grade_id"]
            if not (meta.get("solution") and cell.cell_type == "code"):
                continue
            name = gid.split("_", 1)[1]
            code = "\n".join(line for line in cell.source.splitlines()
                             if line.strip() not in (mx.BEGIN, mx.END))
            fn = next(n for n in ast.parse(code).body if isinstance(n, ast.FunctionDef) and n.name == name)
            module, ref = _reference_function(name)
            ours = _body_without_docstring(fn)
            nested = [s for s in ours if isinstance(s, ast.FunctionDef)]
            rest = [s for s in ours if not isinstance(s, ast.FunctionDef)]
            assert [ast.dump(s) for s in rest] == [ast.dump(s) for s in _body_without_docstring(ref)], (
                f"{a}: the solution of {name} differs from solutions.{name}")
            assert [a_.arg for a_ in fn.args.args] == [a_.arg for a_ in ref.args.args], name
            for helper in nested:
                ref_helper = ast.parse(inspect.getsource(getattr(module, helper.name))).body[0]
                # (docstrings aside: nesting re-indents their continuation lines)
                assert ast.dump(helper.args) == ast.dump(ref_helper.args), f"{a}: nested {helper.name} in {name}"
                assert [ast.dump(s) for s in _body_without_docstring(helper)] == [
                    ast.dump(s) for s in _body_without_docstring(ref_helper)], f"{a}: nested {helper.name} in {name}"
            checked += 1
    assert checked >= 25


def test_graded_functions_document_shapes_and_release_as_stubs():
    for a in ASSIGNMENTS:
        for cell, meta in nbgrader_cells(source_nb(a)):
            if meta["grade_id"].startswith("impl_"):
                fn = next(n for n in ast.parse(cell.source).body if isinstance(n, ast.FunctionDef))
                doc = ast.get_docstring(fn)
                assert doc and "shape" in doc, f"{a}: the docstring of {fn.name} must give shapes"
                assert cell.source.count(mx.BEGIN) == 1 and cell.source.count(mx.END) == 1, fn.name


def _imports(code: str) -> set[str]:
    tree = ast.parse("\n".join(line for line in code.splitlines() if not line.lstrip().startswith(("%", "!"))))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            out.add((node.module or "").split(".")[0])
    return out


def test_notebooks_import_only_student_safe_packages():
    for a in ASSIGNMENTS:
        used = set()
        for cell in source_nb(a).cells:
            if cell.cell_type == "code":
                used |= _imports(cell.source)
        assert used <= STUDENT_SAFE_IMPORTS, f"{a} imports {sorted(used - STUDENT_SAFE_IMPORTS)}"
        assert "course_helpers" in used


# ------------------------------------------------------------------------------------------
# Release in a temporary copy of the course directory
# ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    """A copy of exercises/ (config and sources only) in which all five assignments are released."""
    root = tmp_path_factory.mktemp("course")
    shutil.copy(mx.EXERCISES / "nbgrader_config.py", root)
    shutil.copytree(mx.SOURCE, root / "source")
    mx.release(list(ASSIGNMENTS), course_dir=root)
    return root


def test_release_generates_every_assignment(course):
    for a in ASSIGNMENTS:
        nb = nbformat.read(course / "release" / a / f"{a}.ipynb", as_version=4)
        stubs = [c for c, m in nbgrader_cells(nb) if m["grade_id"].startswith(("impl_", "prior_"))]
        assert stubs and all("raise NotImplementedError()" in c.source for c in stubs), a
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), a


def test_release_leaks_nothing(course):
    secrets = mx.secret_lines(course / "source", ROOT / "autograder")
    assert len(secrets) > 100      # solution bodies of ~30 functions and a model answer
    problems = [p for a in ASSIGNMENTS for p in mx.leak_report(course / "release" / a, secrets)]
    assert problems == []


def test_leak_check_finds_planted_leaks(course, tmp_path):
    """The scanner is not vacuous: solution lines, model answers and imports are caught."""
    secrets = mx.secret_lines(course / "source", ROOT / "autograder")
    release = tmp_path / "01_rnn"
    shutil.copytree(course / "release" / "01_rnn", release)
    path = release / "01_rnn.ipynb"
    nb = nbformat.read(path, as_version=4)
    solution_line = "next_h = np.tanh(x @ Wx + prev_h @ Wh + b)"
    assert solution_line in secrets
    nb.cells.append(nbformat.v4.new_code_cell(f"import solutions\n{solution_line}"))
    nbformat.write(nb, path)
    (release / "notes.txt").write_text("### BEGIN HIDDEN TESTS\n")
    problems = "\n".join(mx.leak_report(release, secrets))
    assert "instructor-only line" in problems and "import of solutions" in problems
    assert "hidden-test marker" in problems
    answer = next(c for c, m in nbgrader_cells(source_nb("02_bptt")) if m["grade_id"] == "answer_gradient_norms")
    assert any(line.strip() in secrets for line in answer.source.splitlines())


# ------------------------------------------------------------------------------------------
# Execution (the slow part: about a minute and a half in total)
# ------------------------------------------------------------------------------------------

@pytest.fixture
def kernel_env(monkeypatch):
    for key, value in mx.kernel_env().items():
        monkeypatch.setenv(key, value)


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_instructor_notebook_passes_its_visible_tests(assignment, kernel_env, tmp_path):
    from nbclient import NotebookClient

    nb = source_nb(assignment)
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    passed = [c for c, m in nbgrader_cells(nb) if m["grade_id"].startswith("test_")
              and any("all visible tests passed" in o.get("text", "") for o in c.outputs)]
    assert len(passed) == len(json.loads(mx.MANIFEST.read_text())[assignment]["functions"])


@pytest.mark.slow
def test_released_notebooks_run_and_score_zero(course):
    """Submit the release unchanged, autograde it with nbgrader: only NotImplementedError, 0 points."""
    from nbgrader.api import Gradebook

    manifest = json.loads(mx.MANIFEST.read_text())
    for a in ASSIGNMENTS:
        shutil.copytree(course / "release" / a, course / "submitted" / "student0" / a)
    res = mx.nbgrader("autograde", "*", "--student", "student0", course_dir=course)
    assert res.returncode == 0 and "ERROR" not in res.stderr, res.stdout + res.stderr
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for a in ASSIGNMENTS:
            sub = gb.find_submission(a, "student0")
            points = sum(manifest[a]["functions"].values()) + sum(manifest[a]["manual"].values())
            assert sub.max_score == points, a
            assert sub.score == 0, f"{a}: the unchanged release scored {sub.score}"
    for a in ASSIGNMENTS:
        nb = nbformat.read(course / "autograded" / "student0" / a / f"{a}.ipynb", as_version=4)
        errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
        assert errors, a
        assert {e.ename for e in errors} == {"NotImplementedError"}, (
            f"{a}: the release must stop only at the stubs, got " + "; ".join(f"{e.ename}: {e.evalue}" for e in errors))
        not_run = [k for k, c in enumerate(nb.cells) if c.cell_type == "code" and not c.execution_count]
        assert not_run == [], f"{a}: cells {not_run} did not run"
