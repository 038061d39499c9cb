"""Vanilla tanh RNN (CS231n Lecture 10).

    h_t = tanh(x_t Wx + h_{t-1} Wh + b)

Row-vector convention: a minibatch of N examples is a matrix whose rows are examples, so the
lecture's W_xh x_t becomes x_t @ Wx with Wx of shape (D, H).
"""

from __future__ import annotations

import numpy as np

from solutions._validate import check_float, check_shapes

RNNStepCache = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def rnn_step_forward(
    x: np.ndarray, prev_h: np.ndarray, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, RNNStepCache]:
    """One time step of a vanilla RNN: next_h = tanh(x Wx + prev_h Wh + b).

    Inputs:
    - x: input at this step, shape (N, D)
    - prev_h: hidden state of the previous step, shape (N, H)
    - Wx: input-to-hidden weights, shape (D, H)
    - Wh: hidden-to-hidden weights, shape (H, H)
    - b: bias, shape (H,)

    Returns:
    - next_h: next hidden state, shape (N, H)
    - cache: the tuple (x, prev_h, Wx, Wh, next_h): the inputs as given and the output, the
      values rnn_step_backward reads.
      The autograder checks your backward pass on a cache of exactly this structure built
      from reference values (a cache of another structure: with your own forward).
    """
    check_shapes("rnn_step_forward", x=(x, "N D"), prev_h=(prev_h, "N H"), Wx=(Wx, "D H"),
                 Wh=(Wh, "H H"), b=(b, "H"))
    check_float("rnn_step_forward", x=x, prev_h=prev_h, Wx=Wx, Wh=Wh, b=b)
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    return next_h, (x, prev_h, Wx, Wh, next_h)


def rnn_step_backward(
    dnext_h: np.ndarray, cache: RNNStepCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of one RNN step.

    With a = x Wx + prev_h Wh + b and next_h = tanh(a), da = dnext_h * (1 - next_h^2).

    Inputs:
    - dnext_h: gradient of the loss w.r.t. next_h, shape (N, H)
    - cache: from rnn_step_forward

    Returns dx (N, D), dprev_h (N, H), dWx (D, H), dWh (H, H), db (H,).
    """
    x, prev_h, Wx, Wh, next_h = cache
    check_shapes("rnn_step_backward", cache=(next_h, "N H"), dnext_h=(dnext_h, "N H"))
    da = dnext_h * (1.0 - next_h**2)
    return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0)


RNNCache = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def rnn_forward(
    x: np.ndarray, h0: np.ndarray, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, RNNCache]:
    """Run a vanilla RNN over a whole sequence of T steps.

    Inputs:
    - x: input sequence, shape (N, T, D)
    - h0: initial hidden state, shape (N, H)
    - Wx (D, H), Wh (H, H), b (H,): the weights shared by every step

    Returns:
    - h: hidden states of every step, shape (N, T, H)
    - cache: the tuple (x, h0, Wx, Wh, h): the inputs (without b) and all hidden states h
      (N, T, H); step t's cache is (x[:, t], h[:, t-1] or h0, Wx, Wh, h[:, t]).
      The autograder checks your backward pass on a cache of exactly this structure built
      from reference values (a cache of another structure: with your own forward).

    The input projection x_t Wx does not depend on the recurrence, so it is computed for all T
    steps in one matrix product; only h_{t-1} Wh has to wait for the previous step.
    """
    dims = check_shapes("rnn_forward", x=(x, "N T D"), h0=(h0, "N H"), Wx=(Wx, "D H"),
                        Wh=(Wh, "H H"), b=(b, "H"))
    check_float("rnn_forward", x=x, h0=h0, Wx=Wx, Wh=Wh, b=b)
    N, T, H = dims["N"], dims["T"], dims["H"]
    xw = x @ Wx + b                                   # (N, T, H)
    h = np.empty((N, T, H), dtype=np.result_type(x, h0, Wx, Wh, b))
    prev_h = h0
    for t in range(T):
        prev_h = np.tanh(xw[:, t] + prev_h @ Wh)
        h[:, t] = prev_h
    return h, (x, h0, Wx, Wh, h)


def rnn_backward(
    dh: np.ndarray, cache: RNNCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Backpropagation through time for a vanilla RNN.

    Inputs:
    - dh: upstream gradients of all hidden states, shape (N, T, H). dh[:, t] is only the gradient
      that reaches h_t from outside the recurrence (e.g. from the output y_t); the gradient from
      later steps is added here, walking backwards in time.
    - cache: from rnn_forward

    Returns dx (N, T, D), dh0 (N, H), dWx (D, H), dWh (H, H), db (H,).
    """
    x, h0, Wx, Wh, h = cache
    check_shapes("rnn_backward", cache=(h, "N T H"), dh=(dh, "N T H"))
    N, T, _ = h.shape
    da = np.empty_like(h)
    dprev_h = np.zeros_like(h0)
    for t in reversed(range(T)):
        da[:, t] = (dh[:, t] + dprev_h) * (1.0 - h[:, t] ** 2)
        dprev_h = da[:, t] @ Wh.T
    # The shared weights collect the gradient of every step: sum over time as one product each.
    h_prev = np.concatenate([h0[:, None, :], h[:, :-1]], axis=1)       # (N, T, H)
    D = x.shape[2]
    flat_da = da.reshape(N * T, -1)
    dx = da @ Wx.T
    dWx = x.reshape(N * T, D).T @ flat_da
    dWh = h_prev.reshape(N * T, -1).T @ flat_da
    db = flat_da.sum(axis=0)
    return dx, dprev_h, dWx, dWh, db
