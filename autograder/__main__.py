"""Command line: ``python -m autograder grade|batch|feedback|gradescope|gradescope-bundle ...``

(``--help`` on each command lists its options; autograder/README.md explains them.)"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from autograder.report import VISIBILITIES
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
    gs.add_argument("--visibility", default="visible", choices=VISIBILITIES,
                    help="when students see the scores and hints (Gradescope's test visibility)")
    gs.add_argument("--execution-time", type=float, default=None, metavar="S",
                    help="wall-clock budget in seconds for the whole grading; past it, "
                    "results.json reports the time-out (default: no budget)")
    b = sub.add_parser("batch", help="grade every submission of an assignment")
    b.add_argument("--course", default="exercises")
    b.add_argument("--assignment", required=True)
    b.add_argument("--workers", type=int, default=2)
    b.add_argument("--scheduler", default=None, help="address of a running Dask scheduler")
    b.add_argument("--db", default=None, help="gradebook URL (default: COURSE/gradebook.db)")
    b.add_argument("--out", default=None, help="default: COURSE/hidden_grades/ASSIGNMENT")
    b.add_argument("--manifest", default=None)
    b.add_argument("--force", action="store_true", help="regrade even unchanged submissions")
    b.add_argument("--quiet", action="store_true", help="no progress bar and no score table")
    b.add_argument("--json", action="store_true", help="also print the JSON summary after the table")
    b.add_argument("--file-mode", default=None, metavar="MODE",
                   help="octal permissions of the files written (default 0640: the course's group "
                   "may read them; also AUTOGRADER_FILE_MODE)")
    fb = sub.add_parser("feedback", help="write each student's feedback page into nbgrader's "
                        "feedback/<student>/<assignment>/ for `nbgrader release_feedback`")
    fb.add_argument("--course", default="exercises")
    fb.add_argument("--assignment", required=True)
    fb.add_argument("--db", default=None)
    fb.add_argument("--out", default=None, help="the batch's output folder (default: "
                    "COURSE/hidden_grades/ASSIGNMENT)")
    fb.add_argument("--student", action="append", default=None, help="only these students")
    fb.add_argument("--file-mode", default=None, metavar="MODE")
    bu = sub.add_parser("gradescope-bundle", help="write Gradescope's autograder.zip for one "
                        "assignment")
    bu.add_argument("--assignment", required=True)
    bu.add_argument("--out", default="autograder.zip")
    bu.add_argument("--manifest", default=None)
    bu.add_argument("--visibility", default="visible", choices=VISIBILITIES)
    bu.add_argument("--execution-time", type=float, default=None, metavar="S")
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
    for sp in (g, gs, b, bu):
        sp.add_argument("--timeout", type=float, default=10.0, help="seconds per check")
        sp.add_argument("--memory-mb", type=int, default=1024)
    args = p.parse_args(argv)
    try:
        return _dispatch(args)
    except (ValueError, FileNotFoundError) as e:
        # a wrong path, assignment name or option: one line that names it, no traceback
        print(f"error: {e}", file=sys.stderr)
        return 2


def _dispatch(args: argparse.Namespace) -> int:
    if getattr(args, "file_mode", None):
        os.environ["AUTOGRADER_FILE_MODE"] = args.file_mode
        from autograder.report import file_mode

        file_mode()             # a bad mode raises ValueError naming it (reported by main)

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
    if args.cmd == "feedback":
        from autograder.feedback import write_feedback

        try:
            written = write_feedback(args.course, args.assignment, out_dir=args.out,
                                     db_url=args.db, students=args.student)
        except FileNotFoundError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        for student, path in written.items():
            _print(f"{student}: {path}")
        from autograder.feedback import missing_exchange_files

        for student, names in missing_exchange_files(args.course, args.assignment, list(written)).items():
            print(f"warning: {student}: no {' or '.join(names)} in the submission (not collected "
                  "through nbgrader's exchange): release_feedback cannot deliver this page",
                  file=sys.stderr)
        _print(f"{len(written)} feedback page(s) written; deliver them with "
               f"`nbgrader release_feedback {args.assignment}`")
        return 0
    if args.cmd == "gradescope-bundle":
        from autograder.gradescope_bundle import build_bundle

        path, names = build_bundle(args.assignment, args.out, manifest=args.manifest,
                                   visibility=args.visibility, execution_time=args.execution_time,
                                   limits=_limits(args))
        _print(f"{path}: {len(names)} files")
        return 0
    from autograder.batch import run_batch
    from autograder.report import score_table

    try:
        summary = run_batch(args.course, args.assignment, workers=args.workers,
                            scheduler=args.scheduler, db_url=args.db, out_dir=args.out,
                            manifest=args.manifest, limits=_limits(args),
                            progress=not args.quiet, force=args.force)
    except ValueError as e:                 # unknown assignment, a bad course configuration
        print(f"error: {e}", file=sys.stderr)
        return 2
    if not summary["submissions"]:
        print(f"no submissions of {args.assignment} in {Path(args.course).resolve() / 'submitted'} "
              f"(nbgrader's layout: submitted/<student>/{args.assignment}/<notebook>.ipynb, as "
              "`nbgrader collect` or `zip_collect` leaves it)", file=sys.stderr)
    if not args.quiet:
        rows = [(s, {"score": v, "max_score": summary["max_score"],
                     "functions": {f: {"score": x} for f, x in summary["functions"][s].items()}})
                for s, v in summary["scores"].items()]
        extra = {s: {"late_penalty": summary["late_penalty"].get(s, 0.0),
                     "needs_manual_review": s in summary["needs_manual_review"]}
                 for s in summary["scores"]}
        _print(score_table(rows, extra))
        _print(f"{summary['graded_now']} graded, {summary['reused']} unchanged (reused); "
               f"outputs in {summary['out_dir']}")
    if args.json or args.quiet:
        _print(json.dumps({k: v for k, v in summary.items()
                           if k not in ("scores", "functions")}, indent=1))
    return 0


def _insight(args: argparse.Namespace) -> int:
    """``report`` and ``similarity``: read the batch's journal, write HTML + JSON, print a summary."""
    try:
        if args.cmd == "report":
            from autograder.class_report import write_report

            s = write_report(args.course, args.assignment, args.out, progress=not args.quiet)
            _print(f"{s['students']} students, mean {s['total']['mean']} of {s['total']['max_score']}; "
                  f"report: {s['html']}")
        else:
            from autograder.similarity import run_similarity

            s = run_similarity(args.course, args.assignment, out_dir=args.out, manifest=args.manifest,
                               threshold=args.threshold, common=args.common, progress=not args.quiet)
            top = ", ".join(f"{p['a']}&{p['b']} {p['similarity']:.0%}" for p in s["pairs"][:5])
            _print(f"{s['submissions']} submissions, {s['pairs_total']} pairs share distinctive code; "
                  f"top: {top or 'none'}; report: {s['html']}")
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


