"""Gated recurrent unit in the form of torch.nn.GRU, and the form of Cho et al. (2014).

torch.nn.GRU form (used by cuDNN; the graded form). Blocks of Wx, Wh, bx, bh are ordered r, z, n:

    r = sigmoid(x Wx_r + bx_r + prev_h Wh_r + bh_r)          reset gate
    z = sigmoid(x Wx_z + bx_z + prev_h Wh_z + bh_z)          update gate
    n = tanh(x Wx_n + bx_n + r * (prev_h Wh_n + bh_n))       candidate state
    next_h = (1 - z) * n + z * prev_h

Cho et al. (2014) form: the reset gate acts on the state *before* the matrix product,

    n = tanh(x Wx_n + (r * prev_h) Wh_n + b_n)

How they differ: in the torch form the reset gate scales the already-projected state
prev_h Wh_n + bh_n, so prev_h Wh (all three blocks) is one matrix product that does not wait for r,
which is what makes the cuDNN kernel fast; the hidden bias bh_n sits inside the reset. In the Cho
form, r * prev_h must be known before the product with Wh_n, and there is a single bias. With
r = 1 (and bh_n = 0) the two forms agree; otherwise they are different functions of the same
weights, so weights trained in one form do not carry over to the other.

In both, z near 1 keeps the old state (next_h ~ prev_h) and z near 0 takes the candidate n.
"""

from __future__ import annotations

import numpy as np

from solutions._validate import check_float, check_shapes
from solutions.lstm import sigmoid


def _check_gru(func: str, x_spec: str, h_name: str, x, prev_h, Wx, Wh, bx, bh) -> dict[str, int]:
    """Check the shapes of a GRU call; h_name is what the caller calls its state (prev_h or h0)."""
    dims = check_shapes(func, x=(x, x_spec), **{h_name: (prev_h, "N H")},
                        Wx=(Wx, "D G"), Wh=(Wh, "H G"), bx=(bx, "G"), bh=(bh, "G"))
    if dims["G"] != 3 * dims["H"]:
        raise ValueError(f"{func}: Wx, Wh, bx and bh must have 3H = {3 * dims['H']} columns "
                         f"(blocks r, z, n), got {dims['G']}")
    check_float(func, x=x, **{h_name: prev_h}, Wx=Wx, Wh=Wh, bx=bx, bh=bh)
    return dims


def _step(gx: np.ndarray, prev_h: np.ndarray, Wh: np.ndarray, bh: np.ndarray, H: int):
    """One GRU step given the input projection gx = x Wx + bx (N, 3H)."""
    gh = prev_h @ Wh + bh
    r = sigmoid(gx[:, :H] + gh[:, :H])
    z = sigmoid(gx[:, H:2 * H] + gh[:, H:2 * H])
    hn = gh[:, 2 * H:]                                   # prev_h Wh_n + bh_n, the part r scales
    n = np.tanh(gx[:, 2 * H:] + r * hn)
    next_h = (1.0 - z) * n + z * prev_h
    return next_h, r, z, n, hn


def _step_backward(dnext_h, prev_h, r, z, n, hn):
    """Gradients of the input projection gx (N, 3H), of gh (N, 3H) and the direct path to prev_h."""
    dn = dnext_h * (1.0 - z)
    dz = dnext_h * (prev_h - n)
    dan = dn * (1.0 - n**2)
    dar = dan * hn * r * (1.0 - r)
    daz = dz * z * (1.0 - z)
    dgx = np.concatenate([dar, daz, dan], axis=1)
    dgh = np.concatenate([dar, daz, dan * r], axis=1)
    return dgx, dgh, dnext_h * z


def gru_step_forward(
    x: np.ndarray, prev_h: np.ndarray, Wx: np.ndarray, Wh: np.ndarray, bx: np.ndarray,
    bh: np.ndarray,
) -> tuple[np.ndarray, tuple]:
    """One GRU step, torch.nn.GRU form (see the module docstring for the equations).

    Inputs:
    - x: input, shape (N, D)
    - prev_h: previous hidden state, shape (N, H)
    - Wx: input weights, shape (D, 3H), blocks r, z, n (torch's weight_ih_l0 transposed)
    - Wh: hidden weights, shape (H, 3H), blocks r, z, n (torch's weight_hh_l0 transposed)
    - bx: input bias, shape (3H,) (torch's bias_ih_l0)
    - bh: hidden bias, shape (3H,) (torch's bias_hh_l0)

    Returns:
    - next_h: shape (N, H)
    - cache: the tuple (x, prev_h, Wx, Wh, r, z, n, hn): the inputs (without the biases), the
      gates r, z, the candidate n, and hn = prev_h Wh_n + bh_n (the part r scales), each (N, H).
      The autograder checks your backward pass on a cache of exactly this structure built
      from reference values (a cache of another structure: with your own forward).
    """
    dims = _check_gru("gru_step_forward", "N D", "prev_h", x, prev_h, Wx, Wh, bx, bh)
    next_h, r, z, n, hn = _step(x @ Wx + bx, prev_h, Wh, bh, dims["H"])
    return next_h, (x, prev_h, Wx, Wh, r, z, n, hn)


