"""Metrics for the course's trained models: BLEU-4, exact match, attention on the named object.

Only numpy: these work on the outputs of the numpy reference models as well as on PyTorch ones.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np

Tokens = Sequence[str]


def _as_ref_lists(references: Sequence) -> list[list[list[str]]]:
    """Accept one reference per hypothesis (a token list or a string) or a list of references."""
    out = []
    for ref in references:
        if isinstance(ref, str):
            out.append([ref.split()])
        elif len(ref) and not isinstance(ref[0], str):     # a list of references
            out.append([r.split() if isinstance(r, str) else list(r) for r in ref])
        else:
            out.append([list(ref)])
    return out


def _as_tokens(hyp: Tokens | str) -> list[str]:
    return hyp.split() if isinstance(hyp, str) else list(hyp)


def _ngrams(tokens: list[str], n: int) -> Counter:
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def bleu4(references: Sequence, hypotheses: Sequence[Tokens | str]) -> float:
    """Corpus-level BLEU-4 (Papineni et al., 2002), without smoothing.

    For n = 1..4, p_n = (sum over sentences of n-gram counts clipped by the reference counts) /
    (sum over sentences of hypothesis n-gram counts). BLEU = BP * exp(mean_n log p_n), with the
    brevity penalty BP = 1 if c > r else exp(1 - r / c), c the total hypothesis length and r the
    total length of the references closest in length to each hypothesis.
    If some p_n is 0 the score is 0.

    Inputs:
    - references: per hypothesis, a token list / string, or a list of token lists / strings
    - hypotheses: token lists or strings (whitespace-separated words)

    Returns BLEU-4 in [0, 1].
    """
    refs = _as_ref_lists(references)
    hyps = [_as_tokens(h) for h in hypotheses]
    if len(refs) != len(hyps):
        raise ValueError(f"bleu4: {len(refs)} references for {len(hyps)} hypotheses")
    if not hyps:
        raise ValueError("bleu4: no hypotheses")
    matched = [0] * 4
    total = [0] * 4
    c = r = 0
    for ref_list, hyp in zip(refs, hyps, strict=True):
        c += len(hyp)
        # closest reference length; on a tie the shorter one
        r += min((abs(len(ref) - len(hyp)), len(ref)) for ref in ref_list)[1]
        for n in range(1, 5):
            counts = _ngrams(hyp, n)
            max_ref: Counter = Counter()
            for ref in ref_list:
                max_ref |= _ngrams(ref, n)            # element-wise max over references
            matched[n - 1] += sum(min(k, max_ref[g]) for g, k in counts.items())
            total[n - 1] += max(len(hyp) - n + 1, 0)
    if c == 0 or min(matched) == 0:
        return 0.0
    log_p = sum(math.log(m / t) for m, t in zip(matched, total, strict=True)) / 4
    bp = 1.0 if c > r else math.exp(1 - r / c)
    return bp * math.exp(log_p)


def exact_match(references: Sequence, hypotheses: Sequence[Tokens | str]) -> float:
    """Share of hypotheses whose words equal those of their (first) reference."""
    refs = _as_ref_lists(references)
    hyps = [_as_tokens(h) for h in hypotheses]
    if len(refs) != len(hyps):
        raise ValueError(f"exact_match: {len(refs)} references for {len(hyps)} hypotheses")
    if not hyps:
        raise ValueError("exact_match: no hypotheses")
    return float(np.mean([hyp == ref_list[0] for ref_list, hyp in zip(refs, hyps, strict=True)]))


def attention_on_objects(alphas: np.ndarray, word_object: np.ndarray, cells: np.ndarray) -> float:
    """Mean share of attention mass on the cells of the object a word names.

    Inputs:
    - alphas: (N, T, L) attention weights; alphas[n, t] is the distribution used to produce
      word t of caption n
    - word_object: (N, T) int, the object (index into cells' second axis) that word t names if it
      is a colour or a shape word, else -1
    - cells: (N, M, L) bool, the feature-grid cells covered by each object

    Returns the mean, over every (n, t) with word_object >= 0, of sum_l alpha[n,t,l] * cells[n,obj,l].
    Uniform attention scores (cells per object) / L.
    """
    alphas = np.asarray(alphas)
    word_object = np.asarray(word_object)
    cells = np.asarray(cells, dtype=bool)
    if alphas.ndim != 3 or word_object.shape != alphas.shape[:2]:
        raise ValueError(f"attention_on_objects: alphas must be (N, T, L) and word_object (N, T); "
                         f"got {alphas.shape} and {word_object.shape}")
    if cells.ndim != 3 or cells.shape[0] != alphas.shape[0] or cells.shape[2] != alphas.shape[2]:
        raise ValueError(f"attention_on_objects: cells must be (N, M, L={alphas.shape[2]}), "
                         f"got {cells.shape}")
    n_idx, t_idx = np.nonzero(word_object >= 0)
    if len(n_idx) == 0:
        raise ValueError("attention_on_objects: no word names an object")
    obj_cells = cells[n_idx, word_object[n_idx, t_idx]]           # (P, L)
    mass = (alphas[n_idx, t_idx] * obj_cells).sum(axis=1)
    return float(mass.mean())


def bits_per_char(loss_nats: float) -> float:
    """Cross-entropy in nats per character -> bits per character."""
    return float(loss_nats) / math.log(2.0)


def mse(pred: np.ndarray, y: np.ndarray) -> float:
    """Mean squared error."""
    pred, y = np.asarray(pred, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if pred.shape != y.shape:
        raise ValueError(f"mse: pred has shape {pred.shape} but y has shape {y.shape}")
    return float(np.mean((pred - y) ** 2))
