"""Long-range synthetic tasks: the adding problem and the copy task, generated from a seed.

Both tasks are easy to state and hard for a vanilla RNN: the answer depends on inputs seen many
steps earlier, so the gradient has to travel back through many time steps.
"""

from __future__ import annotations

import numpy as np

#: MSE of always predicting 1 on the adding problem. The target is the sum of two independent
#: U(0, 1) values: its mean is 1 and its variance is 2 * (1/12) = 1/6 ~= 0.1667.
ADDING_BASELINE_MSE: float = 1.0 / 6.0


def adding_problem(n: int, T: int, seed: int | np.random.Generator = 0,
                   dtype: type = np.float64) -> tuple[np.ndarray, np.ndarray]:
    """The adding problem (Hochreiter & Schmidhuber, 1997).

    Each sequence has T steps with two channels: channel 0 holds values drawn from U(0, 1),
    channel 1 is a marker that is 1 at exactly two steps (one in the first half, one in the
    second half) and 0 elsewhere. The target is the sum of the two marked values.

    Inputs:
    - n: number of sequences
    - T: sequence length (>= 2)
    - seed: an int seed or a numpy Generator
    - dtype: float dtype of x and y

    Returns:
    - x: (n, T, 2)
    - y: (n,)
    """
    if n < 1:
        raise ValueError(f"adding_problem: n must be >= 1, got {n}")
    if T < 2:
        raise ValueError(f"adding_problem: T must be >= 2, got {T}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    values = rng.uniform(0.0, 1.0, size=(n, T))
    half = T // 2
    first = rng.integers(0, half, size=n)          # one marker in [0, T/2)
    second = rng.integers(half, T, size=n)         # the other in [T/2, T)
    marker = np.zeros((n, T))
    rows = np.arange(n)
    marker[rows, first] = 1.0
    marker[rows, second] = 1.0
    x = np.stack([values, marker], axis=-1).astype(dtype)
    y = (values[rows, first] + values[rows, second]).astype(dtype)
    return x, y


def copy_task(n: int, seq_len: int = 10, delay: int = 20, n_symbols: int = 8,
              seed: int | np.random.Generator = 0) -> tuple[np.ndarray, np.ndarray]:
    """The copy task (as in Arjovsky et al., 2016): remember a sequence over a delay.

    The input shows seq_len random symbols (1..n_symbols), then `delay` steps of blank (0), the
    last of which is the "go" marker (n_symbols + 1), then seq_len more blanks during which the
    model must output the symbols it saw, in order. Before that the target is blank.

    Inputs:
    - n: number of sequences
    - seq_len: number of symbols to remember (S)
    - delay: steps between the end of the symbols and the start of the recall (>= 1)
    - n_symbols: alphabet size; the vocabulary has n_symbols + 2 tokens (blank, symbols, go)
    - seed: an int seed or a numpy Generator

    Returns x, y: int64 arrays of shape (n, 2*S + delay).
    """
    if n < 1 or seq_len < 1 or delay < 1 or n_symbols < 1:
        raise ValueError("copy_task: n, seq_len, delay and n_symbols must all be >= 1, got "
                         f"n={n}, seq_len={seq_len}, delay={delay}, n_symbols={n_symbols}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    total = 2 * seq_len + delay
    symbols = rng.integers(1, n_symbols + 1, size=(n, seq_len))
    x = np.zeros((n, total), dtype=np.int64)
    y = np.zeros((n, total), dtype=np.int64)
    x[:, :seq_len] = symbols
    x[:, seq_len + delay - 1] = n_symbols + 1      # "go": start recalling at the next step
    y[:, seq_len + delay:] = symbols
    return x, y


def copy_task_baseline(seq_len: int, delay: int, n_symbols: int) -> float:
    """Cross-entropy (nats per time step) of the best memoryless strategy on the copy task.

    Predict blank with certainty before the recall, and a uniform guess over the n_symbols
    during the seq_len recall steps: seq_len * log(n_symbols) / (2 * seq_len + delay).
    """
    return seq_len * float(np.log(n_symbols)) / (2 * seq_len + delay)
