"""Student-safe helpers for the RNN course: gradient checks, data, metrics, artifacts, demos.

Released assignments import this package, so it never imports ``solutions`` or ``autograder``.
"""

from course_helpers.gradcheck import (
    eval_numerical_gradient,
    eval_numerical_gradient_array,
    rel_error,
)

__all__ = ["eval_numerical_gradient", "eval_numerical_gradient_array", "rel_error"]
