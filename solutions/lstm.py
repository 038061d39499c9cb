"""Long short-term memory (Hochreiter & Schmidhuber 1997), in the CS231n convention.

    a = x Wx + prev_h Wh + b                 (N, 4H), split into four blocks of H
    i = sigmoid(a_i)   input gate:  whether to write to the cell
    f = sigmoid(a_f)   forget gate: whether to erase the cell
    o = sigmoid(a_o)   output gate: how much of the cell to reveal
    g = tanh(a_g)      "gate gate": what to write
    next_c = f * prev_c + i * g
    next_h = o * tanh(next_c)

The blocks of Wx, Wh and b are ordered i, f, o, g. (PyTorch orders them i, f, g, o.)
"""

from __future__ import annotations

import numpy as np

from solutions._validate import check_float, check_shapes


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Numerically stable logistic function 1 / (1 + exp(-x)), no overflow for large |x|."""
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))


def _gates(a: np.ndarray, H: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split the activation vector (N, 4H) into the gates i, f, o, g."""
    return (sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H]), sigmoid(a[:, 2 * H:3 * H]),
            np.tanh(a[:, 3 * H:]))


def lstm_step_forward(
    x: np.ndarray, prev_h: np.ndarray, prev_c: np.ndarray, Wx: np.ndarray, Wh: np.ndarray,
    b: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, tuple]:
    """One LSTM step.

    Inputs:
    - x: input, shape (N, D)
    - prev_h: previous hidden state, shape (N, H)
    - prev_c: previous cell state, shape (N, H)
    - Wx: input-to-hidden weights, shape (D, 4H), blocks i, f, o, g
    - Wh: hidden-to-hidden weights, shape (H, 4H)
    - b: biases, shape (4H,)

    Returns:
    - next_h: next hidden state, shape (N, H)
    - next_c: next cell state, shape (N, H)
    - cache: the tuple (x, prev_h, prev_c, Wx, Wh, i, f, o, g, tanh_c): the inputs (without b),
      the four gates after their nonlinearities, each (N, H), and tanh(next_c) (N, H).
      The autograder checks your backward pass on a cache of exactly this structure built
      from reference values (a cache of another structure: with your own forward).
    """
    dims = check_shapes("lstm_step_forward", x=(x, "N D"), prev_h=(prev_h, "N H"),
                        prev_c=(prev_c, "N H"), Wx=(Wx, "D G"), Wh=(Wh, "H G"), b=(b, "G"))
    H = dims["H"]
    if dims["G"] != 4 * H:
        raise ValueError(f"lstm_step_forward: Wx, Wh and b must have 4H = {4 * H} columns "
                         f"(gates i, f, o, g), got {dims['G']}")
    check_float("lstm_step_forward", x=x, prev_h=prev_h, prev_c=prev_c, Wx=Wx, Wh=Wh, b=b)
    i, f, o, g = _gates(x @ Wx + prev_h @ Wh + b, H)
    next_c = f * prev_c + i * g
    tanh_c = np.tanh(next_c)
    next_h = o * tanh_c
    return next_h, next_c, (x, prev_h, prev_c, Wx, Wh, i, f, o, g, tanh_c)


def _step_backward(dnext_h, dnext_c, prev_c, i, f, o, g, tanh_c):
    """Gradient of the activation vector a (N, 4H) and of prev_c, given the step's gradients.

    The cell state receives gradient from next_c directly and through next_h = o * tanh(next_c);
    from there to prev_c it is only multiplied elementwise by f: no matrix, no squashing.
    """
    dc = dnext_c + dnext_h * o * (1.0 - tanh_c**2)
    di, df, do, dg = dc * g, dc * prev_c, dnext_h * tanh_c, dc * i
    da = np.concatenate([di * i * (1 - i), df * f * (1 - f), do * o * (1 - o), dg * (1 - g**2)],
                        axis=1)
    return da, dc * f


