"""Batch grading: nbgrader layout in, gradebook/feedback/CSV/results.json out; resume; Dask."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from autograder import gradebook as ag_gradebook  # noqa: F401 - puts alembic on PATH
from autograder.batch import run_batch
from autograder.synth import student_notebook

REPO = Path(__file__).resolve().parent.parent
MANIFEST = json.loads((REPO / "exercises" / "manifest.json").read_text())
RNN = MANIFEST["01_rnn"]["functions"]
FULL = float(sum(RNN.values()))
LOSS = "temporal_softmax_loss"


def make_course(root: Path, students: dict[str, dict]) -> Path:
    """An nbgrader course folder with a source notebook and submitted/<student>/01_rnn/."""
    student_notebook(root / "source" / "01_rnn" / "01_rnn.ipynb", RNN)
    (root / "manifest.json").write_text(json.dumps({"01_rnn": MANIFEST["01_rnn"]}))
    for name, kw in students.items():
        student_notebook(root / "submitted" / name / "01_rnn" / "01_rnn.ipynb", RNN, **kw)
    return root


def db_scores(db_url: str) -> dict[str, float]:
    with Gradebook(db_url) as gb:
        return {s.student.id: s.score for s in gb.assignment_submissions("01_rnn")}


HOSTILE = {
    "ok": {},
    "no_tanh": {"mutations": ["rnn_step_no_tanh"]},
    "looper": {"overrides": {LOSS: f"def {LOSS}(x, y, mask):\n    while True:\n        pass\n"}},
    "exiter": {"overrides": {LOSS: f"import os\ndef {LOSS}(x, y, mask):\n    os._exit(1)\n"}},
    "killer": {"overrides": {LOSS: f"import os, signal\ndef {LOSS}(x, y, mask):\n"
                                   "    os.kill(os.getppid(), signal.SIGKILL)\n"
                                   "    os.kill(-1, signal.SIGKILL)\n    return 0\n"}},
}


def test_batch_gradebook_exports_and_isolation(tmp_path):
    from autograder import Limits

    course = make_course(tmp_path / "course", HOSTILE)
    limits = Limits(timeout_s=1.0, cpu_s=2)
    summary = run_batch(course, "01_rnn", workers=2, progress=False, limits=limits)
    assert summary["submissions"] == 5 and summary["graded_now"] == 5
    scores = summary["scores"]
    assert scores["ok"] == FULL                                # unaffected by its neighbours
    assert scores["no_tanh"] < FULL
    for bad in ("looper", "exiter", "killer"):
        assert scores[bad] == FULL - RNN[LOSS], bad
    # nbgrader's gradebook holds the same totals, once per student
    db = summary["db_url"]
    assert db_scores(db) == pytest.approx(scores)
    with Gradebook(db) as gb:
        g = gb.find_grade(f"test_{LOSS}", "01_rnn", "01_rnn", "looper")
        assert g.auto_score == 0 and g.max_score == RNN[LOSS]
    # nbgrader export still works on it
    out = subprocess.run([sys.executable, "-m", "nbgrader", "export", "--db", db,
                          "--to", str(tmp_path / "export.csv")], cwd=course,
                         capture_output=True, text=True, timeout=120,
                         env=dict(os.environ, PATH=os.path.dirname(sys.executable) + ":" +
                                  os.environ.get("PATH", "")))
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(open(tmp_path / "export.csv")))
    assert {r["student_id"]: float(r["score"]) for r in rows} == pytest.approx(scores)
    # our own exports
    out_dir = Path(summary["out_dir"])
    ours = {r["student"]: float(r["score"]) for r in csv.DictReader(open(out_dir / "grades.csv"))}
    assert ours == pytest.approx(scores)
    gs = json.loads((out_dir / "gradescope" / "no_tanh" / "results.json").read_text())
    assert gs["score"] == scores["no_tanh"] and len(gs["tests"]) == len(RNN)
    fb = json.loads((out_dir / "feedback" / "no_tanh" / "feedback.json").read_text())
    assert any("(1 - h^2)" in h for h in fb["functions"]["rnn_step_backward"]["hints"])
    assert (out_dir / "feedback" / "no_tanh" / "feedback.html").read_text().startswith(
        "<!doctype html>")

    # formgrader (manual answers) and generate_feedback read autograded/<student>/<assignment>/
    assert (course / "autograded" / "no_tanh" / "01_rnn" / "01_rnn.ipynb").read_text() == (
        course / "submitted" / "no_tanh" / "01_rnn" / "01_rnn.ipynb").read_text()

    # Idempotent: a second run grades nothing new and changes nothing.
    again = run_batch(course, "01_rnn", workers=2, progress=False, limits=limits)
    assert again["graded_now"] == 0 and again["scores"] == scores
    assert db_scores(db) == pytest.approx(scores)


def test_killed_run_resumes_without_loss_or_duplicates(tmp_path):
    from autograder import Limits

    students = {f"s{k:02d}": ({"mutations": ["rnn_step_no_tanh"]} if k % 3 == 0 else {})
                for k in range(10)}
    students["s04"] = HOSTILE["looper"]          # slow (timeouts): the kill lands mid-run
    course = make_course(tmp_path / "course", students)
    cmd = [sys.executable, "-m", "autograder", "batch", "--course", str(course),
           "--assignment", "01_rnn", "--workers", "1", "--quiet", "--timeout", "1"]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    journal = course / "hidden_grades" / "01_rnn" / "journal"
    deadline = time.time() + 120
    while time.time() < deadline and len(list(journal.glob("*.json"))) < 3:
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)                      # killed halfway
    proc.wait()
    finished = len(list(journal.glob("*.json")))
    assert 3 <= finished < 10
    # the same limits as the command line's (they are part of the "unchanged" digest)
    summary = run_batch(course, "01_rnn", workers=2, progress=False, limits=Limits(timeout_s=1.0))
    assert summary["reused"] == finished and summary["submissions"] == 10
    assert summary["graded_now"] == 10 - finished
    got = db_scores(summary["db_url"])
    assert sorted(got) == sorted(students)                   # every student exactly once
    with Gradebook(summary["db_url"]) as gb:
        assert len(gb.assignment_submissions("01_rnn")) == 10
    assert got == pytest.approx(summary["scores"])
    for k, s in enumerate(sorted(students)):
        if s == "s04":
            assert got[s] == FULL - RNN[LOSS]
        elif k % 3 == 0:
            assert got[s] == FULL - RNN["rnn_step_backward"]
        else:
            assert got[s] == FULL


def test_dask_scheduler_with_two_workers(tmp_path):
    distributed = pytest.importorskip("distributed")
    course = make_course(tmp_path / "course", {"ok": {}, "no_tanh": {"mutations":
                                                                      ["rnn_step_no_tanh"]},
                                               "exiter": HOSTILE["exiter"]})
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            assert len(client.scheduler_info()["workers"]) == 2
            summary = run_batch(course, "01_rnn", scheduler=cluster.scheduler_address,
                                progress=False)
            seen = client.run(lambda: __import__("autograder.judge").judge._ZYGOTE is not None)
    assert summary["graded_now"] == 3
    local = run_batch(course, "01_rnn", workers=1, progress=False, force=True,
                      out_dir=tmp_path / "local")
    assert summary["scores"] == local["scores"]
    assert summary["scores"]["ok"] == FULL and summary["scores"]["exiter"] == FULL - RNN[LOSS]
    assert any(seen.values())                                  # the work ran on the workers
