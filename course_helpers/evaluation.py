"""Evaluate the course's PyTorch models with the metrics of ``course_helpers.metrics``.

Shared by the training scripts (which record the numbers) and by the tests (which re-measure
them from the shipped files), so both compute exactly the same thing.
"""

from __future__ import annotations

from collections import Counter

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
