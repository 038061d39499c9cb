"""solutions.tbptt.tbptt_train (graded in assignment 02) against PyTorch's truncated BPTT.

The numpy model is a character RNN built from the reference layers; the PyTorch version runs the
same model with autograd, cuts the graph at every chunk boundary with `detach()`, clips with
`torch.nn.utils.clip_grad_norm_` and takes SGD steps. Both must produce the same chunk losses,
gradient norms and final parameters.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from solutions import (
    rnn_backward,
    rnn_forward,
    temporal_affine_backward,
    temporal_affine_forward,
    temporal_softmax_loss,
    word_embedding_backward,
    word_embedding_forward,
)
from solutions.tbptt import tbptt_train

torch.set_num_threads(1)
V, D, H, N = 6, 4, 5, 3


def init_params(seed=0):
    rng = np.random.default_rng(seed)
    return {"W_embed": rng.normal(size=(V, D)), "Wx": rng.normal(size=(D, H)) * 0.5,
            "Wh": rng.normal(size=(H, H)) * 0.9, "b": rng.normal(size=H) * 0.1,
            "Wy": rng.normal(size=(H, V)), "by": np.zeros(V)}


def numpy_loss(params, x, y, h0):
    emb, c1 = word_embedding_forward(x, params["W_embed"])
    h, c2 = rnn_forward(emb, h0, params["Wx"], params["Wh"], params["b"])
    scores, c3 = temporal_affine_forward(h, params["Wy"], params["by"])
    loss, dscores = temporal_softmax_loss(scores, y, np.ones(y.shape, dtype=bool))
    dh, dWy, dby = temporal_affine_backward(dscores, c3)
    demb, _, dWx, dWh, db = rnn_backward(dh, c2)
    return loss, {"W_embed": word_embedding_backward(demb, c1), "Wx": dWx, "Wh": dWh, "b": db,
                  "Wy": dWy, "by": dby}, h[:, -1]


def torch_tbptt(params, data, h0, seq_len, lr, max_norm):
    P = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    h = torch.from_numpy(h0)
    losses, norms = [], []
    S = data.shape[1]
    for start in range(0, S - 1, seq_len):
        end = min(start + seq_len, S - 1)
        x, y = torch.from_numpy(data[:, start:end]), torch.from_numpy(data[:, start + 1:end + 1])
        h = h.detach()                                       # the truncation
        emb, hs = P["W_embed"][x], []
        for t in range(x.shape[1]):
            h = torch.tanh(emb[:, t] @ P["Wx"] + h @ P["Wh"] + P["b"])
            hs.append(h)
        scores = torch.stack(hs, 1) @ P["Wy"] + P["by"]
        loss = F.cross_entropy(scores.reshape(-1, V), y.reshape(-1), reduction="sum") / x.shape[0]
        for p in P.values():
            p.grad = None
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(list(P.values()), max_norm if max_norm else float("inf"))
        with torch.no_grad():
            for p in P.values():
                p -= lr * p.grad
        losses.append(loss.item())
        norms.append(norm.item())
    return {k: p.detach().numpy() for k, p in P.items()}, np.array(losses), np.array(norms)


@pytest.mark.parametrize("seq_len, max_norm", [(4, None), (4, 1.0), (5, 0.3), (30, 2.0)])
def test_tbptt_train_matches_pytorch(seq_len, max_norm):
    rng = np.random.default_rng(1)
    data = rng.integers(V, size=(N, 23))                     # 22 predictions: the last chunk is short
    h0 = rng.normal(size=(N, H)) * 0.1
    params = init_params()
    before = {k: v.copy() for k, v in params.items()}
    ours, losses, norms = tbptt_train(numpy_loss, params, data, h0, seq_len, 0.1, max_norm)
    ref, ref_losses, ref_norms = torch_tbptt(params, data, h0, seq_len, 0.1, max_norm)
    assert losses.shape == norms.shape == (-(-22 // seq_len),)
    np.testing.assert_allclose(losses, ref_losses, rtol=1e-10)
    np.testing.assert_allclose(norms, ref_norms, rtol=1e-10)
    for k in params:
        np.testing.assert_allclose(ours[k], ref[k], rtol=1e-9, atol=1e-12)
        np.testing.assert_array_equal(params[k], before[k])  # the caller's arrays are untouched
    if max_norm is not None:
        assert norms.max() > max_norm                         # the clipping was exercised


def test_tbptt_gradient_is_the_chunk_gradient():
    """A chunk's gradient treats the incoming state as a constant: numerical gradient of that chunk."""
    from solutions import eval_numerical_gradient, rel_error

    rng = np.random.default_rng(2)
    data = rng.integers(V, size=(N, 9))
    params, h0 = init_params(3), rng.normal(size=(N, H))
    seen = []

    def recording(p, x, y, h):
        out = numpy_loss(p, x, y, h)
        seen.append((x, y, h, out[1]))
        return out

    tbptt_train(recording, params, data, h0, 4, 0.0)
    x, y, h, grads = seen[1]                                  # second chunk, started from a carried state
    assert not np.allclose(h, h0)
    for k in ("Wh", "Wx"):
        num = eval_numerical_gradient(lambda w, k=k: numpy_loss({**params, k: w}, x, y, h)[0], params[k].copy())
        assert rel_error(grads[k], num) < 1e-7


