"""Hidden tests of assignment 05_attention: soft attention and the attention captioner."""

from __future__ import annotations

import sys
import threading

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
    edge={"N": 1, "T": 1, "D": 2, "H": 1, "L": 2, "K": 1, "E": 1, "V": 5, "M": 1}, saturate=4.0)


def _att_args(g: Gen) -> list:
    # In the extreme case va is 30x larger again: scores of about +-1000 reach the softmax.
    big = 30.0 if "extreme" in g.case.label else 1.0
    return [g.x("N H"), g.x("N L D"), g.w("H K"), g.w("D K"), g.w("K", 0.5), g.w("K", big)]


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


def _context_mean(args, douts):
    feats = args[1]
    return {"context": feats.mean(axis=1)}


def _att_bwd_bug(bug):
    """attention_backward on the reference forward values, with one bug."""
    def compute(args, douts):
        prev_h, feats, Wa, Ua, ba, va = args
        act = np.tanh((prev_h @ Wa)[:, None, :] + feats @ Ua + ba)
        e = act @ va
        alpha = np.exp(e - e.max(axis=1, keepdims=True))
        alpha /= alpha.sum(axis=1, keepdims=True)
        dcontext = douts[0]
        N, L, D = feats.shape
        dalpha = np.einsum("nd,nld->nl", dcontext, feats)
        de = {"no_jacobian": dalpha, "diag_only": alpha * dalpha}.get(
            bug, alpha * (dalpha - np.sum(alpha * dalpha, axis=1, keepdims=True)))
        dpre = de[:, :, None] * va * (1.0 if bug == "no_tanh_derivative" else (1.0 - act ** 2))
        dfeats = np.zeros_like(feats) if bug == "score_path_only" else alpha[:, :, None] * dcontext[:, None, :]
        if bug != "value_path_only":
            dfeats = dfeats + dpre @ Ua.T
        dproj = dpre.sum(axis=1)
        out = {"dprev_h": dproj @ Wa.T, "dfeats": dfeats, "dWa": prev_h.T @ dproj,
               "dUa": feats.reshape(N * L, D).T @ dpre.reshape(N * L, -1), "dba": dpre.sum((0, 1)),
               "dva": np.einsum("nl,nlk->k", de, act)}
        return {"dfeats": out["dfeats"]} if bug.endswith("path_only") else out
    return compute


_PATCH_LOCK = threading.Lock()


def _caption_bug(bug):
    """captioning_loss with the reference layers, one of which (or the set-up) has a bug."""
    def compute(args, douts):
        params, feats, captions, null_idx = args
        if bug == "h0_zero":
            p = dict(params, W_init=np.zeros_like(params["W_init"]),
                     b_init=np.zeros_like(params["b_init"]))
            loss, grads = S.captioning_loss(p, feats, captions, null_idx)
            grads["W_init"], grads["b_init"] = np.zeros_like(grads["W_init"]), np.zeros_like(grads["b_init"])
        else:
            module = sys.modules[S.captioning_loss.__module__]
            with _PATCH_LOCK:
                original = module.temporal_softmax_loss
                module.temporal_softmax_loss = lambda x, y, m: original(x, y, np.ones_like(m))
                try:
                    loss, grads = S.captioning_loss(params, feats, captions, null_idx)
                finally:
                    module.temporal_softmax_loss = original
        return {"loss": np.asarray(loss), **{f"grads[{k}]": v for k, v in grads.items()}}
    return compute


def _sample_no_end(args, douts):
    params, feats, start, end, null, M = args
    captions, alphas = S.captioning_sample(params, feats, start, -1, null, M)
    return {"captions": captions, "alphas": alphas}


NO_JAC = ("the softmax Jacobian is missing: with alpha = softmax(e), de = alpha * (dalpha - "
          "sum(alpha * dalpha)) over the L locations")
NOT_WEIGHTED = "the context is not weighted by alpha: context = sum over l of alpha_l * feats_l"

FUNCTIONS = {
    "attention_forward": Func(
        S.attention_forward, _att_args, ["context:N D", "alpha:N L", CACHE], time_axis=False,
        extreme=True,
        mistakes=[Mistake("context_not_weighted", NOT_WEIGHTED, _context_mean),
                  Mistake("softmax_wrong_axis", "the softmax must run over the L locations of each example (axis 1)",
                          _softmax_wrong_axis),
                  Mistake("attention_no_tanh", "the scores are e = tanh(prev_h Wa + feats Ua + ba) va: the tanh is "
                          "missing", _no_tanh)]),
    "attention_backward": Func(
        S.attention_backward, _att_args,
        ["dprev_h:N H", "dfeats:N L D", "dWa:H K", "dUa:D K", "dba:K", "dva:K"],
        backward_of="attention_forward", douts=lambda g, out: [g.x("N D")], time_axis=False,
        mistakes=[Mistake("no_softmax_jacobian", NO_JAC, _att_bwd_bug("no_jacobian")),
                  Mistake("no_softmax_jacobian", NO_JAC, _att_bwd_bug("diag_only")),
                  Mistake("no_tanh_derivative", "the derivative of the tanh in the scores is missing: "
                          "the factor (1 - act**2)", _att_bwd_bug("no_tanh_derivative")),
                  Mistake("dfeats_one_path", "the features receive gradient twice: as the values "
                          "averaged (alpha * dcontext) and through the scores", _att_bwd_bug("value_path_only")),
                  Mistake("dfeats_one_path", "the features receive gradient twice: as the values "
                          "averaged (alpha * dcontext) and through the scores", _att_bwd_bug("score_path_only"))]),
    "captioning_loss": Func(
        S.captioning_loss, lambda g: [_params(g), g.x("N L D"), _captions(g), 0],
        ["loss:", "grads:dict"], time_axis=False,
        mistakes=[Mistake("mask_ignored", "the <NULL> padding is not masked: positions whose target "
                          "is null_idx add nothing to the loss", _caption_bug("mask_ignored")),
                  Mistake("caption_h0_zero", "the initial hidden state must come from the features: "
                          "h0 = mean over L of feats, times W_init, plus b_init", _caption_bug("h0_zero"))],
        visible="the loss of a small model against a hand-checked value and numerical gradients"),
    "captioning_sample": Func(
        S.captioning_sample,
        lambda g: [_params(g), g.x("N L D"), 1, 2, 0, int(g.dims["M"])],
        ["captions:N M", "alphas:N M L"], time_axis=False,
        mistakes=[Mistake("end_not_handled", "after <END> a caption must stop: every later position "
                          "is <NULL> (and its alphas zero)", _sample_no_end)],
        visible="output shapes, <NULL> after <END>, and agreement with your captioning_loss"),
}
