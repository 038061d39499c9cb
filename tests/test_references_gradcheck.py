"""Every reference backward pass against centred numerical gradients, including edge shapes."""

from __future__ import annotations

import numpy as np
import pytest

import solutions as S
from course_helpers import eval_numerical_gradient, eval_numerical_gradient_array

EDGE_SHAPES = [(2, 3, 4, 5), (1, 1, 1, 1), (1, 4, 1, 2), (3, 1, 2, 1)]  # N, T, D, H
GRAD_TOL = 1e-7  # centred differences at h=1e-5 in float64; a real bug is off by > 1e-2


def grad_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    """Relative error of whole gradient arrays, ||a - n|| / (||a|| + ||n||).

    Elementwise relative error (rel_error) is dominated by entries near 1e-4 whose finite
    difference has lost digits to cancellation; the norm-based error is not, and a wrong
    gradient still shows up as an error of order 1e-2 or larger.
    """
    assert analytic.shape == numeric.shape, f"shape {analytic.shape} vs {numeric.shape}"
    denom = np.linalg.norm(analytic) + np.linalg.norm(numeric)
    return float(np.linalg.norm(analytic - numeric) / denom) if denom > 0 else 0.0


def check_backward(forward, backward_grads, inputs: dict, dout: np.ndarray, names: list[str]):
    """Compare each analytic gradient with the numerical gradient of sum(forward(...) * dout)."""
    for name, analytic in zip(names, backward_grads, strict=True):
        def f(_, name=name):
            return forward(**inputs)
        numeric = eval_numerical_gradient_array(f, inputs[name], dout)
        err = grad_error(analytic, numeric)
        assert err < GRAD_TOL, f"d{name}: relative error {err:.2e}"


@pytest.mark.parametrize("N,T,D,H", EDGE_SHAPES)
def test_rnn_gradients(N, T, D, H):
    rng = np.random.default_rng(N * 1000 + T * 100 + D * 10 + H)
    inp = {"x": rng.standard_normal((N, T, D)), "h0": rng.standard_normal((N, H)),
           "Wx": rng.standard_normal((D, H)), "Wh": rng.standard_normal((H, H)) * 0.7,
           "b": rng.standard_normal(H)}
    dh = rng.standard_normal((N, T, H))
    _, cache = S.rnn_forward(**inp)
    grads = S.rnn_backward(dh, cache)
    check_backward(lambda **k: S.rnn_forward(**k)[0], grads, inp, dh, ["x", "h0", "Wx", "Wh", "b"])

    step = {"x": inp["x"][:, 0], "prev_h": inp["h0"], "Wx": inp["Wx"], "Wh": inp["Wh"], "b": inp["b"]}
    dnext = rng.standard_normal((N, H))
    _, cache = S.rnn_step_forward(**step)
    check_backward(lambda **k: S.rnn_step_forward(**k)[0], S.rnn_step_backward(dnext, cache), step, dnext,
                   ["x", "prev_h", "Wx", "Wh", "b"])


@pytest.mark.parametrize("N,T,D,H", EDGE_SHAPES)
def test_lstm_gradients(N, T, D, H):
    rng = np.random.default_rng(7 + N * 1000 + T * 100 + D * 10 + H)
    inp = {"x": rng.standard_normal((N, T, D)), "h0": rng.standard_normal((N, H)),
           "Wx": rng.standard_normal((D, 4 * H)), "Wh": rng.standard_normal((H, 4 * H)),
           "b": rng.standard_normal(4 * H)}
    dh = rng.standard_normal((N, T, H))
    _, cache = S.lstm_forward(**inp)
    check_backward(lambda **k: S.lstm_forward(**k)[0], S.lstm_backward(dh, cache), inp, dh,
                   ["x", "h0", "Wx", "Wh", "b"])

    step = {"x": inp["x"][:, 0], "prev_h": inp["h0"], "prev_c": rng.standard_normal((N, H)),
            "Wx": inp["Wx"], "Wh": inp["Wh"], "b": inp["b"]}
    dnext_h, dnext_c = rng.standard_normal((N, H)), rng.standard_normal((N, H))
    _, _, cache = S.lstm_step_forward(**step)
    grads = S.lstm_step_backward(dnext_h, dnext_c, cache)

    def both(**k):  # sum(next_h * dnext_h + next_c * dnext_c) as one array-valued output
        h, c, _ = S.lstm_step_forward(**k)
        return np.concatenate([h, c], axis=1)
    check_backward(both, grads, step, np.concatenate([dnext_h, dnext_c], axis=1),
                   ["x", "prev_h", "prev_c", "Wx", "Wh", "b"])


@pytest.mark.parametrize("N,T,D,H", EDGE_SHAPES)
def test_gru_gradients(N, T, D, H):
    rng = np.random.default_rng(11 + N * 1000 + T * 100 + D * 10 + H)
    inp = {"x": rng.standard_normal((N, T, D)), "h0": rng.standard_normal((N, H)),
           "Wx": rng.standard_normal((D, 3 * H)), "Wh": rng.standard_normal((H, 3 * H)),
           "bx": rng.standard_normal(3 * H), "bh": rng.standard_normal(3 * H)}
    dh = rng.standard_normal((N, T, H))
    _, cache = S.gru_forward(**inp)
    check_backward(lambda **k: S.gru_forward(**k)[0], S.gru_backward(dh, cache), inp, dh,
                   ["x", "h0", "Wx", "Wh", "bx", "bh"])
    step = {"x": inp["x"][:, 0], "prev_h": inp["h0"], **{k: inp[k] for k in ("Wx", "Wh", "bx", "bh")}}
    dnext = rng.standard_normal((N, H))
    _, cache = S.gru_step_forward(**step)
    check_backward(lambda **k: S.gru_step_forward(**k)[0], S.gru_step_backward(dnext, cache), step, dnext,
                   ["x", "prev_h", "Wx", "Wh", "bx", "bh"])


