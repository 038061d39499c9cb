"""Chapter 2 demo: a loss surface with a cliff, and gradient descent with and without clipping.

The network is the one-unit RNN of Pascanu, Mikolov & Bengio (2013, section 3.2), with no input:

    h_t = w * sigmoid(h_{t-1}) + b,   h_0 = 0.5,   L(w, b) = (h_T - target)^2,   T = 10.

For large w the map has two stable fixed points (a low and a high state); a small change of b
decides which one h_T falls into, so the loss jumps: a cliff. Near the cliff the gradient is
enormous. A plain gradient step there throws the parameters far away; clipping the gradient norm to
``threshold`` keeps the step at most ``lr * threshold`` long.

Derivatives are carried forward through time (forward-mode: dh_t/dw and dh_t/db next to h_t),
which for one unit and two parameters is the cheapest exact way.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from course_helpers.demos import svg

T_STEPS = 10  # long enough for a sharp cliff, short enough that descent can land on its face
H0 = 0.5
TARGET = 0.7
W_RANGE = (0.0, 14.0)
B_RANGE = (-9.0, 5.0)
STARTS = {"w=10, b=-3.5": (10.0, -3.5), "w=10, b=-4.5": (10.0, -4.5), "w=8, b=-3": (8.0, -3.0)}
THRESHOLDS = (1.0, 3.0, 10.0, 30.0, 100.0)


def loss_and_grad(w: float, b: float, T: int = T_STEPS) -> tuple[float, float, float]:
    """Loss and its exact gradient for one (w, b): returns (L, dL/dw, dL/db)."""
    h, dh_dw, dh_db = H0, 0.0, 0.0
    for _ in range(T):
        s = 1.0 / (1.0 + math.exp(-h)) if h > -700 else 0.0
        ds = s * (1.0 - s)
        # d/dw [w*s(h) + b] = s + w*s'(h)*dh/dw ; d/db = 1 + w*s'(h)*dh/db (uses the old dh)
        dh_dw, dh_db = s + w * ds * dh_dw, 1.0 + w * ds * dh_db
        h = w * s + b
    err = h - TARGET
    return err * err, 2.0 * err * dh_dw, 2.0 * err * dh_db


@lru_cache(maxsize=4)
def loss_surface(n: int = 60, T: int = T_STEPS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The loss on an n x n grid: returns (ws (n,), bs (n,), L (n_b, n_w)), rows indexed by b."""
    ws = np.linspace(*W_RANGE, n)
    bs = np.linspace(*B_RANGE, n)
    w, b = np.meshgrid(ws, bs)
    h = np.full_like(w, H0)
    for _ in range(T):
        h = w / (1.0 + np.exp(-h)) + b
    return ws, bs, (h - TARGET) ** 2


def clip_step(grad: tuple[float, float], threshold: float | None) -> tuple[tuple[float, float], float]:
    """Norm clipping (Pascanu et al. 2013, algorithm 1): if ||g|| > threshold, g <- threshold*g/||g||.

    Returns (clipped gradient, original norm). ``threshold=None`` means no clipping.
    """
    norm = math.hypot(*grad)
    if threshold is not None and threshold <= 0:
        raise ValueError(f"threshold must be positive or None, got {threshold}")
    if threshold is None or norm <= threshold:
        return grad, norm
    scale = threshold / norm
    return (grad[0] * scale, grad[1] * scale), norm


@dataclass
class DescentPaths:
    """Two gradient descent runs from the same start: ``plain`` and ``clipped``.

    paths: arrays (steps+1, 2) of (w, b); losses (steps+1,); grad_norms (steps,) before clipping.
    """

    start: tuple[float, float]
    lr: float
    threshold: float
    plain: np.ndarray
    clipped: np.ndarray
    plain_loss: np.ndarray
    clipped_loss: np.ndarray
    plain_gnorm: np.ndarray
    clipped_gnorm: np.ndarray


def descend(start: tuple[float, float], lr: float, steps: int, threshold: float | None):
    """Gradient descent from ``start``; returns (path (steps+1,2), loss (steps+1,), gnorm (steps,))."""
    w, b = start
    path, losses, norms = [(w, b)], [], []
    for _ in range(steps):
        L, gw, gb = loss_and_grad(w, b)
        (gw, gb), norm = clip_step((gw, gb), threshold)
        losses.append(L)
        norms.append(norm)
        w, b = w - lr * gw, b - lr * gb
        if not (math.isfinite(w) and math.isfinite(b)):
            break
        path.append((w, b))
    losses.append(loss_and_grad(*path[-1])[0] if len(path) > len(losses) else float("nan"))
    return np.array(path), np.array(losses[: len(path)]), np.array(norms)


def cliff_descent(threshold: float = 10.0, start: str = "w=10, b=-3.5", lr: float = 0.02,
                  steps: int = 60) -> DescentPaths:
    """Run descent with and without clipping (same start, same learning rate)."""
    if start not in STARTS:
        raise ValueError(f"start must be one of {list(STARTS)}, got {start!r}")
    s = STARTS[start]
    p, pl, pg = descend(s, lr, steps, None)
    c, cl, cg = descend(s, lr, steps, threshold)
    return DescentPaths(s, lr, threshold, p, c, pl, cl, pg, cg)


LOG_LOSS_RANGE = (-2.0, 2.2)  # the colour scale: log10 of the loss, clipped to this range


def _surface_png() -> str:
    ws, bs, L = loss_surface(120)
    rgb = svg.colormap(np.log10(L + 1e-3), *LOG_LOSS_RANGE, "viridis")[::-1]  # row 0 = top = largest b
    return svg.array_png(rgb)


