"""Truncated backpropagation through time: train on a long sequence one chunk at a time.

Backpropagating through a whole book is slow and needs the activations of every step. Truncated
BPTT cuts the sequence into chunks of seq_len steps:

- forward, the hidden state is carried from the end of one chunk to the start of the next, so
  the model still sees an unbroken stream;
- backward, the gradient stops at the chunk boundary: the incoming hidden state is treated as a
  constant, so each update costs seq_len steps of backpropagation, whatever the sequence length.

In numpy the second point is automatic: a loss function that returns gradients with respect to
the parameters only never sends anything into the previous chunk.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from solutions._validate import check_shapes
from solutions.training import clip_grad_norm

LossFn = Callable[[dict, np.ndarray, np.ndarray, np.ndarray], tuple[float, dict, np.ndarray]]


def tbptt_train(
    loss_fn: LossFn, params: dict[str, np.ndarray], data: np.ndarray, h0: np.ndarray,
    seq_len: int, learning_rate: float, max_norm: float | None = None,
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """One pass of truncated BPTT with plain SGD over N parallel streams of S tokens.

    Chunk k reads inputs data[:, k T : (k+1) T] and predicts the next tokens
    data[:, k T + 1 : (k+1) T + 1] (T = seq_len; the last chunk may be shorter, so every one of
    the S - 1 predictions is used exactly once). With h = h0 at the start, for every chunk:

        loss_k, grads, h = loss_fn(params, inputs, targets, h)    h carried on, not backpropagated
        grads, norm_k = clip_grad_norm(grads, max_norm)           no clipping if max_norm is None
        params = params - learning_rate * grads

    Inputs:
    - loss_fn: (params, x (N, T) int, y (N, T) int, h (N, H)) -> (loss, grads, last_h): the loss of
      one chunk starting from state h, its gradients (a dict with the keys of params) and the
      hidden state after the chunk's last step, shape (N, H)
    - params: dict name -> float array; left untouched (a new dict is returned)
    - data: integer tokens, shape (N, S), S >= 2
    - h0: hidden state before the first token, shape (N, H)
    - seq_len: truncation length T >= 1
    - learning_rate: SGD step size >= 0
    - max_norm: global gradient-norm threshold > 0, or None

    Returns:
    - params: the parameters after the last update (new arrays)
    - losses: loss of every chunk before its update, shape (num_chunks,), num_chunks = ceil((S-1)/T)
    - grad_norms: global gradient norm of every chunk before clipping, shape (num_chunks,)
    """
    if not callable(loss_fn):
        raise ValueError(f"tbptt_train: loss_fn must be callable, got {type(loss_fn).__name__}")
    if not isinstance(data, np.ndarray) or data.ndim != 2 or not np.issubdtype(data.dtype, np.integer):
        raise ValueError("tbptt_train: data must be an integer array of shape (N, S)")
    N, S = data.shape
    if S < 2:
        raise ValueError(f"tbptt_train: data needs at least 2 tokens per stream, got shape {data.shape}")
    if not isinstance(h0, np.ndarray) or h0.ndim != 2 or h0.shape[0] != N:
        raise ValueError(f"tbptt_train: h0 must have shape (N, H) with N = {N} (rows of data), "
                         f"got {getattr(h0, 'shape', type(h0).__name__)}")
    if int(seq_len) != seq_len or seq_len < 1:
        raise ValueError(f"tbptt_train: seq_len must be a positive integer, got {seq_len}")
    if learning_rate < 0:
        raise ValueError(f"tbptt_train: learning_rate must be >= 0, got {learning_rate}")
    if max_norm is not None and not max_norm > 0:
        raise ValueError(f"tbptt_train: max_norm must be positive or None, got {max_norm}")

    params = dict(params)
    h = h0
    losses, norms = [], []
    for start in range(0, S - 1, seq_len):
        end = min(start + seq_len, S - 1)
        loss, grads, h = loss_fn(params, data[:, start:end], data[:, start + 1:end + 1], h)
        if set(grads) != set(params):
            raise ValueError(f"tbptt_train: loss_fn returned gradients for {sorted(grads)}, "
                             f"expected {sorted(params)}")
        # inf leaves the gradients as they are but still measures their norm.
        grads, norm = clip_grad_norm(grads, np.inf if max_norm is None else max_norm)
        params = {k: v - learning_rate * grads[k] for k, v in params.items()}
        losses.append(float(loss))
        norms.append(norm)
    return params, np.array(losses), np.array(norms)


def rnn_backward_truncated(
    dh: np.ndarray, cache: tuple, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The k-step truncated gradient of a vanilla RNN (Williams & Peng 1990, "BPTT(h)").

    Full BPTT (rnn_backward) sends the gradient dh[:, t] that reaches h_t from outside back
    through every earlier step. Here it goes back k steps at most: it reaches the steps
    t, t-1, ..., t-k+1 and is dropped beyond. With k >= T the result is rnn_backward's.

        for every t, with g = dh[:, t]:
            for s = t, t-1, ..., max(0, t-k+1):
                da_s += g * (1 - h_s^2);   g = (g * (1 - h_s^2)) Wh^T
            if t - k + 1 <= 0: dh0 += g          (the path reached h0)
        dx_s = da_s Wx^T,  dWx = sum_s x_s^T da_s,  dWh = sum_s h_{s-1}^T da_s,  db = sum_s da_s

    Inputs:
    - dh: upstream gradients of all hidden states, shape (N, T, H)
    - cache: the tuple (x, h0, Wx, Wh, h) that rnn_forward builds: x (N, T, D) the inputs,
      h0 (N, H) the initial state, Wx (D, H), Wh (H, H) the weights, h (N, T, H) the hidden states
    - k: truncation length, an integer >= 1

    Returns dx (N, T, D), dh0 (N, H), dWx (D, H), dWh (H, H), db (H,).

    Raises ValueError if k is not a positive integer or the shapes disagree.
    """
    x, h0, Wx, Wh, h = cache
    check_shapes("rnn_backward_truncated", cache=(h, "N T H"), dh=(dh, "N T H"), x=(x, "N T D"),
                 h0=(h0, "N H"), Wx=(Wx, "D H"), Wh=(Wh, "H H"))
    if isinstance(k, bool) or int(k) != k or k < 1:
        raise ValueError(f"rnn_backward_truncated: k must be a positive integer, got {k!r}")
    k = int(k)
    N, T, H = h.shape
    local = 1.0 - h ** 2                               # tanh' at every step, (N, T, H)
    da = np.zeros_like(h)
    dh0 = np.zeros_like(h0, dtype=da.dtype)
    for t in range(T):
        g = dh[:, t]
        for s in range(t, max(0, t - k + 1) - 1, -1):
            g = g * local[:, s]
            da[:, s] += g
            g = g @ Wh.T                                # now the gradient of h_{s-1}
        if t - k + 1 <= 0:
            dh0 += g
    h_prev = np.concatenate([h0[:, None, :], h[:, :-1]], axis=1)
    flat_da = da.reshape(N * T, H)
    return (da @ Wx.T, dh0, x.reshape(N * T, -1).T @ flat_da, h_prev.reshape(N * T, H).T @ flat_da,
            flat_da.sum(axis=0))