@pytest.mark.parametrize("N,L,D,H,K", [(2, 5, 3, 4, 6), (1, 1, 1, 1, 1), (1, 3, 2, 1, 2)])
def test_attention_gradients(N, L, D, H, K):
    rng = np.random.default_rng(N + L + D + H + K)
    inp = {"prev_h": rng.standard_normal((N, H)), "feats": rng.standard_normal((N, L, D)),
           "Wa": rng.standard_normal((H, K)), "Ua": rng.standard_normal((D, K)),
           "ba": rng.standard_normal(K), "va": rng.standard_normal(K)}
    dctx = rng.standard_normal((N, D))
    _, _, cache = S.attention_forward(**inp)
    check_backward(lambda **k: S.attention_forward(**k)[0], S.attention_backward(dctx, cache), inp, dctx,
                   ["prev_h", "feats", "Wa", "Ua", "ba", "va"])


def test_layer_gradients():
    rng = np.random.default_rng(3)
    N, T, V, D, M = 2, 3, 5, 4, 6
    x = rng.integers(0, V, (N, T))
    W = rng.standard_normal((V, D))
    dout = rng.standard_normal((N, T, D))
    _, cache = S.word_embedding_forward(x, W)
    num = eval_numerical_gradient_array(lambda W_: S.word_embedding_forward(x, W_)[0], W, dout)
    assert grad_error(S.word_embedding_backward(dout, cache), num) < GRAD_TOL

    inp = {"x": rng.standard_normal((N, T, D)), "w": rng.standard_normal((D, M)), "b": rng.standard_normal(M)}
    dout = rng.standard_normal((N, T, M))
    _, cache = S.temporal_affine_forward(**inp)
    check_backward(lambda **k: S.temporal_affine_forward(**k)[0], S.temporal_affine_backward(dout, cache), inp,
                   dout, ["x", "w", "b"])

    scores, y = rng.standard_normal((N, T, V)), rng.integers(0, V, (N, T))
    mask = np.array([[True, True, False], [True, False, False]])
    loss, dx = S.temporal_softmax_loss(scores, y, mask)
    num = eval_numerical_gradient(lambda s: S.temporal_softmax_loss(s, y, mask)[0], scores)
    assert grad_error(dx, num) < GRAD_TOL
    assert np.all(dx[~mask] == 0), "masked steps must get no gradient"


def test_softmax_loss_known_answer():
    """Uniform scores over V classes: the loss is (number of unmasked steps / N) * log V."""
    N, T, V = 4, 5, 10
    y = np.zeros((N, T), dtype=int)
    loss, _ = S.temporal_softmax_loss(np.zeros((N, T, V)), y, np.ones((N, T), bool))
    assert loss == pytest.approx(T * np.log(V))
    half = np.zeros((N, T), bool)
    half[:2] = True
    loss, _ = S.temporal_softmax_loss(np.zeros((N, T, V)), y, half)
    assert loss == pytest.approx(2 * T / N * np.log(V))


def test_captioning_loss_gradients():
    rng = np.random.default_rng(5)
    N, L, D, V, T = 2, 4, 3, 7, 4
    params = S.init_captioner_params(V, D, E=3, H=4, K=3, seed=1)
    params = {k: v + 0.1 * rng.standard_normal(v.shape) for k, v in params.items()}
    feats = rng.standard_normal((N, L, D))
    captions = rng.integers(3, V, (N, T + 1))
    captions[:, 0] = 1
    captions[1, -2:] = 0  # padding: masked out
    loss, grads = S.captioning_loss(params, feats, captions)
    assert set(grads) == set(params)
    for name in params:
        def f(_):
            return S.captioning_loss(params, feats, captions)[0]
        num = eval_numerical_gradient(f, params[name])
        assert grad_error(grads[name], num) < GRAD_TOL, name


def test_captioning_sample_agrees_with_loss_path():
    """The greedy caption's words are the argmax of the scores the loss computes on that caption."""
    rng = np.random.default_rng(6)
    N, L, D, V = 3, 4, 5, 9
    params = S.init_captioner_params(V, D, E=4, H=6, K=5, seed=2)
    feats = rng.standard_normal((N, L, D))
    caps, alphas = S.captioning_sample(params, feats, max_length=6)
    assert caps.shape == (N, 6) and alphas.shape == (N, 6, L)
    written = alphas.sum(axis=2)
    assert np.allclose(written[caps != 0], 1.0)
    # Teacher-forcing the model with its own greedy words gives each word a loss below log V
    # (it was the argmax) and the same argmax.
    full = np.concatenate([np.ones((N, 1), int), caps], axis=1)
    for n in range(N):
        length = int(np.argmax(caps[n] == 2)) + 1 if (caps[n] == 2).any() else caps.shape[1]
        one = full[n:n + 1, :length + 1]
        for k in range(1, length + 1):
            others = [w for w in range(V) if w not in (0, one[0, k])]
            base, _ = S.captioning_loss(params, feats[n:n + 1], one[:, :k + 1])
            for w in others[:3]:
                alt = one[:, :k + 1].copy()
                alt[0, k] = w
                assert S.captioning_loss(params, feats[n:n + 1], alt)[0] >= base - 1e-12
