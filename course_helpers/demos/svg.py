"""Tiny SVG charts for the widget demos.

Why not matplotlib? A demo's static form stores one frame per grid point in the page's widget
state, and the page must stay under 2 MB. A hand-written SVG line chart is 2-6 kB and takes well
under a millisecond to make; a matplotlib PNG is 10-30 kB and takes tens of milliseconds. Every
function here returns an SVG (or HTML) string that an ``ipywidgets.HTML`` widget can show.

    line_chart([Series(x, y, "#1f77b4", "measured")], logy=True, title="...")
    bar_chart(["a", "b"], [0.2, 0.8], highlight=1)
    array_png(rgb_uint8)   # a data: URI for <image href=...>
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

import numpy as np

# One palette for the demos (colour-blind safe "tab10" hues).
BLUE, ORANGE, GREEN, RED, PURPLE, GREY = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#7f7f7f")
FONT = "font-family:sans-serif;font-size:11px"


@dataclass
class Series:
    """One line of a chart: ``x``, ``y`` (same length), colour, legend label, dashed or not."""

    x: Sequence[float]
    y: Sequence[float]
    color: str = BLUE
    label: str = ""
    dashed: bool = False
    width: float = 2.0
    markers: bool = False


def _fmt(v: float) -> str:
    """A short tick label: 0.5, 10, 1e-06."""
    if v == 0:
        return "0"
    if abs(v) >= 1e4 or abs(v) < 1e-3:
        return f"{v:.0e}".replace("e+0", "e").replace("e-0", "e-")
    return f"{v:g}"


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About ``n`` round tick values covering [lo, hi] (steps of 1, 2 or 5 times a power of 10)."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo]
    raw = (hi - lo) / max(n - 1, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    ticks = []
    v = first
    while v <= hi + 1e-9 * step:
        ticks.append(round(v, 12))
        v += step
    return ticks


def svg_open(width: float, height: float, alt: str) -> str:
    """The opening ``<svg>`` tag of a demo figure: a viewBox (so CSS can scale it down to a narrow
    column), ``role="img"`` and ``aria-label=alt`` (the text a screen reader reads for it)."""
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(alt, quote=True)}" '
            f'style="{FONT}">')


def chart_alt(title: str, xlabel: str, ylabel: str, labels: Sequence[str], logy: bool = False) -> str:
    """A short description of a line chart from its title, axes and legend."""
    text = f"Line chart{': ' + title if title else ''}."
    if ylabel or xlabel:
        text += f" {ylabel or 'value'}{' (log scale)' if logy else ''} against {xlabel or 'x'}."
    if labels:
        text += " Lines: " + "; ".join(labels) + "."
    return text


class Axes:
    """Maps data coordinates to SVG pixels for one plot area (linear or log10 y, linear x)."""

    def __init__(self, xlim, ylim, box, logy=False):
        self.x0, self.x1 = xlim
        self.logy = logy
        lo, hi = ylim
        self.y0, self.y1 = (math.log10(lo), math.log10(hi)) if logy else (lo, hi)
        self.left, self.top, self.right, self.bottom = box

    def px(self, x: float) -> float:
        return self.left + (x - self.x0) / (self.x1 - self.x0 or 1) * (self.right - self.left)

    def py(self, y: float) -> float:
        if self.logy:
            y = math.log10(max(y, 1e-300))
        t = (y - self.y0) / (self.y1 - self.y0 or 1)
        return self.bottom - t * (self.bottom - self.top)


def _polyline(ax: Axes, s: Series) -> str:
    """The series as an SVG polyline, clipped to the plot's y range so no point flies off."""
    pts = []
    lo, hi = ax.top - 4, ax.bottom + 4
    for x, y in zip(s.x, s.y, strict=False):
        y = float(y)
        if not math.isfinite(y) or (ax.logy and y <= 0):
            continue
        py = min(max(ax.py(y), lo), hi)
        pts.append(f"{ax.px(float(x)):.1f},{py:.1f}")
    if not pts:
        return ""
    dash = ' stroke-dasharray="5,3"' if s.dashed else ""
    out = (f'<polyline fill="none" stroke="{s.color}" stroke-width="{s.width}"{dash} '
           f'points="{" ".join(pts)}"/>')
    if s.markers:
        out += "".join(f'<circle cx="{p.split(",")[0]}" cy="{p.split(",")[1]}" r="2.5" '
                       f'fill="{s.color}"/>' for p in pts)
    return out