@pytest.mark.parametrize("kwargs, message", [
    (dict(seq_len=0), "seq_len"),
    (dict(max_norm=0.0), "max_norm"),
    (dict(learning_rate=-1.0), "learning_rate"),
    (dict(h0=np.zeros((2, H))), "h0"),
    (dict(data=np.zeros((N, 1), dtype=np.int64)), "at least 2"),
    (dict(data=np.zeros((N, 5))), "integer"),
])
def test_tbptt_train_rejects_bad_input(kwargs, message):
    args = dict(loss_fn=numpy_loss, params=init_params(), data=np.zeros((N, 5), dtype=np.int64),
                h0=np.zeros((N, H)), seq_len=2, learning_rate=0.1, max_norm=None)
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        tbptt_train(**args)


# ---------------------------------------------------------------------------------------------
# rnn_backward_truncated (graded in 02_bptt): the k-step truncated gradient
# ---------------------------------------------------------------------------------------------

def _torch_truncated(x, h0, Wx, Wh, b, dh, k):
    """The k-step truncated gradient by autograd: the loss term at step t sees a graph that starts at
    step t - k + 1, the state before it computed without a graph (detached)."""
    P = [torch.tensor(a, requires_grad=True) for a in (x, h0, Wx, Wh, b)]
    tx, th0, tWx, tWh, tb = P
    total = 0.0
    T = x.shape[1]
    for t in range(T):
        first = max(0, t - k + 1)
        with torch.no_grad():
            h = th0.detach()
            for s in range(first):
                h = torch.tanh(tx[:, s] @ tWx + h @ tWh + tb)
        if first == 0:
            h = th0
        for s in range(first, t + 1):
            h = torch.tanh(tx[:, s] @ tWx + h @ tWh + tb)
        total = total + (h * torch.from_numpy(dh[:, t])).sum()
    total.backward()
    return [p.grad.numpy() for p in P]


@pytest.mark.parametrize("k", [1, 2, 3, 6, 9])
def test_truncated_gradient_matches_autograd_with_detach(k):
    from solutions.tbptt import rnn_backward_truncated

    rng = np.random.default_rng(k)
    n, T, d, hdim = 2, 6, 3, 4
    x, h0 = rng.normal(size=(n, T, d)), rng.normal(size=(n, hdim))
    Wx, Wh, b = rng.normal(size=(d, hdim)), rng.normal(size=(hdim, hdim)) * 0.7, rng.normal(size=hdim)
    h, cache = rnn_forward(x, h0, Wx, Wh, b)
    dh = rng.normal(size=(n, T, hdim))
    mine = rnn_backward_truncated(dh, cache, k)
    theirs = _torch_truncated(x, h0, Wx, Wh, b, dh, k)
    for name, a, t in zip(("dx", "dh0", "dWx", "dWh", "db"), mine, theirs, strict=True):
        np.testing.assert_allclose(a, t, atol=1e-12, rtol=1e-10, err_msg=name)
    if k >= T:
        for a, full in zip(mine, rnn_backward(dh, cache), strict=True):
            np.testing.assert_allclose(a, full, atol=1e-13)


@pytest.mark.parametrize("k", [0, -1, 1.5, True])
def test_truncated_gradient_rejects_bad_k(k):
    from solutions.tbptt import rnn_backward_truncated

    rng = np.random.default_rng(0)
    x, h0 = rng.normal(size=(1, 3, 2)), rng.normal(size=(1, 2))
    _, cache = rnn_forward(x, h0, rng.normal(size=(2, 2)), rng.normal(size=(2, 2)), np.zeros(2))
    with pytest.raises(ValueError, match="k must be a positive integer"):
        rnn_backward_truncated(rng.normal(size=(1, 3, 2)), cache, k)


def test_gradient_norm_answer_states_the_measured_numbers():
    """The model answer of 02_bptt quotes orders of magnitude that the notebook computes (seed 0)."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "exercises" / "authoring" / "02_bptt.md").read_text()
    answer = text[text.index('+++ {"answer": "answer_gradient_norms"'):]

    def orders(sigma, input_scale=1.0, T=60, hdim=32, seed=0):
        rng = np.random.default_rng(seed)
        Q, _ = np.linalg.qr(rng.normal(size=(hdim, hdim)))
        Wh = torch.tensor(sigma * Q, requires_grad=True)
        Wx = torch.tensor(rng.normal(size=(hdim, hdim)) / np.sqrt(hdim))
        xs = torch.tensor(rng.normal(size=(T, 1, hdim)) * input_scale)
        u = torch.tensor(rng.normal(size=(1, hdim)))
        h, hs = torch.zeros(1, hdim, dtype=torch.float64), []
        for t in range(T):
            h = torch.tanh(xs[t] @ Wx + h @ Wh)
            h.retain_grad()
            hs.append(h)
        (u * h).sum().backward()
        return abs(np.log10(hs[0].grad.norm().item() / hs[-1].grad.norm().item()))

    for sigma, scale in [(0.5, 1.0), (0.9, 1.0), (1.0, 1.0), (1.5, 1.0), (3.0, 1.0), (3.0, 5.0)]:
        assert f"{orders(sigma, scale):.1f}" in answer, (sigma, scale, f"{orders(sigma, scale):.1f}")
    assert "close to the edge" not in answer
