"""Training utilities the chapters use: gradient norm clipping and temperature sampling."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

Grads = Mapping[str, np.ndarray] | Sequence[np.ndarray]


def clip_grad_norm(grads: Grads, max_norm: float) -> tuple[Grads, float]:
    """Rescale all gradients together so that their global L2 norm is at most max_norm.

        total_norm = sqrt(sum_p ||g_p||^2)
        g_p <- g_p * max_norm / (total_norm + 1e-6)     only when that factor is below 1

    The same rule as torch.nn.utils.clip_grad_norm_ (norm_type=2), but functional: the inputs are
    left untouched and new arrays are returned. The direction of the whole update is kept.

    Inputs:
    - grads: a dict name -> array, or a list/tuple of arrays, any shapes
    - max_norm: the threshold, > 0

    Returns:
    - clipped: the same kind of container with the rescaled arrays
    - total_norm: the global norm before clipping
    """
    if not max_norm > 0:
        raise ValueError(f"clip_grad_norm: max_norm must be positive, got {max_norm}")
    items = list(grads.values()) if isinstance(grads, Mapping) else list(grads)
    for k, g in enumerate(items):
        if not isinstance(g, np.ndarray):
            raise ValueError(f"clip_grad_norm: gradient {k} must be a numpy array, got {type(g).__name__}")
    total_norm = float(np.sqrt(sum(float(np.sum(g.astype(np.float64) ** 2)) for g in items)))
    scale = min(1.0, max_norm / (total_norm + 1e-6))
    clipped = [g * scale for g in items]
    if isinstance(grads, Mapping):
        return dict(zip(grads.keys(), clipped, strict=True)), total_norm
    return (tuple(clipped) if isinstance(grads, tuple) else clipped), total_norm


def softmax_with_temperature(logits: np.ndarray, temperature: float) -> np.ndarray:
    """softmax(logits / temperature) along the last axis.

    temperature -> 0 approaches the one-hot argmax, 1 is the model's distribution, large values
    approach uniform. temperature == 0 returns the one-hot argmax (ties: first index).

    Shapes: logits (..., V) -> probabilities (..., V).
    """
    logits = np.asarray(logits, dtype=np.float64)
    if temperature < 0:
        raise ValueError(f"softmax_with_temperature: temperature must be >= 0, got {temperature}")
    if temperature == 0:
        out = np.zeros_like(logits)
        np.put_along_axis(out, np.argmax(logits, axis=-1)[..., None], 1.0, axis=-1)
        return out
    z = logits / temperature
    z = z - z.max(axis=-1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(axis=-1, keepdims=True)


def sample_with_temperature(
    logits: np.ndarray, temperature: float, rng: np.random.Generator
) -> np.ndarray:
    """Draw one index per row from softmax(logits / temperature); temperature 0 takes the argmax.

    Shapes: logits (V,) -> a 0-d integer array; logits (N, V) -> (N,) integers.
    """
    p = softmax_with_temperature(logits, temperature)
    if temperature == 0:
        return np.argmax(p, axis=-1)
    cdf = np.cumsum(p, axis=-1)
    u = rng.random(p.shape[:-1])[..., None] * cdf[..., -1:]
    return np.minimum((cdf < u).sum(axis=-1), p.shape[-1] - 1)
