"""An image-captioning decoder: an LSTM with soft attention over a CNN feature grid.

The five steps of the lecture, at every word t:
1. the CNN has turned the image into a grid of L feature vectors feats (N, L, D);
2. the previous hidden state h_{t-1} scores every location;
3. a softmax turns the scores into a distribution alpha_t over locations;
4. the weighted sum of the features is the context vector z_t;
5. z_t is fed, with the embedding of the current word, into the LSTM step that yields h_t.

    h_0 = mean_l(feats_l) W_init + b_init,   c_0 = 0
    z_t, alpha_t = attention(h_{t-1}, feats)
    h_t, c_t = lstm_step([embed(w_t), z_t], h_{t-1}, c_{t-1})
    scores_t = h_t W_vocab + b_vocab

Parameters (a dict): W_init (D, H), b_init (H,), W_embed (V, E), Wa (H, K), Ua (D, K), ba (K,),
va (K,), Wx (E + D, 4H), Wh (H, 4H), b (4H,), W_vocab (H, V), b_vocab (V,).
"""

from __future__ import annotations

import numpy as np

from solutions._validate import check_indices, check_shapes
from solutions.attention import attention_backward, attention_forward
from solutions.layers import (
    temporal_affine_backward,
    temporal_affine_forward,
    temporal_softmax_loss,
    word_embedding_backward,
    word_embedding_forward,
)
from solutions.lstm import lstm_step_backward, lstm_step_forward

PARAM_SHAPES = {
    "W_init": "D H", "b_init": "H", "W_embed": "V E", "Wa": "H K", "Ua": "D K", "ba": "K",
    "va": "K", "Wx": "X G", "Wh": "H G", "b": "G", "W_vocab": "H V", "b_vocab": "V",
}


def _check_params(func: str, params: dict, feats: np.ndarray) -> dict[str, int]:
    missing = sorted(set(PARAM_SHAPES) - set(params))
    if missing:
        raise ValueError(f"{func}: params is missing {', '.join(missing)}")
    dims = check_shapes(func, feats=(feats, "N L D"),
                        **{k: (params[k], spec) for k, spec in PARAM_SHAPES.items()})
    if dims["X"] != dims["E"] + dims["D"] or dims["G"] != 4 * dims["H"]:
        raise ValueError(f"{func}: Wx must have shape (E + D, 4H) = "
                         f"({dims['E'] + dims['D']}, {4 * dims['H']}), got {params['Wx'].shape}")
    return dims


def init_captioner_params(V: int, D: int, E: int = 32, H: int = 64, K: int = 32,
                          seed: int = 0) -> dict[str, np.ndarray]:
    """Small random parameters (float64) for a captioner with the shapes above."""
    rng = np.random.default_rng(seed)

    def w(*shape: int) -> np.ndarray:
        return rng.standard_normal(shape) / np.sqrt(shape[0])

    return {"W_init": w(D, H), "b_init": np.zeros(H), "W_embed": rng.standard_normal((V, E)) * 0.1,
            "Wa": w(H, K), "Ua": w(D, K), "ba": np.zeros(K), "va": w(K), "Wx": w(E + D, 4 * H),
            "Wh": w(H, 4 * H), "b": np.zeros(4 * H), "W_vocab": w(H, V), "b_vocab": np.zeros(V)}


