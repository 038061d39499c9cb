"""The references' contract: inputs untouched, float64 kept, every name exported, clear errors."""

from __future__ import annotations

import inspect
import re

import numpy as np
import pytest

import solutions as S
from course_helpers import eval_numerical_gradient, eval_numerical_gradient_array, rel_error

N, T, D, H = 2, 3, 4, 5
rng = np.random.default_rng(0)
handed_out: list[tuple[np.ndarray, np.ndarray]] = []  # every array arr() made, with a copy of it


def arr(*shape):
    a = rng.standard_normal(shape)
    handed_out.append((a, a.copy()))
    return a


def cases():
    """(name, forward call, backward call taking the forward's result) for each layer."""
    x3, h0 = arr(N, T, D), arr(N, H)
    yield "rnn_step", lambda: S.rnn_step_forward(arr(N, D), h0, arr(D, H), arr(H, H), arr(H)), \
        lambda out: S.rnn_step_backward(arr(N, H), out[1])
    yield "rnn", lambda: S.rnn_forward(x3, h0, arr(D, H), arr(H, H), arr(H)), \
        lambda out: S.rnn_backward(arr(N, T, H), out[1])
    yield "lstm_step", lambda: S.lstm_step_forward(arr(N, D), h0, arr(N, H), arr(D, 4 * H), arr(H, 4 * H),
                                                   arr(4 * H)), \
        lambda out: S.lstm_step_backward(arr(N, H), arr(N, H), out[2])
    yield "lstm", lambda: S.lstm_forward(x3, h0, arr(D, 4 * H), arr(H, 4 * H), arr(4 * H)), \
        lambda out: S.lstm_backward(arr(N, T, H), out[1])
    yield "gru_step", lambda: S.gru_step_forward(arr(N, D), h0, arr(D, 3 * H), arr(H, 3 * H), arr(3 * H),
                                                 arr(3 * H)), \
        lambda out: S.gru_step_backward(arr(N, H), out[1])
    yield "gru", lambda: S.gru_forward(x3, h0, arr(D, 3 * H), arr(H, 3 * H), arr(3 * H), arr(3 * H)), \
        lambda out: S.gru_backward(arr(N, T, H), out[1])
    yield "attention", lambda: S.attention_forward(h0, arr(N, 6, D), arr(H, 7), arr(D, 7), arr(7), arr(7)), \
        lambda out: S.attention_backward(arr(N, D), out[2])
    yield "affine", lambda: S.temporal_affine_forward(x3, arr(D, 6), arr(6)), \
        lambda out: S.temporal_affine_backward(arr(N, T, 6), out[1])
    yield "embedding", lambda: S.word_embedding_forward(rng.integers(0, 9, (N, T)), arr(9, D)), \
        lambda out: (S.word_embedding_backward(arr(N, T, D), out[1]),)


@pytest.mark.parametrize("name,forward,backward", list(cases()), ids=lambda c: c if isinstance(c, str) else "")
def test_inputs_not_modified_and_float64_kept(name, forward, backward):
    handed_out.clear()
    out = forward()
    grads = backward(out)
    assert len(handed_out) >= 2
    for a, before in handed_out:
        assert np.array_equal(a, before), f"{name}: an input array was modified in place"
    results = [o for o in out if isinstance(o, np.ndarray)] + list(grads)
    for r in results:
        assert r.dtype == np.float64, f"{name}: an output has dtype {r.dtype}"
        assert np.all(np.isfinite(r))


def test_captioning_and_clipping_do_not_modify_inputs():
    params = S.init_captioner_params(8, 3, E=2, H=4, K=3)
    feats = arr(2, 4, 3)
    caps = np.array([[1, 4, 5, 2, 0], [1, 6, 2, 0, 0]])
    snapshot = {k: v.copy() for k, v in params.items()}, feats.copy(), caps.copy()
    S.captioning_loss(params, feats, caps)
    S.captioning_sample(params, feats, max_length=4)
    assert all(np.array_equal(params[k], snapshot[0][k]) for k in params)
    assert np.array_equal(feats, snapshot[1]) and np.array_equal(caps, snapshot[2])
    g = [arr(3, 3) * 10]
    before = g[0].copy()
    S.clip_grad_norm(g, 1.0)
    assert np.array_equal(g[0], before)


