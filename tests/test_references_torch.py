"""The reference implementations against PyTorch (float64), forward outputs and every gradient."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import solutions as S
from course_helpers import rel_error

TOL = 1e-10
SHAPES = [(3, 5, 4, 6), (1, 1, 1, 1), (1, 7, 3, 1), (4, 1, 1, 5), (2, 3, 6, 2)]  # N, T, D, H


@pytest.fixture(autouse=True)
def float64_modules():
    """torch modules made inside a test get float64 parameters; the global default is restored."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


def t(a: np.ndarray) -> torch.Tensor:
    return torch.tensor(a, requires_grad=True)


def rng_for(*key: int) -> np.random.Generator:
    return np.random.default_rng(abs(hash(key)) % 2**32)


def assert_close(ours: np.ndarray, theirs: torch.Tensor, name: str, tol: float = TOL) -> None:
    theirs_np = theirs.detach().numpy()
    assert ours.shape == theirs_np.shape, f"{name}: shape {ours.shape} vs torch {theirs_np.shape}"
    assert ours.dtype == np.float64, f"{name}: dtype {ours.dtype}"
    err = rel_error(ours, theirs_np)
    assert err < tol, f"{name}: relative error {err:.2e}"


# ---------------------------------------------------------------- vanilla RNN
@pytest.mark.parametrize("N,T,D,H", SHAPES)
def test_rnn_sequence_matches_torch(N, T, D, H):
    rng = rng_for(1, N, T, D, H)
    x, h0 = rng.standard_normal((N, T, D)), rng.standard_normal((N, H))
    Wx, Wh, b = rng.standard_normal((D, H)) * 0.5, rng.standard_normal((H, H)) * 0.5, rng.standard_normal(H)
    dh = rng.standard_normal((N, T, H))

    h, cache = S.rnn_forward(x, h0, Wx, Wh, b)
    dx, dh0, dWx, dWh, db = S.rnn_backward(dh, cache)

    rnn = torch.nn.RNN(D, H, nonlinearity="tanh", batch_first=True)
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(torch.tensor(Wx.T))
        rnn.weight_hh_l0.copy_(torch.tensor(Wh.T))
        rnn.bias_ih_l0.copy_(torch.tensor(b))
        rnn.bias_hh_l0.zero_()
    xt, h0t = t(x), t(h0)
    out, _ = rnn(xt, h0t[None])
    out.backward(torch.tensor(dh))
    assert_close(h, out, "h")
    assert_close(dx, xt.grad, "dx")
    assert_close(dh0, h0t.grad, "dh0")
    assert_close(dWx, rnn.weight_ih_l0.grad.T, "dWx")
    assert_close(dWh, rnn.weight_hh_l0.grad.T, "dWh")
    assert_close(db, rnn.bias_ih_l0.grad, "db")


@pytest.mark.parametrize("N,T,D,H", SHAPES)
def test_rnn_step_matches_torch_cell(N, T, D, H):
    rng = rng_for(2, N, D, H)
    x, prev_h = rng.standard_normal((N, D)), rng.standard_normal((N, H))
    Wx, Wh, b = rng.standard_normal((D, H)), rng.standard_normal((H, H)), rng.standard_normal(H)
    dnext = rng.standard_normal((N, H))
    next_h, cache = S.rnn_step_forward(x, prev_h, Wx, Wh, b)
    grads = S.rnn_step_backward(dnext, cache)

    cell = torch.nn.RNNCell(D, H, nonlinearity="tanh")
    with torch.no_grad():
        cell.weight_ih.copy_(torch.tensor(Wx.T))
        cell.weight_hh.copy_(torch.tensor(Wh.T))
        cell.bias_ih.copy_(torch.tensor(b))
        cell.bias_hh.zero_()
    xt, ht = t(x), t(prev_h)
    out = cell(xt, ht)
    out.backward(torch.tensor(dnext))
    assert_close(next_h, out, "next_h")
    for ours, theirs, name in zip(grads, (xt.grad, ht.grad, cell.weight_ih.grad.T, cell.weight_hh.grad.T,
                                          cell.bias_ih.grad), ("dx", "dprev_h", "dWx", "dWh", "db"), strict=True):
        assert_close(ours, theirs, name)


# ---------------------------------------------------------------- LSTM
def ifog_to_torch(W: np.ndarray) -> np.ndarray:
    """Reorder gate blocks i, f, o, g (CS231n) into torch's i, f, g, o along the last axis."""
    i, f, o, g = np.split(W, 4, axis=-1)
    return np.concatenate([i, f, g, o], axis=-1)


def torch_to_ifog(W: np.ndarray) -> np.ndarray:
    i, f, g, o = np.split(W, 4, axis=-1)
    return np.concatenate([i, f, o, g], axis=-1)


