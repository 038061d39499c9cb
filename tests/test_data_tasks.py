"""course_helpers.tasks: the adding problem and the copy task."""

from __future__ import annotations

import numpy as np
import pytest

from course_helpers.tasks import (
    ADDING_BASELINE_MSE,
    adding_problem,
    copy_task,
    copy_task_baseline,
)


@pytest.mark.parametrize("T", [2, 3, 10, 100])
def test_adding_problem_structure(T):
    x, y = adding_problem(500, T, seed=1)
    assert x.shape == (500, T, 2) and y.shape == (500,)
    assert x.dtype == y.dtype == np.float64
    values, marker = x[..., 0], x[..., 1]
    assert np.all((values >= 0) & (values < 1))
    assert set(np.unique(marker)) <= {0.0, 1.0}
    assert np.all(marker.sum(axis=1) == 2)
    half = T // 2
    assert np.all(marker[:, :half].sum(axis=1) == 1)
    assert np.all(marker[:, half:].sum(axis=1) == 1)
    assert np.allclose(y, (values * marker).sum(axis=1))


def test_adding_problem_is_seeded():
    a = adding_problem(50, 20, seed=7)
    b = adding_problem(50, 20, seed=7)
    c = adding_problem(50, 20, seed=8)
    assert all(np.array_equal(p, q) for p, q in zip(a, b, strict=True))
    assert not np.array_equal(a[0], c[0])
    x32, _ = adding_problem(5, 20, seed=7, dtype=np.float32)
    assert x32.dtype == np.float32
    with pytest.raises(ValueError, match="T must be >= 2"):
        adding_problem(5, 1)


def test_adding_baseline_is_0167_empirically():
    _, y = adding_problem(200_000, 10, seed=3)
    assert ADDING_BASELINE_MSE == pytest.approx(0.1667, abs=1e-4)
    # predicting 1 for every sequence
    assert np.mean((1.0 - y) ** 2) == pytest.approx(ADDING_BASELINE_MSE, abs=0.002)
    # and 1 is the best constant: the targets have mean 1
    assert y.mean() == pytest.approx(1.0, abs=0.005)


def test_copy_task_structure():
    S, delay, K = 5, 7, 4
    x, y = copy_task(100, seq_len=S, delay=delay, n_symbols=K, seed=0)
    assert x.shape == y.shape == (100, 2 * S + delay)
    symbols = x[:, :S]
    assert symbols.min() >= 1 and symbols.max() <= K
    assert np.all(x[:, S : S + delay - 1] == 0)
    assert np.all(x[:, S + delay - 1] == K + 1)            # the "go" marker
    assert np.all(x[:, S + delay :] == 0)
    assert np.all(y[:, : S + delay] == 0)
    assert np.array_equal(y[:, S + delay :], symbols)
    assert np.array_equal(copy_task(100, S, delay, K, seed=0)[0], x)
    with pytest.raises(ValueError, match="seq_len"):
        copy_task(10, seq_len=0)


def test_copy_task_baseline():
    assert copy_task_baseline(10, 20, 8) == pytest.approx(10 * np.log(8) / 40)
