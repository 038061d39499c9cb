"""Command line: ``python -m autograder grade NOTEBOOK --assignment A`` and ``... batch``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from autograder.sandbox import Limits


def _limits(args: argparse.Namespace) -> Limits:
    return Limits(timeout_s=args.timeout, memory_mb=args.memory_mb)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m autograder",
                                description="Hidden-test autograder for the RNN course.")
    sub = p.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("grade", help="grade one notebook; prints JSON")
    g.add_argument("notebook")
    g.add_argument("--assignment", required=True)
    g.add_argument("--manifest", default=None)
    g.add_argument("--feedback", default=None, help="also write feedback HTML/JSON and "
                   "Gradescope results.json into this folder")
    gs = sub.add_parser("gradescope", help="Gradescope's run_autograder step: grade the "
                        "submitted notebook and write results.json")
    gs.add_argument("--assignment", required=True)
    gs.add_argument("--submission", default="/autograder/submission",
                    help="folder holding the student's .ipynb (Gradescope's layout)")
    gs.add_argument("--results", default="/autograder/results/results.json")
    gs.add_argument("--manifest", default=None)
    b = sub.add_parser("batch", help="grade every submission of an assignment")
    b.add_argument("--course", default="exercises")
    b.add_argument("--assignment", required=True)
    b.add_argument("--workers", type=int, default=2)
    b.add_argument("--scheduler", default=None, help="address of a running Dask scheduler")
    b.add_argument("--db", default=None, help="gradebook URL (default: COURSE/gradebook.db)")
    b.add_argument("--out", default=None, help="default: COURSE/hidden_grades/ASSIGNMENT")
    b.add_argument("--manifest", default=None)
    b.add_argument("--force", action="store_true", help="regrade even unchanged submissions")
    b.add_argument("--quiet", action="store_true", help="no progress bar")
    rp = sub.add_parser("report", help="class report after `batch`: score distributions, common "
                        "mistakes, errors, late work (HTML + JSON next to the journal)")
    sm = sub.add_parser("similarity", help="rank pairs of submissions whose graded functions are "
                        "suspiciously alike (copydetect winnowing; HTML + JSON), for a person to read")
    for sp in (rp, sm):
        sp.add_argument("--course", default="exercises")
        sp.add_argument("--assignment", required=True)
        sp.add_argument("--out", default=None, help="default: COURSE/hidden_grades/ASSIGNMENT")
        sp.add_argument("--quiet", action="store_true", help="no progress bar")
    sm.add_argument("--manifest", default=None)
    sm.add_argument("--threshold", type=float, default=0.7,
                    help="show pairs side by side from this similarity on (0-1, default 0.7)")
    sm.add_argument("--common", type=float, default=0.25, help="ignore fingerprints shared by more "
                    "than this share of the class (the obvious structure; default 0.25)")
    for sp in (g, gs, b):
        sp.add_argument("--timeout", type=float, default=10.0, help="seconds per check")
        sp.add_argument("--memory-mb", type=int, default=1024)
    args = p.parse_args(argv)

    if args.cmd == "grade":
        from autograder.judge import grade

        result = grade(args.notebook, args.assignment, manifest=args.manifest,
                       limits=_limits(args))
        if args.feedback:
            from autograder import report

            report.write_student_outputs(Path(args.feedback), Path(args.notebook).stem, result)
        json.dump(result, sys.stdout, indent=1)
        print()
        return 0
    if args.cmd == "gradescope":
        return _gradescope(args)
    if args.cmd in ("report", "similarity"):
        return _insight(args)
    from autograder.batch import run_batch

    summary = run_batch(args.course, args.assignment, workers=args.workers,
                        scheduler=args.scheduler, db_url=args.db, out_dir=args.out,
                        manifest=args.manifest, limits=_limits(args), progress=not args.quiet,
                        force=args.force)
    print(json.dumps({k: v for k, v in summary.items() if k != "scores"}, indent=1))
    return 0


def _insight(args: argparse.Namespace) -> int:
    """``report`` and ``similarity``: read the batch's journal, write HTML + JSON, print a summary."""
    try:
        if args.cmd == "report":
            from autograder.class_report import write_report

            s = write_report(args.course, args.assignment, args.out, progress=not args.quiet)
            print(f"{s['students']} students, mean {s['total']['mean']} of {s['total']['max_score']}; "
                  f"report: {s['html']}")
        else:
            from autograder.similarity import run_similarity

            s = run_similarity(args.course, args.assignment, out_dir=args.out, manifest=args.manifest,
                               threshold=args.threshold, common=args.common, progress=not args.quiet)
            top = ", ".join(f"{p['a']}&{p['b']} {p['similarity']:.0%}" for p in s["pairs"][:5])
            print(f"{s['submissions']} submissions, {s['pairs_total']} pairs share distinctive code; "
                  f"top: {top or 'none'}; report: {s['html']}")
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


def _gradescope(args: argparse.Namespace) -> int:
    from autograder import report
    from autograder.judge import get_assignment, grade

    a = get_assignment(args.assignment, args.manifest)
    folder = Path(args.submission)
    candidates = [folder / a.notebook] if (folder / a.notebook).exists() else sorted(
        folder.rglob("*.ipynb"))
    if not candidates:
        results = {"score": 0.0, "output": f"No notebook found: please submit {a.notebook}.",
                   "tests": []}
    else:
        results = report.gradescope_results(grade(candidates[0], args.assignment,
                                                   manifest=args.manifest, limits=_limits(args)))
    report.atomic_write(args.results, json.dumps(results, indent=1))
    print(f"score {results['score']} written to {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
