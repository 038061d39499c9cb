"""Hidden tests of assignment 05_attention: soft attention and the attention captioner."""

from __future__ import annotations

import numpy as np

import solutions as S
from autograder.specs import CACHE, Func, Gen, Mistake, standard_cases

SEED = 877_310_054


def _random_dims(rng: np.random.Generator) -> dict[str, int]:
    return {"N": int(rng.integers(2, 5)), "T": int(rng.integers(2, 6)), "D": int(rng.integers(2, 6)),
            "H": int(rng.integers(2, 6)), "L": int(rng.integers(2, 6)), "K": int(rng.integers(2, 6)),
            "E": int(rng.integers(2, 5)), "V": int(rng.integers(6, 10)), "M": int(rng.integers(2, 6))}


CASES = standard_cases(
    SEED, _random_dims,
    fixed={"N": 2, "T": 4, "D": 3, "H": 5, "L": 4, "K": 6, "E": 3, "V": 8, "M": 5},
    edge={"N": 1, "T": 1, "D": 2, "H": 1, "L": 1, "K": 1, "E": 1, "V": 5, "M": 1}, saturate=4.0)


def _att_args(g: Gen) -> list:
    return [g.x("N H"), g.x("N L D"), g.w("H K"), g.w("D K"), g.w("K", 0.5), g.w("K")]


def _params(g: Gen) -> dict:
    d = g.dims
    X, H4 = d["E"] + d["D"], 4 * d["H"]
    return {"W_init": g.w("D H"), "b_init": g.w("H", 0.3), "W_embed": g.w("V E", 2.0),
            "Wa": g.w("H K"), "Ua": g.w("D K"), "ba": g.w("K", 0.3), "va": g.w("K"),
            "Wx": g.rng.standard_normal((X, H4)) * g.case.scale / np.sqrt(X),
            "Wh": g.w("H 4H"), "b": g.w("4H", 0.3), "W_vocab": g.w("H V", 3.0),
            "b_vocab": g.w("V", 0.3)}


def _captions(g: Gen) -> np.ndarray:
    N, T, V = g.dims["N"], g.dims["T"], g.dims["V"]
    caps = g.rng.integers(3, V, size=(N, T + 1)).astype(np.int64)
    caps[:, 0] = 1                                  # <START>
    for n in range(N):                              # an <END> and <NULL> padding in some rows
        if T >= 2 and n % 2 == 1:
            end = int(g.rng.integers(1, T + 1))
            caps[n, end] = 2
            caps[n, end + 1:] = 0
    return caps


def _softmax_wrong_axis(args, douts):
    prev_h, feats, Wa, Ua, ba, va = args
    e = np.tanh((prev_h @ Wa)[:, None, :] + feats @ Ua + ba) @ va
    alpha = np.exp(e - e.max(axis=0, keepdims=True))
    alpha /= alpha.sum(axis=0, keepdims=True)
    return {"alpha": alpha, "context": np.einsum("nl,nld->nd", alpha, feats)}


def _no_tanh(args, douts):
    prev_h, feats, Wa, Ua, ba, va = args
    e = ((prev_h @ Wa)[:, None, :] + feats @ Ua + ba) @ va
    alpha = np.exp(e - e.max(axis=1, keepdims=True))
    alpha /= alpha.sum(axis=1, keepdims=True)
    return {"alpha": alpha, "context": np.einsum("nl,nld->nd", alpha, feats)}


FUNCTIONS = {
    "attention_forward": Func(
        S.attention_forward, _att_args, ["context:N D", "alpha:N L", CACHE], time_axis=False,
        mistakes=[Mistake("softmax_wrong_axis", "the softmax must run over the L locations of each example (axis 1)",
                          _softmax_wrong_axis),
                  Mistake("attention_no_tanh", "the scores are e = tanh(prev_h Wa + feats Ua + ba) va: the tanh is "
                          "missing", _no_tanh)]),
    "attention_backward": Func(
        S.attention_backward, _att_args,
        ["dprev_h:N H", "dfeats:N L D", "dWa:H K", "dUa:D K", "dba:K", "dva:K"],
        backward_of="attention_forward", douts=lambda g, out: [g.x("N D")], time_axis=False),
    "captioning_loss": Func(
        S.captioning_loss, lambda g: [_params(g), g.x("N L D"), _captions(g), 0],
        ["loss:", "grads:dict"], time_axis=False,
        visible="the loss of a small model against a hand-checked value and numerical gradients"),
    "captioning_sample": Func(
        S.captioning_sample,
        lambda g: [_params(g), g.x("N L D"), 1, 2, 0, int(g.dims["M"])],
        ["captions:N M", "alphas:N M L"], time_axis=False,
        visible="output shapes, <NULL> after <END>, and agreement with your captioning_loss"),
}
