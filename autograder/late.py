"""nbgrader's late-submission policy, applied by the batch exactly as ``nbgrader autograde`` does.

- The submission time is read from ``timestamp.txt`` in the submission folder by nbgrader's own
  ``CourseDirectory.get_existing_timestamp`` (``nbgrader.utils.parse_utc``: any format
  ``dateutil`` reads, e.g. ``2026-01-09 10:00:00.123456 UTC`` as written by ``nbgrader submit``,
  converted to naive UTC) and stored on the gradebook's submission
  (``update_or_create_submission(..., timestamp=...)``).
- The penalty comes from the course's configured plugin: nbgrader's own config machinery (an
  ``NbGrader`` application initialised on the course directory, which reads its
  ``nbgrader_config.py`` and the Jupyter config paths) builds nbgrader's
  ``AssignLatePenalties`` preprocessor, whose ``plugin_class`` (``LateSubmissionPlugin`` with its
  ``penalty_method``, or a custom class) computes
  ``late_submission_penalty(student_id, score, total_seconds_late)`` on the notebook's score, and
  nbgrader's own clamp (``_check_late_penalty``: at least 0, at most the score) bounds it.
  ``total_seconds_late`` is nbgrader's (due date plus the student's extension).

Source: nbgrader 0.9.6, ``nbgrader/preprocessors/latesubmissions.py``,
``nbgrader/converters/autograde.py`` (``init_assignment``), ``nbgrader/coursedir.py``.
"""

from __future__ import annotations

import datetime
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace


class TimestampError(ValueError):
    """timestamp.txt exists but nbgrader cannot parse it."""


@dataclass
class LatePolicy:
    """The course's nbgrader configuration, loaded once per batch."""

    app: object                 # nbgrader.apps.baseapp.NbGrader, initialised on the course
    assigner: object            # nbgrader.preprocessors.AssignLatePenalties with its plugin
    method: str                 # e.g. "LateSubmissionPlugin(penalty_method='zero')"

    @property
    def coursedir(self):
        return self.app.coursedir

    def read_timestamp(self, folder: str | Path) -> datetime.datetime | None:
        """The submission time (naive UTC) from ``folder/timestamp.txt``, as nbgrader reads it;
        None if there is no such file or it is empty. Raises TimestampError if unparsable."""
        path = Path(folder) / "timestamp.txt"
        if not path.exists():
            return None
        try:
            return self.coursedir.get_existing_timestamp(str(folder))
        except (SystemExit, ValueError, OverflowError) as e:
            raise TimestampError(f"{path}: not a timestamp nbgrader can read "
                                 f"({path.read_text(errors='replace').strip()[:60]!r})") from e

    def penalty(self, student: str, score: float, seconds_late: float) -> float | None:
        """nbgrader's penalty for a notebook scoring ``score`` that is ``seconds_late`` late:
        None when not late or when the plugin assigns none; otherwise clamped to [0, score]."""
        if not seconds_late or seconds_late <= 0:
            return None
        value = self.assigner.plugin_inst.late_submission_penalty(student, score, seconds_late)
        if value is None:
            return None
        return float(self.assigner._check_late_penalty(SimpleNamespace(score=score), value))


def load_policy(course: str | Path) -> LatePolicy:
    """Load the course's nbgrader configuration the way ``nbgrader autograde`` run in the course
    folder does, and build its late-penalty plugin. Custom plugin classes named in the config
    (``c.AssignLatePenalties.plugin_class = "mymodule.MyPlugin"``) are imported with the course
    folder on ``sys.path``, as nbgrader puts its working directory there.

    Raises ValueError naming the problem when the course's nbgrader_config.py has a syntax
    error (nbgrader would only log it and go on without the late policy) or sets a value
    nbgrader rejects (an unknown ``penalty_method``, a plugin class that cannot be imported)."""
    config_file = Path(course) / "nbgrader_config.py"
    if config_file.is_file():
        try:
            compile(config_file.read_bytes(), str(config_file), "exec")
        except SyntaxError as e:
            raise ValueError(f"{config_file}: syntax error on line {e.lineno}: {e.msg}") from e
    try:
        return _load_policy(course)
    except Exception as e:  # noqa: BLE001 - traitlets raises TraitError, imports anything
        raise ValueError(f"{config_file}: nbgrader cannot use this configuration: {e}") from e


def _load_policy(course: str | Path) -> LatePolicy:
    from nbgrader.apps.baseapp import NbGrader
    from nbgrader.preprocessors import AssignLatePenalties

    class _CourseConfig(NbGrader):
        name = "autograder-late-policy"
        load_cwd_config = False       # the course folder is read below, whatever the cwd

        def init_syspath(self) -> None:
            pass

    course = str(Path(course).resolve())
    app = _CourseConfig()
    app.log.setLevel(logging.ERROR)
    app.initialize([], root=course)
    added = course not in sys.path
    if added:
        sys.path.insert(0, course)
    try:
        assigner = AssignLatePenalties(parent=app)
        assigner.log.setLevel(logging.ERROR)
        assigner.init_plugin()
    finally:
        if added:
            sys.path.remove(course)
    plugin = assigner.plugin_inst
    plugin.log.setLevel(logging.ERROR)
    name = type(plugin).__name__
    method = (f"{name}(penalty_method={plugin.penalty_method!r})"
              if hasattr(plugin, "penalty_method") else f"{type(plugin).__module__}.{name}")
    return LatePolicy(app, assigner, method)


def late_entry(timestamp: datetime.datetime | None, due: datetime.datetime | None,
               penalty: float | None, method: str) -> dict:
    """The journal's ``late`` record: ISO times (UTC, no offset, as nbgrader stores them)."""
    return {"timestamp": timestamp.isoformat(sep=" ") if timestamp else None,
            "due": due.isoformat(sep=" ") if due else None,
            "penalty": float(penalty) if penalty is not None else 0.0,
            "method": method}
