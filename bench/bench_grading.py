"""Grading throughput: this autograder vs stock `nbgrader autograde`, same machine, same run.

    python bench/bench_grading.py [--n 100] [--nbgrader-n 12] [--workers 2]

Generates N submissions of 01_rnn (a mix of correct, partly wrong and broken notebooks built from
the references), grades all of them with `autograder.run_batch`, and a subset with `nbgrader
autograde` (it executes whole notebooks in a Jupyter kernel: about a second or more each, so the
default subset keeps the run short; the table says how many). Writes bench/results/grading.md
and grading.json.

Overhead per notebook = (wall time of grading one notebook alone) - (time spent inside the
student's own functions, measured in the worker).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from autograder.batch import run_batch  # noqa: E402
from autograder.judge import get_assignment, get_zygote, grade_notebook  # noqa: E402
from autograder.synth import MUTATIONS, student_notebook  # noqa: E402

ASSIGNMENT = "01_rnn"
RESULTS = REPO / "bench" / "results"


def make_course(root: Path, n: int, functions: dict) -> dict[str, str]:
    """n submissions: 55% correct, 30% partly wrong (1-2 mutations), 15% broken."""
    rng = random.Random(7)
    student_notebook(root / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", functions)
    (root / "nbgrader_config.py").write_text(
        'c = get_config()\nc.CourseDirectory.course_id = "bench"\n'
        'c.ExecutePreprocessor.timeout = 60\nc.Execute.timeout = 60\n')
    kinds = {}
    for k in range(n):
        name = f"student{k:03d}"
        u = rng.random()
        kw: dict = {}
        if u < 0.55:
            kind = "correct"
        elif u < 0.85:
            kind = "partly wrong"
            mine = sorted(m for m, (f, _, _) in MUTATIONS.items() if f in functions)
            kw["mutations"] = rng.sample(mine, rng.choice([1, 2]))
        else:
            kind = "broken"
            f = rng.choice(sorted(functions))
            kw["overrides"] = {f: rng.choice([
                f"def {f}(*args):\n    raise NotImplementedError()\n",
                f"def {f}(*args):\n    return None\n",
                f"def {f}(*args:\n    syntax error here\n"])}
        student_notebook(root / "submitted" / name / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
                         functions, **kw)
        kinds[name] = kind
    return kinds


def bench_ours(course: Path, workers: int) -> dict:
    a = get_assignment(ASSIGNMENT)
    z = get_zygote([course])
    # Overhead: one notebook at a time, wall time minus the student's own compute.
    subs = sorted((course / "submitted").glob(f"*/{ASSIGNMENT}/*.ipynb"))
    grade_notebook(subs[0], a, z)                          # warm caches
    overheads, walls = [], []
    for nb in subs[:30]:
        t = time.perf_counter()
        r = grade_notebook(nb, a, z)
        wall = time.perf_counter() - t
        walls.append(wall)
        overheads.append(wall - r["student_seconds"])
    # Like `nbgrader generate_assignment` before `nbgrader autograde` (not timed on either side):
    # the gradebook learns the assignment's cells.
    from autograder import gradebook

    gradebook.ensure_assignment(gradebook.default_db_url(course), ASSIGNMENT,
                                course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    t = time.perf_counter()
    summary = run_batch(course, ASSIGNMENT, workers=workers, progress=False, force=True)
    elapsed = time.perf_counter() - t
    return {"n": summary["submissions"], "seconds": elapsed,
            "grading_seconds": summary["seconds"],
            "gradebook_seconds": summary["gradebook_seconds"],
            "per_notebook": elapsed / summary["submissions"],
            "sequential_wall_median": statistics.median(walls),
            "overhead_median": statistics.median(overheads),
            "overhead_p90": sorted(overheads)[int(0.9 * len(overheads)) - 1],
            "scores": summary["scores"]}


def bench_nbgrader(course: Path, n: int) -> dict:
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep +
               os.environ.get("PATH", ""))
    nbg = [sys.executable, "-m", "nbgrader"]
    sub = subprocess.run(nbg + ["generate_assignment", ASSIGNMENT, "--force"], cwd=course,
                         env=env, capture_output=True, text=True)
    if sub.returncode != 0:
        return {"error": sub.stderr[-2000:]}
    students = sorted(p.name for p in (course / "submitted").iterdir())
    for s in students[n:]:                      # keep a subset: nbgrader is slow
        shutil.rmtree(course / "submitted" / s)
    t = time.perf_counter()
    out = subprocess.run(nbg + ["autograde", ASSIGNMENT, "--force"], cwd=course, env=env,
                         capture_output=True, text=True)
    elapsed = time.perf_counter() - t
    if out.returncode != 0:
        return {"error": out.stderr[-2000:]}
    n = min(n, len(students))
    return {"n": n, "seconds": elapsed, "per_notebook": elapsed / n,
            "mode": "one `nbgrader autograde` run over the subset"}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--nbgrader-n", type=int, default=12)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    manifest = json.loads((REPO / "exercises" / "manifest.json").read_text())
    functions = manifest[ASSIGNMENT]["functions"]
    root = Path(tempfile.mkdtemp(prefix="bench-grading-"))
    try:
        course = root / "course"
        kinds = make_course(course, args.n, functions)
        ours = bench_ours(course, args.workers)
        nbg_course = root / "nbg"
        shutil.copytree(course, nbg_course, ignore=shutil.ignore_patterns("hidden_grades",
                                                                          "gradebook.db"))
        theirs = bench_nbgrader(nbg_course, args.nbgrader_n)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    mix = {k: list(kinds.values()).count(k) for k in sorted(set(kinds.values()))}
    ratio = (theirs["per_notebook"] / ours["per_notebook"]) if "per_notebook" in theirs else None
    rows = [
        ("submissions (01_rnn)", f"{args.n}: " + ", ".join(f"{v} {k}" for k, v in mix.items())),
        ("this grader: batch wall time", f"{ours['seconds']:.2f} s for {ours['n']} "
                                         f"({args.workers} workers)"),
        ("this grader: of which grading / gradebook writes",
         f"{ours['grading_seconds']:.2f} s / {ours['gradebook_seconds']:.2f} s"),
        ("this grader: per notebook (throughput)", f"{ours['per_notebook'] * 1000:.0f} ms"),
        ("this grader: one notebook alone (median)", f"{ours['sequential_wall_median']*1000:.0f} ms"),
        ("overhead per notebook beyond student compute (median / p90)",
         f"{ours['overhead_median'] * 1000:.0f} ms / {ours['overhead_p90'] * 1000:.0f} ms"),
    ]
    if "per_notebook" in theirs:
        rows += [("nbgrader autograde: per notebook", f"{theirs['per_notebook']:.2f} s "
                  f"(measured on {theirs['n']} of the {args.n}, {theirs['mode']})"),
                 ("throughput ratio (nbgrader time / this grader time)", f"{ratio:.0f}x"),
                 ("goal", ">= 20x throughput, < 100 ms overhead per notebook")]
    else:
        rows.append(("nbgrader autograde", "failed: " + theirs.get("error", "")[:300]))
    width = max(len(r[0]) for r in rows)
    table = "\n".join(f"| {a:<{width}} | {b} |" for a, b in rows)
    header = f"| {'measure':<{width}} | value |\n|{'-' * (width + 2)}|-------|\n"
    load = os.getloadavg()
    table += f"\n| {'machine load average (1, 5, 15 min) at the end':<{width}} | " + \
        ", ".join(f"{x:.1f}" for x in load) + " |"
    print(header + table)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "grading.md").write_text(
        "# Grading throughput: hidden-test autograder vs nbgrader autograde\n\n"
        f"Machine: {os.cpu_count()} cores. Command: `python bench/bench_grading.py --n {args.n} "
        f"--nbgrader-n {args.nbgrader_n} --workers {args.workers}`.\n\n" + header + table + "\n")
    (RESULTS / "grading.json").write_text(json.dumps({
        "n": args.n, "mix": mix, "workers": args.workers,
        "ours": {k: v for k, v in ours.items() if k != "scores"}, "nbgrader": theirs,
        "ratio": ratio, "load_average_at_end": os.getloadavg()}, indent=1))


if __name__ == "__main__":
    main()
