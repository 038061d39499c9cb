"""Hidden tests of assignment 01_rnn: vanilla RNN, word embedding, temporal affine, softmax loss."""

from __future__ import annotations

import numpy as np

import solutions as S
from autograder.specs import CACHE, Func, Gen, Mistake, standard_cases

SEED = 731_205_118


def _random_dims(rng: np.random.Generator) -> dict[str, int]:
    return {"N": int(rng.integers(2, 6)), "T": int(rng.integers(3, 8)), "D": int(rng.integers(2, 7)),
            "H": int(rng.integers(2, 8)), "V": int(rng.integers(4, 12)), "M": int(rng.integers(2, 7))}


CASES = standard_cases(
    SEED, _random_dims,
    fixed={"N": 2, "T": 4, "D": 3, "H": 5, "V": 7, "M": 6},
    edge={"N": 1, "T": 1, "D": 2, "H": 1, "V": 3, "M": 1}, saturate=3.0,
)


def _step_args(g: Gen) -> list:
    return [g.x("N D"), g.x("N H"), g.w("D H"), g.w("H H"), g.w("H", 0.5)]


def _seq_args(g: Gen) -> list:
    return [g.x("N T D"), g.x("N H"), g.w("D H"), g.w("H H"), g.w("H", 0.5)]


# ---- catalogued mistakes (buggy versions of the reference, computed in the judge) -------------
# Every variant uses reference values for everything but its own bug: a backward variant starts
# from the reference forward's values (each function is graded on its own).
def _sig(a):
    return 0.5 * (1.0 + np.tanh(0.5 * a))          # the logistic function, without overflow


def _act(a, kind):
    return _sig(a) if kind == "sigmoid" else np.tanh(a)


def _step_fwd(x, prev_h, Wx, Wh, b, kind="tanh", bias_out=False, wh_t=False):
    a = x @ Wx + prev_h @ (Wh.T if wh_t else Wh)
    return _act(a, kind) + b if bias_out else _act(a + b, kind)


def _seq_fwd(x, h0, Wx, Wh, b, kind="tanh", bias_out=False, carry=True, use_h0=True):
    prev = h0 if use_h0 else np.zeros_like(h0)
    hs = []
    for t in range(x.shape[1]):
        h = _step_fwd(x[:, t], prev if carry else (h0 if use_h0 else np.zeros_like(h0)), Wx, Wh,
                      b, kind, bias_out)
        hs.append(h)
        prev = h
    return np.stack(hs, axis=1)


def _step_bwd(args, douts, deriv="h"):
    x, prev_h, Wx, Wh, b = args
    a = x @ Wx + prev_h @ Wh + b
    next_h = np.tanh(a)
    dnext = douts[0]
    da = {"h": dnext * (1 - next_h ** 2), "none": dnext, "a": dnext * (1 - a ** 2)}[deriv]
    return {"dx": da @ Wx.T, "dprev_h": da @ Wh.T, "dWx": x.T @ da, "dWh": prev_h.T @ da,
            "db": da.sum(0)}


def _rnn_backward_variant(args, douts, deriv="h", accumulate=True, order="backward",
                          weights="sum"):
    """BPTT with one bug; ``weights``: "sum" (right), "first" (``dWx = ...`` in a backward loop
    keeps step 0), "last" (only the last step's contribution)."""
    x, h0, Wx, Wh, b = args
    h = S.rnn_forward(x, h0, Wx, Wh, b)[0]
    hp = np.concatenate([h0[:, None], h[:, :-1]], axis=1)
    a = x @ Wx + hp @ Wh + b
    dh = douts[0]
    N, T, H = h.shape
    da = np.zeros_like(h)
    dprev = np.zeros_like(h0)
    steps = reversed(range(T)) if order == "backward" else range(T)
    for t in steps:
        up = dh[:, t] + (dprev if accumulate else 0.0)
        da[:, t] = {"h": up * (1 - h[:, t] ** 2), "none": up, "a": up * (1 - a[:, t] ** 2)}[deriv]
        dprev = da[:, t] @ Wh.T
    dh0 = dprev                    # what the loop leaves behind
    sel = {"sum": slice(None), "first": slice(0, 1), "last": slice(T - 1, T)}[weights]
    return {"dx": da @ Wx.T, "dh0": dh0,
            "dWx": np.einsum("ntd,nth->dh", x[:, sel], da[:, sel]),
            "dWh": np.einsum("ntk,nth->kh", hp[:, sel], da[:, sel]), "db": da[:, sel].sum((0, 1))}


def _rnn_bwd_only(keys, **kw):
    return lambda a, d: {k: v for k, v in _rnn_backward_variant(a, d, **kw).items() if k in keys}