@pytest.mark.parametrize("N,T,D,H", SHAPES)
def test_lstm_sequence_matches_torch(N, T, D, H):
    rng = rng_for(3, N, T, D, H)
    x, h0 = rng.standard_normal((N, T, D)), rng.standard_normal((N, H))
    Wx, Wh, b = rng.standard_normal((D, 4 * H)), rng.standard_normal((H, 4 * H)), rng.standard_normal(4 * H)
    dh = rng.standard_normal((N, T, H))
    h, cache = S.lstm_forward(x, h0, Wx, Wh, b)
    dx, dh0, dWx, dWh, db = S.lstm_backward(dh, cache)

    lstm = torch.nn.LSTM(D, H, batch_first=True)
    with torch.no_grad():
        lstm.weight_ih_l0.copy_(torch.tensor(ifog_to_torch(Wx).T))
        lstm.weight_hh_l0.copy_(torch.tensor(ifog_to_torch(Wh).T))
        lstm.bias_ih_l0.copy_(torch.tensor(ifog_to_torch(b)))
        lstm.bias_hh_l0.zero_()
    xt, h0t = t(x), t(h0)
    out, _ = lstm(xt, (h0t[None], torch.zeros(1, N, H)))
    out.backward(torch.tensor(dh))
    assert_close(h, out, "h")
    assert_close(dx, xt.grad, "dx")
    assert_close(dh0, h0t.grad, "dh0")
    assert_close(dWx, torch.tensor(torch_to_ifog(lstm.weight_ih_l0.grad.numpy().T)), "dWx")
    assert_close(dWh, torch.tensor(torch_to_ifog(lstm.weight_hh_l0.grad.numpy().T)), "dWh")
    assert_close(db, torch.tensor(torch_to_ifog(lstm.bias_ih_l0.grad.numpy())), "db")


@pytest.mark.parametrize("N,T,D,H", SHAPES)
def test_lstm_step_matches_torch_cell(N, T, D, H):
    rng = rng_for(4, N, D, H)
    x, prev_h, prev_c = (rng.standard_normal(s) for s in ((N, D), (N, H), (N, H)))
    Wx, Wh, b = rng.standard_normal((D, 4 * H)), rng.standard_normal((H, 4 * H)), rng.standard_normal(4 * H)
    dnext_h, dnext_c = rng.standard_normal((N, H)), rng.standard_normal((N, H))
    next_h, next_c, cache = S.lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b)
    dx, dprev_h, dprev_c, dWx, dWh, db = S.lstm_step_backward(dnext_h, dnext_c, cache)

    cell = torch.nn.LSTMCell(D, H)
    with torch.no_grad():
        cell.weight_ih.copy_(torch.tensor(ifog_to_torch(Wx).T))
        cell.weight_hh.copy_(torch.tensor(ifog_to_torch(Wh).T))
        cell.bias_ih.copy_(torch.tensor(ifog_to_torch(b)))
        cell.bias_hh.zero_()
    xt, ht, ct = t(x), t(prev_h), t(prev_c)
    h_out, c_out = cell(xt, (ht, ct))
    (h_out * torch.tensor(dnext_h) + c_out * torch.tensor(dnext_c)).sum().backward()
    assert_close(next_h, h_out, "next_h")
    assert_close(next_c, c_out, "next_c")
    assert_close(dx, xt.grad, "dx")
    assert_close(dprev_h, ht.grad, "dprev_h")
    assert_close(dprev_c, ct.grad, "dprev_c")
    assert_close(dWx, torch.tensor(torch_to_ifog(cell.weight_ih.grad.numpy().T)), "dWx")
    assert_close(dWh, torch.tensor(torch_to_ifog(cell.weight_hh.grad.numpy().T)), "dWh")
    assert_close(db, torch.tensor(torch_to_ifog(cell.bias_ih.grad.numpy())), "db")


# ---------------------------------------------------------------- GRU
def load_gru(module, Wx, Wh, bx, bh, suffix=""):
    with torch.no_grad():
        getattr(module, "weight_ih" + suffix).copy_(torch.tensor(Wx.T))
        getattr(module, "weight_hh" + suffix).copy_(torch.tensor(Wh.T))
        getattr(module, "bias_ih" + suffix).copy_(torch.tensor(bx))
        getattr(module, "bias_hh" + suffix).copy_(torch.tensor(bh))


