"""Per-student feedback (HTML and JSON), the grades CSV and Gradescope's results.json."""

from __future__ import annotations

import csv
import json
import os
import tempfile
from pathlib import Path

DEFAULT_FILE_MODE = 0o640


def file_mode() -> int:
    """Permissions of every file the grader writes: owner read/write, the course's group read
    (0640) unless ``AUTOGRADER_FILE_MODE`` (octal, e.g. ``0600`` or ``0644``) says otherwise.

    Raises ValueError for a value that is not an octal mode."""
    raw = os.environ.get("AUTOGRADER_FILE_MODE", "").strip()
    if not raw:
        return DEFAULT_FILE_MODE
    try:
        mode = int(raw, 8)
    except ValueError:
        raise ValueError(f"AUTOGRADER_FILE_MODE={raw!r} is not an octal file mode such as 0640") from None
    if not 0 <= mode <= 0o777:
        raise ValueError(f"AUTOGRADER_FILE_MODE={raw!r} is out of range (0000-0777)")
    return mode


def atomic_write(path: str | Path, text: str | bytes, mode: int | None = None) -> None:
    """Write a file so that a reader (or a crash) never sees half of it.

    Text is always encoded as UTF-8, whatever the locale (a non-UTF-8 locale such as
    ISO-8859-1 cannot encode the hints' subscripts and arrows). The file gets ``mode``
    (default :func:`file_mode`, 0640); a failed write leaves no temporary file behind."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode("utf-8") if isinstance(text, str) else text
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, file_mode() if mode is None else mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def feedback_json(result: dict, student: str = "") -> dict:
    """What a student may see: scores, check outcomes and hints; no inputs, no expected values."""
    funcs = {}
    for fname, r in result["functions"].items():
        funcs[fname] = {
            "score": r["score"], "max_score": r["max_score"], "status": r["status"],
            "checks_passed": r["passed"], "checks_total": r["total"], "hints": r["hints"],
            "visible_tests": r["visible_tests"], "hidden_tests": r["hidden_tests"],
            "failed_checks": [f"{c['case']}: {c['check']}" for c in r["checks"]
                              if not c["passed"]][:30],
            # "your function alone" is the score above; "your whole chain" is information only
            "graded_with": r.get("graded_with"), "chain": r.get("chain"),
        }
    return {"student": student, "assignment": result["assignment"], "score": result["score"],
            "max_score": result["max_score"], "functions": funcs, "notes": result["notes"],
            "graded_file": result.get("graded_file", Path(result.get("notebook", "")).name),
            "ignored_files": result.get("ignored_files", []),
            "needs_manual_review": bool(result.get("needs_manual_review")),
            "about": ABOUT}


ABOUT = ("Your notebook's own test cells (the visible tests) checked shapes, a small case worked "
         "out by hand and numerical gradients. The hidden tests ran your functions, found by name "
         "in your notebook, on cases you have not seen: fixed and random inputs, edge shapes "
         "(one example, one time step, one hidden unit) and large magnitudes that saturate tanh "
         "and sigmoid. Every output and every gradient was compared with the reference "
         "implementation, and your inputs were checked to be left unchanged. Each check is worth "
         "the same share of a function's points.")


def feedback_html(fb: dict, late: dict | None = None) -> str:
    """The self-contained feedback page (see :mod:`autograder.feedback`)."""
    from autograder.feedback import render_html

    return render_html(fb, late)


VISIBILITIES = ("visible", "after_due_date", "after_published", "hidden")


def gradescope_results(result: dict, visibility: str = "visible",
                       execution_time: float | None = None) -> dict:
    """Gradescope's autograder results.json: one test per graded function.

    Keys as documented in Gradescope's autograder specifications
    (https://gradescope-autograders.readthedocs.io/en/latest/specs/): top level ``score``,
    ``execution_time`` (seconds), ``output``, ``visibility``, ``stdout_visibility`` and
    ``tests``, each test with ``score``, ``max_score``, ``name``, ``number``, ``output``,
    ``status`` ("passed"/"failed") and ``visibility``. ``visibility`` (one of
    :data:`VISIBILITIES`) applies to the whole result and to every test: when students see
    their scores and hints. Raises ValueError for another value."""
    if visibility not in VISIBILITIES:
        raise ValueError(f"visibility must be one of {', '.join(VISIBILITIES)}, not {visibility!r}")
    tests = []
    for k, (fname, r) in enumerate(result["functions"].items(), start=1):
        lines = [f"{r['passed']} of {r['total']} hidden checks passed."] + list(r["hints"])
        tests.append({"name": fname, "number": str(k), "score": float(r["score"]),
                      "max_score": float(r["max_score"]),
                      "status": "passed" if r["status"] == "passed" else "failed",
                      "output": "\n".join(lines), "visibility": visibility})
    notes = list(result.get("notes", []))
    graded = result.get("graded_file")
    head = [f"Graded notebook: {graded}."] if graded else []
    out = {"score": float(result["score"]), "tests": tests,
           "output": "\n".join(head + notes[:8]) or ABOUT, "visibility": visibility,
           "stdout_visibility": "hidden"}
    if execution_time is not None:
        out["execution_time"] = round(float(execution_time), 3)
    return out


def score_table(rows: list[tuple[str, dict]], extra: dict[str, dict] | None = None) -> str:
    """A plain-text table for the terminal: student, total, each function, late penalty and
    the manual-review flag (``!`` marks a student to look at)."""
    extra = extra or {}
    functions: list[str] = []
    for _, r in rows:
        for f in r["functions"]:
            if f not in functions:
                functions.append(f)
    header = ["student", "total", *functions, "late", "review"]
    body = []
    for student, r in sorted(rows):
        x = extra.get(student, {})
        body.append([student, f"{r['score']:g}/{r['max_score']:g}",
                     *[f"{r['functions'][f]['score']:g}" if f in r["functions"] else "-"
                       for f in functions],
                     f"-{x['late_penalty']:g}" if x.get("late_penalty") else "",
                     "!" if x.get("needs_manual_review") else ""])
    widths = [max(len(str(row[i])) for row in [header] + body) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
             for row in [header] + body]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def write_csv(path: str | Path, rows: list[tuple[str, dict]],
              extra: dict[str, dict] | None = None) -> None:
    """One row per student: the hidden tests' score after the late penalty (nbgrader's
    ``score``), the maximum, the score of every graded function, then the score before the
    penalty (``raw_score``), the late penalty nbgrader recorded and whether the submission needs a
    manual review."""
    import io

    extra = extra or {}
    functions: list[str] = []
    for _, r in rows:
        for f in r["functions"]:
            if f not in functions:
                functions.append(f)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["student", "assignment", "score", "max_score", *functions, "raw_score",
                "late_penalty", "needs_manual_review"])
    for student, r in sorted(rows):
        x = extra.get(student, {})
        penalty = float(x.get("late_penalty", 0.0) or 0.0)
        w.writerow([student, r["assignment"], round(max(0.0, r["score"] - penalty), 4), r["max_score"],
                    *[r["functions"].get(f, {}).get("score", "") for f in functions],
                    r["score"], penalty, int(bool(x.get("needs_manual_review")))])
    atomic_write(path, buf.getvalue())


def write_student_outputs(out_dir: Path, student: str, result: dict) -> None:
    fb = feedback_json(result, student)
    atomic_write(out_dir / "feedback" / student / "feedback.json", json.dumps(fb, indent=1))
    atomic_write(out_dir / "feedback" / student / "feedback.html", feedback_html(fb))
    atomic_write(out_dir / "gradescope" / student / "results.json",
                 json.dumps(gradescope_results(result), indent=1))