def lstm_step_backward(
    dnext_h: np.ndarray, dnext_c: np.ndarray, cache: tuple
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of one LSTM step.

    Inputs:
    - dnext_h: gradient w.r.t. next_h, shape (N, H)
    - dnext_c: gradient w.r.t. next_c, shape (N, H)
    - cache: from lstm_step_forward

    Returns dx (N, D), dprev_h (N, H), dprev_c (N, H), dWx (D, 4H), dWh (H, 4H), db (4H,).
    """
    x, prev_h, prev_c, Wx, Wh, i, f, o, g, tanh_c = cache
    check_shapes("lstm_step_backward", cache=(prev_c, "N H"), dnext_h=(dnext_h, "N H"),
                 dnext_c=(dnext_c, "N H"))
    da, dprev_c = _step_backward(dnext_h, dnext_c, prev_c, i, f, o, g, tanh_c)
    return da @ Wx.T, da @ Wh.T, dprev_c, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def lstm_forward(
    x: np.ndarray, h0: np.ndarray, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, tuple]:
    """Run an LSTM over a sequence. The initial cell state is zero.

    Inputs:
    - x: input sequence, shape (N, T, D)
    - h0: initial hidden state, shape (N, H)
    - Wx (D, 4H), Wh (H, 4H), b (4H,): shared weights, gate blocks i, f, o, g

    Returns:
    - h: hidden states of every step, shape (N, T, H)
    - cache: the tuple (x, h0, Wx, Wh, h, c, gates): the inputs (without b), the hidden and
      cell states of every step h, c (N, T, H), and gates (N, T, 4H): per step i, f, o, g after
      their nonlinearities, side by side.
      The autograder checks your backward pass on a cache of exactly this structure built
      from reference values (a cache of another structure: with your own forward).
    """
    dims = check_shapes("lstm_forward", x=(x, "N T D"), h0=(h0, "N H"), Wx=(Wx, "D G"),
                        Wh=(Wh, "H G"), b=(b, "G"))
    N, T, H = dims["N"], dims["T"], dims["H"]
    if dims["G"] != 4 * H:
        raise ValueError(f"lstm_forward: Wx, Wh and b must have 4H = {4 * H} columns "
                         f"(gates i, f, o, g), got {dims['G']}")
    check_float("lstm_forward", x=x, h0=h0, Wx=Wx, Wh=Wh, b=b)
    dtype = np.result_type(x, h0, Wx, Wh, b)
    xw = x @ Wx + b                                    # input projections of all steps at once
    h = np.empty((N, T, H), dtype=dtype)
    c = np.empty((N, T, H), dtype=dtype)
    gates = np.empty((N, T, 4 * H), dtype=dtype)       # i, f, o, g after their nonlinearities
    prev_h, prev_c = h0, np.zeros_like(h0)
    for t in range(T):
        i, f, o, g = _gates(xw[:, t] + prev_h @ Wh, H)
        prev_c = f * prev_c + i * g
        prev_h = o * np.tanh(prev_c)
        h[:, t], c[:, t] = prev_h, prev_c
        gates[:, t] = np.concatenate([i, f, o, g], axis=1)
    return h, (x, h0, Wx, Wh, h, c, gates)


def lstm_backward(
    dh: np.ndarray, cache: tuple
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Backpropagation through time for an LSTM.

    Inputs:
    - dh: upstream gradients of all hidden states, shape (N, T, H)
    - cache: from lstm_forward

    Returns dx (N, T, D), dh0 (N, H), dWx (D, 4H), dWh (H, 4H), db (4H,).
    """
    x, h0, Wx, Wh, h, c, gates = cache
    check_shapes("lstm_backward", cache=(h, "N T H"), dh=(dh, "N T H"))
    N, T, H = h.shape
    da = np.empty((N, T, 4 * H), dtype=gates.dtype)
    dprev_h = np.zeros_like(h0)
    dprev_c = np.zeros_like(h0)
    for t in reversed(range(T)):
        g_t = gates[:, t]
        i, f, o, g = g_t[:, :H], g_t[:, H:2 * H], g_t[:, 2 * H:3 * H], g_t[:, 3 * H:]
        prev_c = c[:, t - 1] if t > 0 else np.zeros_like(h0)
        da[:, t], dprev_c = _step_backward(dh[:, t] + dprev_h, dprev_c, prev_c, i, f, o, g,
                                           np.tanh(c[:, t]))
        dprev_h = da[:, t] @ Wh.T
    h_prev = np.concatenate([h0[:, None, :], h[:, :-1]], axis=1)
    flat_da = da.reshape(N * T, 4 * H)
    dx = da @ Wx.T
    dWx = x.reshape(N * T, -1).T @ flat_da
    dWh = h_prev.reshape(N * T, H).T @ flat_da
    return dx, dprev_h, dWx, dWh, flat_da.sum(axis=0)
