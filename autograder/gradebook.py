"""Write hidden-test scores into nbgrader's gradebook.

Scores land as the *autoscore* of the ``test_F`` grade cells, exactly where ``nbgrader
autograde`` would put them, so ``nbgrader export``, formgrader (which still shows the manually
graded answer cells) and ``nbgrader generate_feedback`` keep working. Writing is idempotent:
grading a submission again overwrites its scores, it never adds a second submission.
"""

from __future__ import annotations

import functools
import os
import sys
import warnings
from pathlib import Path

import nbformat
import nbgrader.api
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.utils import parse_utc

# nbgrader runs the `alembic` command on every Gradebook(...) to learn the schema version: make
# sure the venv's bin is on PATH, and ask only once per process.
_bin = os.path.dirname(sys.executable)
if _bin not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _bin + os.pathsep + os.environ.get("PATH", "")


@functools.lru_cache(maxsize=1)
def _alembic_head() -> str:
    """The schema head nbgrader expects, computed in-process (nbgrader starts `alembic heads`
    as a subprocess every time, which costs a second or more per Gradebook)."""
    import re

    revisions, downs = set(), set()
    for f in (Path(nbgrader.__file__).parent / "alembic" / "versions").glob("*.py"):
        text = f.read_text()
        rev = re.search(r"^revision\s*=\s*['\"](\w+)['\"]", text, re.M)
        down = re.search(r"^down_revision\s*=\s*['\"](\w+)['\"]", text, re.M)
        if rev:
            revisions.add(rev.group(1))
        if down:
            downs.add(down.group(1))
    heads = revisions - downs
    if len(heads) == 1:
        return heads.pop()
    return _original_alembic_version()


_original_alembic_version = getattr(nbgrader.api.get_alembic_version, "__wrapped__",
                                    nbgrader.api.get_alembic_version)
nbgrader.api.get_alembic_version = _alembic_head


def default_db_url(course: str | Path) -> str:
    return f"sqlite:///{Path(course).resolve() / 'gradebook.db'}"


def ensure_assignment(db_url: str, assignment: str, source_notebook: str | Path,
                      config=None):
    """Make sure the gradebook knows the assignment and its cells, as ``nbgrader
    generate_assignment`` records them: its preprocessors up to ``SaveCells`` (lock cells,
    replace solutions by the configured stub, clear outputs, checksums), with the course's
    configuration ``config`` (a traitlets Config; default nbgrader's defaults), so that the
    stored checksums are those ``nbgrader autograde`` expects later. Returns the assignment's
    due date (naive UTC datetime, or None)."""
    nb_name = Path(source_notebook).stem
    with Gradebook(db_url) as gb:
        due = gb.update_or_create_assignment(assignment).duedate
        try:
            gb.find_notebook(nb_name, assignment)
            return due
        except MissingEntry:
            pass
    from nbgrader.preprocessors import (
        CheckCellMetadata,
        ClearOutput,
        ClearSolutions,
        ComputeChecksums,
        IncludeHeaderFooter,
        LockCells,
        SaveCells,
    )
    from traitlets.config import Config

    config = config if config is not None else Config()
    nb = nbformat.read(str(source_notebook), as_version=4)
    resources = {"nbgrader": {"notebook": nb_name, "assignment": assignment, "db_url": db_url},
                 "metadata": {"path": str(Path(source_notebook).parent)}}
    for pp in (IncludeHeaderFooter, LockCells, ClearSolutions, ClearOutput, CheckCellMetadata,
               ComputeChecksums, SaveCells):
        nb, resources = pp(config=config).preprocess(nb, resources)
    return due


def record(db_url: str | Gradebook, assignment: str, student: str, notebook: str,
           result: dict, commit: bool = True, *, timestamp=None, review: list[str] | None = None,
           policy=None, due=None, prefetched: dict | None = None) -> dict:
    """Store one graded submission, as ``nbgrader autograde`` would.

    ``db_url`` may also be an open Gradebook (a batch keeps one open and commits once at the
    end). ``timestamp`` (naive UTC datetime, from timestamp.txt) is stored on the submission;
    ``review`` (reasons, e.g. a truncated notebook) marks the hidden-test cells "needs manual
    grade"; ``policy`` (:class:`autograder.late.LatePolicy`) assigns nbgrader's late penalty to
    the notebook. ``due`` is the assignment's due date (for the late record when the submission
    has no timestamp); ``prefetched`` is :func:`prefetch` 's answer (a batch's speed-up).
    Returns ``{"written": [grade cells], "late": {...} or None}``."""
    args = (assignment, student, notebook, result, commit, timestamp, review, policy, due,
            prefetched or {})
    if isinstance(db_url, Gradebook):
        return _record(db_url, *args)
    with Gradebook(db_url) as gb:
        return _record(gb, *args)