def _embedding_overwrite(args, douts):
    x, W = args
    dW = np.zeros_like(W)
    dW[x.ravel()] = douts[0].reshape(-1, W.shape[1])   # repeated words overwrite each other
    return {"dW": dW}


def _embedding_transposed_index(args, douts):
    x, W = args
    return {"out": W[x.T].transpose(1, 0, 2)} if x.shape[0] != x.shape[1] else {}


def _softmax_loss(x, y, mask, use_mask=True, per="N", axis=2, max_axis=None):
    N, T, V = x.shape
    p = np.exp(x - x.max(axis=axis if max_axis is None else max_axis, keepdims=True))
    p /= p.sum(axis=axis, keepdims=True)
    m = mask.astype(float) if use_mask else np.ones(mask.shape)
    logp = np.log(np.take_along_axis(p, y[..., None], axis=2)[..., 0])
    denom = {"N": N, "NT": N * T, "1": 1, "mask": max(m.sum(), 1.0)}[per]
    loss = -(m * logp).sum() / denom
    dx = p.copy()
    np.put_along_axis(dx, y[..., None], np.take_along_axis(dx, y[..., None], axis=2) - 1, axis=2)
    dx *= m[..., None] / denom
    return {"loss": np.asarray(loss), "dx": dx}


def _affine_no_bias(args, douts):
    x, w, b = args
    return {"out": x @ w}


def _scores(g: Gen) -> np.ndarray:
    """Scores x of shape (N, T, V). In the extreme case every score vector sits at about +-1000
    (an offset per (n, t) plus a spread of a few units): exp overflows (or every exp underflows
    to 0) unless the maximum is subtracted first, while the probabilities themselves stay
    moderate, so a correct loss written as log(probs) (CS231n's form) is not penalised for the
    underflow of a probability that is truly of order exp(-1000)."""
    x = g.x("N T V", 3.0)
    if "extreme" in g.case.label:
        N, T, _ = x.shape
        x = x / g.case.scale + 1000.0 * g.rng.choice([-1.0, 1.0], size=(N, T, 1))
    return x


NO_TANH = ("missing the (1 - h^2) factor of tanh: the gradient through next_h = tanh(a) is "
           "dnext_h * (1 - next_h**2)")
TANH_OF_A = ("the tanh derivative is taken of the pre-activation a: it is 1 - tanh(a)**2 = "
             "1 - next_h**2, in terms of the output")
SIGMOID = "sigmoid used where the vanilla RNN has tanh: next_h = tanh(x Wx + prev_h Wh + b)"
BIAS_OUT = "the bias is added after the tanh: it belongs inside, tanh(x Wx + prev_h Wh + b)"
WH_T = "Wh is used transposed: the recurrent term is prev_h @ Wh, with Wh of shape (H, H)"
NOT_CARRIED = ("every step starts from h0: the hidden state must be carried from one step to the "
               "next (prev_h = next_h)")
H0_IGNORED = "h0 is not used: the first step starts from the given h0, not from zeros"
NO_ACCUM = ("the gradient from later steps is not added: dh[:, t] must include the dprev_h that "
            "step t + 1 sends back")
LOOP_FORWARD = ("the backward loop runs forward in time: walk t = T-1 down to 0, so that the "
                "gradient from step t + 1 is known when step t is processed")
OVERWRITE = ("the weight gradients keep one step only (dWx = ... instead of dWx += ... inside the "
             "time loop): the shared weights sum the gradients of all steps")
LAST_ONLY = ("the weight gradients come from the last step only: the shared weights sum the "
             "gradients of every time step")