@pytest.mark.parametrize("N,T,D,H", SHAPES)
def test_gru_sequence_matches_torch(N, T, D, H):
    rng = rng_for(5, N, T, D, H)
    x, h0 = rng.standard_normal((N, T, D)), rng.standard_normal((N, H))
    Wx, Wh = rng.standard_normal((D, 3 * H)), rng.standard_normal((H, 3 * H))
    bx, bh = rng.standard_normal(3 * H), rng.standard_normal(3 * H)
    dh = rng.standard_normal((N, T, H))
    h, cache = S.gru_forward(x, h0, Wx, Wh, bx, bh)
    grads = S.gru_backward(dh, cache)

    gru = torch.nn.GRU(D, H, batch_first=True)
    load_gru(gru, Wx, Wh, bx, bh, "_l0")
    xt, h0t = t(x), t(h0)
    out, _ = gru(xt, h0t[None])
    out.backward(torch.tensor(dh))
    assert_close(h, out, "h")
    theirs = (xt.grad, h0t.grad, gru.weight_ih_l0.grad.T, gru.weight_hh_l0.grad.T, gru.bias_ih_l0.grad,
              gru.bias_hh_l0.grad)
    for ours, th, name in zip(grads, theirs, ("dx", "dh0", "dWx", "dWh", "dbx", "dbh"), strict=True):
        assert_close(ours, th, name)


@pytest.mark.parametrize("N,T,D,H", SHAPES)
def test_gru_step_matches_torch_cell(N, T, D, H):
    rng = rng_for(6, N, D, H)
    x, prev_h = rng.standard_normal((N, D)), rng.standard_normal((N, H))
    Wx, Wh = rng.standard_normal((D, 3 * H)), rng.standard_normal((H, 3 * H))
    bx, bh = rng.standard_normal(3 * H), rng.standard_normal(3 * H)
    dnext = rng.standard_normal((N, H))
    next_h, cache = S.gru_step_forward(x, prev_h, Wx, Wh, bx, bh)
    grads = S.gru_step_backward(dnext, cache)
    cell = torch.nn.GRUCell(D, H)
    load_gru(cell, Wx, Wh, bx, bh)
    xt, ht = t(x), t(prev_h)
    out = cell(xt, ht)
    out.backward(torch.tensor(dnext))
    assert_close(next_h, out, "next_h")
    theirs = (xt.grad, ht.grad, cell.weight_ih.grad.T, cell.weight_hh.grad.T, cell.bias_ih.grad, cell.bias_hh.grad)
    for ours, th, name in zip(grads, theirs, ("dx", "dprev_h", "dWx", "dWh", "dbx", "dbh"), strict=True):
        assert_close(ours, th, name)


def test_gru_cho_form_written_in_torch_and_differs_from_torch_form():
    rng = rng_for(7)
    N, D, H = 4, 3, 5
    x, h = rng.standard_normal((N, D)), rng.standard_normal((N, H))
    Wx, Wh, b = rng.standard_normal((D, 3 * H)), rng.standard_normal((H, 3 * H)), rng.standard_normal(3 * H)
    ours = S.gru_step_forward_cho(x, h, Wx, Wh, b)
    X, Hh, Wxt, Wht, bt = map(torch.tensor, (x, h, Wx, Wh, b))
    r = torch.sigmoid(X @ Wxt[:, :H] + Hh @ Wht[:, :H] + bt[:H])
    z = torch.sigmoid(X @ Wxt[:, H:2 * H] + Hh @ Wht[:, H:2 * H] + bt[H:2 * H])
    n = torch.tanh(X @ Wxt[:, 2 * H:] + (r * Hh) @ Wht[:, 2 * H:] + bt[2 * H:])
    assert rel_error(ours, (z * Hh + (1 - z) * n).numpy()) < TOL
    torch_form, _ = S.gru_step_forward(x, h, Wx, Wh, b, np.zeros(3 * H))
    assert rel_error(ours, torch_form) > 1e-3, "the two GRU forms should be different functions"


# ---------------------------------------------------------------- attention
@pytest.mark.parametrize("N,L,D,H,K", [(3, 16, 6, 5, 4), (1, 1, 1, 1, 1), (2, 4, 3, 1, 7)])
def test_attention_matches_torch_autograd(N, L, D, H, K):
    rng = rng_for(8, N, L, D, H, K)
    prev_h, feats = rng.standard_normal((N, H)), rng.standard_normal((N, L, D))
    Wa, Ua = rng.standard_normal((H, K)), rng.standard_normal((D, K))
    ba, va = rng.standard_normal(K), rng.standard_normal(K)
    dctx = rng.standard_normal((N, D))
    ctx, alpha, cache = S.attention_forward(prev_h, feats, Wa, Ua, ba, va)
    grads = S.attention_backward(dctx, cache)

    tensors = [t(a) for a in (prev_h, feats, Wa, Ua, ba, va)]
    th, tf, tWa, tUa, tba, tva = tensors
    e = torch.tanh((th @ tWa)[:, None, :] + tf @ tUa + tba) @ tva
    talpha = torch.softmax(e, dim=1)
    tctx = torch.einsum("nl,nld->nd", talpha, tf)
    tctx.backward(torch.tensor(dctx))
    assert_close(ctx, tctx, "context")
    assert_close(alpha, talpha, "alpha")
    assert np.allclose(alpha.sum(axis=1), 1.0)
    for ours, tt, name in zip(grads, tensors, ("dprev_h", "dfeats", "dWa", "dUa", "dba", "dva"), strict=True):
        assert_close(ours, tt.grad, name)