def captioning_loss(
    params: dict[str, np.ndarray], feats: np.ndarray, captions: np.ndarray, null_idx: int = 0
) -> tuple[float, dict[str, np.ndarray]]:
    """Training loss of the attention captioner and the gradient of every parameter.

    Inputs:
    - params: the parameter dict described in the module docstring
    - feats: image feature grids, shape (N, L, D)
    - captions: integer captions, shape (N, T + 1), starting with <START>; the model reads
      captions[:, :-1] and predicts captions[:, 1:], ignoring positions whose target is null_idx
    - null_idx: the padding token <NULL>

    Returns:
    - loss: temporal softmax loss, summed over time and averaged over the batch
    - grads: dict with the same keys and shapes as params
    """
    dims = _check_params("captioning_loss", params, feats)
    check_shapes("captioning_loss", captions=(captions, f"{dims['N']} T1"))
    check_indices("captioning_loss", "captions", captions, dims["V"], "the vocabulary")
    if captions.shape[1] < 2:
        raise ValueError("captioning_loss: captions must have at least 2 columns (<START> and a target)")
    p = params
    E = dims["E"]
    cap_in, cap_out = captions[:, :-1], captions[:, 1:]
    mask = cap_out != null_idx
    N, T = cap_in.shape
    mean_feats = feats.mean(axis=1)
    h = mean_feats @ p["W_init"] + p["b_init"]
    c = np.zeros_like(h)
    emb, emb_cache = word_embedding_forward(cap_in, p["W_embed"])
    hs = np.empty((N, T, h.shape[1]))
    step_caches = []
    for t in range(T):
        ctx, _, att_cache = attention_forward(h, feats, p["Wa"], p["Ua"], p["ba"], p["va"])
        h, c, lstm_cache = lstm_step_forward(np.concatenate([emb[:, t], ctx], axis=1), h, c,
                                             p["Wx"], p["Wh"], p["b"])
        hs[:, t] = h
        step_caches.append((att_cache, lstm_cache))
    scores, aff_cache = temporal_affine_forward(hs, p["W_vocab"], p["b_vocab"])
    loss, dscores = temporal_softmax_loss(scores, cap_out, mask)

    grads = {k: np.zeros_like(v, dtype=np.float64) for k, v in p.items()}
    dhs, grads["W_vocab"], grads["b_vocab"] = temporal_affine_backward(dscores, aff_cache)
    demb = np.empty_like(emb)
    dh, dc = np.zeros_like(h), np.zeros_like(c)
    for t in reversed(range(T)):
        att_cache, lstm_cache = step_caches[t]
        dx, dh, dc, dWx, dWh, db = lstm_step_backward(dhs[:, t] + dh, dc, lstm_cache)
        grads["Wx"] += dWx
        grads["Wh"] += dWh
        grads["b"] += db
        demb[:, t] = dx[:, :E]
        dh_att, _, dWa, dUa, dba, dva = attention_backward(dx[:, E:], att_cache)
        dh += dh_att
        for k, g in zip(("Wa", "Ua", "ba", "va"), (dWa, dUa, dba, dva), strict=True):
            grads[k] += g
    grads["W_embed"] = word_embedding_backward(demb, emb_cache)
    grads["W_init"] = mean_feats.T @ dh
    grads["b_init"] = dh.sum(axis=0)
    return loss, grads


def captioning_sample(
    params: dict[str, np.ndarray], feats: np.ndarray, start_idx: int = 1, end_idx: int = 2,
    null_idx: int = 0, max_length: int = 16,
) -> tuple[np.ndarray, np.ndarray]:
    """Greedy decoding with attention: at each step feed back the most likely word.

    Inputs:
    - params: the parameter dict described in the module docstring
    - feats: image feature grids, shape (N, L, D)
    - start_idx, end_idx, null_idx: the <START>, <END> and <NULL> tokens
    - max_length: number of words to generate

    Returns:
    - captions: generated words, shape (N, max_length); a caption's <END> is kept and every
      position after it is null_idx
    - alphas: attention weights used for each generated word, shape (N, max_length, L)
      (zero after <END>)
    """
    dims = _check_params("captioning_sample", params, feats)
    if max_length < 1:
        raise ValueError(f"captioning_sample: max_length must be at least 1, got {max_length}")
    p = params
    N, L = dims["N"], dims["L"]
    h = feats.mean(axis=1) @ p["W_init"] + p["b_init"]
    c = np.zeros_like(h)
    word = np.full(N, start_idx, dtype=np.int64)
    done = np.zeros(N, dtype=bool)
    captions = np.full((N, max_length), null_idx, dtype=np.int64)
    alphas = np.zeros((N, max_length, L))
    for t in range(max_length):
        ctx, alpha, _ = attention_forward(h, feats, p["Wa"], p["Ua"], p["ba"], p["va"])
        x = np.concatenate([p["W_embed"][word], ctx], axis=1)
        h, c, _ = lstm_step_forward(x, h, c, p["Wx"], p["Wh"], p["b"])
        word = np.argmax(h @ p["W_vocab"] + p["b_vocab"], axis=1)
        captions[~done, t] = word[~done]
        alphas[~done, t] = alpha[~done]
        done |= word == end_idx
        if done.all():
            break
    return captions, alphas
