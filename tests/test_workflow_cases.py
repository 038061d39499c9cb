"""The four shared failing inputs of issue 12, as assertions on their right results.

late-submission, wrong-notebook, points-changed and unicode-locale (see each test's docstring);
the inputs are rebuilt here from the repository (the instructor notebook, synthetic notebooks)
so the tests need nothing outside it.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from autograder import Limits
from autograder import gradebook as ag_gradebook
from autograder.batch import run_batch as _run_batch

REPO = Path(__file__).resolve().parent.parent
SOURCE_NB = REPO / "exercises" / "source" / "01_rnn" / "01_rnn.ipynb"      # complete, correct
MANIFEST = json.loads((REPO / "exercises" / "manifest.json").read_text())
RNN = MANIFEST["01_rnn"]["functions"]
FULL = float(sum(RNN.values()))
# nbgrader's max_score also counts the hand-graded answers (formgrader's part of the assignment)
MANUAL = float(sum(MANIFEST["01_rnn"].get("manual", {}).values()))
# generous wall-clock limits: a loaded CI machine must not turn a right answer into a time-out
LIMITS = Limits(timeout_s=60.0, load_timeout_s=120.0)


def run_batch(*args, **kwargs):
    return _run_batch(*args, limits=LIMITS, **kwargs)


ENV = dict(os.environ, PYTHONPATH=str(REPO),
           PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))


def course_copy(root: Path, extra_config: str = "") -> Path:
    """A copy of the course as the shared cases make it: source, manifest, nbgrader_config."""
    root.mkdir(parents=True)
    shutil.copytree(REPO / "exercises" / "source" / "01_rnn", root / "source" / "01_rnn")
    shutil.copy(REPO / "exercises" / "manifest.json", root / "manifest.json")
    shutil.copy(REPO / "exercises" / "nbgrader_config.py", root / "nbgrader_config.py")
    if extra_config:
        with open(root / "nbgrader_config.py", "a") as f:
            f.write("\n" + extra_config + "\n")
    return root


def notebook(path: Path, *cells: str) -> Path:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


def rnn_step_forward_source() -> str:
    """A plain correct rnn_step_forward, as in the shared cases."""
    return ("def rnn_step_forward(x, prev_h, Wx, Wh, b):\n"
            "    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)\n"
            "    return next_h, (x, prev_h, Wx, Wh, next_h)\n")


STUB = "def rnn_step_forward(x, prev_h, Wx, Wh, b):\n    # YOUR CODE HERE\n    raise NotImplementedError()\n"


def add_due_date(course: Path, due: str) -> str:
    db = ag_gradebook.default_db_url(course)
    ag_gradebook.ensure_assignment(db, "01_rnn", course / "source" / "01_rnn" / "01_rnn.ipynb")
    with Gradebook(db) as gb:
        gb.update_or_create_assignment("01_rnn", duedate=due)
    return db


def export_row(db: str, student: str) -> dict:
    """What `nbgrader export` writes for the student (its CsvExportPlugin reads these fields)."""
    with Gradebook(db) as gb:
        s = gb.find_submission("01_rnn", student)
        return {"timestamp": s.timestamp, "raw_score": s.score,
                "late_submission_penalty": s.late_submission_penalty,
                "score": s.score - s.late_submission_penalty, "max_score": s.max_score,
                "duedate": s.duedate}


def test_late_submission_zero_policy(tmp_path):
    """late-submission: 7 days late with penalty_method "zero" -> timestamp stored, penalty 21,
    score 0, as stock nbgrader records it; the journal keeps the late record."""
    course = course_copy(tmp_path / "c", 'c.LateSubmissionPlugin.penalty_method = "zero"')
    db = add_due_date(course, "2026-01-02 00:00:00 UTC")
    sub = course / "submitted" / "late" / "01_rnn"
    sub.mkdir(parents=True)
    shutil.copy(SOURCE_NB, sub / "01_rnn.ipynb")
    (sub / "timestamp.txt").write_text("2026-01-09 10:00:00 UTC")
    summary = run_batch(course, "01_rnn", workers=1, progress=False)
    row = export_row(db, "late")
    assert str(row["timestamp"]) == "2026-01-09 10:00:00"
    assert row["raw_score"] == FULL == 21.0
    assert row["late_submission_penalty"] == 21.0 and row["score"] == 0.0
    assert summary["late_penalty"] == {"late": 21.0}
    (g,) = csv.DictReader(open(course / "hidden_grades" / "01_rnn" / "grades.csv", encoding="utf-8"))
    assert (g["score"], g["raw_score"], g["late_penalty"]) == ("0.0", "21.0", "21.0")   # as nbgrader
    entry = json.loads((course / "hidden_grades" / "01_rnn" / "journal" / "late.json").read_text())
    assert entry["late"] == {"timestamp": "2026-01-09 10:00:00", "due": "2026-01-02 00:00:00",
                             "penalty": 21.0,
                             "method": "LateSubmissionPlugin(penalty_method='zero')"}
    # nbgrader's own export shows the same row
    out = subprocess.run([sys.executable, "-m", "nbgrader", "export", "--to", str(tmp_path / "g.csv")],
                         cwd=course, env=ENV, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    (r,) = list(csv.DictReader(open(tmp_path / "g.csv")))
    assert (r["timestamp"], r["raw_score"], r["late_submission_penalty"], r["score"],
            r["max_score"]) == ("2026-01-09 10:00:00", "21.0", "21.0", "0.0", str(FULL + MANUAL))


def test_late_policy_custom_plugin_and_on_time(tmp_path):
    """A custom plugin class from nbgrader_config.py is used; on-time work gets no penalty; a
    timestamp with an offset is converted to UTC as nbgrader does."""
    course = course_copy(tmp_path / "c", 'c.AssignLatePenalties.plugin_class = "halfplugin.Half"')
    (course / "halfplugin.py").write_text(
        "from nbgrader.plugins import BasePlugin\n\n"
        "class Half(BasePlugin):\n"
        "    def late_submission_penalty(self, student_id, score, total_seconds_late):\n"
        "        return score / 2 if total_seconds_late > 3600 else None\n")
    db = add_due_date(course, "2026-01-02 00:00:00 UTC")
    for student, stamp in {"late": "2026-01-02 05:00:00 Europe/Berlin", "ontime": "2026-01-01 23:00:00 UTC",
                           "grace": "2026-01-02 00:30:00 UTC"}.items():
        sub = course / "submitted" / student / "01_rnn"
        sub.mkdir(parents=True)
        shutil.copy(SOURCE_NB, sub / "01_rnn.ipynb")
        (sub / "timestamp.txt").write_text(stamp)
    run_batch(course, "01_rnn", workers=1, progress=False)
    late, ontime, grace = (export_row(db, s) for s in ("late", "ontime", "grace"))
    assert str(late["timestamp"]) == "2026-01-02 04:00:00"                 # CET -> UTC
    assert late["late_submission_penalty"] == late["raw_score"] / 2 == late["score"] > 0
    assert ontime["late_submission_penalty"] == 0 and ontime["score"] == ontime["raw_score"] > 0
    assert grace["late_submission_penalty"] == 0                           # plugin said None
    entry = json.loads((course / "hidden_grades" / "01_rnn" / "journal" / "late.json").read_text())
    assert entry["late"]["penalty"] == late["raw_score"] / 2 and entry["late"]["method"] == "halfplugin.Half"


def test_bad_course_config_is_a_clear_error(tmp_path):
    from autograder.late import load_policy

    course = course_copy(tmp_path / "c", 'c.LateSubmissionPlugin.penalty_method = "zeroo"')
    with pytest.raises(ValueError, match="penalty_method"):
        load_policy(course)
    (course / "nbgrader_config.py").write_text("c = get_config(\n")
    with pytest.raises(ValueError, match="syntax error on line 1"):
        load_policy(course)


def test_wrong_notebook_batch_and_gradescope(tmp_path):
    """wrong-notebook: a checkpoint copy is never graded; with "My 01_rnn.ipynb" and a stub
    "01_rnn_backup.ipynb" the real work is graded and both names are reported."""
    good, stub = rnn_step_forward_source(), STUB
    gs = tmp_path / "gradescope_submission"
    notebook(gs / "rnn_homework.ipynb", "import numpy as np\n", good)
    notebook(gs / ".ipynb_checkpoints" / "rnn_homework-checkpoint.ipynb", "import numpy as np\n", stub)
    results = tmp_path / "results.json"
    out = subprocess.run([sys.executable, "-m", "autograder", "gradescope", "--assignment", "01_rnn",
                          "--submission", str(gs), "--results", str(results)],
                         cwd=REPO, env=ENV, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    r = json.loads(results.read_text())
    assert [t["score"] for t in r["tests"] if t["name"] == "rnn_step_forward"] == [2.0]
    assert "rnn_homework.ipynb" in r["output"] and "rnn_homework-checkpoint" in r["output"]

    course = course_copy(tmp_path / "c")
    sub = course / "submitted" / "stud1" / "01_rnn"
    notebook(sub / "My 01_rnn.ipynb", "import numpy as np\n", good)
    notebook(sub / "01_rnn_backup.ipynb", "import numpy as np\n", stub)
    summary = run_batch(course, "01_rnn", workers=1, progress=False)
    assert summary["functions"]["stud1"]["rnn_step_forward"] == 2.0
    entry = json.loads((course / "hidden_grades" / "01_rnn" / "journal" / "stud1.json").read_text())
    assert Path(entry["result"]["notebook"]).name == "My 01_rnn.ipynb"
    assert entry["result"]["ignored_files"] == ["01_rnn_backup.ipynb"]
    assert any("My 01_rnn.ipynb" in n and "01_rnn_backup.ipynb" in n for n in entry["result"]["notes"])
    fb = (course / "hidden_grades" / "01_rnn" / "feedback" / "stud1" / "feedback.html").read_text()
    assert "My 01_rnn.ipynb" in fb and "01_rnn_backup.ipynb" in fb
    # formgrader's copy is the graded notebook, under the assignment's name
    assert (course / "autograded" / "stud1" / "01_rnn" / "01_rnn.ipynb").read_bytes() == (
        sub / "My 01_rnn.ipynb").read_bytes()


def test_points_changed_regrades(tmp_path):
    """points-changed: lowering rnn_step_forward from 2 to 1 point (manifest and the gradebook's
    cell, as make_exercises rewrites them) regrades: 20/20, rnn_step_forward 1.0."""
    course = course_copy(tmp_path / "c")
    sub = course / "submitted" / "s1" / "01_rnn"
    sub.mkdir(parents=True)
    shutil.copy(SOURCE_NB, sub / "01_rnn.ipynb")
    first = run_batch(course, "01_rnn", workers=1, progress=False)
    assert first["scores"]["s1"] == 21.0 and first["functions"]["s1"]["rnn_step_forward"] == 2.0
    man = json.loads((course / "manifest.json").read_text())
    man["01_rnn"]["functions"]["rnn_step_forward"] = 1
    (course / "manifest.json").write_text(json.dumps(man))
    db = ag_gradebook.default_db_url(course)
    with Gradebook(db) as gb:
        gb.find_grade_cell("test_rnn_step_forward", "01_rnn", "01_rnn").max_score = 1.0
        gb.db.commit()
    second = run_batch(course, "01_rnn", workers=1, progress=False)
    assert second["graded_now"] == 1 and second["reused"] == 0
    row = next(csv.DictReader(open(course / "hidden_grades" / "01_rnn" / "grades.csv")))
    assert (row["student"], row["score"], row["max_score"], row["rnn_step_forward"]) == (
        "s1", "20.0", "20.0", "1.0")
    r = export_row(db, "s1")
    assert r["score"] == 20.0 and r["max_score"] == 20.0 + MANUAL
    # unchanged inputs: reused
    assert run_batch(course, "01_rnn", workers=1, progress=False)["reused"] == 1


def _latin1_locale(tmp_path: Path) -> dict:
    """LANG=de_DE.ISO-8859-1 from a locale compiled into tmp_path (as the shared case does)."""
    loc = tmp_path / "locale"
    loc.mkdir()
    made = subprocess.run(["localedef", "-i", "de_DE", "-f", "ISO-8859-1",
                           str(loc / "de_DE.ISO-8859-1")], capture_output=True, text=True)
    env = dict(ENV, LOCPATH=str(loc), LANG="de_DE.ISO-8859-1")
    env.pop("LC_ALL", None)
    env.pop("PYTHONIOENCODING", None)
    env.pop("PYTHONUTF8", None)
    check = subprocess.run([sys.executable, "-c", "import locale; print(locale.getpreferredencoding())"],
                           env=env, capture_output=True, text=True)
    if check.stdout.strip() != "ISO-8859-1":
        pytest.skip(f"no ISO-8859-1 locale here (localedef: {made.returncode}, {made.stderr[:200]})")
    return env


def test_unicode_error_message_under_latin1_locale(tmp_path):
    """unicode-locale: under LANG=de_DE.ISO-8859-1 the batch records all three students
    (a: 2.0, b: 0.0 with the hint in UTF-8, c: 2.0) and writes every output as UTF-8."""
    env = _latin1_locale(tmp_path)
    course = course_copy(tmp_path / "c")
    good = rnn_step_forward_source()
    bad = ("def rnn_step_forward(x, prev_h, Wx, Wh, b):\n"
           "    raise ValueError(\"h\u2080 falsch \u2192 \u2264\")\n")
    for s, src in {"a": good, "b": bad, "c": good}.items():
        notebook(course / "submitted" / s / "01_rnn" / "01_rnn.ipynb", "import numpy as np\n", src)
    out = subprocess.run([sys.executable, "-m", "autograder", "batch", "--course", str(course),
                          "--assignment", "01_rnn", "--workers", "1"],
                         cwd=REPO, env=env, capture_output=True, timeout=300)
    assert out.returncode == 0, out.stderr.decode("latin-1")
    assert b"rnn_step_forward" in out.stdout                         # the score table
    res = course / "hidden_grades" / "01_rnn"
    scores = {s: json.loads((res / "journal" / f"{s}.json").read_text(encoding="utf-8"))["result"]
              for s in "abc"}
    assert [scores[s]["functions"]["rnn_step_forward"]["score"] for s in "abc"] == [2.0, 0.0, 2.0]
    hint = "raised an error: ValueError: h\u2080 falsch \u2192 \u2264"
    assert any(hint in h for h in scores["b"]["functions"]["rnn_step_forward"]["hints"])
    assert hint in (res / "feedback" / "b" / "feedback.html").read_text(encoding="utf-8")
    gs = json.loads((res / "gradescope" / "b" / "results.json").read_text(encoding="utf-8"))
    assert any(hint in t["output"] for t in gs["tests"] if t["name"] == "rnn_step_forward")
    rows = list(csv.DictReader(open(res / "grades.csv", encoding="utf-8")))
    assert [r["student"] for r in rows] == ["a", "b", "c"]
    # and one notebook with --feedback
    fb = tmp_path / "fb"
    one = subprocess.run([sys.executable, "-m", "autograder", "grade",
                          str(course / "submitted" / "b" / "01_rnn" / "01_rnn.ipynb"),
                          "--assignment", "01_rnn", "--feedback", str(fb)],
                         cwd=REPO, env=env, capture_output=True, timeout=300)
    assert one.returncode == 0 and json.loads(one.stdout)["score"] < FULL
    assert hint in (fb / "feedback" / "01_rnn" / "feedback.html").read_text(encoding="utf-8")
