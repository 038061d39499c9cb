"""Class insight: the class report and the similarity ranking on a generated class.

The class (autograder/synth_class.py) is 60 submissions of 01_rnn, each student writing the nine
graded functions in their own way; 21 of them carry one planted, realistic mistake and three are
near-copies of another student's notebook (variables renamed, cells reordered, comments changed).
The real batch grades them; the report must count each planted mistake exactly, and the
similarity ranking must put the three planted pairs first, above every pair of independent
solutions.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from autograder import class_report, synth_class
from autograder.__main__ import main as cli
from autograder.judge import grade

REPO = Path(__file__).resolve().parent.parent
PLANTED = {"step_backward_no_tanh_derivative": 7, "rnn_backward_not_accumulated": 5,
           "embedding_backward_overwrites": 4, "softmax_loss_mask_ignored": 3,
           "affine_backward_odd_offset": 2}


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory, exercises_generated):
    course = tmp_path_factory.mktemp("class")
    for name in ("source", "release"):
        src = REPO / "exercises" / name / "01_rnn"
        if src.exists():
            shutil.copytree(src, course / name / "01_rnn")
    shutil.copy(REPO / "exercises" / "manifest.json", course / "manifest.json")
    shutil.copy(REPO / "exercises" / "nbgrader_config.py", course / "nbgrader_config.py")
    planted = synth_class.make_class(course, 60, PLANTED, copies=3, seed=11)
    assert cli(["batch", "--course", str(course), "--assignment", "01_rnn", "--quiet",
                "--workers", "2"]) == 0
    return course, planted


@pytest.fixture(scope="module")
def exercises_generated():
    """The instructor notebook of 01_rnn (regenerated from the authoring source if absent)."""
    if not (REPO / "exercises" / "source" / "01_rnn" / "01_rnn.ipynb").exists():
        import subprocess
        import sys

        subprocess.run([sys.executable, "-m", "scripts.make_exercises", "01_rnn", "--no-validate"],
                       cwd=REPO, check=True, capture_output=True)


def _probe_mistake(tmp_path: Path, bug: str) -> tuple[str, list[str], bool]:
    """Grade one notebook with only ``bug`` and return (function, mistake ids, unexplained)."""
    fn = synth_class.BUGS[bug]
    nb = tmp_path / f"{bug}.ipynb"
    nb.write_text(json.dumps(synth_class.notebook(synth_class.student_sources(5, bug))))
    r = grade(nb, "01_rnn")
    fr = r["functions"][fn]
    assert fr["score"] < fr["max_score"], f"{bug} was not caught"
    others = {f: x["score"] for f, x in r["functions"].items() if f != fn and x["score"] < x["max_score"]}
    assert not others, f"{bug} also cost points in correct functions: {others}"
    return fn, [m["id"] for m in fr.get("mistakes", [])], bool(fr.get("unexplained"))


def test_generated_sources_are_valid_python_and_correct_ones_score_full(tmp_path):
    synth_class.check_sources_compile()
    for seed in range(3):
        nb = tmp_path / f"ok{seed}.ipynb"
        nb.write_text(json.dumps(synth_class.notebook(synth_class.student_sources(seed))))
        r = grade(nb, "01_rnn")
        assert r["score"] == r["max_score"], {f: x["hints"] for f, x in r["functions"].items()
                                              if x["score"] < x["max_score"]}


def test_mistake_ranking_matches_the_planted_counts(graded_class, tmp_path):
    course, planted = graded_class
    assert sorted(planted.bugs.values()).count("rnn_backward_not_accumulated") == 5
    assert cli(["report", "--course", str(course), "--assignment", "01_rnn", "--quiet"]) == 0
    out = course / "hidden_grades" / "01_rnn"
    summary = json.loads((out / "class_report.json").read_text(encoding="utf-8"))
    assert summary["students"] == 60
    per_fn_expected: dict[str, dict[str, int]] = {}
    unexplained_expected: dict[str, int] = {}
    for bug, count in PLANTED.items():
        fn, ids, unexplained = _probe_mistake(tmp_path, bug)
        if ids:
            per_fn_expected.setdefault(fn, {})[ids[0]] = count
        else:
            assert unexplained
            unexplained_expected[fn] = count
    for fn, data in summary["functions"].items():
        got = {m["id"]: m["students"] for m in data["mistakes"]}
        want = per_fn_expected.get(fn, {})
        for mid, count in want.items():
            assert got.get(mid) == count, (fn, mid, got)
        # the planted mistake is the most common one of its function
        if want:
            assert data["mistakes"][0]["id"] in want
        assert data["lost_points"] == sum(want.values()) + unexplained_expected.get(fn, 0), fn
        assert data["unexplained"] == unexplained_expected.get(fn, 0), fn
    # the totals agree with the journal, and the full-marks share with the planted class
    full = sum(1 for s in summary["totals"].values() if s == summary["total"]["max_score"])
    assert full == 60 - sum(PLANTED.values())
    assert summary["total"]["full_share"] == pytest.approx(full / 60, abs=1e-4)


def test_report_page_is_self_contained_and_readable(graded_class):
    course, _ = graded_class
    class_report.write_report(course, "01_rnn", progress=False)
    page = (course / "hidden_grades" / "01_rnn" / "class_report.html").read_text(encoding="utf-8")
    assert '<meta name="viewport"' in page
    assert not re.search(r'(src|href)\s*=\s*["\']?(https?:)?//', page), "loads from another host"
    assert page.count("<svg") == 1 + 9                 # total + one histogram per function
    for fn in synth_class.FUNCTIONS:
        assert f'id="fn-{fn}"' in page


def test_similarity_ranks_the_planted_copies_first(graded_class):
    course, planted = graded_class
    assert cli(["similarity", "--course", str(course), "--assignment", "01_rnn", "--quiet"]) == 0
    out = course / "hidden_grades" / "01_rnn"
    result = json.loads((out / "similarity.json").read_text(encoding="utf-8"))
    pairs = result["pairs"]
    copies = {frozenset(p) for p in planted.copies}
    top = [frozenset((p["a"], p["b"])) for p in pairs[:3]]
    assert set(top) == copies, pairs[:5]
    best_independent = max(p["similarity"] for p in pairs[3:])
    assert min(p["similarity"] for p in pairs[:3]) > best_independent + 0.2
    assert best_independent < result["threshold"], "an independent pair would be shown as flagged"
    assert result["release_code_used"] and result["library"] == "copydetect"
    page = (out / "similarity.html").read_text(encoding="utf-8")
    # each flagged pair side by side, with the shared passages highlighted
    assert page.count("<mark>") > 10
    for a, b in planted.copies:
        assert f"{a} &amp; {b}" in page or f"{b} &amp; {a}" in page
    assert "never a verdict" in page


def test_similarity_ignores_the_released_code(tmp_path, exercises_generated):
    """Two students who hand in the untouched release are not similar: it is all boilerplate."""
    from autograder import similarity

    given = similarity.release_code(REPO / "exercises", "01_rnn", "01_rnn.ipynb")
    assert "NotImplementedError" in given or "raise" in given
    fp = similarity._fingerprint(given)
    docs = [similarity.Document(s, "", given, similarity._fingerprint(given, fp.hashes))
            for s in ("a", "b", "c")]
    pairs, _ = similarity.rank_pairs(docs)
    assert pairs == []


def test_summary_counts_errors_reviews_and_late_work():
    def result(score, errors=None, review=False):
        return {"assignment": "01_rnn", "score": score, "max_score": 3.0,
                "needs_manual_review": review, "review_reasons": ["not valid JSON"] if review else [],
                "functions": {"f": {"score": score, "max_score": 3.0, "status": "partial",
                                    "errors": errors or {}, "mistakes": [], "unexplained": score < 3}}}
    entries = {
        "a": {"result": result(3.0)},
        "b": {"result": result(0.0, {"timeout": 2}), "late": {"timestamp": "2026-01-09 10:00:00",
                                                              "penalty": 3.0, "method": "zero"}},
        "c": {"result": result(1.0, review=True)},
    }
    s = class_report.summarize(entries)
    assert s["errors"]["students"] == 1 and s["errors"]["by_kind"] == {"timeout": 1}
    assert [r["student"] for r in s["manual_review"]] == ["c"]
    assert s["late"]["students"] == 1 and s["late"]["penalty_total"] == 3.0
    assert s["total"]["zero_share"] == pytest.approx(1 / 3, abs=1e-4)
    assert s["functions"]["f"]["unexplained"] == 2


def test_report_without_a_batch_says_so(tmp_path, capsys):
    assert cli(["report", "--course", str(tmp_path), "--assignment", "01_rnn", "--quiet"]) == 2
    assert "run `python -m autograder batch` first" in capsys.readouterr().err


def test_similarity_without_a_journal_reads_the_submitted_folder(graded_class, tmp_path):
    """Before any batch, the submissions come from nbgrader's submitted/ (same notebook choice)."""
    course, planted = graded_class
    fresh = tmp_path / "course"
    shutil.copytree(course / "submitted", fresh / "submitted")
    shutil.copy(course / "manifest.json", fresh / "manifest.json")
    from autograder.similarity import run_similarity

    result = run_similarity(fresh, "01_rnn", progress=False)
    assert result["submissions"] == 60
    top = {frozenset((p["a"], p["b"])) for p in result["pairs"][:3]}
    assert top == {frozenset(p) for p in planted.copies}


def test_similarity_is_the_same_in_every_process(graded_class):
    """copydetect's k-gram hash is Python's salted hash(); the ranking must not depend on it."""
    import os
    import subprocess
    import sys

    course, _ = graded_class
    out = course / "hidden_grades" / "01_rnn" / "similarity.json"
    runs = []
    for seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        subprocess.run([sys.executable, "-m", "autograder", "similarity", "--course", str(course),
                        "--assignment", "01_rnn", "--quiet"], cwd=REPO, env=env, check=True,
                       capture_output=True)
        runs.append(json.loads(out.read_text(encoding="utf-8"))["pairs"])
    assert runs[0] == runs[1]
