"""Class report and similarity ranking on a large generated class: time and peak memory.

Usage: python bench/bench_class_insight.py [--n 1000] [--workers 2]

Generates N submissions of 01_rnn (autograder/synth_class.py: every student writes the graded
functions their own way; 5% carry planted mistakes, 3 pairs are near-copies), grades them with
`batch` (timed, for context), then times `report` and `similarity` in fresh processes and reads
their peak resident memory (ru_maxrss of the child). Writes bench/results/class_insight.md/.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench._common import write_results  # noqa: E402

PEAK = ("import resource, runpy, sys\n"
        "sys.argv = ['autograder'] + sys.argv[1:]\n"
        "try:\n    runpy.run_module('autograder', run_name='__main__')\n"
        "except SystemExit as e:\n    code = e.code\nelse:\n    code = 0\n"
        "print('PEAK_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
        "sys.exit(code)\n")


def timed(args: list[str]) -> tuple[float, float]:
    """(wall seconds, peak resident memory in MB of that process alone) of `python -m autograder ARGS`."""
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", PEAK, *args], cwd=ROOT, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode:
        raise SystemExit(f"`python -m autograder {' '.join(args)}` failed:\n{proc.stderr[-2000:]}")
    peak = [int(ln.split()[1]) for ln in proc.stderr.splitlines() if ln.startswith("PEAK_KB")]
    return wall, peak[-1] / 1024


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--workers", type=int, default=2)
    args = p.parse_args()
    from autograder import synth_class

    course = Path(tempfile.mkdtemp(prefix="bench-class-"))
    try:
        if not (ROOT / "exercises" / "source" / "01_rnn").exists():
            subprocess.run([sys.executable, "-m", "scripts.make_exercises", "01_rnn", "--no-validate"],
                           cwd=ROOT, check=True, capture_output=True)
        for name in ("source", "release"):
            if (ROOT / "exercises" / name / "01_rnn").exists():
                shutil.copytree(ROOT / "exercises" / name / "01_rnn", course / name / "01_rnn")
        shutil.copy(ROOT / "exercises" / "manifest.json", course / "manifest.json")
        shutil.copy(ROOT / "exercises" / "nbgrader_config.py", course / "nbgrader_config.py")
        k = max(1, args.n // 100)
        bugs = {b: k for b in synth_class.BUGS}
        t0 = time.perf_counter()
        synth_class.make_class(course, args.n, bugs, copies=3, seed=2026)
        gen = time.perf_counter() - t0
        common = ["--course", str(course), "--assignment", "01_rnn", "--quiet"]
        batch = timed(["batch", *common, "--workers", str(args.workers)])
        rep = timed(["report", *common])
        sim = timed(["similarity", *common])
        out = course / "hidden_grades" / "01_rnn"
        page_kb = (out / "class_report.html").stat().st_size / 1024
        sim_kb = (out / "similarity.html").stat().st_size / 1024
        s = json.loads((out / "similarity.json").read_text(encoding="utf-8"))
        top3 = [f"{q['a']}&{q['b']} {q['similarity']:.2f}" for q in s["pairs"][:3]]
        fourth = s["pairs"][3]["similarity"] if len(s["pairs"]) > 3 else float("nan")
        rows = [
            ["generate submissions", args.n, round(gen, 2), "", ""],
            ["batch (grading, context)", args.n, round(batch[0], 2), round(batch[1]), ""],
            ["report", args.n, round(rep[0], 2), round(rep[1]), f"page {page_kb:.0f} kB"],
            ["similarity", args.n, round(sim[0], 2), round(sim[1]),
             f"{s['pairs_total']} pairs compared in full; page {sim_kb:.0f} kB"],
        ]
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        write_results("class_insight", "Class report and similarity ranking on a generated class",
                      ["step", "submissions", "seconds", "peak RSS (MB)", "notes"], rows,
                      notes=(f"Command: `python bench/bench_class_insight.py --n {args.n}`. Each step runs "
                             "as its own process; peak RSS is that process's maximum resident set. "
                             f"Top 3 similarity pairs (the 3 planted copies): {', '.join(top3)}; "
                             f"4th pair {fourth:.2f}. Machine load average at the end: {load}."),
                      extra={"n": args.n, "top3": top3, "fourth": fourth})
    finally:
        shutil.rmtree(course, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
