"""Hidden-test autograder for the RNN course. Never shipped to students.

- ``grade(notebook_path, assignment) -> dict``: grade one notebook, statelessly (JSON-serialisable).
- ``run_batch(course, assignment, ...)``: a whole class, into nbgrader's gradebook.
- ``python -m autograder grade|batch ...``: the same from the command line; ``feedback`` writes
  the pages ``nbgrader release_feedback`` delivers, ``gradescope`` grades one Gradescope upload,
  ``gradescope-bundle`` writes Gradescope's autograder.zip.

See ``autograder/README.md``.
"""

from autograder.judge import grade
from autograder.sandbox import Limits

__all__ = ["Limits", "grade", "run_batch"]


def run_batch(*args, **kwargs):
    """See :func:`autograder.batch.run_batch`."""
    from autograder.batch import run_batch as _run

    return _run(*args, **kwargs)