def _print(text: str) -> None:
    """Print whatever the terminal's encoding (a student id or hint may not fit ISO-8859-1)."""
    enc = sys.stdout.encoding or "utf-8"
    sys.stdout.write(text.encode(enc, errors="backslashreplace").decode(enc) + "\n")


def _gradescope(args: argparse.Namespace) -> int:
    """Gradescope's run_autograder step: choose the notebook, grade it, write results.json."""
    import threading
    import time

    from autograder import report
    from autograder.judge import get_assignment, grade
    from autograder.submission import choose_notebook, review_reasons

    t0 = time.perf_counter()
    a = get_assignment(args.assignment, args.manifest)
    folder = Path(args.submission)
    choice = choose_notebook(folder, a.notebook, list(a.points))
    if choice.notebook is None:
        results = {"score": 0.0, "tests": [], "visibility": args.visibility,
                   "stdout_visibility": "hidden",
                   "output": "\n".join([f"No notebook found: please submit {a.notebook}."]
                                       + choice.notes)}
    else:
        box: dict = {}

        def work() -> None:
            try:
                box["result"] = grade(choice.notebook, args.assignment, manifest=args.manifest,
                                      limits=_limits(args))
            except BaseException as e:          # reported in results.json, never lost
                box["error"] = e

        worker = threading.Thread(target=work, daemon=True)
        worker.start()
        worker.join(args.execution_time)
        if "result" in box:
            result = box["result"]
            result["graded_file"] = choice.notebook.relative_to(folder).as_posix()
            result["ignored_files"] = [p.relative_to(folder).as_posix() for p in choice.ignored]
            reasons = review_reasons(choice.notebook)
            result["needs_manual_review"] = bool(reasons)
            result["notes"] = ([f"flagged for manual review: {r}" for r in reasons] + choice.notes
                               + list(result["notes"]))
            results = report.gradescope_results(result, args.visibility)
        else:
            why = (f"grading stopped after the time budget of {args.execution_time:g} s"
                   if worker.is_alive() else f"the grader failed: {box.get('error')!r}")
            results = {"score": 0.0, "tests": [], "visibility": args.visibility,
                       "stdout_visibility": "hidden",
                       "output": f"Graded notebook: {choice.notebook.name}. Not graded: {why}. "
                                 "Please contact the course staff."}
    results["execution_time"] = round(time.perf_counter() - t0, 3)
    report.atomic_write(args.results, json.dumps(results, indent=1))
    _print(f"score {results['score']} written to {args.results}")
    if choice.notebook is not None and "result" not in box:
        # A grading thread may still be running: end the zygote (its workers die with it once
        # the sandbox ties them to their judge) and exit without waiting for the thread.
        from autograder.judge import get_zygote

        try:
            get_zygote().close()
        except Exception:  # noqa: BLE001 - exiting anyway
            pass
        sys.stdout.flush()
        os._exit(0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
