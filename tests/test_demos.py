"""Unit tests of the demos' compute functions and of the widget layer (no kernel needed).

The compute functions are checked against independent computations: closed forms (sigma^k for an
aligned linear RNN, the GRU interpolation's unrolled sum), finite differences (the cliff's
gradient, the LSTM's dL/dc_t) and the trained models run another way.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

torch.set_num_threads(1)

from course_helpers.demos import (  # noqa: E402
    DEMOS,
    Control,
    Demo,
    Panel,
    cliff,
    gradient_norms,
    hello,
    lstm_gates,
    resolve_static,
    update_gate,
)


def _artifact(*names: str) -> bool:
    from pathlib import Path

    import course_helpers

    return all((Path(course_helpers.__file__).parent / "artifacts" / n).exists() for n in names)


# ------------------------------------------------------------------ chapter 2: gradient norms
@pytest.mark.parametrize("sigma", [0.7, 1.0, 1.3])
def test_linear_rnn_aligned_gradient_norms_are_sigma_to_the_k(sigma):
    res = gradient_norms.gradient_norms(sigma, "linear", T=30)
    np.testing.assert_allclose(res.norms, sigma ** np.arange(31), rtol=1e-9)
    np.testing.assert_allclose(res.bound, sigma ** np.arange(31))


def test_make_Wh_has_the_requested_top_singular_value_and_vector():
    Wh, u = gradient_norms.make_Wh(1.25, H=16)
    s = np.linalg.svd(Wh, compute_uv=False)
    assert s[0] == pytest.approx(1.25)
    np.testing.assert_allclose(Wh @ u, 1.25 * u, atol=1e-12)


@pytest.mark.parametrize("sigma", [0.8, 1.5])
def test_tanh_gradient_norms_match_explicit_jacobian_products_and_respect_the_bound(sigma):
    T, H, D = 20, 16, 4
    res = gradient_norms.gradient_norms(sigma, "tanh", T=T, aligned=False, seed=3)
    # the same RNN, backpropagated by hand: dL/dh_{t-1} = (dL/dh_t * (1 - h_t^2)) Wh^T
    Wh, _ = gradient_norms.make_Wh(sigma, H, 3)
    rng = np.random.default_rng(4)
    x = rng.standard_normal((T, D))
    Wx = rng.standard_normal((D, H)) * 0.5 / np.sqrt(D)
    u = rng.standard_normal(H)
    u /= np.linalg.norm(u)
    hs = [np.zeros(H)]
    for t in range(T):
        hs.append(np.tanh(x[t] @ Wx + hs[-1] @ Wh))
    g, expected = u, [1.0]
    for t in range(T, 0, -1):
        g = (g * (1 - hs[t] ** 2)) @ Wh.T
        expected.append(np.linalg.norm(g))
    np.testing.assert_allclose(res.norms, expected, rtol=1e-9)
    assert np.all(res.norms <= res.bound * (1 + 1e-12))


def test_gradient_norms_rejects_bad_arguments():
    with pytest.raises(ValueError, match="nonlinearity"):
        gradient_norms.gradient_norms(1.0, "relu")
    with pytest.raises(ValueError, match="sigma"):
        gradient_norms.make_Wh(-1.0)


# ------------------------------------------------------------------ chapter 2: the cliff
@pytest.mark.parametrize("w,b", [(2.0, -1.0), (10.0, -3.5), (6.0, 0.5)])
def test_cliff_gradient_matches_finite_differences(w, b):
    L, gw, gb = cliff.loss_and_grad(w, b)
    eps = 1e-6
    nw = (cliff.loss_and_grad(w + eps, b)[0] - cliff.loss_and_grad(w - eps, b)[0]) / (2 * eps)
    nb = (cliff.loss_and_grad(w, b + eps)[0] - cliff.loss_and_grad(w, b - eps)[0]) / (2 * eps)
    assert gw == pytest.approx(nw, rel=1e-5, abs=1e-7)
    assert gb == pytest.approx(nb, rel=1e-5, abs=1e-7)


def test_loss_surface_agrees_with_the_pointwise_loss():
    ws, bs, L = cliff.loss_surface(20)
    for i, j in [(0, 0), (7, 13), (19, 19)]:
        assert L[i, j] == pytest.approx(cliff.loss_and_grad(ws[j], bs[i])[0], rel=1e-12)


def test_surface_has_a_cliff_a_jump_between_neighbouring_grid_points():
    _, _, L = cliff.loss_surface(120)
    jumps = np.abs(np.diff(L, axis=0))
    assert jumps.max() > 10 * np.median(jumps)


def test_clip_step_bounds_the_norm_and_keeps_the_direction():
    g, norm = cliff.clip_step((30.0, 40.0), 5.0)
    assert norm == 50.0
    assert math.hypot(*g) == pytest.approx(5.0)
    assert g[0] / g[1] == pytest.approx(30.0 / 40.0)
    assert cliff.clip_step((0.3, 0.4), 5.0) == ((0.3, 0.4), pytest.approx(0.5))
    with pytest.raises(ValueError, match="threshold"):
        cliff.clip_step((1.0, 1.0), 0.0)


@pytest.mark.parametrize("threshold", cliff.THRESHOLDS)
def test_clipping_bounds_every_step_while_the_plain_run_jumps_off_the_cliff(threshold):
    res = cliff.cliff_descent(threshold)
    steps_clipped = np.hypot(*np.diff(res.clipped, axis=0).T)
    assert steps_clipped.max() <= res.lr * threshold * (1 + 1e-9)
    steps_plain = np.hypot(*np.diff(res.plain, axis=0).T)
    assert steps_plain.max() > 10.0  # the cliff's gradient throws plain descent far away
    p, _, _ = cliff.descend(res.start, res.lr, 60, None)
    np.testing.assert_array_equal(p, res.plain)


# ------------------------------------------------------------------ chapter 3: LSTM gates
def _lstm_numpy_loss(p, bf, bi, bo, t0=None, j=0, eps=0.0):
    """Forward in numpy; optionally add eps to c_{t0}[j] right after it is computed."""
    H = lstm_gates.H
    b = np.concatenate([np.full(H, bi), np.full(H, bf), np.full(H, bo), np.zeros(H)])
    sig = lambda a: 1 / (1 + np.exp(-a))  # noqa: E731
    h, c = np.zeros(H), np.zeros(H)
    if t0 == 0:
        c = c.copy()
        c[j] += eps
    for t in range(lstm_gates.T_STEPS):
        a = p["x"][t] @ p["Wx"] + h @ p["Wh"] + b
        i, f, o, g = sig(a[:H]), sig(a[H:2 * H]), sig(a[2 * H:3 * H]), np.tanh(a[3 * H:])
        c = f * c + i * g
        if t0 == t + 1:
            c = c.copy()
            c[j] += eps
        h = o * np.tanh(c)
    return h @ p["v"]


@pytest.mark.parametrize("bf", [-1.0, 3.0])
def test_lstm_gradient_through_c_matches_finite_differences(bf):
    res = lstm_gates.lstm_gates(bf, 0.5, -0.5)
    p = lstm_gates._weights(0)
    H = lstm_gates.H
    for t0 in (lstm_gates.T_STEPS - 5, lstm_gates.T_STEPS - 20):
        eps = 1e-6
        g = [(_lstm_numpy_loss(p, bf, 0.5, -0.5, t0, j, eps)
              - _lstm_numpy_loss(p, bf, 0.5, -0.5, t0, j, -eps)) / (2 * eps) for j in range(H)]
        assert res.grad_c[t0] == pytest.approx(np.linalg.norm(g), rel=1e-4, abs=1e-10)


def test_lstm_cell_state_follows_the_gates_and_the_forget_path_is_their_product():
    res = lstm_gates.lstm_gates(2.0, -1.0, 1.0)
    gi, gf, gg = res.gates["i"], res.gates["f"], res.gates["g"]
    np.testing.assert_allclose(res.c[1:], gf * res.c[:-1] + gi * gg, atol=1e-12)
    t = 10
    assert res.f_path[t] == pytest.approx(np.prod(gf[t:], axis=0).mean())
    assert res.f_path[-1] == 1.0


def test_a_larger_forget_bias_keeps_more_gradient_and_the_rnn_does_not_change():
    low, high = lstm_gates.lstm_gates(-2.0), lstm_gates.lstm_gates(5.0)
    assert high.gates["f"].mean() > 0.95 > 0.2 > low.gates["f"].mean()
    assert high.grad_c[0] > 1e3 * low.grad_c[0]
    np.testing.assert_array_equal(low.grad_rnn, high.grad_rnn)


# ------------------------------------------------------------------ chapter 4: update gate
def test_interpolation_endpoints_and_midpoint():
    h, n = np.array([1.0, -2.0]), np.array([3.0, 0.0])
    np.testing.assert_allclose(update_gate.interpolate(1.0, h, n), h)
    np.testing.assert_allclose(update_gate.interpolate(0.0, h, n), n)
    np.testing.assert_allclose(update_gate.interpolate(0.5, h, n), (h + n) / 2)
    with pytest.raises(ValueError, match="z must lie"):
        update_gate.interpolate(1.5, h, n)
    with pytest.raises(ValueError, match="same shape"):
        update_gate.interpolate(0.5, h, n[:1])


@pytest.mark.parametrize("z", [0.0, 0.3, 0.9, 1.0])
def test_constant_gate_unrolls_to_z_power_t_times_h0_plus_weighted_candidates(z):
    res = update_gate.update_gate(z)
    T = update_gate.T_STEPS
    expected = z ** T * 1.0 + sum((1 - z) * z ** (T - t) * res.cands[t - 1] for t in range(1, T + 1))
    assert res.traj[-1] == pytest.approx(expected, abs=1e-12)
    np.testing.assert_allclose(res.memory, z ** np.arange(T + 1))


# ------------------------------------------------------------------ chapter 1: hello
def test_softmax_with_temperature():
    s = np.array([2.0, 1.0, 0.0])
    for tau in (0.5, 1.0, 3.0):
        p = hello.softmax_t(s, tau)
        assert p.sum() == pytest.approx(1.0)
        np.testing.assert_allclose(p, np.exp(s / tau) / np.exp(s / tau).sum())
    np.testing.assert_array_equal(hello.softmax_t(s, 0.0), [1.0, 0.0, 0.0])
    assert hello.softmax_t(s, 0.5)[0] > hello.softmax_t(s, 2.0)[0]
    with pytest.raises(ValueError, match="temperature"):
        hello.softmax_t(s, -1.0)


def test_toy_model_has_learned_hello():
    m = hello.toy_hello_model()
    preds = [m.chars[int(np.argmax(hello.hello_step(t, 1.0, m).probs))] for t in range(4)]
    assert "".join(preds) == "ello"


def test_sample_is_the_inverse_cdf_of_the_fixed_uniform():
    m = hello.toy_hello_model()
    for tau in (0.0, 0.5, 1.0, 3.0):
        r = hello.hello_step(1, tau, m)
        cdf = np.cumsum(r.probs)
        assert r.sampled == int(np.argmax(cdf > r.u))
    assert hello.hello_step(1, 0.0, m).sampled == int(np.argmax(hello.hello_step(1, 1.0, m).probs))
    with pytest.raises(ValueError, match="step"):
        hello.hello_step(5, 1.0, m)


@pytest.mark.skipif(not _artifact("char_rnn.npz", "char_models.json"), reason="shipped character model not present")
def test_hello_hidden_state_and_distribution_match_the_torch_char_model():
    from course_helpers.artifacts import load_char_model
    from course_helpers.models import CharRNN

    m = hello.load_model("shipped")
    p = load_char_model("rnn")
    net = CharRNN(len(m.chars), p["Wh"].shape[0], "rnn").double()
    net.load_numpy_params({k: p[k] for k in ("Wx", "Wh", "b", "Wy", "by")})
    ids = torch.tensor([[m.stoi[c] for c in hello.WORD]])
    with torch.no_grad():
        scores, _ = net(ids)
        h_all, _ = net.rnn(torch.nn.functional.one_hot(ids, len(m.chars)).double())
    for t in range(5):
        r = hello.hello_step(t, 1.0, m)
        np.testing.assert_allclose(r.hidden, h_all[0, t].numpy(), atol=1e-5)
        np.testing.assert_allclose(r.probs, torch.softmax(scores[0, t], 0).numpy(), atol=1e-5)


# ------------------------------------------------------------------ chapter 4/5: shipped artifacts
@pytest.mark.skipif(not _artifact("adding_models.json"), reason="adding curves not present")
def test_adding_curves_are_the_stored_ones():
    from course_helpers.artifacts import load_adding_curves
    from course_helpers.demos import adding

    stored = load_adding_curves()
    for T in adding.lengths(stored):
        res = adding.curves_for(stored, T)
        for kind, (_step, mse) in res.series.items():
            np.testing.assert_array_equal(mse, stored[f"T={T}"][kind]["mse"])
            assert res.final[kind] == mse[-1]
    with pytest.raises(ValueError, match="no curves"):
        adding.curves_for(stored, 7)


@pytest.mark.skipif(not _artifact("captioner.npz", "captioner.json", "caption_test_feats.npz"),
                    reason="captioner not present")
def test_attention_maps_are_the_models_and_sum_to_one():
    from course_helpers.demos import attention

    data = attention.load(3)
    for i in range(3):
        tokens, alphas = attention.generate(data, i, use_cache=False)
        assert tokens[-1] == "<END>" or len(tokens) == 16
        np.testing.assert_allclose(alphas.sum(axis=1), 1.0, atol=1e-5)
        step = attention.attention_step(data, i, 1)
        np.testing.assert_allclose(step.alpha.ravel(), alphas[1])
        assert attention.attention_step(data, i, 99).word == len(tokens) - 1
    try:
        from solutions import captioning_sample
    except ImportError:
        return
    from course_helpers.artifacts import captioner_numpy_params

    caps, alphas_ref = captioning_sample(captioner_numpy_params(), data.feats[:3])
    for i in range(3):
        tokens, alphas = attention.generate(data, i)
        assert [data.vocab[j] for j in caps[i][: len(tokens)]] == tokens
        np.testing.assert_allclose(alphas, alphas_ref[i, : len(tokens)], atol=1e-4)


# ------------------------------------------------------------------ the widget layer
def _toy_demo(static):
    ctrl = [Control("a", "a", [1, 2, 3, 4], [1, 3], 1), Control("b", "b", ["x", "y"], ["x", "y"], "x",
                                                                kind="toggle")]
    return Demo("toy", ctrl, lambda a, b: f"{a}{b}",
                [Panel(lambda r: f"<p>{r}</p>", ["a", "b"]), Panel(lambda r: f"<i>{r[0]}</i>", ["a"])],
                static=static)


def test_static_demo_builds_nested_stacks_with_one_jslink_per_stack():
    d = _toy_demo(True)
    assert d.frame_count() == 2 * 2 + 2  # the second panel depends on "a" only
    assert len(d.links) == (1 + 2) + 1
    assert d.panel_html() == ["<p>1x</p>", "<i>1</i>"]
    d.controls["b"].index = 1
    d.controls["a"].index = 1
    assert d.params == {"a": 3, "b": "y"}
    assert d.panel_html() == ["<p>3y</p>", "<i>3</i>"]
    for link in d.links:
        (_src, name), (_dst, attr) = link.source, link.target
        assert name == "index" and attr == "selected_index"


def test_live_demo_recomputes_on_change():
    d = _toy_demo(False)
    d.controls["a"].value = 4
    assert d.panel_html() == ["<p>4x</p>", "<i>4</i>"]
    assert d.links == [] and d.frame_count() == 0


def test_mode_resolution(monkeypatch):
    assert resolve_static(True) and not resolve_static(False)
    monkeypatch.setenv("COURSE_DEMOS_STATIC", "1")
    assert resolve_static(None)
    monkeypatch.setenv("COURSE_DEMOS_STATIC", "0")
    assert not resolve_static(None)
    monkeypatch.delenv("COURSE_DEMOS_STATIC")
    assert resolve_static(None)  # plain Python, no kernel: static


def test_control_and_panel_validation():
    with pytest.raises(ValueError, match="default"):
        Control("a", "a", [1, 2], [2], 1)
    with pytest.raises(ValueError, match="kind"):
        Control("a", "a", [1], [1], 1, kind="knob")
    with pytest.raises(ValueError, match="unknown controls"):
        Demo("x", [Control("a", "a", [1], [1], 1)], lambda a: a, [Panel(str, ["zz"])], static=True)


@pytest.mark.parametrize("name", [
    "gradient_norms", "cliff_clipping", "lstm_gates", "update_gate", "hello_stepper",
    pytest.param("adding_curves", marks=pytest.mark.skipif(
        not _artifact("adding_models.json"), reason="adding curves not present")),
    pytest.param("attention_stepper", marks=pytest.mark.skipif(
        not _artifact("captioner.npz", "captioner.json", "caption_test_feats.npz"),
        reason="captioner not present")),
])
def test_every_static_frame_is_the_render_of_the_compute_function(name):
    d = DEMOS[name](static=True)
    live = DEMOS[name](static=False)
    for ctrl_name, w in d.controls.items():
        w.index = len(w.options) - 1
        live.controls[ctrl_name].value = d.params[ctrl_name]
        assert d.panel_html() == live.panel_html()


def test_live_demo_shows_a_compute_error_instead_of_losing_it():
    def compute(a):
        if a == 2:
            raise ValueError("a must not be 2")
        return a

    d = Demo("x", [Control("a", "a", [1, 2], [1], 1)], compute, [Panel(str, ["a"])], static=False)
    d.controls["a"].value = 2
    assert "a must not be 2" in d.panel_html()[0]
