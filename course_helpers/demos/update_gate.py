"""Chapter 4 demo: the GRU update gate as an interpolation.

In the torch.nn.GRU form the new state is ``h_t = (1 - z) * n + z * h_{t-1}``: each unit moves
from its old value towards the candidate ``n`` by the fraction ``1 - z``. With z near 1 the unit
keeps its memory; with z near 0 it is overwritten. Held at a constant z for t steps, the share of
h_0 still present in h_t is z^t: the GRU's version of the LSTM's forget-gate product.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from course_helpers.demos import svg

T_STEPS = 30
H_PREV = np.array([-0.6, 0.7])  # a 2-unit old state, drawn in the plane
CANDIDATE = np.array([0.8, -0.3])  # a candidate state n


def interpolate(z: np.ndarray | float, h_prev: np.ndarray, n: np.ndarray) -> np.ndarray:
    """h = (1 - z) * n + z * h_prev, elementwise; z broadcasts against (..., H)."""
    h_prev, n = np.asarray(h_prev, float), np.asarray(n, float)
    if h_prev.shape != n.shape:
        raise ValueError(f"h_prev {h_prev.shape} and n {n.shape} must have the same shape")
    z = np.asarray(z, float)
    if np.any((z < 0) | (z > 1)):
        raise ValueError("z must lie in [0, 1] (it is a sigmoid output)")
    return (1.0 - z) * n + z * h_prev


@dataclass
class UpdateResult:
    """``h_new`` (2,) one step in the plane; ``traj`` (T+1,) one unit driven by random candidates
    ``cands`` (T,) from h_0 = 1; ``memory`` (T+1,) = z^t, the weight of h_0 in h_t."""

    z: float
    h_new: np.ndarray
    traj: np.ndarray
    cands: np.ndarray
    memory: np.ndarray


def update_gate(z: float = 0.5, seed: int = 0) -> UpdateResult:
    """One interpolation step in 2-D, and a T-step run of one unit at constant z."""
    cands = np.random.default_rng(seed).uniform(-1.0, 1.0, T_STEPS)
    traj = [1.0]
    for n in cands:
        traj.append(float(interpolate(z, np.array([traj[-1]]), np.array([n]))[0]))
    return UpdateResult(z, interpolate(z, H_PREV, CANDIDATE), np.array(traj), cands,
                        float(z) ** np.arange(T_STEPS + 1))


def render_plane(res: UpdateResult, size: int = 260) -> str:
    """h_{t-1}, the candidate n and h_t on the segment between them."""
    def px(p):
        return 20 + (p[0] + 1) / 2 * (size - 40), 20 + (1 - p[1]) / 2 * (size - 40)

    (ax, ay), (bx, by), (cx, cy) = px(H_PREV), px(CANDIDATE), px(res.h_new)

    def dot(x, y, color, label, lx, ly, hollow=False):
        fill = f'fill="none" stroke="{color}" stroke-width="3"' if hollow else f'fill="{color}"'
        return (f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{7 if hollow else 6}" {fill}/>'
                f'<text x="{x + lx:.1f}" y="{y + ly:.1f}" fill="{color}">{label}</text>')

    alt = (f"The GRU update as a point on a segment: h_t = {res.h_new[0]:.2f}, {res.h_new[1]:.2f} lies "
           f"between the old state h_(t-1) and the candidate n, at z = {res.z:g} of the way back to h_(t-1).")
    return (svg.svg_open(size, size, alt) +
            f'<rect x="20" y="20" width="{size - 40}" height="{size - 40}" fill="white" stroke="#999"/>'
            f'<line x1="{ax:.1f}" y1="{ay:.1f}" x2="{bx:.1f}" y2="{by:.1f}" stroke="#bbb" '
            f'stroke-width="2" stroke-dasharray="4,3"/>'
            + dot(ax, ay, svg.BLUE, "h_(t-1)", 8, -8) + dot(bx, by, svg.ORANGE, "n", -10, 20)
            + dot(cx, cy, svg.GREEN, "h_t", 10, 4, hollow=True)
            + f'<text x="{size / 2}" y="14" text-anchor="middle" font-weight="bold">'
            f'h_t = (1−z)·n + z·h_(t−1), z = {res.z:g}</text></svg>')


def render_memory(res: UpdateResult) -> str:
    """One unit over time and the weight z^t that h_0 still has in h_t."""
    t = np.arange(T_STEPS + 1)
    return svg.line_chart(
        [svg.Series(t[1:], res.cands, "#bbb", "candidates n_t", width=1, markers=True),
         svg.Series(t, res.traj, svg.GREEN, "h_t"),
         svg.Series(t, res.memory, svg.BLUE, "z^t (weight of h_0)", dashed=True)],
        ylim=(-1.05, 1.05), title=f"one unit over time at z = {res.z:g}", xlabel="t",
        legend_loc="lower right", width=420, height=260)
