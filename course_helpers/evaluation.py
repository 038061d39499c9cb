"""Evaluate the course's PyTorch models with the metrics of ``course_helpers.metrics``.

Shared by the training scripts (which record the numbers) and by the tests (which re-measure
them from the shipped files), so both compute exactly the same thing.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import torch

from .metrics import attention_on_objects, bits_per_char, bleu4, exact_match, mse
from .shapes import ShapesData, caption_word_objects, decode_captions, object_cells
from .tasks import adding_problem
from .text import make_windows

# Fixed evaluation sets, so that a recorded metric can be re-measured exactly.
ADDING_EVAL_N, ADDING_EVAL_SEED = 2000, 12345


@torch.no_grad()
def char_bits_per_char(model, ids: np.ndarray, seq_len: int = 100) -> float:
    """Bits per character of a CharRNN on ids, read in windows of seq_len from a zero state."""
    x, y = make_windows(np.asarray(ids), seq_len)
    dtype = next(model.parameters()).dtype
    scores, _ = model.to(dtype)(torch.from_numpy(x))
    nll = torch.nn.functional.cross_entropy(scores.reshape(-1, scores.shape[-1]),
                                            torch.from_numpy(y).reshape(-1))
    return bits_per_char(nll.item())


@torch.no_grad()
def adding_eval_mse(model, T: int, n: int = ADDING_EVAL_N, seed: int = ADDING_EVAL_SEED) -> float:
    """MSE of a SequenceRegressor on a fixed, seeded adding-problem set of length T."""
    dtype = next(model.parameters()).dtype
    x, y = adding_problem(n, T, seed=seed)
    pred = model(torch.from_numpy(x).to(dtype)).double().numpy()
    return mse(pred, y)


def majority_caption(train_texts: list[str]) -> str:
    """The most frequent training caption (ties broken alphabetically)."""
    counts = Counter(train_texts)
    best = max(counts.values())
    return min(t for t, k in counts.items() if k == best)


@torch.no_grad()
def caption_metrics(captioner, feats: np.ndarray | torch.Tensor, data: ShapesData,
                    majority: str | None = None) -> dict[str, float]:
    """Test metrics of an AttentionCaptioner on precomputed features of a ShapesData split.

    Returns exact match and BLEU-4 of greedy captions, the attention mass on the named object
    (teacher-forced on the true captions, and on the greedy captions), the same for uniform
    attention, the teacher-forced loss, and, if `majority` (a caption string) is given, the exact
    match and BLEU-4 of captioning every image with it.
    """
    dtype = next(captioner.parameters()).dtype
    f = torch.as_tensor(np.asarray(feats)).to(dtype)
    caps = torch.from_numpy(data.captions)
    cells = object_cells(data, int(round(np.sqrt(f.shape[1]))))
    refs = data.texts

    sampled, alphas_g = captioner.sample(f, max_length=data.captions.shape[1])
    sampled = sampled.numpy()
    hyps = decode_captions(sampled)
    out = {"exact_match": exact_match(refs, hyps), "bleu4": bleu4(refs, hyps)}

    _, alphas_tf = captioner(f, caps[:, :-1])         # alphas_tf[:, t] produces word t + 1
    out["attention_teacher_forced"] = attention_on_objects(alphas_tf.double().numpy(),
                                                           data.word_object[:, 1:], cells)
    out["attention_greedy"] = attention_on_objects(
        alphas_g.double().numpy(), caption_word_objects(sampled, data.n_objects), cells)
    uniform = np.full(alphas_tf.shape, 1.0 / f.shape[1])
    out["attention_uniform"] = attention_on_objects(uniform, data.word_object[:, 1:], cells)
    out["loss"] = float(captioner.loss(f, caps).item())
    if majority is not None:
        out["majority_exact_match"] = exact_match(refs, [majority] * len(refs))
        out["majority_bleu4"] = bleu4(refs, [majority] * len(refs))
    return out


# ---------------------------------------------------------------------------- decoding (chapter 5)
# Greedy, temperature sampling and beam search for any caption decoder with the interface of
# models.AttentionCaptioner: init_state(feats) -> (h, c) and step(word, h, c, feats, feats_proj)
# -> (scores, h, c, alpha or None). NoAttentionCaptioner has the same interface.


def _prepare(model, feats) -> tuple[torch.Tensor, torch.Tensor | None]:
    dtype = next(model.parameters()).dtype
    f = torch.as_tensor(np.asarray(feats) if not torch.is_tensor(feats) else feats).to(dtype)
    if f.ndim != 3:
        raise ValueError(f"feats must have shape (N, L, D), got {tuple(f.shape)}")
    proj = f @ model.Ua if hasattr(model, "Ua") else None
    return f, proj


@torch.no_grad()
def decode(model, feats, method: str = "greedy", max_length: int = 16, temperature: float = 1.0,
           seed: int = 0, start_idx: int = 1, end_idx: int = 2, null_idx: int = 0):
    """Caption every image with "greedy" decoding or "sample" (temperature sampling).

    Inputs: a caption decoder (see above), feats (N, L, D). Temperature sampling draws each word
    from softmax(scores / temperature), with a torch generator seeded by `seed` (reproducible).
    Returns captions int64 (N, max_length) (<END> kept, <NULL> after it) and alphas
    (N, max_length, L) (zeros for a decoder without attention, and after <END>).
    """
    if method not in ("greedy", "sample"):
        raise ValueError(f"decode: method must be 'greedy' or 'sample' (beam search is "
                         f"beam_search), got {method!r}")
    if method == "sample" and not temperature > 0:
        raise ValueError(f"decode: temperature must be > 0, got {temperature}")
    f, proj = _prepare(model, feats)
    N, L = f.shape[:2]
    gen = torch.Generator().manual_seed(seed)
    h, c = model.init_state(f)
    word = torch.full((N,), start_idx, dtype=torch.long)
    done = torch.zeros(N, dtype=torch.bool)
    captions = torch.full((N, max_length), null_idx, dtype=torch.long)
    alphas = torch.zeros(N, max_length, L, dtype=f.dtype)
    for t in range(max_length):
        scores, h, c, alpha = model.step(word, h, c, f, proj)
        if method == "greedy":
            word = scores.argmax(dim=1)
        else:
            probs = torch.softmax(scores.double() / temperature, dim=1)
            word = torch.multinomial(probs, 1, generator=gen)[:, 0]
        captions[:, t] = torch.where(done, torch.full_like(word, null_idx), word)
        if alpha is not None:
            alphas[:, t] = torch.where(done[:, None], torch.zeros_like(alpha), alpha)
        done |= word == end_idx
        if bool(done.all()):
            break
    return captions.numpy(), alphas.double().numpy()


@torch.no_grad()
def beam_search(model, feats, beam_size: int = 3, max_length: int = 16, start_idx: int = 1,
                end_idx: int = 2, null_idx: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Beam search: keep the beam_size partial captions of highest total log-probability.

    At every step each kept caption is extended by every word, and the beam_size best of the
    beam_size * V extensions survive; a caption that has written <END> is kept unchanged with
    its score. No length normalisation (the score is the plain sum of log-probabilities).
    beam_size=1 is greedy decoding.

    Returns the best caption per image, int64 (N, max_length), and its log-probability (N,).
    """
    if beam_size < 1:
        raise ValueError(f"beam_search: beam_size must be >= 1, got {beam_size}")
    f, proj = _prepare(model, feats)
    N, B = f.shape[0], beam_size
    f = f.repeat_interleave(B, dim=0)                               # (N*B, L, D)
    proj = None if proj is None else proj.repeat_interleave(B, dim=0)
    h, c = model.init_state(f)
    word = torch.full((N * B,), start_idx, dtype=torch.long)
    logp = torch.full((N, B), -np.inf, dtype=torch.float64)
    logp[:, 0] = 0.0                                                # one live beam at the start
    done = torch.zeros(N * B, dtype=torch.bool)
    history = torch.full((N * B, max_length), null_idx, dtype=torch.long)
    rows = torch.arange(N)[:, None] * B
    for t in range(max_length):
        scores, h, c, _ = model.step(word, h, c, f, proj)
        lp = torch.log_softmax(scores.double(), dim=1)              # (N*B, V)
        V = lp.shape[1]
        ended = torch.full_like(lp, -np.inf)
        ended[:, null_idx] = 0.0                                    # a finished caption stays as it is
        lp = torch.where(done[:, None], ended, lp)
        total = (logp.reshape(-1, 1) + lp).reshape(N, B * V)
        logp, k = total.topk(B, dim=1)                              # (N, B), sorted best first
        src = (rows + k // V).reshape(-1)                           # which beam each survivor extends
        word = (k % V).reshape(-1)
        h, c, history = h[src], c[src], history[src]
        history[:, t] = torch.where(done[src], torch.full_like(word, null_idx), word)
        done = done[src] | (word == end_idx)
        word = torch.where(done, torch.full_like(word, end_idx), word)
        if bool(done.all()):
            break
    best = history.reshape(N, B, max_length)[:, 0]
    return best.numpy(), logp[:, 0].numpy()


@torch.no_grad()
def caption_scores(model, feats, data: ShapesData, **decode_kwargs) -> dict[str, float]:
    """Exact match and BLEU-4 of a decoder's captions on a ShapesData split.

    decode_kwargs go to `decode` (method, temperature, seed ...) or, with beam_size=k, the
    captions come from `beam_search`.
    """
    if "beam_size" in decode_kwargs:
        caps, _ = beam_search(model, feats, **decode_kwargs)
    else:
        caps, _ = decode(model, feats, **decode_kwargs)
    hyps = decode_captions(caps)
    return {"exact_match": exact_match(data.texts, hyps), "bleu4": bleu4(data.texts, hyps)}


def noun_phrase_index(captions: np.ndarray) -> np.ndarray:
    """For every token of captions (N, T), the index of the noun phrase it belongs to or follows:
    the number of "a" tokens up to and including it, minus one (-1 before the first "a").

    In "a red circle left of a blue square", "left" and "of" get 0 (they follow object 0, and
    object 1 comes next); "a blue square" gets 1.
    """
    from .shapes import WORD_TO_IDX

    captions = np.asarray(captions)
    return np.cumsum(captions == WORD_TO_IDX["a"], axis=1) - 1


def attention_by_position(alphas: np.ndarray, words: np.ndarray, word_object: np.ndarray,
                          cells: np.ndarray) -> dict[str, Any]:
    """Where the attention goes, split by the object's place in the caption.

    Inputs: alphas (N, T, L), alphas[n, t] is the attention used to produce token words[n, t];
    words (N, T) the produced tokens; word_object (N, T) the object each colour/shape token names
    (-1 otherwise); cells (N, M, L) bool, the grid cells each object covers.

    Returns
    - "named": {k: mean mass on the named object, over colour/shape words naming object k}
    - "named_count": {k: number of such words}
    - "relation": {word: {"previous": mass, "next": mass, "count": n}} for the relation words
      "left", "of", "above": mass on the object just named and on the object named next.
    Masses are shares of the attention (0..1) on the cells an object covers.
    """
    from .shapes import WORD_TO_IDX

    alphas, words = np.asarray(alphas), np.asarray(words)
    word_object, cells = np.asarray(word_object), np.asarray(cells, dtype=bool)
    if alphas.ndim != 3 or words.shape != alphas.shape[:2] or word_object.shape != words.shape:
        raise ValueError(f"attention_by_position: alphas must be (N, T, L), words and word_object "
                         f"(N, T); got {alphas.shape}, {words.shape}, {word_object.shape}")
    # mass[n, t, m]: attention of token t on object m
    mass = np.einsum("ntl,nml->ntm", alphas, cells.astype(alphas.dtype))
    out: dict[str, Any] = {"named": {}, "named_count": {}, "relation": {}}
    for k in range(cells.shape[1]):
        n_idx, t_idx = np.nonzero(word_object == k)
        if len(n_idx):
            out["named"][k] = float(mass[n_idx, t_idx, k].mean())
            out["named_count"][k] = int(len(n_idx))
    phrase = noun_phrase_index(words)
    for w in ("left", "of", "above"):
        n_idx, t_idx = np.nonzero(words == WORD_TO_IDX[w])
        if not len(n_idx):
            continue
        prev = phrase[n_idx, t_idx]
        nxt = np.minimum(prev + 1, cells.shape[1] - 1)
        out["relation"][w] = {"previous": float(mass[n_idx, t_idx, prev].mean()),
                              "next": float(mass[n_idx, t_idx, nxt].mean()),
                              "count": int(len(n_idx))}
    return out


# ---------------------------------------------------------------------------- gradient paths (ch. 3-4)


def _gate_paths(kind: str, gate_bias: float, T: int, H: int, seed: int,
                recurrent: bool = True) -> dict[str, np.ndarray]:
    torch.manual_seed(seed)
    cell = (torch.nn.LSTMCell if kind == "lstm" else torch.nn.GRUCell)(H, H, dtype=torch.float64)
    with torch.no_grad():                  # torch blocks: LSTM i, f, g, o; GRU r, z, n
        cell.bias_ih[H : 2 * H] = gate_bias
        cell.bias_hh[H : 2 * H] = 0.0
        if not recurrent:                  # no path through h: only the cell / highway path is left
            cell.weight_hh.zero_()
    xs = torch.randn(T, 1, H, dtype=torch.float64)
    h = torch.zeros(1, H, dtype=torch.float64)
    c = torch.zeros(1, H, dtype=torch.float64)
    states, gates, max_abs = [], [], 0.0
    for t in range(T):
        # the gate on the additive path: forget gate f (LSTM) or update gate z (GRU)
        pre = (xs[t] @ cell.weight_ih[H : 2 * H].T + cell.bias_ih[H : 2 * H]
               + h @ cell.weight_hh[H : 2 * H].T + cell.bias_hh[H : 2 * H])
        gates.append(torch.sigmoid(pre).detach()[0].numpy())
        if kind == "lstm":
            h, c = cell(xs[t], (h, c))
            state = c
        else:
            h = cell(xs[t], h)
            state = h
        state.retain_grad()
        states.append(state)
        max_abs = max(max_abs, float(state.detach().abs().max()))
    u = torch.ones(H, dtype=torch.float64) / H**0.5
    (h[0] @ u).backward()
    total = np.array([s.grad[0].numpy() for s in states[::-1]])        # row k: dL/d state_{T-k}
    g = np.array(gates[::-1])                                           # row j: gate at T - j
    prod = np.vstack([np.ones(H), np.cumprod(g[:-1], axis=0)])          # row k: prod_{t=T-k+1}^T gate_t
    return {"total": np.linalg.norm(total, axis=1),
            "gate_path": np.linalg.norm(total[0] * prod, axis=1),
            "gate_product": prod.mean(axis=1), "mean_gate": float(g.mean()), "max_abs_state": max_abs}


def lstm_gradient_paths(forget_bias: float, T: int = 100, H: int = 32, seed: int = 0,
                        recurrent: bool = True) -> dict[str, Any]:
    """The gradient reaching each cell state of a random LSTM, split into the cell-path term.

    A torch.nn.LSTMCell (PyTorch's default init, float64, hidden size H, forget-gate bias set to
    forget_bias) reads T standard-normal inputs; L = u . h_T with u = (1, ..., 1)/sqrt(H).
    Returns, for k = 0..T-1 (steps back from T):
    - "total": ||dL/dc_{T-k}||, the whole gradient (autograd), all paths included;
    - "gate_path": ||dL/dc_T * prod_{t=T-k+1}^T f_t||, the part that travelled along the cell
      path only (f elementwise, no matrix);
    - "gate_product": mean over units of prod_{t=T-k+1}^T f_t;
    "mean_gate": the mean forget gate over all steps and units; "max_abs_state": the largest |c_t|.
    recurrent=False zeroes the recurrent weights (a check: then the cell path is the only path,
    and "gate_path" equals "total").
    """
    return _gate_paths("lstm", forget_bias, T, H, seed, recurrent)


def gru_gradient_paths(update_bias: float, T: int = 100, H: int = 32, seed: int = 0,
                       recurrent: bool = True) -> dict[str, Any]:
    """As lstm_gradient_paths for a random torch.nn.GRUCell with update-gate bias update_bias:
    "total" is ||dL/dh_{T-k}||, "gate_path" ||dL/dh_T * prod z_t|| (the update-gate highway,
    the diag(z_t) term of dh_t/dh_{t-1}), "gate_product" the mean prod z_t, "mean_gate" mean z."""
    return _gate_paths("gru", update_bias, T, H, seed, recurrent)


def per_step_factor(norms: np.ndarray, k_max: int = 30) -> float:
    """Geometric per-step factor of a decaying curve: exp of the slope of a least-squares line
    through log(norms[k]) for k = 1..k_max."""
    k = np.arange(1, k_max + 1)
    return float(np.exp(np.polyfit(k, np.log(np.asarray(norms)[k]), 1)[0]))


@torch.no_grad()
def lstm_trace(model, x: np.ndarray) -> dict[str, np.ndarray]:
    """Run a SequenceRegressor(kind="lstm") step by step and return its gates and states.

    x: (N, T, D). Returns float64 arrays of shape (N, T, H): "i", "f", "o", "g", "c", "h"
    (gate order of the course, computed with the course's equations from the model's weights)
    and "pred" (N,), the model's output.
    """
    if model.kind != "lstm":
        raise ValueError(f"lstm_trace: the model must be an LSTM, got kind={model.kind!r}")
    p = model.numpy_params()
    x = np.asarray(x, dtype=np.float64)
    N, T, _ = x.shape
    H = p["Wh"].shape[0]
    h, c = np.zeros((N, H)), np.zeros((N, H))
    out = {k: np.zeros((N, T, H)) for k in ("i", "f", "o", "g", "c", "h")}
    for t in range(T):
        a = x[:, t] @ p["Wx"] + h @ p["Wh"] + p["b"]
        i, f, o = (1 / (1 + np.exp(-a[:, k * H : (k + 1) * H])) for k in range(3))
        g = np.tanh(a[:, 3 * H :])
        c = f * c + i * g
        h = o * np.tanh(c)
        for k, v in zip(("i", "f", "o", "g", "c", "h"), (i, f, o, g, c, h), strict=True):
            out[k][:, t] = v
    out["pred"] = h @ p["w_out"] + p["b_out"]
    return out
