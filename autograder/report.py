"""Per-student feedback (HTML and JSON), the grades CSV and Gradescope's results.json."""

from __future__ import annotations

import csv
import html
import json
import os
import tempfile
from pathlib import Path


def atomic_write(path: str | Path, text: str) -> None:
    """Write a file so that a reader (or a crash) never sees half of it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


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
            "about": ABOUT}


ABOUT = ("Your notebook's own test cells (the visible tests) checked shapes, a small case worked "
         "out by hand and numerical gradients. The hidden tests ran your functions, found by name "
         "in your notebook, on cases you have not seen: fixed and random inputs, edge shapes "
         "(one example, one time step, one hidden unit) and large magnitudes that saturate tanh "
         "and sigmoid. Every output and every gradient was compared with the reference "
         "implementation, and your inputs were checked to be left unchanged. Each check is worth "
         "the same share of a function's points.")


def feedback_html(fb: dict) -> str:
    e = html.escape
    rows = []
    for fname, r in fb["functions"].items():
        color = {"passed": "#e6f4ea", "partial": "#fff4e0"}.get(r["status"], "#fde8e8")
        hints = "".join(f"<li>{e(h)}</li>" for h in r["hints"]) or "<li>all checks passed</li>"
        rows.append(
            f"<tr style='background:{color}'><td><code>{e(fname)}</code></td>"
            f"<td>{r['score']:g} / {r['max_score']:g}</td>"
            f"<td>{r['checks_passed']} / {r['checks_total']}</td><td><ul>{hints}</ul>"
            f"<details><summary>what was tested</summary><p>Visible: {e(r['visible_tests'])}</p>"
            f"<p>Hidden: {e(r['hidden_tests'])}</p></details></td></tr>")
    notes = "".join(f"<li>{e(n)}</li>" for n in fb["notes"])
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Feedback: {e(fb['assignment'])} ({e(fb['student'])})</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}
td,th{{padding:.4em;vertical-align:top;border-bottom:1px solid #ccc}}table{{border-collapse:collapse}}
</style></head><body>
<h1>{e(fb['assignment'])}: {fb['score']:g} / {fb['max_score']:g}</h1>
<p>Student: {e(fb['student'])}</p>
<p>{e(fb['about'])}</p>
<table><tr><th>function</th><th>points</th><th>checks</th><th>what to look at</th></tr>
{''.join(rows)}</table>
{'<h2>Notes</h2><ul>' + notes + '</ul>' if notes else ''}
</body></html>
"""


def gradescope_results(result: dict) -> dict:
    """Gradescope's autograder results.json: one test per graded function."""
    tests = []
    for fname, r in result["functions"].items():
        lines = [f"{r['passed']} of {r['total']} hidden checks passed."] + r["hints"]
        tests.append({"name": fname, "score": r["score"], "max_score": r["max_score"],
                      "status": "passed" if r["status"] == "passed" else "failed",
                      "output": "\n".join(lines), "visibility": "visible"})
    return {"score": result["score"], "tests": tests,
            "output": " ".join(result["notes"][:5]) or ABOUT, "visibility": "visible",
            "stdout_visibility": "hidden"}


def write_csv(path: str | Path, rows: list[tuple[str, dict]]) -> None:
    """One row per student: total and the score of every graded function."""
    functions: list[str] = []
    for _, r in rows:
        for f in r["functions"]:
            if f not in functions:
                functions.append(f)
    lines = []
    import io

    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["student", "assignment", "score", "max_score", *functions])
    for student, r in sorted(rows):
        w.writerow([student, r["assignment"], r["score"], r["max_score"],
                    *[r["functions"].get(f, {}).get("score", "") for f in functions]])
    lines.append(buf.getvalue())
    atomic_write(path, "".join(lines))


def write_student_outputs(out_dir: Path, student: str, result: dict) -> None:
    fb = feedback_json(result, student)
    atomic_write(out_dir / "feedback" / student / "feedback.json", json.dumps(fb, indent=1))
    atomic_write(out_dir / "feedback" / student / "feedback.html", feedback_html(fb))
    atomic_write(out_dir / "gradescope" / student / "results.json",
                 json.dumps(gradescope_results(result), indent=1))