FUNCTIONS = {
    "rnn_step_forward": Func(
        S.rnn_step_forward, _step_args, ["next_h:N H", CACHE], extreme=True,
        mistakes=[Mistake("sigmoid_for_tanh", SIGMOID, lambda a, d: {"next_h": _step_fwd(*a, "sigmoid")}),
                  Mistake("bias_outside_tanh", BIAS_OUT,
                          lambda a, d: {"next_h": _step_fwd(*a, bias_out=True)}),
                  Mistake("wh_transposed", WH_T, lambda a, d: {"next_h": _step_fwd(*a, wh_t=True)})]),
    "rnn_step_backward": Func(
        S.rnn_step_backward, _step_args,
        ["dx:N D", "dprev_h:N H", "dWx:D H", "dWh:H H", "db:H"],
        backward_of="rnn_step_forward", douts=lambda g, out: [g.x("N H")],
        mistakes=[Mistake("no_tanh_derivative", NO_TANH, lambda a, d: _step_bwd(a, d, "none")),
                  Mistake("tanh_derivative_of_preactivation", TANH_OF_A,
                          lambda a, d: _step_bwd(a, d, "a"))]),
    "rnn_forward": Func(
        S.rnn_forward, _seq_args, ["h:N T H", CACHE], extreme=True,
        mistakes=[Mistake("sigmoid_for_tanh", SIGMOID, lambda a, d: {"h": _seq_fwd(*a, "sigmoid")}),
                  Mistake("bias_outside_tanh", BIAS_OUT, lambda a, d: {"h": _seq_fwd(*a, bias_out=True)}),
                  Mistake("state_not_carried", NOT_CARRIED, lambda a, d: {"h": _seq_fwd(*a, carry=False)}),
                  Mistake("h0_ignored", H0_IGNORED, lambda a, d: {"h": _seq_fwd(*a, use_h0=False)})]),
    "rnn_backward": Func(
        S.rnn_backward, _seq_args,
        ["dx:N T D", "dh0:N H", "dWx:D H", "dWh:H H", "db:H"],
        backward_of="rnn_forward", douts=lambda g, out: [g.x("N T H")], backward_in_time=True,
        mistakes=[
            Mistake("no_tanh_derivative", NO_TANH, lambda a, d: _rnn_backward_variant(a, d, deriv="none")),
            Mistake("tanh_derivative_of_preactivation", TANH_OF_A,
                    lambda a, d: _rnn_backward_variant(a, d, deriv="a")),
            Mistake("no_dprev_h_through_time", NO_ACCUM,
                    lambda a, d: _rnn_backward_variant(a, d, accumulate=False)),
            Mistake("backward_loop_forward_in_time", LOOP_FORWARD,
                    lambda a, d: _rnn_backward_variant(a, d, order="forward")),
            Mistake("grads_overwritten_in_loop", OVERWRITE,
                    _rnn_bwd_only(("dWx", "dWh", "db"), weights="first")),
            Mistake("grads_not_summed_over_time", LAST_ONLY,
                    _rnn_bwd_only(("dWx", "dWh", "db"), weights="last")),
        ]),
    "word_embedding_forward": Func(
        S.word_embedding_forward, lambda g: [g.ints("N T", g.dims["V"]), g.w("V D", 4.0)],
        ["out:N T D", CACHE]),
    "word_embedding_backward": Func(
        S.word_embedding_backward, lambda g: [g.ints("N T", g.dims["V"]), g.w("V D", 4.0)],
        ["dW:V D"], backward_of="word_embedding_forward", douts=lambda g, out: [g.x("N T D")],
        mistakes=[Mistake("embedding_overwrite", "a word that occurs several times must add up its "
                          "gradients (np.add.at), not overwrite them", _embedding_overwrite)]),
    "temporal_affine_forward": Func(
        S.temporal_affine_forward, lambda g: [g.x("N T D"), g.w("D M"), g.w("M")],
        ["out:N T M", CACHE],
        mistakes=[Mistake("affine_no_bias", "the bias b is not added", _affine_no_bias)]),
    "temporal_affine_backward": Func(
        S.temporal_affine_backward, lambda g: [g.x("N T D"), g.w("D M"), g.w("M")],
        ["dx:N T D", "dw:D M", "db:M"], backward_of="temporal_affine_forward",
        douts=lambda g, out: [g.x("N T M")]),
    "temporal_softmax_loss": Func(
        S.temporal_softmax_loss,
        lambda g: [_scores(g), g.ints("N T", g.dims["V"]), g.mask("N T")],
        ["loss:", "dx:N T V"], extreme=True,
        mistakes=[Mistake("mask_ignored", "the mask is ignored: padded steps (mask False) must add "
                          "nothing", lambda a, d: _softmax_loss(*a, use_mask=False)),
                  Mistake("mean_over_time", "averaged over time as well: the loss is summed over "
                          "time and averaged over the batch only", lambda a, d: _softmax_loss(*a, per="NT")),
                  Mistake("mean_over_mask", "divided by the number of unmasked steps: the loss is "
                          "averaged over the batch (N) only", lambda a, d: _softmax_loss(*a, per="mask")),
                  Mistake("no_batch_average", "not averaged over the batch: divide the loss and dx by N",
                          lambda a, d: _softmax_loss(*a, per="1")),
                  Mistake("softmax_wrong_axis", "the softmax must be normalised over the V scores of each "
                          "step (axis 2), not over time", lambda a, d: _softmax_loss(*a, axis=1, max_axis=2)),
                  Mistake("softmax_wrong_axis_both", "the softmax (its maximum and its sum) must run over the "
                          "V scores of each step (axis 2), not over time", lambda a, d: _softmax_loss(*a, axis=1))]),
}
