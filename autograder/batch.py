"""Grade a whole class: nbgrader layout in, gradebook + feedback + CSV + results.json out.

    python -m autograder batch --course exercises --assignment 01_rnn [--workers 2]
                               [--scheduler tcp://host:8786] [--db sqlite:///...]

Resumable and idempotent. Each finished submission is journaled atomically
(``<out>/journal/<student>.json``) with a digest of everything its grade depends on: the graded
notebook and the other files of the submission folder (those the sandbox copies, including
``timestamp.txt``), the hidden tests, the references (``solutions/*.py``), the points and the
notebook name in the manifest, the limits and the grader's own code (``autograder/*.py``). A
re-run grades only what is new or whose digest changed, and (re)writes every journaled score
into the gradebook, which overwrites rather than appends. A run killed at any point therefore
loses no grade and duplicates none.

The notebook of each submission folder is chosen by :func:`autograder.submission.choose_notebook`
(never a checkpoint); a notebook that is not valid JSON is graded from what can be salvaged and
flagged for manual review; nbgrader's late policy is applied from ``timestamp.txt``
(:mod:`autograder.late`).
"""

from __future__ import annotations

import functools
import hashlib
import json
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict
from pathlib import Path

from tqdm import tqdm

from autograder import gradebook, report
from autograder.judge import (
    DEFAULT_MANIFEST,
    HIDDEN_DIR,
    Assignment,
    get_assignment,
    get_zygote,
    grade_notebook,
    submission_files,
)
from autograder.sandbox import Limits
from autograder.submission import Choice, choose_notebook, review_reasons

AUTOGRADER_DIR = Path(__file__).resolve().parent


@functools.lru_cache(maxsize=1)
def grader_version() -> str:
    """sha256 of the grader's own code (``autograder/*.py``, by name and content)."""
    h = hashlib.sha256()
    for path in sorted(AUTOGRADER_DIR.glob("*.py")):
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


_CURRENT: dict[tuple[str, str], tuple[str, Assignment]] = {}


def _assignment_inputs(name: str, manifest: str | None) -> str:
    """sha256 of what an Assignment is built from: its hidden-test file and manifest entry."""
    h = hashlib.sha256((HIDDEN_DIR / f"{name}.py").read_bytes())
    man = Path(manifest) if manifest else DEFAULT_MANIFEST
    if man.exists():
        h.update(json.dumps(json.loads(man.read_text(encoding="utf-8")).get(name),
                            sort_keys=True).encode())
    return h.hexdigest()


def current_assignment(name: str, manifest: str | None) -> Assignment:
    """The judge's Assignment, rebuilt if its hidden tests or its manifest entry (points, notebook
    name) changed since this process loaded it (a notebook server or a Dask worker lives
    across an instructor's edits)."""
    key = _assignment_inputs(name, manifest)
    seen = _CURRENT.get((name, str(manifest)))
    if seen is None:
        a = get_assignment(name, manifest)
        if a.points != _manifest_points(name, manifest, a):
            a = Assignment(name, manifest)
    elif seen[0] != key:
        a = Assignment(name, manifest)
    else:
        return seen[1]
    _CURRENT[(name, str(manifest))] = (key, a)
    return a


def _manifest_points(name: str, manifest: str | None, a: Assignment) -> dict:
    man = Path(manifest) if manifest else DEFAULT_MANIFEST
    if man.exists():
        entry = json.loads(man.read_text(encoding="utf-8")).get(name)
        if entry:
            return entry["functions"]
    return a.points


def _references_dir() -> Path:
    import solutions

    return Path(solutions.__file__).resolve().parent


def assignment_digest(assignment, limits: Limits) -> str:
    """What every submission's grade depends on besides the submission: the grader's version,
    the hidden tests, the references, the points and notebook name, and the limits."""
    h = hashlib.sha256()
    h.update(grader_version().encode())
    h.update((HIDDEN_DIR / f"{assignment.name}.py").read_bytes())
    for path in sorted(_references_dir().glob("*.py")):
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    h.update(json.dumps({"points": assignment.points, "notebook": assignment.notebook,
                         "limits": asdict(limits)}, sort_keys=True).encode())
    return h.hexdigest()