def line_chart(
    series: Sequence[Series],
    *,
    width: int = 430,
    height: int = 260,
    title: str = "",
    xlabel: str = "",
    ylabel: str = "",
    logy: bool = False,
    xlim: tuple[float, float] | None = None,
    ylim: tuple[float, float] | None = None,
    legend_loc: str = "upper right",
    extra: str = "",
    alt: str = "",
) -> str:
    """An SVG line chart of ``series``; ``logy`` puts y on a log10 axis (ticks at decades).

    ``extra``: SVG markup (pixel coordinates) appended on top, for example a text note.
    ``alt``: what the chart shows, for screen readers (``role="img"``, ``aria-label``); by default
    the title, the axes and the legend's labels.
    """
    xs = np.concatenate([np.asarray(s.x, float) for s in series])
    ys = np.concatenate([np.asarray(s.y, float) for s in series])
    ys = ys[np.isfinite(ys) & ((ys > 0) if logy else True)]
    if xlim is None:
        xlim = (float(xs.min()), float(xs.max()))
    if ylim is None:
        lo, hi = (float(ys.min()), float(ys.max())) if ys.size else (0.1, 1.0)
        if logy:
            lo, hi = 10 ** math.floor(math.log10(lo)), 10 ** math.ceil(math.log10(hi))
            if hi / lo > 1e12:  # keep the top 12 decades: the rest is numerically zero anyway
                lo = hi / 1e12
        else:
            pad = 0.05 * (hi - lo or 1.0)
            lo, hi = lo - pad, hi + pad
        ylim = (lo, hi if hi > lo else lo + 1)
    ax = Axes(xlim, ylim, (58, 26 if title else 10, width - 12, height - 38), logy=logy)
    if not alt:
        alt = chart_alt(title, xlabel, ylabel, [s.label for s in series if s.label], logy)
    parts = [svg_open(width, height, alt),
             f'<rect x="{ax.left}" y="{ax.top}" width="{ax.right - ax.left}" '
             f'height="{ax.bottom - ax.top}" fill="white" stroke="#999"/>']
    if title:
        parts.append(f'<text x="{width / 2}" y="16" text-anchor="middle" '
                     f'font-weight="bold">{escape(title)}</text>')
    # y ticks
    if logy:
        d0, d1 = math.floor(ax.y0 + 1e-9), math.ceil(ax.y1 - 1e-9)
        every = max(1, math.ceil((d1 - d0) / 6))
        yticks = [10.0 ** d for d in range(d0, d1 + 1, every)]
    else:
        yticks = nice_ticks(*ylim)
    for t in yticks:
        y = ax.py(t)
        if ax.top - 0.5 <= y <= ax.bottom + 0.5:
            parts.append(f'<line x1="{ax.left}" x2="{ax.right}" y1="{y:.1f}" y2="{y:.1f}" '
                         f'stroke="#eee"/><text x="{ax.left - 4}" y="{y + 4:.1f}" '
                         f'text-anchor="end">{_fmt(t)}</text>')
    for t in nice_ticks(*xlim, n=6):
        x = ax.px(t)
        if ax.left - 0.5 <= x <= ax.right + 0.5:
            parts.append(f'<text x="{x:.1f}" y="{ax.bottom + 14}" '
                         f'text-anchor="middle">{_fmt(t)}</text>')
    if xlabel:
        parts.append(f'<text x="{(ax.left + ax.right) / 2}" y="{height - 6}" '
                     f'text-anchor="middle">{escape(xlabel)}</text>')
    if ylabel:
        cy = (ax.top + ax.bottom) / 2
        parts.append(f'<text x="12" y="{cy}" text-anchor="middle" '
                     f'transform="rotate(-90 12 {cy})">{escape(ylabel)}</text>')
    parts.extend(_polyline(ax, s) for s in series)
    labelled = [s for s in series if s.label]
    if labelled:
        lx = ax.right - 150 if "right" in legend_loc else ax.left + 8
        ly = ax.top + 6 if "upper" in legend_loc else ax.bottom - 6 - 14 * len(labelled)
        parts.append(f'<rect x="{lx - 4}" y="{ly}" width="150" height="{14 * len(labelled) + 4}" '
                     f'fill="white" fill-opacity="0.85" stroke="#ccc"/>')
        for i, s in enumerate(labelled):
            y = ly + 11 + 14 * i
            dash = ' stroke-dasharray="5,3"' if s.dashed else ""
            parts.append(f'<line x1="{lx}" x2="{lx + 18}" y1="{y - 4}" y2="{y - 4}" '
                         f'stroke="{s.color}" stroke-width="2"{dash}/>'
                         f'<text x="{lx + 22}" y="{y}">{escape(s.label)}</text>')
    parts.append(extra)
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    width: int = 430,
    height: int = 200,
    title: str = "",
    ymin: float | None = None,
    ymax: float | None = None,
    highlight: int | None = None,
    color: str = BLUE,
    highlight_color: str = ORANGE,
    value_labels: bool = True,
    alt: str = "",
) -> str:
    """Vertical bars with a label under each; bar ``highlight`` in another colour.

    Values may be negative (bars grow from 0 down), so the same function draws hidden states.
    ``alt``: what the chart shows (by default the title and every bar's label and value).
    """
    v = np.asarray(values, float)
    lo = min(0.0, float(v.min())) if ymin is None else ymin
    hi = max(0.0, float(v.max())) if ymax is None else ymax
    hi = hi if hi > lo else lo + 1
    top, bottom, left, right = (26 if title else 8), height - 22, 8, width - 8
    n = len(v)
    slot = (right - left) / max(n, 1)

    def py(y):
        return bottom - (y - lo) / (hi - lo) * (bottom - top)

    if not alt:
        alt = (f"Bar chart{': ' + title if title else ''}. "
               + ", ".join(f"{lab} {val:.2f}" for lab, val in zip(labels, v, strict=False)))
    parts = [svg_open(width, height, alt)]
    if title:
        parts.append(f'<text x="{width / 2}" y="16" text-anchor="middle" '
                     f'font-weight="bold">{escape(title)}</text>')
    parts.append(f'<line x1="{left}" x2="{right}" y1="{py(0):.1f}" y2="{py(0):.1f}" stroke="#999"/>')
    for i, (lab, val) in enumerate(zip(labels, v, strict=False)):
        x = left + i * slot + 0.15 * slot
        y0, y1 = sorted((py(0.0), py(float(np.clip(val, lo, hi)))))
        c = highlight_color if i == highlight else color
        parts.append(f'<rect x="{x:.1f}" y="{y0:.1f}" width="{0.7 * slot:.1f}" '
                     f'height="{max(y1 - y0, 0.5):.1f}" fill="{c}"/>')
        cx = x + 0.35 * slot
        parts.append(f'<text x="{cx:.1f}" y="{height - 8}" text-anchor="middle">{escape(lab)}</text>')
        if value_labels:
            parts.append(f'<text x="{cx:.1f}" y="{y0 - 3:.1f}" text-anchor="middle" '
                         f'font-size="9">{val:.2f}</text>')
    parts.append("</svg>")
    return "".join(parts)


def array_png(rgb: np.ndarray) -> str:
    """A ``data:image/png;base64,...`` URI for an (H, W, 3) or (H, W) uint8 array."""
    from PIL import Image  # Pillow comes with matplotlib

    arr = np.asarray(rgb)
    if arr.dtype != np.uint8:
        raise ValueError(f"array_png needs uint8 pixels, got dtype {arr.dtype}")
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def colormap(values: np.ndarray, lo: float, hi: float, name: str = "viridis") -> np.ndarray:
    """Map an array of values to uint8 RGB with a matplotlib colormap (values clipped to [lo, hi])."""
    from matplotlib import colormaps

    t = np.clip((np.asarray(values, float) - lo) / (hi - lo or 1.0), 0.0, 1.0)
    return (colormaps[name](t)[..., :3] * 255).astype(np.uint8)


def html_row(*items: str, gap: int = 12) -> str:
    """Put several SVG/HTML pieces side by side (wrapping on narrow screens)."""
    cells = "".join(f"<div>{it}</div>" for it in items)
    return f'<div style="display:flex;flex-wrap:wrap;gap:{gap}px;align-items:flex-start">{cells}</div>'
