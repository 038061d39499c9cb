"""Soft (additive) attention over a grid of image features, as in Xu et al. (2015).

A CNN turns an image into L feature vectors feats[:, l] of D dims, one per grid location. At each
word, the decoder's previous hidden state prev_h scores every location, a softmax turns the scores
into a distribution over locations, and the expected feature vector is the context:

    e_l     = va . tanh(prev_h Wa + feats_l Ua + ba)      score of location l        (N, L)
    alpha   = softmax_l(e)                                 where the model looks      (N, L)
    context = sum_l alpha_l feats_l                        what it sees               (N, D)

K is the size of the attention layer's hidden space.
"""

from __future__ import annotations

import numpy as np

from solutions._validate import check_float, check_shapes


def attention_forward(
    prev_h: np.ndarray, feats: np.ndarray, Wa: np.ndarray, Ua: np.ndarray, ba: np.ndarray,
    va: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, tuple]:
    """Additive attention of a decoder state over a grid of features.

    Inputs:
    - prev_h: decoder hidden state, shape (N, H)
    - feats: feature grid, one vector per location, shape (N, L, D)
    - Wa: projection of the state, shape (H, K)
    - Ua: projection of the features, shape (D, K)
    - ba: bias, shape (K,)
    - va: scoring vector, shape (K,)

    Returns:
    - context: attention-weighted sum of the features, shape (N, D)
    - alpha: attention weights, rows sum to 1, shape (N, L)
    - cache: the tuple (prev_h, feats, Wa, Ua, va, act, alpha): the inputs (without ba),
      act = tanh(prev_h Wa + feats Ua + ba) of shape (N, L, K), and alpha (N, L).
      The autograder checks your backward pass on a cache of exactly this structure built
      from reference values (a cache of another structure: with your own forward).
    """
    check_shapes("attention_forward", prev_h=(prev_h, "N H"), feats=(feats, "N L D"),
                 Wa=(Wa, "H K"), Ua=(Ua, "D K"), ba=(ba, "K"), va=(va, "K"))
    check_float("attention_forward", prev_h=prev_h, feats=feats, Wa=Wa, Ua=Ua, ba=ba, va=va)
    act = np.tanh((prev_h @ Wa)[:, None, :] + feats @ Ua + ba)       # (N, L, K)
    e = act @ va                                                     # (N, L)
    e = e - e.max(axis=1, keepdims=True)                             # stable softmax
    alpha = np.exp(e)
    alpha /= alpha.sum(axis=1, keepdims=True)
    context = np.einsum("nl,nld->nd", alpha, feats)
    return context, alpha, (prev_h, feats, Wa, Ua, va, act, alpha)


def attention_backward(
    dcontext: np.ndarray, cache: tuple
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of additive attention.

    The features receive gradient twice: as the values that are averaged (alpha_l dcontext) and
    through the scores that chose the weights.

    Inputs:
    - dcontext: gradient w.r.t. context, shape (N, D)
    - cache: from attention_forward

    Returns dprev_h (N, H), dfeats (N, L, D), dWa (H, K), dUa (D, K), dba (K,), dva (K,).
    """
    prev_h, feats, Wa, Ua, va, act, alpha = cache
    N, L, D = feats.shape
    check_shapes("attention_backward", dcontext=(dcontext, f"{N} {D}"))
    dalpha = np.einsum("nd,nld->nl", dcontext, feats)
    dfeats = alpha[:, :, None] * dcontext[:, None, :]
    de = alpha * (dalpha - np.sum(alpha * dalpha, axis=1, keepdims=True))   # softmax Jacobian
    dva = np.einsum("nl,nlk->k", de, act)
    dpre = de[:, :, None] * va * (1.0 - act**2)                             # (N, L, K)
    K = va.shape[0]
    dba = dpre.sum(axis=(0, 1))
    dUa = feats.reshape(N * L, D).T @ dpre.reshape(N * L, K)
    dfeats += dpre @ Ua.T
    dproj = dpre.sum(axis=1)                                                # (N, K)
    return dproj @ Wa.T, dfeats, prev_h.T @ dproj, dUa, dba, dva