def _colorbar_png() -> str:
    """The colour scale as a 1-pixel-wide column, largest value at the top."""
    values = np.linspace(LOG_LOSS_RANGE[1], LOG_LOSS_RANGE[0], 64)[:, None]
    return svg.array_png(svg.colormap(values, *LOG_LOSS_RANGE, "viridis"))


_PNG: dict[str, str] = {}


def render_surface(res: DescentPaths, size: int = 300) -> str:
    """The log-loss surface as an image with both descent paths drawn over it (clipped to it),
    a colour bar for log10 of the loss, and a note under the plot (never over the paths)."""
    if "surface" not in _PNG:
        _PNG["surface"] = _surface_png()
        _PNG["colorbar"] = _colorbar_png()
    m, top = 34, 8  # margins for labels
    bar_x, bar_w = m + size + 12, 12
    width, height = bar_x + bar_w + 34, size + 58
    # unique per frame (every static frame is in the same page) and the same in every process
    clip_id = f"cliff{zlib.crc32(repr((res.threshold, res.start, res.lr)).encode()):x}"

    def px(w, b):
        x = m + (w - W_RANGE[0]) / (W_RANGE[1] - W_RANGE[0]) * size
        y = top + (B_RANGE[1] - b) / (B_RANGE[1] - B_RANGE[0]) * size
        return x, y

    def poly(path, color):
        pts = " ".join("{:.1f},{:.1f}".format(*px(w, b)) for w, b in path)
        dots = "".join('<circle cx="{:.1f}" cy="{:.1f}" r="2" fill="{}"/>'.format(*px(w, b), color)
                       for w, b in path)
        return (f'<g clip-path="url(#{clip_id})"><polyline fill="none" stroke="{color}" '
                f'stroke-width="2" points="{pts}"/>{dots}</g>')

    def outside(path):
        w, b = path[:, 0], path[:, 1]
        out = (w < W_RANGE[0]) | (w > W_RANGE[1]) | (b < B_RANGE[0]) | (b > B_RANGE[1])
        return int(np.argmax(out)) if out.any() else None

    sx, sy = px(*res.start)
    ticks = "".join(f'<text x="{px(w, 0)[0]:.0f}" y="{top + size + 14}" text-anchor="middle">{w:g}</text>'
                    for w in (0, 4, 8, 12))
    ticks += "".join(f'<text x="{m - 4}" y="{px(0, b)[1] + 4:.0f}" text-anchor="end">{b:g}</text>'
                     for b in (-8, -4, 0, 4))
    lo, hi = LOG_LOSS_RANGE
    bar = (f'<image href="{_PNG["colorbar"]}" x="{bar_x}" y="{top}" width="{bar_w}" height="{size}" '
           f'preserveAspectRatio="none"/><rect x="{bar_x}" y="{top}" width="{bar_w}" height="{size}" '
           f'fill="none" stroke="#999"/>')
    for v in (-2, -1, 0, 1, 2):
        y = top + (hi - v) / (hi - lo) * size
        bar += (f'<line x1="{bar_x + bar_w}" x2="{bar_x + bar_w + 3}" y1="{y:.1f}" y2="{y:.1f}" stroke="#333"/>'
                f'<text x="{bar_x + bar_w + 5}" y="{y + 4:.1f}">{v}</text>')
    bar += (f'<text x="{bar_x + bar_w / 2}" y="{top + size + 14}" text-anchor="middle">log10 L</text>')
    k = outside(res.plain)
    outcome = ("the plain run (red) stays on the plot" if k is None
               else f"the plain run (red) leaves the plot at iteration {k}")
    label = (f"Loss surface over w and b, colour = log10 loss, with gradient descent from "
             f"{res.start[0]:g}, {res.start[1]:g}: red without clipping, white clipped at "
             f"{res.threshold:g}; {outcome}.")
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="{label}" '
            f'style="{svg.FONT}"><defs><clipPath id="{clip_id}"><rect x="{m}" y="{top}" '
            f'width="{size}" height="{size}"/></clipPath></defs>'
            f'<image href="{_PNG["surface"]}" x="{m}" y="{top}" width="{size}" '
            f'height="{size}" preserveAspectRatio="none"/>'
            f'{poly(res.plain, svg.RED)}{poly(res.clipped, "white")}'
            f'<circle cx="{sx:.1f}" cy="{sy:.1f}" r="5" fill="none" stroke="white" stroke-width="2"/>'
            f'{bar}{ticks}<text x="{m + size / 2}" y="{top + size + 28}" text-anchor="middle">w</text>'
            f'<text x="10" y="{top + size / 2}" transform="rotate(-90 10 {top + size / 2})">b</text>'
            f'<text x="{m}" y="{top + size + 46}" fill="#333">{outcome}</text></svg>')


def render_losses(res: DescentPaths) -> str:
    """Loss per iteration for both runs (log scale), and a note on the largest plain step."""
    ks = np.arange(len(res.plain_loss))
    kc = np.arange(len(res.clipped_loss))
    jump = np.max(np.hypot(*np.diff(res.plain, axis=0).T)) if len(res.plain) > 1 else 0.0
    jump_c = np.max(np.hypot(*np.diff(res.clipped, axis=0).T)) if len(res.clipped) > 1 else 0.0
    note = (f'<text x="64" y="{250 - 44}" fill="#333">largest step: plain {jump:.3g}, '
            f'clipped {jump_c:.3g} (bound lr*threshold = {res.lr * res.threshold:.3g})</text>')
    return svg.line_chart(
        [svg.Series(ks, res.plain_loss + 1e-6, svg.RED, "no clipping"),
         svg.Series(kc, res.clipped_loss + 1e-6, svg.BLUE, f"clipped at {res.threshold:g}")],
        logy=True, title="loss during descent", xlabel="iteration", ylabel="loss",
        width=400, height=250, extra=note)
