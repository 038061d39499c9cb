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
    edge={"N": 1, "T": 1, "D": 2, "H": 1, "V": 3, "M": 1},
)


def _step_args(g: Gen) -> list:
    return [g.x("N D"), g.x("N H"), g.w("D H"), g.w("H H"), g.w("H", 0.5)]


def _seq_args(g: Gen) -> list:
    return [g.x("N T D"), g.x("N H"), g.w("D H"), g.w("H H"), g.w("H", 0.5)]


# ---- catalogued mistakes (buggy versions of the reference, computed in the judge) -------------
def _step_backward_no_tanh(args, douts):
    x, prev_h, Wx, Wh, b = args
    da = douts[0]                                  # forgot * (1 - next_h**2)
    return {"dx": da @ Wx.T, "dprev_h": da @ Wh.T, "dWx": x.T @ da, "dWh": prev_h.T @ da,
            "db": da.sum(0)}


def _rnn_backward_variant(args, douts, tanh=True, accumulate=True):
    x, h0, Wx, Wh, b = args
    h, _ = S.rnn_forward(x, h0, Wx, Wh, b)
    dh = douts[0]
    N, T, H = h.shape
    da = np.zeros_like(h)
    dprev = np.zeros_like(h0)
    for t in reversed(range(T)):
        up = dh[:, t] + (dprev if accumulate else 0.0)
        da[:, t] = up * (1 - h[:, t] ** 2) if tanh else up
        dprev = da[:, t] @ Wh.T
    hp = np.concatenate([h0[:, None], h[:, :-1]], axis=1)
    return {"dx": da @ Wx.T, "dh0": dprev, "dWx": np.einsum("ntd,nth->dh", x, da),
            "dWh": np.einsum("ntk,nth->kh", hp, da), "db": da.sum((0, 1))}


def _embedding_overwrite(args, douts):
    x, W = args
    dW = np.zeros_like(W)
    dW[x.ravel()] = douts[0].reshape(-1, W.shape[1])   # repeated words overwrite each other
    return {"dW": dW}


def _softmax_loss_nomask(args, douts):
    x, y, mask = args
    loss, dx = S.temporal_softmax_loss(x, y, np.ones_like(mask))
    return {"loss": np.asarray(loss), "dx": dx}


def _softmax_loss_mean_all(args, douts):
    x, y, mask = args
    loss, dx = S.temporal_softmax_loss(x, y, mask)
    T = x.shape[1]
    return {"loss": np.asarray(loss / T), "dx": dx / T}


NO_TANH = ("missing the (1 - h^2) factor of tanh: the gradient through next_h = tanh(a) is "
           "dnext_h * (1 - next_h**2)")

FUNCTIONS = {
    "rnn_step_forward": Func(S.rnn_step_forward, _step_args, ["next_h:N H", CACHE]),
    "rnn_step_backward": Func(
        S.rnn_step_backward, _step_args,
        ["dx:N D", "dprev_h:N H", "dWx:D H", "dWh:H H", "db:H"],
        backward_of="rnn_step_forward", douts=lambda g, out: [g.x("N H")],
        mistakes=[Mistake("no_tanh_derivative", NO_TANH, _step_backward_no_tanh)]),
    "rnn_forward": Func(S.rnn_forward, _seq_args, ["h:N T H", CACHE]),
    "rnn_backward": Func(
        S.rnn_backward, _seq_args,
        ["dx:N T D", "dh0:N H", "dWx:D H", "dWh:H H", "db:H"],
        backward_of="rnn_forward", douts=lambda g, out: [g.x("N T H")], backward_in_time=True,
        mistakes=[
            Mistake("no_tanh_derivative", NO_TANH, lambda a, d: _rnn_backward_variant(a, d, tanh=False)),
            Mistake("no_dprev_h_through_time", "the gradient from later steps is not added: dh[:, t] must include the "
                    "dprev_h that step t + 1 sends back",
                    lambda a, d: _rnn_backward_variant(a, d, accumulate=False)),
        ]),
    "word_embedding_forward": Func(
        S.word_embedding_forward, lambda g: [g.ints("N T", g.dims["V"]), g.w("V D", 4.0)],
        ["out:N T D", CACHE]),
    "word_embedding_backward": Func(
        S.word_embedding_backward, lambda g: [g.ints("N T", g.dims["V"]), g.w("V D", 4.0)],
        ["dW:V D"], backward_of="word_embedding_forward", douts=lambda g, out: [g.x("N T D")],
        mistakes=[Mistake("embedding_overwrite", "a word that occurs several times must add up its gradients "
                          "(np.add.at), not overwrite them", _embedding_overwrite)]),
    "temporal_affine_forward": Func(
        S.temporal_affine_forward, lambda g: [g.x("N T D"), g.w("D M"), g.w("M")],
        ["out:N T M", CACHE]),
    "temporal_affine_backward": Func(
        S.temporal_affine_backward, lambda g: [g.x("N T D"), g.w("D M"), g.w("M")],
        ["dx:N T D", "dw:D M", "db:M"], backward_of="temporal_affine_forward",
        douts=lambda g, out: [g.x("N T M")]),
    "temporal_softmax_loss": Func(
        S.temporal_softmax_loss,
        lambda g: [g.x("N T V", 3.0), g.ints("N T", g.dims["V"]), g.mask("N T")],
        ["loss:", "dx:N T V"],
        mistakes=[Mistake("mask_ignored", "the mask is ignored: padded steps (mask False) must add nothing",
                          _softmax_loss_nomask),
                  Mistake("mean_over_time", "averaged over time as well: the loss is summed over time and "
                          "averaged over the batch only", _softmax_loss_mean_all)]),
}