def submission_digest(base: str, choice: Choice, limits: Limits) -> str:
    """``base`` (:func:`assignment_digest`) plus the chosen notebook's name and bytes and the
    other files of its folder that the sandbox copies (names and bytes)."""
    h = hashlib.sha256(base.encode())
    nb = choice.notebook
    h.update(str(nb.name).encode() + b"\0")
    try:
        h.update(nb.read_bytes())
    except OSError:
        h.update(b"<unreadable>")
    try:
        files, _ = submission_files(nb, budget_bytes=(limits.scratch_mb << 20) // 4)
    except OSError:
        files = []
    for name, data in files:
        h.update(b"\0" + name.encode() + b"\0" + hashlib.sha256(data).digest())
    return h.hexdigest()


def find_submissions(course: Path, assignment: str, notebook: str,
                     functions: list[str] | None = None) -> dict[str, Choice]:
    """student -> :class:`~autograder.submission.Choice`, from nbgrader's
    submitted/<student>/<assignment>/ layout (hidden student folders are skipped). Students
    whose folder holds no notebook to grade are left out."""
    out = {}
    root = Path(course) / "submitted"
    if not root.is_dir():
        return out
    for sdir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        adir = sdir / assignment
        if not adir.is_dir():
            continue
        choice = choose_notebook(adir, notebook, functions or [])
        if choice.notebook is not None:
            out[sdir.name] = choice
    return out


def _copy_for_formgrader(course: Path, assignment: str, student: str, notebook: Path,
                         expected: str) -> None:
    """formgrader shows (and nbgrader generate_feedback reads) the notebook in
    autograded/<student>/<assignment>/<expected name>: put the graded submission there, with its
    timestamp.txt and submission_secret.txt, as nbgrader autograde would."""
    dst = course / "autograded" / student / assignment / expected
    try:
        report.atomic_write(dst, _readable_notebook(notebook))
        for name in ("timestamp.txt", "submission_secret.txt"):
            src = notebook.parent / name
            if src.is_file():
                report.atomic_write(dst.parent / name, src.read_bytes())
    except OSError:
        pass


def _readable_notebook(notebook: Path) -> bytes:
    """The submission's bytes; for a notebook that is not valid JSON (a truncated upload), a valid
    notebook rebuilt from the cells that could be salvaged, with a first cell saying so, so that
    formgrader and ``nbgrader generate_feedback`` can open what the TA must review."""
    raw = notebook.read_bytes()
    try:
        json.loads(raw.decode("utf-8"))
        return raw
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        pass
    import nbformat

    from autograder.notebook import read_cells

    cells, _ = read_cells(notebook)
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_markdown_cell(
        f"**Reconstructed by the autograder:** the submitted `{notebook.name}` is not valid JSON "
        f"(damaged or truncated). These {len(cells)} cells are what could be salvaged from its "
        "text; outputs and cell metadata are lost. The submission is flagged for manual review."))
    for c in cells:
        make = {"code": nbformat.v4.new_code_cell, "markdown": nbformat.v4.new_markdown_cell}.get(
            c.cell_type, nbformat.v4.new_raw_cell)
        nb.cells.append(make(c.source))
    return nbformat.writes(nb).encode("utf-8")


def _remote_grade(path: str, assignment: str, manifest: str | None, limits: dict,
                  hide: list[str]) -> dict:
    """Runs on a Dask worker: its own judge (references, hidden tests) and its own zygote."""
    a = current_assignment(assignment, manifest)
    z = get_zygote(hide)
    return grade_notebook(path, a, z, Limits(**limits))


