"""Batch workflow outputs: notebook choice, manual review of damaged notebooks, file modes,
regrade digest, feedback pages through nbgrader's exchange, the score table, the Gradescope
bundle run end to end in a scratch root, and the late policy against stock nbgrader."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook
from test_workflow_cases import course_copy  # the same course copy as the shared cases

from autograder import Limits, batch, feedback, report
from autograder.submission import choose_notebook, review_reasons
from autograder.synth import student_notebook

REPO = Path(__file__).resolve().parent.parent
SOURCE_NB = REPO / "exercises" / "source" / "01_rnn" / "01_rnn.ipynb"
MANIFEST = json.loads((REPO / "exercises" / "manifest.json").read_text())
RNN = MANIFEST["01_rnn"]["functions"]
FULL = float(sum(RNN.values()))
LIMITS = Limits(timeout_s=60.0, load_timeout_s=120.0)
ENV = dict(os.environ, PYTHONPATH=str(REPO),
           PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
GOOD = ("def rnn_step_forward(x, prev_h, Wx, Wh, b):\n"
        "    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)\n"
        "    return next_h, (x, prev_h, Wx, Wh, next_h)\n")
STUB = "def rnn_step_forward(x, prev_h, Wx, Wh, b):\n    raise NotImplementedError()\n"


def notebook(path: Path, *cells: str) -> Path:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


# ----------------------------------------------------------------------------- choosing
def test_choose_notebook_rules(tmp_path):
    fns = ["rnn_step_forward", "rnn_step_backward"]
    # 1. the expected name wins, checkpoints and hidden folders are never candidates
    a = tmp_path / "a"
    notebook(a / "01_rnn.ipynb", STUB)
    notebook(a / "01_rnn_v2.ipynb", GOOD)
    notebook(a / ".ipynb_checkpoints" / "01_rnn-checkpoint.ipynb", GOOD)
    notebook(a / ".hidden" / "x.ipynb", GOOD)
    c = choose_notebook(a, "01_rnn.ipynb", fns)
    assert c.notebook == a / "01_rnn.ipynb"
    assert {p.name for p in c.ignored} == {"01_rnn_v2.ipynb", "01_rnn-checkpoint.ipynb", "x.ipynb"}
    assert any("01_rnn_v2.ipynb" in n for n in c.notes)
    # 2. only a checkpoint: nothing to grade, and the note says so
    b = tmp_path / "b"
    notebook(b / ".ipynb_checkpoints" / "01_rnn-checkpoint.ipynb", GOOD)
    c = choose_notebook(b, "01_rnn.ipynb", fns)
    assert c.notebook is None and any("checkpoint" in n for n in c.notes)
    # 3. the closest names before unrelated ones; among them the one defining the most functions
    d = tmp_path / "d"
    notebook(d / "01_rnn copy.ipynb", GOOD)
    notebook(d / "01_rnn (1).ipynb", STUB)
    notebook(d / "scratch.ipynb", GOOD + "\ndef rnn_step_backward(dnext_h, cache):\n    return 1\n")
    c = choose_notebook(d, "01_rnn.ipynb", fns)
    assert c.notebook.name == "01_rnn copy.ipynb"
    assert "01_rnn (1).ipynb" in c.notes[-1] and "scratch.ipynb" in c.notes[-1]
    # 4. no close name: every notebook is a candidate, most graded functions wins
    e = tmp_path / "e"
    notebook(e / "homework.ipynb", STUB)
    notebook(e / "mine.ipynb", GOOD)
    assert choose_notebook(e, "01_rnn.ipynb", fns).notebook.name == "mine.ipynb"


# ----------------------------------------------------------------------------- manual review
def test_a_function_hidden_by_a_syntax_error_flags_the_submission(tmp_path):
    """A graded function lost to a syntax error (shared case syntax-error-missing) scores 0, and
    the submission is flagged so that a person looks at the cell before the grade goes out."""
    course = course_copy(tmp_path / "c")
    sub = course / "submitted" / "py2" / "01_rnn" / "01_rnn.ipynb"
    sub.parent.mkdir(parents=True)
    shutil.copy(REPO / "tests" / "cases" / "syntax-error-missing" / "01_rnn.ipynb", sub)
    summary = batch.run_batch(course, "01_rnn", workers=1, progress=False, limits=LIMITS)
    assert summary["needs_manual_review"] == ["py2"]
    entry = json.loads((course / "hidden_grades" / "01_rnn" / "journal" / "py2.json").read_text())
    assert any("syntax error hides rnn_forward" in r for r in entry["review_reasons"])
    assert entry["result"]["functions"]["rnn_forward"]["score"] == 0.0


def test_truncated_notebook_is_flagged_for_manual_review(tmp_path):
    course = course_copy(tmp_path / "c")
    ok = student_notebook(course / "submitted" / "ok" / "01_rnn" / "01_rnn.ipynb", RNN)
    half = course / "submitted" / "half" / "01_rnn" / "01_rnn.ipynb"
    half.parent.mkdir(parents=True)
    raw = ok.read_bytes()
    half.write_bytes(raw[: len(raw) // 2])
    assert review_reasons(half) and not review_reasons(ok)
    summary = batch.run_batch(course, "01_rnn", workers=1, progress=False, limits=LIMITS)
    assert summary["needs_manual_review"] == ["half"]
    assert 0 < summary["scores"]["half"] < FULL                  # graded from what was salvaged
    entry = json.loads((course / "hidden_grades" / "01_rnn" / "journal" / "half.json").read_text())
    assert entry["needs_manual_review"] is True
    assert any("not valid JSON" in r for r in entry["review_reasons"])
    assert any("manual review" in n for n in entry["result"]["notes"])
    # formgrader's copy is a valid notebook a TA (and nbgrader generate_feedback) can open
    import nbformat

    copy = nbformat.read(course / "autograded" / "half" / "01_rnn" / "01_rnn.ipynb", as_version=4)
    assert "Reconstructed by the autograder" in copy.cells[0].source
    assert any("def rnn_step_forward" in c.source for c in copy.cells if c.cell_type == "code")
    with Gradebook(summary["db_url"]) as gb:
        assert gb.find_submission("01_rnn", "half").needs_manual_grade
        # "ok" may still wait for its hand-graded answers in formgrader; none of its autograded
        # (hidden-test) cells is flagged
        ok = gb.find_submission_notebook("01_rnn", "01_rnn", "ok")
        assert not [g.name for g in ok.grades if g.name.startswith("test_") and g.needs_manual_grade]
        g = gb.find_grade("test_rnn_step_forward", "01_rnn", "01_rnn", "half")
        assert g.needs_manual_grade and g.auto_score is not None
    rows = {r["student"]: r for r in csv.DictReader(open(Path(summary["out_dir"]) / "grades.csv"))}
    assert rows["half"]["needs_manual_review"] == "1" and rows["ok"]["needs_manual_review"] == "0"
    # a TA's manual score in formgrader is kept, and the cell stays reviewed on the next run
    with Gradebook(summary["db_url"]) as gb:
        g = gb.find_grade("test_rnn_step_forward", "01_rnn", "01_rnn", "half")
        g.manual_score, g.needs_manual_grade = RNN["rnn_step_forward"], False
        gb.db.commit()
    again = batch.run_batch(course, "01_rnn", workers=1, progress=False, limits=LIMITS)
    assert again["graded_now"] == 0
    with Gradebook(summary["db_url"]) as gb:
        g = gb.find_grade("test_rnn_step_forward", "01_rnn", "01_rnn", "half")
        assert not g.needs_manual_grade and g.score == RNN["rnn_step_forward"]


# ----------------------------------------------------------------------------- files
def test_outputs_group_readable_and_utf8(tmp_path, monkeypatch):
    monkeypatch.delenv("AUTOGRADER_FILE_MODE", raising=False)
    report.atomic_write(tmp_path / "x" / "a.txt", "h\u2080 \u2192 \u2264")
    f = tmp_path / "x" / "a.txt"
    assert stat.S_IMODE(f.stat().st_mode) == 0o640
    assert f.read_bytes() == "h\u2080 \u2192 \u2264".encode("utf-8")
    monkeypatch.setenv("AUTOGRADER_FILE_MODE", "0600")
    report.atomic_write(f, "x")
    assert stat.S_IMODE(f.stat().st_mode) == 0o600
    monkeypatch.setenv("AUTOGRADER_FILE_MODE", "rw-r")
    with pytest.raises(ValueError, match="AUTOGRADER_FILE_MODE"):
        report.atomic_write(f, "x")
    assert sorted(p.name for p in (tmp_path / "x").iterdir()) == ["a.txt"]     # no temp left


def test_batch_outputs_mode_0640(tmp_path, monkeypatch):
    monkeypatch.delenv("AUTOGRADER_FILE_MODE", raising=False)
    course = course_copy(tmp_path / "c")
    notebook(course / "submitted" / "s" / "01_rnn" / "01_rnn.ipynb", "import numpy as np\n", GOOD)
    summary = batch.run_batch(course, "01_rnn", workers=1, progress=False, limits=LIMITS)
    out = Path(summary["out_dir"])
    for f in [out / "grades.csv", out / "journal" / "s.json", out / "feedback" / "s" / "feedback.html",
              out / "gradescope" / "s" / "results.json"]:
        assert stat.S_IMODE(f.stat().st_mode) == 0o640, f


# ----------------------------------------------------------------------------- regrade digest
def test_digest_covers_limits_references_grader_and_folder(tmp_path, monkeypatch):
    a = batch.current_assignment("01_rnn", None)
    base = batch.assignment_digest(a, Limits())
    assert batch.assignment_digest(a, Limits()) == base
    assert batch.assignment_digest(a, Limits(timeout_s=11)) != base
    # references: a copy with one byte changed
    refs = tmp_path / "solutions"
    shutil.copytree(batch._references_dir(), refs)
    monkeypatch.setattr(batch, "_references_dir", lambda: refs)
    assert batch.assignment_digest(a, Limits()) == base
    (refs / "rnn.py").write_text((refs / "rnn.py").read_text() + "\n# changed\n")
    assert batch.assignment_digest(a, Limits()) != base
    monkeypatch.undo()
    # the grader's version
    batch.grader_version.cache_clear()
    monkeypatch.setattr(batch, "grader_version", lambda: "another version")
    assert batch.assignment_digest(a, Limits()) != base
    monkeypatch.undo()
    # the submission folder: notebook bytes and the other files the sandbox copies
    folder = tmp_path / "sub"
    nb = notebook(folder / "01_rnn.ipynb", GOOD)
    ch = choose_notebook(folder, "01_rnn.ipynb", list(a.points))
    d0 = batch.submission_digest(base, ch, Limits())
    (folder / "data.txt").write_text("1 2 3")
    d1 = batch.submission_digest(base, ch, Limits())
    (folder / "timestamp.txt").write_text("2026-01-09 10:00:00 UTC")
    d2 = batch.submission_digest(base, ch, Limits())
    nb.write_text(nb.read_text().replace("np.tanh", "np.tanh "))
    d3 = batch.submission_digest(base, ch, Limits())
    assert len({d0, d1, d2, d3}) == 4


# ----------------------------------------------------------------------------- feedback
def test_math_text_and_autoescape():
    assert feedback.math_text(r"use $1 - h^2$ and $h_t = \tanh(W_x x_t)$") == \
        "use 1 - h² and hₜ = tanh(Wₓ xₜ)"
    assert feedback.math_text(r"$\frac{\partial L}{\partial h}$") == "(∂ L)/(∂ h)"
    assert feedback.math_text("no maths: a_b ^ c") == "no maths: a_b ^ c"
    fb = {"student": "<b>eve</b>", "assignment": "01_rnn", "score": 1.0, "max_score": 2.0,
          "graded_file": "x.ipynb", "ignored_files": [], "needs_manual_review": False,
          "about": "about", "notes": ["<script>alert(1)</script>"],
          "functions": {"f": {"score": 1.0, "max_score": 2.0, "status": "partial",
                              "checks_passed": 1, "checks_total": 2,
                              "hints": ["raised an error: ValueError: <img src=x onerror=alert(1)>"],
                              "visible_tests": "v", "hidden_tests": "h"}}}
    page = feedback.render_html(fb)
    late = feedback.render_html(fb, {"timestamp": "2026-01-09 10:00:00", "due": "2026-01-02 00:00:00",
                                     "penalty": 1.0, "method": "LateSubmissionPlugin(penalty_method='zero')"})
    late = " ".join(late.split())
    assert "01_rnn: 1 / 2" in page and "01_rnn: 0 / 2" in late and "minus a late penalty of 1." in late
    assert "<script>" not in page and "<img" not in page and "&lt;script&gt;" in page
    assert "&lt;b&gt;eve&lt;/b&gt;" in page


def test_feedback_lands_where_release_feedback_delivers_it(tmp_path):
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    exchange.chmod(0o777)                  # nbgrader's exchange root: writable by everyone
    course = course_copy(tmp_path / "c", f"c.Exchange.root = {str(exchange)!r}\n"
                                         "c.Exchange.path_includes_course = False")
    good = course / "submitted" / "alice" / "01_rnn"
    notebook(good / "My 01_rnn.ipynb", "import numpy as np\n", GOOD)
    notebook(course / "submitted" / "bob" / "01_rnn" / "01_rnn.ipynb", "import numpy as np\n", STUB)
    (good / "timestamp.txt").write_text("2026-01-01 10:00:00.000000 UTC")
    (good / "submission_secret.txt").write_text("s3cr3t")
    summary = batch.run_batch(course, "01_rnn", workers=1, progress=False, limits=LIMITS)
    out = subprocess.run([sys.executable, "-m", "autograder", "feedback", "--course", str(course),
                          "--assignment", "01_rnn"], cwd=REPO, env=ENV, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "bob: no timestamp.txt or submission_secret.txt" in out.stderr      # not via the exchange
    fdir = course / "feedback" / "alice" / "01_rnn"
    page = (fdir / "My 01_rnn.html").read_text(encoding="utf-8")
    assert (fdir / "timestamp.txt").read_text() == "2026-01-01 10:00:00.000000 UTC"
    assert (fdir / "submission_secret.txt").read_text() == "s3cr3t"
    # self-contained: no network resource of any kind
    assert not re.search(r"(src|href)\s*=\s*['\"]?(https?:)?//", page) and "<script" not in page
    assert "rnn_step_forward" in page and f"{summary['scores']['alice']:g} / {FULL:g}" in page
    assert "test_rnn_step_forward" in page                      # the gradebook's cells
    assert stat.S_IMODE((fdir / "My 01_rnn.html").stat().st_mode) == 0o640
    # nbgrader's own release_feedback picks it up and names it by the submission's hash
    shutil.rmtree(course / "feedback" / "bob")              # release_feedback needs its files
    rel = subprocess.run([sys.executable, "-m", "nbgrader", "release_feedback", "01_rnn"],
                         cwd=course, env=ENV, capture_output=True, text=True, timeout=180)
    assert rel.returncode == 0, rel.stdout + rel.stderr
    from nbgrader.utils import notebook_hash

    released = list(exchange.rglob("*.html"))
    assert [p.name for p in released] == [f"{notebook_hash(secret='s3cr3t', notebook_id='My 01_rnn')}.html"]
    assert released[0].read_text(encoding="utf-8") == page


# ----------------------------------------------------------------------------- score table
def test_batch_cli_prints_score_table_then_json(tmp_path):
    course = course_copy(tmp_path / "c")
    notebook(course / "submitted" / "s1" / "01_rnn" / "01_rnn.ipynb", "import numpy as np\n", GOOD)
    notebook(course / "submitted" / "s2" / "01_rnn" / "01_rnn.ipynb", "import numpy as np\n", STUB)
    out = subprocess.run([sys.executable, "-m", "autograder", "batch", "--course", str(course),
                          "--assignment", "01_rnn", "--workers", "1", "--json", "--timeout", "60"],
                         cwd=REPO, env=ENV, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    header = lines[0].split()
    assert header[:3] == ["student", "total", "rnn_step_forward"] and header[-2:] == ["late", "review"]
    rows = {ln.split()[0]: ln.split() for ln in lines[2:4]}
    assert rows["s1"][1] == f"2/{FULL:g}" and rows["s1"][2] == "2"
    assert rows["s2"][1] == f"0/{FULL:g}" and rows["s2"][2] == "0"
    summary = json.loads(out.stdout[out.stdout.index("{"):])
    assert summary["submissions"] == 2 and summary["graded_now"] == 2


# ----------------------------------------------------------------------------- Gradescope
def test_gradescope_bundle_runs_in_scratch_root(tmp_path):
    zpath = tmp_path / "autograder.zip"
    out = subprocess.run([sys.executable, "-m", "autograder", "gradescope-bundle", "--assignment",
                          "01_rnn", "--visibility", "after_due_date", "--execution-time", "300",
                          "--out", str(zpath), "--timeout", "60"],
                         cwd=REPO, env=ENV, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    names = zipfile.ZipFile(zpath).namelist()
    assert {"setup.sh", "run_autograder", "requirements.txt", "exercises/manifest.json",
            "autograder/hidden/01_rnn.py", "solutions/rnn.py", "autograder/judge.py"} <= set(names)
    assert not [n for n in names if n.startswith("autograder/hidden/0") and n != "autograder/hidden/01_rnn.py"]
    assert not [n for n in names if n.endswith(".ipynb") or n.startswith(("book/", "exercises/source"))]
    assert not {"autograder/batch.py", "autograder/gradebook.py", "autograder/class_report.py",
                "autograder/similarity.py", "autograder/synth_class.py"} & set(names)
    reqs = zipfile.ZipFile(zpath).read("requirements.txt").decode().split()
    assert reqs and all(re.fullmatch(r"[A-Za-z0-9_.\-]+==[\w.]+", r) for r in reqs)
    assert [r.split("==")[0] for r in reqs] == ["numpy"]      # only what grading imports
    assert json.loads(zipfile.ZipFile(zpath).read("exercises/manifest.json")) == {"01_rnn": MANIFEST["01_rnn"]}

    # Gradescope's layout, rebased: ROOT/source (the zip), ROOT/submission, ROOT/results
    root = tmp_path / "root"
    with zipfile.ZipFile(zpath) as z:
        z.extractall(root / "source")
    run = root / "source" / "run_autograder"
    run.chmod(0o755)
    sub = root / "submission"
    student_notebook(sub / "homework.ipynb", RNN, mutations=["rnn_step_no_tanh"])
    notebook(sub / ".ipynb_checkpoints" / "homework-checkpoint.ipynb", STUB)
    env = {k: v for k, v in ENV.items() if k != "PYTHONPATH"}
    env.update(AUTOGRADER_ROOT=str(root), AUTOGRADER_PYTHON=sys.executable)
    res = subprocess.run(["bash", str(run)], cwd=root, env=env, capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    r = json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))
    # Gradescope's documented keys and types
    assert isinstance(r["score"], float) and isinstance(r["execution_time"], float)
    assert isinstance(r["output"], str) and r["visibility"] == "after_due_date"
    assert r["stdout_visibility"] in ("hidden", "visible", "after_due_date", "after_published")
    assert len(r["tests"]) == len(RNN)
    for k, t in enumerate(r["tests"], start=1):
        assert set(t) == {"score", "max_score", "name", "number", "output", "status", "visibility"}
        assert isinstance(t["score"], float) and isinstance(t["max_score"], float)
        assert t["number"] == str(k) and t["status"] in ("passed", "failed")
        assert t["visibility"] == "after_due_date" and isinstance(t["output"], str)
    by = {t["name"]: t for t in r["tests"]}
    assert by["rnn_step_backward"]["score"] < RNN["rnn_step_backward"]
    assert by["rnn_step_forward"]["score"] == RNN["rnn_step_forward"]
    assert r["score"] == pytest.approx(sum(t["score"] for t in r["tests"]))
    assert "homework.ipynb" in r["output"] and "homework-checkpoint.ipynb" in r["output"]
    # the graded code came from the bundle, not from this checkout
    assert "solutions" not in res.stderr


def test_gradescope_execution_time_budget(tmp_path):
    """Past --execution-time the results say so (score 0, the reason) instead of hanging."""
    sub = tmp_path / "submission"
    student_notebook(sub / "01_rnn.ipynb", RNN, overrides={
        "rnn_step_forward": "def rnn_step_forward(x, prev_h, Wx, Wh, b):\n    while True:\n        pass\n"})
    results = tmp_path / "results.json"
    out = subprocess.run([sys.executable, "-m", "autograder", "gradescope", "--assignment", "01_rnn",
                          "--submission", str(sub), "--results", str(results), "--execution-time", "2",
                          "--visibility", "hidden"],
                         cwd=REPO, env=ENV, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    r = json.loads(results.read_text())
    assert r["score"] == 0.0 and r["tests"] == [] and r["visibility"] == "hidden"
    assert "time budget of 2 s" in r["output"] and 2.0 <= r["execution_time"] < 30


# ----------------------------------------------------------------------------- stock nbgrader
@pytest.mark.slow
def test_late_policy_matches_stock_nbgrader_autograde(tmp_path):
    """The same late submission through stock `nbgrader autograde` and through the batch:
    identical `nbgrader export` rows."""
    base = course_copy(tmp_path / "base", 'c.LateSubmissionPlugin.penalty_method = "zero"')
    sub = base / "submitted" / "late" / "01_rnn"
    sub.mkdir(parents=True)
    shutil.copy(SOURCE_NB, sub / "01_rnn.ipynb")
    (sub / "timestamp.txt").write_text("2026-01-09 10:00:00 UTC")

    def nbgrader(course: Path, *args: str) -> None:
        p = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=ENV,
                           capture_output=True, text=True, timeout=600)
        assert p.returncode == 0, (args, p.stdout[-2000:], p.stderr[-2000:])

    # the gradebook's cells as generate_assignment records them (checksums of the released
    # cells), written by the batch's own ensure_assignment: stock autograde must accept them
    from autograder import gradebook as ag_gradebook
    from autograder.late import load_policy

    ag_gradebook.ensure_assignment(ag_gradebook.default_db_url(base), "01_rnn",
                                   base / "source" / "01_rnn" / "01_rnn.ipynb",
                                   load_policy(base).app.config)
    nbgrader(base, "db", "assignment", "add", "01_rnn", "--duedate=2026-01-02 00:00:00 UTC")
    rows = {}
    for kind in ("stock", "ours"):
        course = tmp_path / kind
        shutil.copytree(base, course)
        if kind == "stock":
            nbgrader(course, "autograde", "01_rnn", "--create")
        else:
            batch.run_batch(course, "01_rnn", workers=1, progress=False, limits=LIMITS)
        nbgrader(course, "export", "--to", str(course / "g.csv"))
        rows[kind] = list(csv.DictReader(open(course / "g.csv")))
    assert rows["ours"] == rows["stock"]
    (r,) = rows["ours"]
    assert (r["timestamp"], r["late_submission_penalty"], r["score"]) == ("2026-01-09 10:00:00", "21.0", "0.0")
