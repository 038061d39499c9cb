"""Extraction that matches what Python would do with the notebook (autograder/notebook.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import solutions
from autograder import Limits, grade
from autograder.notebook import Cell, extract
from autograder.synth import clean_source, student_notebook

REPO = Path(__file__).resolve().parent.parent
RNN = json.loads((REPO / "exercises" / "manifest.json").read_text())["01_rnn"]["functions"]
FAST = Limits(timeout_s=3.0, load_timeout_s=10.0)
SYNTAX_CASE = Path("/work/shared/cases/syntax-error-missing/student/01_rnn.ipynb")

STEP_WITH_DEFAULT = '''
def rnn_step_forward(x, prev_h, Wx, Wh, b, activation=np.tanh):
    next_h = activation(x @ Wx + prev_h @ Wh + b)
    return next_h, (x, prev_h, Wx, Wh, next_h)
'''


def _grade_with(tmp_path, overrides, drop=(), extra=()):
    nb = student_notebook(tmp_path / "nb.ipynb", RNN, overrides=overrides, drop=list(drop),
                          extra_cells=list(extra))
    return grade(nb, "01_rnn", limits=FAST)


def _code(program) -> str:
    return "".join(src for _, src in program.chunks)


def test_default_argument_decorator_and_base_class_names_are_replayed():
    cells = [Cell(0, "code", "import numpy as np\nimport functools as ft\nimport os\n"),
             Cell(1, "code", "def logged(fn):\n    return ft.wraps(fn)(lambda *a: fn(*a))\n"),
             Cell(2, "code", "class Base(dict):\n    pass\n"),
             Cell(3, "code", "@logged\ndef f(x, act=np.tanh):\n    return act(x)\n"
                             "class G(Base):\n    pass\n")]
    program = extract(cells, ["f", "G"])
    code = _code(program)
    assert "import numpy as np" in code and "import functools as ft" in code
    assert "def logged" in code and "class Base" in code and "import os" not in code
    ns: dict = {}
    for label, chunk in program.chunks:
        exec(compile(chunk, label, "exec"), ns)
    assert float(ns["f"](0.5)) == pytest.approx(0.46211715726)


def test_default_argument_notebook_gets_full_marks(tmp_path):
    r = _grade_with(tmp_path, {"rnn_step_forward": STEP_WITH_DEFAULT})
    assert r["functions"]["rnn_step_forward"]["score"] == RNN["rnn_step_forward"], \
        r["functions"]["rnn_step_forward"]["hints"]


@pytest.mark.parametrize("wrapper", [
    "if True:\n{body}",
    "try:\n{body}except ImportError:\n    pass\n",
    "import contextlib\nwith contextlib.suppress(Exception):\n{body}",
    "if False:\n    pass\nelse:\n{body}",
])
def test_definitions_nested_under_if_try_with_are_found(tmp_path, wrapper):
    src = clean_source(solutions.rnn_forward)
    body = "".join("    " + ln + "\n" for ln in src.splitlines())
    r = _grade_with(tmp_path, {"rnn_forward": wrapper.format(body=body)})
    fr = r["functions"]["rnn_forward"]
    assert fr["status"] != "missing" and fr["score"] == RNN["rnn_forward"], fr["hints"]


@pytest.mark.parametrize("cell_type,fenced", [("markdown", False), ("markdown", True), ("raw", False)])
def test_definition_in_a_text_cell_is_graded_with_a_note_naming_the_cell(tmp_path, cell_type, fenced):
    nb = student_notebook(tmp_path / "nb.ipynb", RNN)
    data = json.loads(nb.read_text())
    idx = next(i for i, c in enumerate(data["cells"]) if c.get("id") == "impl-rnn_forward")
    cell = data["cells"][idx]
    cell["cell_type"] = cell_type
    if fenced:
        cell["source"] = "My answer:\n\n```python\n" + cell["source"] + "\n```\n"
    cell.pop("outputs", None)
    cell.pop("execution_count", None)
    nb.write_text(json.dumps(data))
    r = grade(nb, "01_rnn", limits=FAST)
    assert r["functions"]["rnn_forward"]["score"] == RNN["rnn_forward"]
    kind = {"markdown": "Markdown", "raw": "Raw"}[cell_type]
    assert any(f"rnn_forward was found in a {kind} cell (cell {idx})" in n for n in r["notes"]), r["notes"]


def test_syntax_error_is_reported_on_the_function_it_hides(tmp_path):
    bad = ("def rnn_forward(x, h0, Wx, Wh, b):\n    N, T, D = x.shape\n"
           "    print \"debug\", x.shape\n    return None\n")
    r = _grade_with(tmp_path, {"rnn_forward": bad})
    fr = r["functions"]["rnn_forward"]
    assert fr["score"] == 0
    (hint,) = fr["hints"]
    assert hint.startswith("rnn_forward is defined in cell ")
    assert "but that cell has a syntax error at line 3: Missing parentheses in call to 'print'" in hint
    assert any("has a syntax error at line 3" in n for n in r["notes"])
    # Graded alone, the backward pass does not pay for the broken forward.
    assert r["functions"]["rnn_backward"]["score"] == RNN["rnn_backward"]


def test_a_broken_cell_after_a_valid_definition_leaves_the_valid_one():
    good = clean_source(solutions.rnn_forward)
    cells = [Cell(0, "code", "import numpy as np\n"), Cell(1, "code", good),
             Cell(2, "code", good.replace("for t in range(T):", "for t in range(T)"))]
    program = extract(cells, ["rnn_forward"])
    assert program.found == {"rnn_forward": "cell 1"} and not program.problems
    assert any("cell 2 has a syntax error" in n for n in program.notes)


@pytest.mark.skipif(not SYNTAX_CASE.exists(), reason="shared case not available")
def test_shared_syntax_error_case():
    r = grade(SYNTAX_CASE, "01_rnn", limits=FAST)
    fwd = r["functions"]["rnn_forward"]
    assert fwd["score"] == 0
    assert fwd["hints"] == ["rnn_forward is defined in cell 1, but that cell has a syntax error at "
                            "line 3: Missing parentheses in call to 'print'. Did you mean print(...)?"]
    assert any(n.startswith("cell 1 has a syntax error at line 3") for n in r["notes"]), r["notes"]
    assert r["functions"]["rnn_backward"]["score"] == r["functions"]["rnn_backward"]["max_score"]