def gru_step_backward(
    dnext_h: np.ndarray, cache: tuple
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of one GRU step.

    Inputs:
    - dnext_h: gradient w.r.t. next_h, shape (N, H)
    - cache: from gru_step_forward

    Returns dx (N, D), dprev_h (N, H), dWx (D, 3H), dWh (H, 3H), dbx (3H,), dbh (3H,).
    """
    x, prev_h, Wx, Wh, r, z, n, hn = cache
    check_shapes("gru_step_backward", cache=(prev_h, "N H"), dnext_h=(dnext_h, "N H"))
    dgx, dgh, dprev_h = _step_backward(dnext_h, prev_h, r, z, n, hn)
    return (dgx @ Wx.T, dprev_h + dgh @ Wh.T, x.T @ dgx, prev_h.T @ dgh, dgx.sum(axis=0),
            dgh.sum(axis=0))


def gru_forward(
    x: np.ndarray, h0: np.ndarray, Wx: np.ndarray, Wh: np.ndarray, bx: np.ndarray,
    bh: np.ndarray,
) -> tuple[np.ndarray, tuple]:
    """Run a GRU (torch.nn.GRU form) over a sequence.

    Inputs:
    - x: input sequence, shape (N, T, D)
    - h0: initial hidden state, shape (N, H)
    - Wx (D, 3H), Wh (H, 3H), bx (3H,), bh (3H,): shared weights, blocks r, z, n

    Returns:
    - h: hidden states of every step, shape (N, T, H)
    - cache: the tuple (x, h0, Wx, Wh, h, saved): the inputs (without the biases), all hidden
      states h (N, T, H), and saved (N, T, 4H): per step r, z, n, hn side by side.
      The autograder checks your backward pass on a cache of exactly this structure built
      from reference values (a cache of another structure: with your own forward).
    """
    dims = _check_gru("gru_forward", "N T D", "h0", x, h0, Wx, Wh, bx, bh)
    N, T, H = dims["N"], dims["T"], dims["H"]
    dtype = np.result_type(x, h0, Wx, Wh, bx, bh)
    gx = x @ Wx + bx                                     # (N, T, 3H), all steps at once
    h = np.empty((N, T, H), dtype=dtype)
    saved = np.empty((N, T, 4 * H), dtype=dtype)         # r, z, n, hn of every step
    prev_h = h0
    for t in range(T):
        prev_h, r, z, n, hn = _step(gx[:, t], prev_h, Wh, bh, H)
        h[:, t] = prev_h
        saved[:, t] = np.concatenate([r, z, n, hn], axis=1)
    return h, (x, h0, Wx, Wh, h, saved)


def gru_backward(
    dh: np.ndarray, cache: tuple
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Backpropagation through time for a GRU (torch.nn.GRU form).

    Inputs:
    - dh: upstream gradients of all hidden states, shape (N, T, H)
    - cache: from gru_forward

    Returns dx (N, T, D), dh0 (N, H), dWx (D, 3H), dWh (H, 3H), dbx (3H,), dbh (3H,).
    """
    x, h0, Wx, Wh, h, saved = cache
    check_shapes("gru_backward", cache=(h, "N T H"), dh=(dh, "N T H"))
    N, T, H = h.shape
    dgx = np.empty((N, T, 3 * H), dtype=saved.dtype)
    dgh = np.empty((N, T, 3 * H), dtype=saved.dtype)
    dprev_h = np.zeros_like(h0)
    for t in reversed(range(T)):
        s = saved[:, t]
        r, z, n, hn = s[:, :H], s[:, H:2 * H], s[:, 2 * H:3 * H], s[:, 3 * H:]
        prev_h = h[:, t - 1] if t > 0 else h0
        dgx[:, t], dgh[:, t], direct = _step_backward(dh[:, t] + dprev_h, prev_h, r, z, n, hn)
        dprev_h = direct + dgh[:, t] @ Wh.T
    h_prev = np.concatenate([h0[:, None, :], h[:, :-1]], axis=1)
    flat_gx, flat_gh = dgx.reshape(N * T, -1), dgh.reshape(N * T, -1)
    return (dgx @ Wx.T, dprev_h, x.reshape(N * T, -1).T @ flat_gx,
            h_prev.reshape(N * T, H).T @ flat_gh, flat_gx.sum(axis=0), flat_gh.sum(axis=0))


def gru_step_forward_cho(
    x: np.ndarray, prev_h: np.ndarray, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray
) -> np.ndarray:
    """One GRU step in the form of Cho et al. (2014), forward only.

        r = sigmoid(x Wx_r + prev_h Wh_r + b_r)
        z = sigmoid(x Wx_z + prev_h Wh_z + b_z)
        n = tanh(x Wx_n + (r * prev_h) Wh_n + b_n)
        next_h = z * prev_h + (1 - z) * n

    Inputs: x (N, D), prev_h (N, H), Wx (D, 3H), Wh (H, 3H), b (3H,), blocks r, z, n.
    Returns next_h, shape (N, H).
    """
    dims = check_shapes("gru_step_forward_cho", x=(x, "N D"), prev_h=(prev_h, "N H"),
                        Wx=(Wx, "D G"), Wh=(Wh, "H G"), b=(b, "G"))
    H = dims["H"]
    if dims["G"] != 3 * H:
        raise ValueError(f"gru_step_forward_cho: Wx, Wh and b must have 3H = {3 * H} columns, "
                         f"got {dims['G']}")
    gx = x @ Wx + b
    r = sigmoid(gx[:, :H] + prev_h @ Wh[:, :H])
    z = sigmoid(gx[:, H:2 * H] + prev_h @ Wh[:, H:2 * H])
    n = np.tanh(gx[:, 2 * H:] + (r * prev_h) @ Wh[:, 2 * H:])
    return z * prev_h + (1.0 - z) * n
