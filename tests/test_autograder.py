"""The autograder's core: notebook extraction, hidden tests, partial credit, feedback, exports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from autograder import Limits, grade, report
from autograder.judge import get_assignment
from autograder.notebook import Cell, extract, load_program
from autograder.synth import MUTATIONS, student_notebook

REPO = Path(__file__).resolve().parent.parent
MANIFEST = json.loads((REPO / "exercises" / "manifest.json").read_text())
RNN = MANIFEST["01_rnn"]["functions"]
FAST = Limits(timeout_s=2.0, load_timeout_s=10.0)


def total(functions: dict) -> float:
    return float(sum(functions.values()))


@pytest.fixture(scope="module")
def correct_rnn(tmp_path_factory) -> Path:
    return student_notebook(tmp_path_factory.mktemp("nb") / "ok.ipynb", RNN)


# ----------------------------------------------------------------------------- extraction
def test_extract_last_definition_wins_and_follows_helpers():
    cells = [
        Cell(0, "code", "import numpy as np\nimport os\nSCALE = 2.0\n"),
        Cell(1, "code", "def helper(x):\n    return SCALE * x\n"),
        Cell(2, "code", "def f(x):\n    return 0\n"),
        Cell(3, "code", "%matplotlib inline\nprint('experiment')\nnp.allclose = None\n"),
        Cell(4, "code", "def f(x):\n    y = helper(x)\n    return np.asarray(y)\n"),
        Cell(5, "markdown", "def f(x): return 'markdown is not code'"),
    ]
    program = extract(cells, ["f"])
    code = "".join(src for _, src in program.chunks)
    assert program.found == {"f": "cell 4"} and program.missing == []
    assert "return 0" not in code                          # the earlier f is replaced
    assert "SCALE = 2.0" in code and "def helper" in code and "import numpy" in code
    assert "import os" not in code                         # unused import: not executed
    assert "print(" not in code and "np.allclose" not in code   # top-level statements never run


def test_extract_ignores_locals_of_graded_function():
    # A test cell assigns x and dx at top level: they must not be pulled in as "helpers".
    cells = [Cell(0, "code", "def f(x):\n    dx = x * 2\n    return dx\n"),
             Cell(1, "code", "x = undefined_name()\ndx = f(x)\n")]
    program = extract(cells, ["f"])
    assert len(program.chunks) == 1


def test_malformed_json_is_salvaged(tmp_path, correct_rnn):
    text = correct_rnn.read_text()
    broken = tmp_path / "broken.ipynb"
    broken.write_text(text[: int(len(text) * 0.97)])        # truncated: not valid JSON any more
    program = load_program(broken, list(RNN))
    assert any("not valid JSON" in n for n in program.notes)
    assert set(program.found) >= set(list(RNN)[:-1])


# ----------------------------------------------------------------------------- grading
def test_correct_submission_gets_full_marks(correct_rnn):
    r = grade(correct_rnn, "01_rnn", limits=FAST)
    json.dumps(r)                                           # JSON-serialisable
    assert r["score"] == r["max_score"] == total(RNN)
    for f, fr in r["functions"].items():
        assert fr["status"] == "passed" and fr["passed"] == fr["total"] > 0, f
        cases = {c["case"] for c in fr["checks"]}
        assert any("edge" in c for c in cases) and any("saturating" in c for c in cases)
        assert any("random" in c for c in cases)
        assert any(c["check"] == "inputs unchanged" for c in fr["checks"])


@pytest.mark.parametrize("assignment", ["02_bptt", "03_lstm", "04_gru", "05_attention"])
def test_other_assignments_full_marks_for_reference(tmp_path, assignment):
    fns = MANIFEST[assignment]["functions"]
    nb = student_notebook(tmp_path / f"{assignment}.ipynb", fns)
    r = grade(nb, assignment, limits=FAST)
    assert r["score"] == total(fns), {f: v["hints"] for f, v in r["functions"].items()}


def test_instructor_notebooks_get_full_marks():
    for a, entry in MANIFEST.items():
        nb = REPO / "exercises" / "source" / a / entry["notebook"]
        if not nb.exists():
            pytest.skip(f"{nb} not generated")
        r = grade(nb, a, limits=FAST)
        assert r["score"] == r["max_score"], (a, {f: v["hints"] for f, v in
                                                  r["functions"].items() if v["hints"]})


@pytest.mark.parametrize("mutation,function,hint", [
    ("rnn_step_no_tanh", "rnn_step_backward", "(1 - h^2)"),
    ("rnn_step_dWh_T", "rnn_step_backward", "dWh: shape (H, H) ok, values off by a transpose"),
    ("rnn_no_accumulate", "rnn_backward", "the gradient from later steps is not added"),
    ("softmax_no_mask", "temporal_softmax_loss", "mask is ignored"),
    ("embedding_overwrite", "word_embedding_backward", "np.add.at"),
    ("affine_db_sign", "temporal_affine_backward", "db: sign error"),
])
def test_wrong_variant_partial_credit_and_diagnosis(tmp_path, mutation, function, hint):
    nb = student_notebook(tmp_path / f"{mutation}.ipynb", RNN, mutations=[mutation])
    r = grade(nb, "01_rnn", limits=FAST)
    fr = r["functions"][function]
    assert 0 <= fr["score"] < fr["max_score"]
    # Partial credit: exactly the share of checks passed.
    assert fr["score"] == pytest.approx(fr["max_score"] * fr["passed"] / fr["total"], abs=1e-4)
    assert any(hint in h for h in fr["hints"]), fr["hints"]
    # Only the mutated function loses points (rnn_forward/backward do not call the step).
    for f, other in r["functions"].items():
        if f != function:
            assert other["score"] == other["max_score"], (f, other["hints"])
    assert MUTATIONS[mutation][0] == function


def test_partial_credit_keeps_other_gradients(tmp_path):
    """One wrong gradient (dWh transposed) must not erase dx, dprev_h, dWx, db."""
    nb = student_notebook(tmp_path / "t.ipynb", RNN, mutations=["rnn_step_dWh_T"])
    fr = grade(nb, "01_rnn", limits=FAST)["functions"]["rnn_step_backward"]
    by_check = {}
    for c in fr["checks"]:
        by_check.setdefault(c["check"], []).append(c["passed"])
    assert all(by_check["dx"]) and all(by_check["dWx"]) and all(by_check["db"])
    assert not all(by_check["dWh"])


def test_feedback_never_leaks_hidden_values(tmp_path):
    nb = student_notebook(tmp_path / "w.ipynb", RNN, mutations=["rnn_step_no_tanh"])
    r = grade(nb, "01_rnn", limits=FAST)
    fb = report.feedback_json(r, "alice")
    text = json.dumps(fb) + report.feedback_html(fb) + json.dumps(report.gradescope_results(r))
    # No hidden input or expected value: compare with every float the hidden case holds.
    a = get_assignment("01_rnn")
    for prep in a.prepared["rnn_step_backward"]:
        for arr in list(prep.expected.values()) + [x for x in prep.args
                                                    if isinstance(x, np.ndarray)]:
            for v in np.asarray(arr, dtype=float).ravel()[:5]:
                assert f"{v:.4f}" not in text
    assert "SEED" not in text and "def " not in text and "standard_normal" not in text
    assert "visible" in fb["functions"]["rnn_step_backward"]["visible_tests"].lower() or \
        "test_rnn_step_backward" in fb["functions"]["rnn_step_backward"]["visible_tests"]
    assert "reference" in fb["functions"]["rnn_step_backward"]["hidden_tests"]


def test_gradescope_results_format(correct_rnn):
    r = grade(correct_rnn, "01_rnn", limits=FAST)
    gs = report.gradescope_results(r)
    assert gs["score"] == total(RNN)
    assert len(gs["tests"]) == len(RNN)
    for t in gs["tests"]:
        assert set(t) >= {"score", "max_score", "status", "name", "output", "visibility"}
        assert t["status"] in {"passed", "failed"} and t["visibility"] == "visible"


def test_cli_grade_prints_json(correct_rnn, tmp_path):
    out = subprocess.run([sys.executable, "-m", "autograder", "grade", str(correct_rnn),
                          "--assignment", "01_rnn", "--feedback", str(tmp_path / "fb")],
                         capture_output=True, text=True, cwd=REPO, timeout=120)
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout)
    assert r["score"] == total(RNN)
    assert (tmp_path / "fb" / "feedback" / "ok" / "feedback.html").exists()
    assert json.loads((tmp_path / "fb" / "gradescope" / "ok" / "results.json").read_text())[
        "score"] == total(RNN)


def test_protections_are_reported(correct_rnn):
    r = grade(correct_rnn, "01_rnn", limits=FAST)
    prot = r["protections"]
    assert any("RLIMIT_AS" in p for p in prot["applied"])
    assert any("timeout" in p for p in prot["applied"])
    import os

    if os.geteuid() == 0:
        assert any("network namespace" in p for p in prot["applied"])
        assert prot["not_applied"] == []
    else:
        assert prot["not_applied"]


def test_every_manifest_function_has_hidden_cases():
    for a, entry in MANIFEST.items():
        assignment = get_assignment(a)
        assert set(assignment.points) == set(entry["functions"])
        for f in entry["functions"]:
            labels = [p.case.label for p in assignment.prepared[f]]
            assert len(labels) >= 4, (a, f, labels)
            assert any("fixed" in x for x in labels) and any("random" in x for x in labels)
            assert any("saturating" in x for x in labels), (a, f, labels)
            for p in assignment.prepared[f]:
                assert p.expected and all(np.all(np.isfinite(np.asarray(v, dtype=float)))
                                          for v in p.expected.values()), (a, f, p.case.label)


@pytest.mark.parametrize("assignment,mutation,function,hint", [
    ("03_lstm", "lstm_gate_order", "lstm_step_forward", "gate blocks in the wrong order"),
    ("03_lstm", "lstm_gate_order", "lstm_forward", "gate blocks in the wrong order"),
    ("04_gru", "gru_swap_rz", "gru_step_forward", "r and z blocks are swapped"),
    ("04_gru", "gru_swap_rz", "gru_forward", "r and z blocks are swapped"),
])
def test_gate_order_mistakes_are_named(tmp_path, assignment, mutation, function, hint):
    fns = MANIFEST[assignment]["functions"]
    nb = student_notebook(tmp_path / f"{mutation}.ipynb", fns, mutations=[mutation])
    fr = grade(nb, assignment, limits=FAST)["functions"][function]
    assert fr["score"] < fr["max_score"]
    assert any(hint in h for h in fr["hints"]), fr["hints"]


def test_functions_outside_the_manifest_are_ready(tmp_path):
    """Hidden tests also exist for reference functions no assignment grades yet."""
    for a, fns in [("02_bptt", {"softmax_with_temperature": 1, "sample_with_temperature": 1}),
                   ("04_gru", {"gru_step_forward_cho": 2})]:
        manifest = tmp_path / f"{a}.json"
        manifest.write_text(json.dumps({a: {"notebook": "x.ipynb", "functions": fns}}))
        nb = student_notebook(tmp_path / f"{a}.ipynb", fns)
        r = grade(nb, a, manifest=manifest, limits=FAST)
        assert r["score"] == total(fns), {f: v["hints"] for f, v in r["functions"].items()}


def test_gradescope_command_writes_results_json(tmp_path):
    submission = tmp_path / "submission"
    student_notebook(submission / "my_work.ipynb", RNN, mutations=["rnn_step_no_tanh"])
    results = tmp_path / "results" / "results.json"
    from autograder.__main__ import main

    assert main(["gradescope", "--assignment", "01_rnn", "--submission", str(submission),
                 "--results", str(results), "--timeout", "2"]) == 0
    data = json.loads(results.read_text())
    assert 0 < data["score"] < total(RNN)
    by_name = {t["name"]: t for t in data["tests"]}
    assert by_name["rnn_step_backward"]["status"] == "failed"
    assert "(1 - h^2)" in by_name["rnn_step_backward"]["output"]
    assert by_name["rnn_forward"]["score"] == by_name["rnn_forward"]["max_score"]


def test_worker_cwd_is_a_scratch_copy_of_the_submission_folder(tmp_path):
    """A file beside the notebook is readable (from the worker's own copy); the original is not touched."""
    folder = tmp_path / "student" / "01_rnn"
    folder.mkdir(parents=True)
    (folder / "scale.txt").write_text("1.0\n")
    (folder / "data").mkdir()
    (folder / "data" / "offset.txt").write_text("0.0\n")
    reads_files = (
        "def word_embedding_forward(x, W):\n"
        "    scale = float(open('scale.txt').read()) + float(open('data/offset.txt').read())\n"
        "    open('notes.txt', 'w').write('999')  # writes land in the scratch copy only\n"
        "    return W[x] * scale, (x, W.shape)\n")
    nb = student_notebook(folder / "01_rnn.ipynb", RNN, overrides={"word_embedding_forward": reads_files})
    r = grade(nb, "01_rnn", limits=FAST)
    assert r["functions"]["word_embedding_forward"]["status"] == "passed", r["functions"]["word_embedding_forward"]
    assert not (folder / "notes.txt").exists()

    (folder / "scale.txt").unlink()  # without the file, the same code cannot pass
    r = grade(nb, "01_rnn", limits=FAST)
    assert r["functions"]["word_embedding_forward"]["score"] == 0
