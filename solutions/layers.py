"""The layers around a recurrent core: word embedding, temporal affine, temporal softmax loss."""

from __future__ import annotations

import numpy as np

from solutions._validate import check_float, check_indices, check_shapes


def word_embedding_forward(x: np.ndarray, W: np.ndarray) -> tuple[np.ndarray, tuple]:
    """Look up the vector of every word: out[n, t] = W[x[n, t]].

    Inputs:
    - x: integer word indices, shape (N, T), each in 0..V-1
    - W: embedding matrix, shape (V, D)

    Returns:
    - out: embedded words, shape (N, T, D)
    - cache: the tuple (x, W.shape): the word indices (N, T) and the shape (V, D) of W, a tuple
      of two ints (the backward needs no values of W).
      The autograder checks your backward pass on a cache of exactly this structure built
      from reference values (a cache of another structure: with your own forward).
    """
    dims = check_shapes("word_embedding_forward", x=(x, "N T"), W=(W, "V D"))
    check_float("word_embedding_forward", W=W)
    check_indices("word_embedding_forward", "x", x, dims["V"], "the vocabulary (rows of W)")
    return W[x], (x, W.shape)


def word_embedding_backward(dout: np.ndarray, cache: tuple) -> np.ndarray:
    """Gradient of the embedding matrix.

    Each row of W receives the sum of the upstream gradients of every position that used it, so a
    word that occurs twice gets both contributions (np.add.at accumulates repeated indices).

    Inputs:
    - dout: upstream gradient, shape (N, T, D)
    - cache: from word_embedding_forward

    Returns dW, shape (V, D).
    """
    x, W_shape = cache
    V, D = W_shape
    check_shapes("word_embedding_backward", dout=(dout, f"{x.shape[0]} {x.shape[1]} {D}"))
    dW = np.zeros(W_shape, dtype=dout.dtype)
    np.add.at(dW, x, dout)
    return dW


def temporal_affine_forward(
    x: np.ndarray, w: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, tuple]:
    """The same affine map at every time step: out[n, t] = x[n, t] w + b.

    Inputs:
    - x: inputs, shape (N, T, D)
    - w: weights, shape (D, M)
    - b: biases, shape (M,)

    Returns:
    - out: shape (N, T, M)
    - cache: the tuple (x, w) of the inputs x (N, T, D) and w (D, M).
      The autograder checks your backward pass on a cache of exactly this structure built
      from reference values (a cache of another structure: with your own forward).
    """
    check_shapes("temporal_affine_forward", x=(x, "N T D"), w=(w, "D M"), b=(b, "M"))
    check_float("temporal_affine_forward", x=x, w=w, b=b)
    return x @ w + b, (x, w)


def temporal_affine_backward(
    dout: np.ndarray, cache: tuple
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of the temporal affine layer.

    Inputs:
    - dout: upstream gradient, shape (N, T, M)
    - cache: from temporal_affine_forward

    Returns dx (N, T, D), dw (D, M), db (M,).
    """
    x, w = cache
    N, T, D = x.shape
    check_shapes("temporal_affine_backward", dout=(dout, f"{N} {T} {w.shape[1]}"))
    M = w.shape[1]
    dx = dout @ w.T
    dw = x.reshape(N * T, D).T @ dout.reshape(N * T, M)
    db = dout.sum(axis=(0, 1))
    return dx, dw, db


def temporal_softmax_loss(
    x: np.ndarray, y: np.ndarray, mask: np.ndarray
) -> tuple[float, np.ndarray]:
    """Softmax cross-entropy at every time step, summed over time and averaged over the batch.

        loss = -(1/N) sum_n sum_t mask[n, t] log softmax(x[n, t])[y[n, t]]

    Masked-out steps (padding after <END>) add nothing to the loss or the gradient.

    Inputs:
    - x: scores, shape (N, T, V)
    - y: target indices, shape (N, T), each in 0..V-1
    - mask: which steps count, shape (N, T), boolean (or 0/1)

    Returns:
    - loss: a float
    - dx: gradient of the loss w.r.t. x, shape (N, T, V)
    """
    dims = check_shapes("temporal_softmax_loss", x=(x, "N T V"), y=(y, "N T"), mask=(mask, "N T"))
    check_float("temporal_softmax_loss", x=x)
    check_indices("temporal_softmax_loss", "y", y, dims["V"], "the score vector (last axis of x)")
    N = dims["N"]
    m = mask.astype(x.dtype)
    shifted = x - x.max(axis=2, keepdims=True)        # stable: exp never overflows
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=2, keepdims=True))
    picked = np.take_along_axis(log_probs, y[:, :, None], axis=2)[:, :, 0]
    loss = -np.sum(m * picked) / N
    dx = np.exp(log_probs)
    np.put_along_axis(dx, y[:, :, None], np.take_along_axis(dx, y[:, :, None], axis=2) - 1, axis=2)
    dx *= m[:, :, None] / N
    return float(loss), dx
