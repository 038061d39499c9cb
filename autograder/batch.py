"""Grade a whole class: nbgrader layout in, gradebook + feedback + CSV + results.json out.

    python -m autograder batch --course exercises --assignment 01_rnn [--workers 2]
                               [--scheduler tcp://host:8786] [--db sqlite:///...]

Resumable and idempotent. Each finished submission is journaled atomically
(``<out>/journal/<student>.json``, with a digest of the notebook and of the hidden tests); a
re-run grades only what is new or changed, and (re)writes every journaled score into the
gradebook, which overwrites rather than appends. A run killed at any point therefore loses no
grade and duplicates none.
"""

from __future__ import annotations

import hashlib
import json
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict
from pathlib import Path

from tqdm import tqdm

from autograder import gradebook, report
from autograder.judge import HIDDEN_DIR, get_assignment, get_zygote, grade_notebook
from autograder.sandbox import Limits

GRADER_VERSION = "1"


def find_submissions(course: Path, assignment: str, notebook: str) -> dict[str, Path]:
    """student -> notebook path, from nbgrader's submitted/<student>/<assignment>/ layout."""
    out = {}
    root = course / "submitted"
    if not root.is_dir():
        return out
    for sdir in sorted(p for p in root.iterdir() if p.is_dir()):
        adir = sdir / assignment
        if not adir.is_dir():
            continue
        nb = adir / notebook
        if not nb.exists():
            candidates = sorted(adir.glob("*.ipynb"))
            if not candidates:
                continue
            nb = candidates[0]
        out[sdir.name] = nb
    return out


def _copy_for_formgrader(course: Path, assignment: str, student: str, notebook: Path) -> None:
    """formgrader shows (and nbgrader generate_feedback reads) the notebook in
    autograded/<student>/<assignment>/: put the submission there, as nbgrader autograde would."""
    dst = course / "autograded" / student / assignment / notebook.name
    try:
        report.atomic_write(dst, notebook.read_text(errors="replace"))
        stamp = notebook.parent / "timestamp.txt"
        if stamp.exists():
            report.atomic_write(dst.parent / "timestamp.txt", stamp.read_text())
    except OSError:
        pass


def _digest(path: Path, assignment: str) -> str:
    h = hashlib.sha256()
    h.update(GRADER_VERSION.encode())
    h.update((HIDDEN_DIR / f"{assignment}.py").read_bytes())
    try:
        h.update(path.read_bytes())
    except OSError:
        h.update(b"<unreadable>")
    return h.hexdigest()


def _remote_grade(path: str, assignment: str, manifest: str | None, limits: dict,
                  hide: list[str]) -> dict:
    """Runs on a Dask worker: its own judge (references, hidden tests) and its own zygote."""
    a = get_assignment(assignment, manifest)
    z = get_zygote(hide)
    return grade_notebook(path, a, z, Limits(**limits))


def run_batch(course: str | Path, assignment: str, *, workers: int = 2,
              scheduler: str | None = None, db_url: str | None = None,
              out_dir: str | Path | None = None, manifest: str | Path | None = None,
              limits: Limits | None = None, progress: bool = True,
              force: bool = False) -> dict:
    """Grade every submission of ``assignment``; returns a summary (see README)."""
    t_start = time.perf_counter()
    course = Path(course).resolve()
    limits = limits or Limits()
    manifest = str(manifest) if manifest else (str(course / "manifest.json")
                                                if (course / "manifest.json").exists() else None)
    a = get_assignment(assignment, manifest)              # references + hidden tests first
    out = Path(out_dir).resolve() if out_dir else course / "hidden_grades" / assignment
    db_url = db_url or gradebook.default_db_url(course)
    source = course / "source" / assignment / a.notebook
    if source.exists():
        gradebook.ensure_assignment(db_url, assignment, source)
    nb_name = Path(a.notebook).stem
    subs = find_submissions(course, assignment, a.notebook)
    journal = out / "journal"
    todo, done = [], {}
    for student, path in subs.items():
        digest = _digest(path, assignment)
        jpath = journal / f"{student}.json"
        if not force and jpath.exists():
            try:
                entry = json.loads(jpath.read_text())
                if entry.get("digest") == digest:
                    done[student] = entry["result"]
                    continue
            except (json.JSONDecodeError, KeyError, OSError):
                pass
        todo.append((student, path, digest))

    out.mkdir(parents=True, exist_ok=True)       # exists before the sandbox hides it
    hide = [str(course), str(out)]
    if db_url.startswith("sqlite:///"):
        hide.append(str(Path(db_url[len("sqlite:///"):]).resolve().parent))
    t0 = time.perf_counter()

    def finish(student: str, digest: str, result: dict) -> None:
        # The journal entry is the commit point; the gradebook is written from the journal.
        report.write_student_outputs(out, student, result)
        _copy_for_formgrader(course, assignment, student, subs[student])
        report.atomic_write(journal / f"{student}.json",
                            json.dumps({"digest": digest, "result": result}))
        done[student] = result

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
        for student, result in done.items():
            if student in subs:
                gradebook.record(gb, assignment, student, nb_name, result, commit=False)
        gb.db.commit()
    rows = [(s, r) for s, r in done.items() if s in subs]
    report.write_csv(out / "grades.csv", rows)
    summary = {"assignment": assignment, "submissions": len(subs), "graded_now": len(todo),
               "reused": len(subs) - len(todo), "seconds": round(elapsed, 3),
               "setup_seconds": round(t0 - t_start, 3),
               "gradebook_seconds": round(time.perf_counter() - t1, 3),
               "out_dir": str(out), "db_url": db_url,
               "scores": {s: r["score"] for s, r in sorted(rows)}}
    report.atomic_write(out / "summary.json", json.dumps(summary, indent=1))
    return summary