def run_batch(course: str | Path, assignment: str, *, workers: int = 2,
              scheduler: str | None = None, db_url: str | None = None,
              out_dir: str | Path | None = None, manifest: str | Path | None = None,
              limits: Limits | None = None, progress: bool = True,
              force: bool = False) -> dict:
    """Grade every submission of ``assignment``; returns a summary (see README).

    Raises ValueError for an unknown assignment, and autograder.late.TimestampError is never
    raised: an unreadable timestamp.txt becomes a note and a manual-review flag."""
    from autograder import late as late_mod

    t_start = time.perf_counter()
    course = Path(course).resolve()
    if not course.is_dir():
        raise ValueError(f"the course folder {course} does not exist (run from the repository root "
                         "with --course exercises, or give the nbgrader course directory)")
    limits = limits or Limits()
    manifest = str(manifest) if manifest else (str(course / "manifest.json")
                                                if (course / "manifest.json").exists() else None)
    a = current_assignment(assignment, manifest)          # references + hidden tests first
    out = Path(out_dir).resolve() if out_dir else course / "hidden_grades" / assignment
    db_url = db_url or gradebook.default_db_url(course)
    policy = late_mod.load_policy(course)            # the course's nbgrader configuration
    source = course / "source" / assignment / a.notebook
    due = None
    if source.exists():
        due = gradebook.ensure_assignment(db_url, assignment, source, policy.app.config)
    nb_name = Path(a.notebook).stem
    subs = find_submissions(course, assignment, a.notebook, list(a.points))
    journal = out / "journal"
    base = assignment_digest(a, limits)
    todo, done = [], {}
    for student, choice in subs.items():
        digest = submission_digest(base, choice, limits)
        jpath = journal / f"{student}.json"
        if not force and jpath.exists():
            try:
                entry = json.loads(jpath.read_text(encoding="utf-8"))
                if entry.get("digest") == digest:
                    done[student] = entry
                    continue
            except (json.JSONDecodeError, UnicodeDecodeError, KeyError, OSError):
                pass
        todo.append((student, choice.notebook, digest))

    out.mkdir(parents=True, exist_ok=True)       # exists before the sandbox hides it
    hide = [str(course), str(out)]
    if db_url.startswith("sqlite:///"):
        hide.append(str(Path(db_url[len("sqlite:///"):]).resolve().parent))
    t0 = time.perf_counter()

    def finish(student: str, digest: str, result: dict) -> None:
        # The journal entry is the commit point; the gradebook is written from the journal.
        choice = subs[student]
        folder = choice.notebook.parent
        result["notes"] = choice.notes + list(result.get("notes", []))
        result["graded_file"] = choice.notebook.relative_to(folder).as_posix()
        result["ignored_files"] = [p.relative_to(folder).as_posix() for p in choice.ignored]
        reasons = review_reasons(choice.notebook)
        hidden_by_syntax = sorted(f for f, r in result.get("functions", {}).items()
                                  if any("but that cell has a syntax error" in h for h in r.get("hints", [])))
        if hidden_by_syntax:
            reasons.append(f"a syntax error hides {', '.join(hidden_by_syntax)} (scored 0 automatically); "
                           "look at the cell before releasing the grade")
        try:
            stamp = policy.read_timestamp(folder)
        except late_mod.TimestampError as e:
            stamp = None
            reasons.append(f"{e}; the late policy could not be applied")
        # the late record as the gradebook stage will most likely find it (it rewrites the
        # entry if not: a student's extension, manual scores in the notebook's total)
        seconds = max(0.0, (stamp - due).total_seconds()) if stamp and due else 0.0
        late = late_mod.late_entry(stamp, due, policy.penalty(student, result["score"], seconds),
                                   policy.method)
        result["needs_manual_review"] = bool(reasons)
        result["review_reasons"] = reasons
        if reasons:
            result["notes"] = [f"flagged for manual review: {r}" for r in reasons] + result["notes"]
        report.write_student_outputs(out, student, result)
        _copy_for_formgrader(course, assignment, student, choice.notebook, a.notebook)
        entry = {"digest": digest, "student": student, "needs_manual_review": bool(reasons),
                 "review_reasons": reasons, "late": late, "result": result}
        report.atomic_write(journal / f"{student}.json", json.dumps(entry))
        done[student] = entry

    bar = tqdm(total=len(todo), desc=f"grading {assignment}", unit="nb", disable=not progress)
    if todo and scheduler:
        from distributed import Client
        from distributed import as_completed as dask_completed

        with Client(scheduler, timeout="30s") as client:
            futures = {client.submit(_remote_grade, str(p), assignment, manifest, asdict(limits),
                                     hide, pure=False, key=f"grade-{assignment}-{s}-{d[:12]}"):
                       (s, d) for s, p, d in todo}
            for fut in dask_completed(futures):
                s, d = futures[fut]
                finish(s, d, fut.result())
                bar.update(1)
    elif todo:
        z = get_zygote(hide)
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            futures = {pool.submit(grade_notebook, p, a, z, limits): (s, d) for s, p, d in todo}
            for fut in as_completed(futures):
                s, d = futures[fut]
                finish(s, d, fut.result())
                bar.update(1)
    bar.close()
    elapsed = time.perf_counter() - t0
    t1 = time.perf_counter()
    # Write every journaled score (idempotent: overwrites), in one transaction, then the
    # class-wide exports. A run killed before this point is completed by the next run.
    with gradebook.Gradebook(db_url) as gb:
        gradebook.fast_sqlite(gb)
        prefetched = gradebook.prefetch(gb, assignment, nb_name)
        try:
            due = gb.find_assignment(assignment).duedate
        except gradebook.MissingEntry:
            due = None
        for student, entry in done.items():
            if student not in subs:
                continue
            try:
                stamp = policy.read_timestamp(subs[student].notebook.parent)
            except late_mod.TimestampError:
                stamp = None
            info = gradebook.record(gb, assignment, student, nb_name, entry["result"],
                                    commit=False, timestamp=stamp,
                                    review=entry.get("review_reasons"), policy=policy, due=due,
                                    prefetched=prefetched)
            if info["late"] != entry.get("late"):
                entry["late"] = info["late"]
                report.atomic_write(journal / f"{student}.json", json.dumps(entry))
        gb.db.commit()
    rows = [(s, e["result"]) for s, e in done.items() if s in subs]
    extra = {s: {"late_penalty": (e.get("late") or {}).get("penalty", 0.0),
                 "needs_manual_review": bool(e.get("needs_manual_review"))}
             for s, e in done.items() if s in subs}
    report.write_csv(out / "grades.csv", rows, extra)
    summary = {"assignment": assignment, "submissions": len(subs), "graded_now": len(todo),
               "reused": len(subs) - len(todo), "seconds": round(elapsed, 3),
               "setup_seconds": round(t0 - t_start, 3),
               "gradebook_seconds": round(time.perf_counter() - t1, 3),
               "out_dir": str(out), "db_url": db_url,
               "scores": {s: r["score"] for s, r in sorted(rows)},
               "max_score": float(sum(a.points.values())),
               "functions": {s: {f: v["score"] for f, v in r["functions"].items()}
                             for s, r in sorted(rows)},
               "late_penalty": {s: x["late_penalty"] for s, x in sorted(extra.items())
                                if x["late_penalty"]},
               "needs_manual_review": sorted(s for s, x in extra.items()
                                             if x["needs_manual_review"])}
    report.atomic_write(out / "summary.json", json.dumps(summary, indent=1))
    return summary