def prefetch(gb: Gradebook, assignment: str, notebook: str) -> dict:
    """student -> (submitted notebook, {grade cell name: Grade}, submission) for every existing
    submission, in one query (reading them one student at a time costs a query per grade)."""
    from nbgrader.api import Assignment, Grade, GradeCell, Notebook, SubmittedAssignment, SubmittedNotebook

    rows = (gb.db.query(Grade, GradeCell.name, SubmittedNotebook, SubmittedAssignment)
            .join(GradeCell, Grade.cell_id == GradeCell.id)
            .join(SubmittedNotebook, Grade.notebook_id == SubmittedNotebook.id)
            .join(SubmittedAssignment, SubmittedNotebook.assignment_id == SubmittedAssignment.id)
            .join(Notebook, SubmittedNotebook.notebook_id == Notebook.id)
            .join(Assignment, Notebook.assignment_id == Assignment.id)
            .filter(Assignment.name == assignment, Notebook.name == notebook).all())
    out: dict = {}
    for grade, name, snb, sub in rows:
        out.setdefault(sub.student_id, (snb, {}, sub))[1][name] = grade
    return out


def _record(gb: Gradebook, assignment: str, student: str, notebook: str, result: dict,
            commit: bool = True, timestamp=None, review=None, policy=None, due=None,
            prefetched: dict | None = None) -> dict:
    written = []
    if prefetched and student in prefetched:
        # student, submission and notebook exist already (no lookups, no commit per student)
        nb, grades, submission = prefetched[student]
        if timestamp is not None:
            submission.timestamp = parse_utc(timestamp)
    else:
        with warnings.catch_warnings():
            # nbgrader's add_submission triggers harmless SQLAlchemy autoflush warnings.
            warnings.simplefilter("ignore")
            submission = _ensure_submission(gb, assignment, student, timestamp)
        try:
            nb = gb.find_submission_notebook(notebook, assignment, student)
            grades = {g.name: g for g in nb.grades}
        except MissingEntry:
            nb, grades = None, {}
    for fname, r in result["functions"].items():
        grade = grades.get(f"test_{fname}")
        if grade is None:
            continue
        grade.auto_score = float(r["score"])
        # flagged for a human look, until a grader has given a manual score in formgrader
        grade.needs_manual_grade = bool(review) and grade.manual_score is None
        written.append(f"test_{fname}")
    late = None
    if nb is not None:
        # nbgrader's AssignLatePenalties: reset, then ask the plugin if the submission is late
        nb.late_submission_penalty = None
        # (nbgrader's total_seconds_late is 0 without a timestamp; skip loading the due date)
        seconds_late = submission.total_seconds_late if submission.timestamp is not None else 0
        if policy is not None and seconds_late > 0:
            gb.db.flush()
            gb.db.refresh(nb)                      # the notebook's score after the new grades
            penalty = policy.penalty(student, nb.score, seconds_late)
            nb.late_submission_penalty = penalty
        else:
            penalty = None
        if policy is not None:
            from autograder.late import late_entry

            when_due = submission.duedate if submission.timestamp is not None else due
            late = late_entry(submission.timestamp, when_due, penalty, policy.method)
    if commit:
        gb.db.commit()
    return {"written": written, "late": late}


def _ensure_submission(gb: Gradebook, assignment: str, student: str, timestamp=None):
    """The student's submission, created if needed, with ``timestamp`` stored as nbgrader's
    ``update_or_create_submission(..., timestamp=...)`` stores it (``parse_utc``), but without
    its commit per student (the batch commits once)."""
    gb.update_or_create_student(student)
    try:
        submission = gb.find_submission(assignment, student)
    except MissingEntry:
        kwargs = {"timestamp": timestamp} if timestamp is not None else {}
        return gb.add_submission(assignment, student, **kwargs)
    if timestamp is not None:
        submission.timestamp = parse_utc(timestamp)
    return submission


def fast_sqlite(gb: Gradebook) -> None:
    """Tune a short-lived session that writes many submissions: nbgrader's add_submission
    commits once per student, and each commit would expire (and so reload) the assignment's
    cells, and fsync SQLite. Safe here: nothing else uses this session, the batch journal is
    the durable record, and a run killed before the gradebook is written rewrites it."""
    gb.db.expire_on_commit = False
    if gb.db.bind.dialect.name == "sqlite":
        from sqlalchemy import text

        gb.db.execute(text("PRAGMA synchronous = OFF"))
