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


def ensure_assignment(db_url: str, assignment: str, source_notebook: str | Path) -> None:
    """Make sure the gradebook knows the assignment and its cells (as generate_assignment does)."""
    nb_name = Path(source_notebook).stem
    with Gradebook(db_url) as gb:
        gb.update_or_create_assignment(assignment)
        try:
            gb.find_notebook(nb_name, assignment)
            return
        except MissingEntry:
            pass
    from nbgrader.preprocessors import SaveCells

    nb = nbformat.read(str(source_notebook), as_version=4)
    SaveCells().preprocess(nb, {"nbgrader": {"notebook": nb_name, "assignment": assignment,
                                              "db_url": db_url}})


def record(db_url: str | Gradebook, assignment: str, student: str, notebook: str,
           result: dict, commit: bool = True) -> list[str]:
    """Store one graded submission; returns the grade cells written. ``db_url`` may also be an
    open Gradebook (a batch keeps one open and commits once at the end)."""
    if isinstance(db_url, Gradebook):
        return _record(db_url, assignment, student, notebook, result, commit)
    with Gradebook(db_url) as gb:
        return _record(gb, assignment, student, notebook, result, commit)


def _record(gb: Gradebook, assignment: str, student: str, notebook: str, result: dict,
            commit: bool = True):
    written = []
    with warnings.catch_warnings():
        # nbgrader's add_submission triggers harmless SQLAlchemy autoflush warnings.
        warnings.simplefilter("ignore")
        _ensure_submission(gb, assignment, student)
    try:
        grades = {g.name: g for g in gb.find_submission_notebook(notebook, assignment,
                                                                 student).grades}
    except MissingEntry:
        grades = {}
    for fname, r in result["functions"].items():
        grade = grades.get(f"test_{fname}")
        if grade is None:
            continue
        grade.auto_score = float(r["score"])
        grade.needs_manual_grade = False
        written.append(f"test_{fname}")
    if commit:
        gb.db.commit()
    return written


def _ensure_submission(gb: Gradebook, assignment: str, student: str) -> None:
    gb.update_or_create_student(student)
    try:
        gb.find_submission(assignment, student)
    except MissingEntry:
        gb.add_submission(assignment, student)


def fast_sqlite(gb: Gradebook) -> None:
    """Tune a short-lived session that writes many submissions: nbgrader's add_submission
    commits once per student, and each commit would expire (and so reload) the assignment's
    cells, and fsync SQLite. Safe here: nothing else uses this session, the batch journal is
    the durable record, and a run killed before the gradebook is written rewrites it."""
    gb.db.expire_on_commit = False
    if gb.db.bind.dialect.name == "sqlite":
        from sqlalchemy import text

        gb.db.execute(text("PRAGMA synchronous = OFF"))