# ---------------------------------------------------------------- layers around the RNN
def test_embedding_affine_softmax_match_torch():
    rng = rng_for(9)
    N, T, V, D, M = 4, 6, 7, 5, 9
    x = rng.integers(0, V, size=(N, T))
    x[0, :3] = 2  # a repeated word: its gradient rows must accumulate
    W = rng.standard_normal((V, D))
    out, cache = S.word_embedding_forward(x, W)
    dout = rng.standard_normal((N, T, D))
    tW = t(W)
    tout = torch.nn.functional.embedding(torch.tensor(x), tW)
    tout.backward(torch.tensor(dout))
    assert_close(out, tout, "embedding out")
    assert_close(S.word_embedding_backward(dout, cache), tW.grad, "dW")

    xa, w, b = rng.standard_normal((N, T, D)), rng.standard_normal((D, M)), rng.standard_normal(M)
    out, cache = S.temporal_affine_forward(xa, w, b)
    dout = rng.standard_normal((N, T, M))
    tx, tw, tb = t(xa), t(w), t(b)
    tout = tx @ tw + tb
    tout.backward(torch.tensor(dout))
    assert_close(out, tout, "affine out")
    for ours, th, name in zip(S.temporal_affine_backward(dout, cache), (tx.grad, tw.grad, tb.grad),
                              ("dx", "dw", "db"), strict=True):
        assert_close(ours, th, name)

    scores = rng.standard_normal((N, T, V)) * 3
    y = rng.integers(0, V, size=(N, T))
    mask = rng.random((N, T)) > 0.3
    loss, dx = S.temporal_softmax_loss(scores, y, mask)
    ts = t(scores)
    per_step = torch.nn.functional.cross_entropy(ts.reshape(-1, V), torch.tensor(y).reshape(-1), reduction="none")
    tloss = (per_step * torch.tensor(mask.reshape(-1), dtype=torch.float64)).sum() / N
    tloss.backward()
    assert abs(loss - tloss.item()) / abs(tloss.item()) < TOL
    assert_close(dx, ts.grad, "dscores")


# ---------------------------------------------------------------- utilities
def test_clip_grad_norm_matches_torch():
    rng = rng_for(10)
    arrays = [rng.standard_normal(s) * 3 for s in ((3, 4), (5,), (2, 2, 2))]
    for max_norm in (0.5, 5.0, 1e3):
        clipped, norm = S.clip_grad_norm(arrays, max_norm)
        params = [torch.nn.Parameter(torch.zeros(a.shape)) for a in arrays]
        for p, a in zip(params, arrays, strict=True):
            p.grad = torch.tensor(a)
        tnorm = torch.nn.utils.clip_grad_norm_(params, max_norm)
        assert abs(norm - tnorm.item()) < 1e-12 * norm
        for c, p in zip(clipped, params, strict=True):
            assert rel_error(c, p.grad.numpy()) < TOL
    as_dict, _ = S.clip_grad_norm({"a": arrays[0], "b": arrays[1]}, 0.1)
    assert set(as_dict) == {"a", "b"}
    assert np.sqrt(sum(np.sum(v**2) for v in as_dict.values())) == pytest.approx(0.1, rel=1e-5)


def test_temperature_softmax_matches_torch_and_limits():
    rng = rng_for(11)
    logits = rng.standard_normal((3, 6))
    for temp in (0.1, 1.0, 4.0):
        ours = S.softmax_with_temperature(logits, temp)
        assert rel_error(ours, torch.softmax(torch.tensor(logits) / temp, dim=-1).numpy()) < TOL
    assert np.array_equal(S.softmax_with_temperature(logits, 0).argmax(-1), logits.argmax(-1))
    assert np.allclose(S.softmax_with_temperature(logits, 1e6), 1 / 6, atol=1e-5)


def test_sampling_frequencies_follow_the_distribution():
    rng = np.random.default_rng(0)
    logits = np.log(np.array([0.1, 0.2, 0.7]))
    draws = S.sample_with_temperature(np.tile(logits, (20000, 1)), 1.0, rng)
    freq = np.bincount(draws, minlength=3) / draws.size
    assert np.allclose(freq, [0.1, 0.2, 0.7], atol=0.015)
    assert np.all(S.sample_with_temperature(np.tile(logits, (5, 1)), 0.0, rng) == 2)
    cold = S.sample_with_temperature(np.tile(logits, (5000, 1)), 0.25, rng)
    assert np.mean(cold == 2) > 0.95
