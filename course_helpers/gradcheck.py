"""Numerical gradient checking with centred differences.

The checker that the book's appendix explains, the visible tests use and the reference tests use:

    df/dx_i ~= (f(x + h e_i) - f(x - h e_i)) / (2 h)

The error of the centred difference is O(h^2), so with float64 and h = 1e-5 an analytic gradient
that is right agrees to a relative error of about 1e-8 or better.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def rel_error(x: np.ndarray, y: np.ndarray) -> float:
    """Largest elementwise relative error max |x - y| / max(1e-8, |x| + |y|).

    Raises ValueError when the shapes differ, because a broadcast comparison would hide a bug.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError(f"rel_error: shapes differ, {x.shape} vs {y.shape}")
    if x.size == 0:
        return 0.0
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))


def eval_numerical_gradient(
    f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-5
) -> np.ndarray:
    """Numerical gradient of a scalar function f at x (same shape as x).

    f is called with x itself, perturbed one entry at a time and restored afterwards.
    """
    x = _as_float_array(x, "x")
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=[["readwrite"]])
    while not it.finished:
        ix = it.multi_index
        old = x[ix]
        x[ix] = old + h
        fxph = float(f(x))
        x[ix] = old - h
        fxmh = float(f(x))
        x[ix] = old
        grad[ix] = (fxph - fxmh) / (2 * h)
        it.iternext()
    return grad


def eval_numerical_gradient_array(
    f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, df: np.ndarray, h: float = 1e-5
) -> np.ndarray:
    """Numerical gradient of sum(f(x) * df) with respect to x, for an array-valued f.

    This is the gradient that backpropagation returns when the upstream gradient is df.
    Shapes: x any shape; df the shape of f(x); returns the shape of x.
    """
    x = _as_float_array(x, "x")
    df = np.asarray(df, dtype=np.float64)
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=[["readwrite"]])
    while not it.finished:
        ix = it.multi_index
        old = x[ix]
        x[ix] = old + h
        pos = np.array(f(x), dtype=np.float64, copy=True)
        x[ix] = old - h
        neg = np.array(f(x), dtype=np.float64, copy=True)
        x[ix] = old
        if pos.shape != df.shape:
            raise ValueError(f"eval_numerical_gradient_array: f(x) has shape {pos.shape} but df has {df.shape}")
        grad[ix] = np.sum((pos - neg) * df) / (2 * h)
        it.iternext()
    return grad


def _as_float_array(x: np.ndarray, name: str) -> np.ndarray:
    """x itself if it is a float64 array; raises ValueError otherwise.

    Lower precisions are refused rather than upcast: x is perturbed in place (f sees the very
    array), and with float32 the step h = 1e-5 is about 100 units in the last place of O(1)
    values, so rounding dominates the difference quotient (a correct backward shows a relative
    error of about 0.1). PyTorch's torch.autograd.gradcheck warns for the same reason.
    """
    if not isinstance(x, np.ndarray) or not np.issubdtype(x.dtype, np.floating):
        raise ValueError(
            f"{name} must be a floating-point numpy array that can be perturbed in place, "
            f"got {type(x).__name__}" + (f" of dtype {x.dtype}" if isinstance(x, np.ndarray) else "")
        )
    if x.dtype != np.float64:
        raise ValueError(
            f"{name} has dtype {x.dtype}: numerical gradients need float64 (with {x.dtype} the "
            f"rounding error of f(x + h) - f(x - h) swamps the difference for h = 1e-5). "
            f"Check with {name}.astype(np.float64) and compute in float64."
        )
    return x