def test_every_public_function_is_exported_and_documented_with_shapes():
    for name in S.__all__:
        fn = getattr(S, name)
        assert callable(fn), name
        doc = inspect.getdoc(fn) or ""
        assert doc, f"{name} has no docstring"
    for name in ("rnn_step_forward", "lstm_forward", "gru_backward", "attention_forward", "captioning_loss"):
        assert re.search(r"shape \(", inspect.getdoc(getattr(S, name))), f"{name}: no shapes in docstring"


@pytest.mark.parametrize("call,message", [
    (lambda: S.rnn_step_forward(arr(N, D), arr(N, H), arr(D, H), arr(H, H + 1), arr(H)),
     r"rnn_step_forward: Wh has shape \(5, 6\) but must be \(H, H\) = \(5, 5\) \(H = 5 from prev_h\)"),
    (lambda: S.rnn_forward(arr(N, D), arr(N, H), arr(D, H), arr(H, H), arr(H)),
     r"rnn_forward: x has shape \(2, 4\) \(2-D\) but must be 3-D with shape \(N, T, D\)"),
    (lambda: S.rnn_forward(arr(N, T, D), arr(N + 1, H), arr(D, H), arr(H, H), arr(H)),
     r"h0 has shape \(3, 5\) but must be \(N, H\) = \(2, '\?'\) \(N = 2 from x\)"),
    (lambda: S.lstm_step_forward(arr(N, D), arr(N, H), arr(N, H), arr(D, 3 * H), arr(H, 3 * H), arr(3 * H)),
     r"4H = 20 columns \(gates i, f, o, g\), got 15"),
    (lambda: S.gru_forward(arr(N, T, D), arr(N, H), arr(D, 4 * H), arr(H, 4 * H), arr(4 * H), arr(4 * H)),
     r"3H = 15 columns \(blocks r, z, n\), got 20"),
    (lambda: S.word_embedding_forward(np.array([[0, 9]]), arr(5, D)),
     r"x contains index 9, but the vocabulary \(rows of W\) has only 5 entries"),
    (lambda: S.word_embedding_forward(np.array([[0.0, 1.0]]), arr(5, D)), r"x must hold integer indices"),
    (lambda: S.temporal_softmax_loss(arr(N, T, 4), np.zeros((N, T + 1), int), np.ones((N, T), bool)),
     r"y has shape \(2, 4\) but must be \(N, T\) = \(2, 3\)"),
    (lambda: S.attention_forward(arr(N, H), arr(N, 6, D), arr(H, 7), arr(D + 1, 7), arr(7), arr(7)),
     r"Ua has shape \(5, 7\) but must be \(D, K\) = \(4, 7\)"),
    (lambda: S.rnn_step_forward([[1.0] * D] * N, arr(N, H), arr(D, H), arr(H, H), arr(H)),
     r"x must be a numpy array of shape \(N, D\), got list"),
    (lambda: S.rnn_step_backward(arr(N, H + 1), S.rnn_step_forward(arr(N, D), arr(N, H), arr(D, H),
                                                                      arr(H, H), arr(H))[1]),
     r"rnn_step_backward: dnext_h has shape \(2, 6\) but must be \(N, H\) = \(2, 5\) \(H = 5 from cache\)"),
    (lambda: S.clip_grad_norm([arr(2)], 0.0), r"max_norm must be positive"),
    (lambda: S.captioning_loss({"Wx": arr(2, 2)}, arr(1, 2, 2), np.ones((1, 3), int)), r"params is missing"),
])
def test_bad_input_names_the_argument_and_expected_shape(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_gradcheck_helpers_on_known_functions():
    x = np.array([1.0, -2.0, 3.0])
    assert rel_error(eval_numerical_gradient(lambda v: np.sum(v**3), x), 3 * x**2) < 1e-8
    A = rng.standard_normal((4, 3))
    df = rng.standard_normal(4)
    assert rel_error(eval_numerical_gradient_array(lambda v: A @ v, x, df), A.T @ df) < 1e-8
    assert np.array_equal(x, [1.0, -2.0, 3.0]), "the checker must restore x"
    assert rel_error(np.array([1.0]), np.array([1.0 + 1e-12])) < 1e-11
    with pytest.raises(ValueError, match="shapes differ"):
        rel_error(np.zeros(3), np.zeros((3, 1)))
    with pytest.raises(ValueError, match="floating-point"):
        eval_numerical_gradient(lambda v: 0.0, np.arange(3))
