"""Diagrams for the book, drawn with matplotlib patches (no image is copied from anywhere).

Every function returns the matplotlib ``Figure`` it drew, so a notebook cell can show it and a test
can inspect it. The drawings follow the book's notation: ``x_t`` input, ``h_t`` hidden state,
``c_t`` LSTM cell state, ``y_t`` output, ``W`` the shared weights.

    from course_helpers.figures import draw_unrolled_graph
    fig = draw_unrolled_graph(T=4)

Functions:
    draw_sequence_types()      one-to-one, one-to-many, many-to-one and the two many-to-many shapes
    draw_unrolled_graph(T)     the unrolled computational graph with shared W and per-step losses
    draw_rnn_cell()            a vanilla RNN cell; with ``backward=True`` the gradient path in red
    draw_lstm_cell()           an LSTM cell (gates i, f, o, g); ``backward=True`` marks the c path
    draw_gru_cell()            a GRU cell in the torch.nn.GRU form (gates r, z, candidate n)
    plot_attention_maps(...)   an image with one attention heat map per generated word
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

# One palette for the whole book, so a colour means the same thing in every chapter.
COLORS = {
    "x": "#f4a582",  # inputs
    "h": "#92c5de",  # hidden states
    "y": "#b8e186",  # outputs
    "c": "#fddc84",  # LSTM cell state
    "op": "#e0e0e0",  # operations
    "gate": "#c2a5cf",  # sigmoid gates
    "loss": "#f7f7f7",
    "grad": "#d62728",  # backward paths
    "edge": "#333333",
}


class _Node(tuple):
    """A drawn shape: behaves as its centre (x, y) and remembers its patch, so arrows stop at its edge."""

    patch = None


def _node(xy, patch) -> _Node:
    node = _Node(xy)
    node.patch = patch
    return node


def _box(ax, xy, text, color, w=0.8, h=0.5, fontsize=11, round_=0.08) -> _Node:
    """Draw a rounded box centred at xy with a label."""
    x, y = xy
    patch = ax.add_patch(
        FancyBboxPatch(
            (x - w / 2, y - h / 2), w, h,
            boxstyle=f"round,pad=0.02,rounding_size={round_}",
            facecolor=color, edgecolor=COLORS["edge"], linewidth=1.2, zorder=3,
        )
    )
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize, zorder=4)
    return _node(xy, patch)


def _circle(ax, xy, text, color=COLORS["op"], r=0.22, fontsize=11) -> _Node:
    patch = ax.add_patch(Circle(xy, r, facecolor=color, edgecolor=COLORS["edge"], linewidth=1.2, zorder=3))
    ax.text(xy[0], xy[1], text, ha="center", va="center", fontsize=fontsize, zorder=4)
    return _node(xy, patch)


def _arrow(ax, start, end, color=COLORS["edge"], lw=1.4, style="-|>", shrink=2, rad=0.0, ls="-", z=2):
    """Arrow from start to end; a _Node end point clips the arrow at that shape's edge."""
    patch_a = getattr(start, "patch", None)
    patch_b = getattr(end, "patch", None)
    ax.add_patch(
        FancyArrowPatch(
            tuple(start), tuple(end), arrowstyle=style, mutation_scale=12, color=color, linewidth=lw,
            patchA=patch_a, patchB=patch_b, shrinkA=shrink, shrinkB=shrink,
            connectionstyle=f"arc3,rad={rad}", linestyle=ls, zorder=z,
        )
    )


def _canvas(width: float, height: float, xlim, ylim, title: str | None = None) -> tuple[Figure, plt.Axes]:
    fig, ax = plt.subplots(figsize=(width, height))
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=12)
    return fig, ax


def draw_sequence_types() -> Figure:
    """Five input/output shapes of a recurrent network, one panel each.

    Red boxes are inputs, blue boxes hidden states, green boxes outputs; arrows to the right are the
    recurrence, so the same cell (same weights) is applied at every column.
    """
    # Each pattern: (title, example, inputs per column, outputs per column), one column per time step.
    patterns = [
        ("one to one", "vanilla net", [1], [1]),
        ("one to many", "image captioning", [1, 0, 0], [1, 1, 1]),
        ("many to one", "sentiment", [1, 1, 1], [0, 0, 1]),
        ("many to many", "translation", [1, 1, 1, 0, 0], [0, 0, 0, 1, 1]),
        ("many to many", "video frames", [1, 1, 1], [1, 1, 1]),
    ]
    fig, axes = plt.subplots(1, len(patterns), figsize=(13, 3.2),
                             gridspec_kw={"width_ratios": [max(len(p[2]), 1.6) for p in patterns]})
    for ax, (title, example, ins, outs) in zip(axes, patterns, strict=True):
        T = len(ins)
        ax.set_xlim(-0.6, T - 0.4)
        ax.set_ylim(-0.6, 2.6)
        ax.set_aspect("equal")
        ax.axis("off")
        ax.set_title(f"{title}\n({example})", fontsize=10)
        prev = None
        for t in range(T):
            h = _box(ax, (t, 1.0), "", COLORS["h"], w=0.55, h=0.45)
            if ins[t]:
                _arrow(ax, _box(ax, (t, 0.0), "", COLORS["x"], w=0.55, h=0.45), h)
            if outs[t]:
                _arrow(ax, h, _box(ax, (t, 2.0), "", COLORS["y"], w=0.55, h=0.45))
            if prev is not None:
                _arrow(ax, prev, h)
            prev = h
    fig.tight_layout()
    fig.alt_text = ("Five diagrams of recurrent input/output shapes, one per panel: one to one, one to many, "
                    "many to one, and two kinds of many to many, with input boxes below and outputs above.")
    return fig


def draw_unrolled_graph(T: int = 4, losses: bool = True, backward: bool = False) -> Figure:
    """The computational graph of an RNN unrolled over T steps.

    One weight node W feeds every copy of f_W (the weights are shared), each step reads x_t and
    h_{t-1} and writes h_t, and each h_t gives an output y_t and a loss L_t that are summed into L.
    With ``backward=True`` the gradient path from the losses back to h_0 is drawn in red.
    """
    if T < 1:
        raise ValueError(f"T must be at least 1, got {T}")
    dx = 1.6
    width = dx * (T + 1)
    fig, ax = _canvas(min(2.0 + 1.5 * T, 14), 5.2, (-0.9, width + 0.2), (-1.3, 4.6))
    ys = {"x": 0.0, "f": 1.3, "y": 2.5, "L": 3.6}
    prev = _box(ax, (0, ys["f"]), "$h_0$", COLORS["h"], w=0.7)
    w_node = _box(ax, (width / 2, -1.0), "$W$", COLORS["op"], w=0.7, h=0.45)
    for t in range(1, T + 1):
        cx = t * dx
        xt = _box(ax, (cx, ys["x"]), f"$x_{t}$", COLORS["x"], w=0.7)
        f = _box(ax, (cx, ys["f"]), "$f_W$", COLORS["h"], w=0.8)
        _arrow(ax, xt, f)
        _arrow(ax, prev, f)
        if t > 1:
            ax.text((t - 0.5) * dx, ys["f"] + 0.12, f"$h_{{{t - 1}}}$", ha="center", fontsize=10)
        # W reaches each f_W along a dashed bus under the x row, then up to the right of x_t:
        # the arrows never pass behind an x box.
        _arrow(ax, (cx + 0.55, -0.6), (cx + 0.3, ys["f"] - 0.26), color="#777777", lw=1.0, ls="--")
        if losses:
            yt = _box(ax, (cx, ys["y"]), f"$y_{t}$", COLORS["y"], w=0.7)
            Lt = _box(ax, (cx, ys["L"]), f"$L_{t}$", COLORS["loss"], w=0.7)
            _arrow(ax, f, yt)
            _arrow(ax, yt, Lt)
            if backward:
                _arrow(ax, (cx + 0.5, ys["L"]), (cx + 0.5, ys["f"] + 0.1), color=COLORS["grad"], lw=2.0)
        if backward:
            _arrow(ax, (cx - 0.3, ys["f"] - 0.4), ((t - 1) * dx + 0.3, ys["f"] - 0.4), color=COLORS["grad"], lw=2.0)
        prev = f
    bus_y = -0.6
    ax.plot([min(w_node[0], dx + 0.55), T * dx + 0.55], [bus_y, bus_y], color="#777777", lw=1.0, ls="--", zorder=1)
    ax.plot([w_node[0], w_node[0]], [w_node[1] + 0.23, bus_y], color="#777777", lw=1.0, ls="--", zorder=1)
    ax.text(T * dx + 0.45, ys["f"], f"$h_{T}$", va="center", fontsize=11)
    if losses:
        ax.text(width - 0.4, ys["L"] + 0.7, "$L = \\sum_t L_t$", ha="right", fontsize=12)
    ax.text(w_node[0] + 0.5, w_node[1], "shared by every step", va="center", fontsize=9, color="#555555")
    if backward:
        ax.text(0.0, 2.4, "backward\n(red)", color=COLORS["grad"], ha="center", fontsize=9)
    fig.tight_layout()
    fig.alt_text = (f"The computational graph of an RNN unrolled over {T} steps: each input x_t and the previous "
                    f"state enter a copy of f_W, which writes h_t; one shared weight node W feeds every copy"
                    + (", each h_t gives an output y_t and a loss L_t, summed into L" if losses else "")
                    + ("; red arrows show the gradient flowing back from the losses to h_0" if backward else "")
                    + ".")
    return fig


def draw_rnn_cell(backward: bool = False) -> Figure:
    """A vanilla RNN cell: h_t = tanh(W_hh h_{t-1} + W_xh x_t + b), y_t = W_hy h_t.

    With ``backward=True`` the path a gradient takes from h_t to h_{t-1} is drawn in red: back
    through tanh (a diagonal Jacobian) and then through a multiply by W_hh^T.
    """
    fig, ax = _canvas(6.8, 3.6, (-0.4, 7.7), (-0.9, 3.3), "vanilla RNN cell")
    hprev = _box(ax, (0.2, 1.2), "$h_{t-1}$", COLORS["h"])
    xt = _box(ax, (3.2, -0.45), "$x_t$", COLORS["x"])
    whh = _box(ax, (1.9, 1.2), "$W_{hh}$", COLORS["op"], w=0.75)
    wxh = _box(ax, (3.2, 0.4), "$W_{xh}$", COLORS["op"], w=0.75, h=0.42)
    plus = _circle(ax, (3.2, 1.2), "+")
    tanh = _box(ax, (4.6, 1.2), "tanh", COLORS["op"], w=0.8)
    ht = _box(ax, (6.6, 1.2), "$h_t$", COLORS["h"])
    yt = _box(ax, (6.6, 2.7), "$y_t = W_{hy} h_t$", COLORS["y"], w=1.7)
    for a, b in [(hprev, whh), (whh, plus), (xt, wxh), (wxh, plus), (plus, tanh), (tanh, ht), (ht, yt)]:
        _arrow(ax, a, b)
    if backward:
        y = 0.85
        _arrow(ax, (6.3, y), (0.5, y), color=COLORS["grad"], lw=2.2)
        ax.text(1.0, 0.45, "$\\times W_{hh}^T$", color=COLORS["grad"], fontsize=10, ha="center")
        ax.text(5.6, 0.45, "$\\times\\, (1-h_t^2)$", color=COLORS["grad"], fontsize=10, ha="center")
    fig.tight_layout()
    fig.alt_text = ("Diagram of one vanilla RNN step: h_(t-1) and x_t are multiplied by W_hh and W_xh, added "
                    "with a bias and passed through tanh to give h_t"
                    + ("; red labels show the backward pass multiplying by W_hh^T and (1 - h_t^2)" if backward else "")
                    + ".")
    return fig


def draw_lstm_cell(backward: bool = False) -> Figure:
    """An LSTM cell with gates i, f, o (sigmoid) and g (tanh).

    The cell state runs along the top: c_t = f * c_{t-1} + i * g, then h_t = o * tanh(c_t).
    With ``backward=True`` the gradient path from c_t to c_{t-1} is drawn in red: it meets only an
    elementwise multiply by f, never a matrix multiply by W.
    """
    fig, ax = _canvas(8.5, 5.0, (-0.6, 10.0), (-1.6, 4.4), "LSTM cell")
    top = 3.4
    cprev = _box(ax, (0.0, top), "$c_{t-1}$", COLORS["c"])
    hprev = _box(ax, (0.0, 0.0), "$h_{t-1}$", COLORS["h"])
    xt = _box(ax, (1.6, -1.2), "$x_t$", COLORS["x"], h=0.4)
    affine = _box(ax, (1.6, 0.0), "$W\\,[h_{t-1}; x_t]$\n$+\\, b$", COLORS["op"], w=1.3, h=0.7, fontsize=10)
    _arrow(ax, hprev, affine)
    _arrow(ax, xt, affine)
    gate = {}
    sig = "$\\sigma$"
    for name, act, gx in [("f", sig, 3.0), ("i", sig, 4.3), ("g", "tanh", 5.6), ("o", sig, 7.2)]:
        color = COLORS["op"] if name == "g" else COLORS["gate"]
        gate[name] = _box(ax, (gx, 1.1), f"{act}\n${name}$", color, w=0.75, h=0.7, fontsize=10)
        _arrow(ax, affine, gate[name], lw=1.0)
    mul_f = _circle(ax, (3.0, top), "$\\times$")
    mul_ig = _circle(ax, (4.95, 2.3), "$\\times$")
    plus = _circle(ax, (4.95, top), "+")
    ct = _box(ax, (9.3, top), "$c_t$", COLORS["c"])
    tanh_c = _box(ax, (7.2, 2.5), "tanh", COLORS["op"], w=0.7, h=0.4, fontsize=10)
    mul_o = _circle(ax, (8.2, 1.1), "$\\times$")
    ht = _box(ax, (9.3, 0.0), "$h_t$", COLORS["h"])
    for a, b in [(cprev, mul_f), (mul_f, plus), (plus, ct), (gate["f"], mul_f), (gate["i"], mul_ig),
                 (gate["g"], mul_ig), (mul_ig, plus), (tanh_c, mul_o), (gate["o"], mul_o), (mul_o, ht)]:
        _arrow(ax, a, b)
    _arrow(ax, (7.2, top), tanh_c)
    ax.text(6.2, top + 0.35, "cell state: $c_t = f \\odot c_{t-1} + i \\odot g$", fontsize=10, ha="center")
    ax.text(8.7, -0.65, "$h_t = o \\odot \\tanh(c_t)$", fontsize=10, ha="center")
    if backward:
        y = top - 0.35
        _arrow(ax, (8.9, y), (0.3, y), color=COLORS["grad"], lw=2.4)
        ax.text(1.6, top - 0.7, "$\\times f$ (elementwise)", color=COLORS["grad"], fontsize=10, ha="center")
    fig.tight_layout()
    fig.alt_text = ("Diagram of an LSTM cell: an affine map of h_(t-1) and x_t feeds the gates i, f, o (sigmoid) "
                    "and the candidate g (tanh); the cell state runs along the top, c_t = f * c_(t-1) + i * g, "
                    "and h_t = o * tanh(c_t)"
                    + ("; the red path shows the gradient through c, multiplied only by f" if backward else "")
                    + ".")
    return fig


def draw_gru_cell() -> Figure:
    """A GRU cell in the torch.nn.GRU form.

    r = sigma(.), z = sigma(.), n = tanh(W_in x + b_in + r * (W_hn h + b_hn)), h_t = (1 - z) * n + z * h_{t-1}.
    """
    fig, ax = _canvas(8.0, 4.2, (-0.6, 9.8), (-1.5, 3.6), "GRU cell (torch.nn.GRU form)")
    top = 2.8
    hprev = _box(ax, (0.0, top), "$h_{t-1}$", COLORS["h"])
    xt = _box(ax, (0.6, -1.0), "$x_t$", COLORS["x"], h=0.4)
    r = _box(ax, (2.0, 0.6), "$r$\n$\\sigma$", COLORS["gate"], w=0.7, h=0.7, fontsize=10)
    z = _box(ax, (3.6, 0.6), "$z$\n$\\sigma$", COLORS["gate"], w=0.7, h=0.7, fontsize=10)
    n = _box(ax, (5.4, 0.6), "$n$\ntanh", COLORS["op"], w=0.7, h=0.7, fontsize=10)
    for g in (r, z, n):
        _arrow(ax, xt, g, lw=1.0)
        _arrow(ax, hprev, g, lw=1.0, ls=":")
    ax.text(4.6, -0.95, "$r$ scales $W_{hn} h_{t-1} + b_{hn}$ inside $n$", fontsize=9, ha="center")
    _arrow(ax, r, n, lw=1.2, rad=0.45, color="#7b3294")
    mix = _box(ax, (7.0, top), "$(1-z)\\,n + z\\,h_{t-1}$", COLORS["op"], w=2.1, h=0.5, fontsize=10)
    ht = _box(ax, (9.2, top), "$h_t$", COLORS["h"], w=0.6)
    _arrow(ax, hprev, mix)
    _arrow(ax, z, mix, lw=1.0)
    _arrow(ax, n, mix, lw=1.0)
    _arrow(ax, mix, ht)
    ax.text(3.4, top + 0.4, "the update gate interpolates: old state or candidate", fontsize=10, ha="center")
    fig.tight_layout()
    fig.alt_text = ("Diagram of a GRU cell: the reset gate r and update gate z (sigmoid) and the candidate n "
                    "(tanh, with r scaling the recurrent term); the new state mixes them as "
                    "h_t = (1 - z) n + z h_(t-1).")
    return fig


def plot_attention_maps(
    image: np.ndarray,
    alphas: np.ndarray,
    words: Sequence[str],
    grid: tuple[int, int] | None = None,
    ncols: int = 4,
) -> Figure:
    """One panel per generated word: the image with its attention weights laid over it.

    Inputs:
    - image: (H_img, W_img, 3) floats in [0, 1] or uint8
    - alphas: (T, L) attention weights, one row per word, each summing to 1
    - words: T strings, the generated words
    - grid: (rows, cols) of the feature grid with rows * cols = L (square by default)
    """
    alphas = np.asarray(alphas, dtype=np.float64)
    if alphas.ndim != 2:
        raise ValueError(f"alphas must have shape (T, L), got {alphas.shape}")
    T, L = alphas.shape
    if len(words) != T:
        raise ValueError(f"words must have {T} entries (one per row of alphas), got {len(words)}")
    if grid is None:
        side = int(round(np.sqrt(L)))
        if side * side != L:
            raise ValueError(f"L={L} is not square: pass grid=(rows, cols)")
        grid = (side, side)
    if grid[0] * grid[1] != L:
        raise ValueError(f"grid {grid} has {grid[0] * grid[1]} cells but alphas has L={L}")
    img = np.asarray(image)
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"image must have shape (H_img, W_img, 3), got {img.shape}")
    if img.dtype != np.uint8:
        img = np.clip(img, 0.0, 1.0)
    panels = T + 1
    ncols = min(ncols, panels)
    nrows = int(np.ceil(panels / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.0 * ncols, 2.5 * nrows), squeeze=False)
    rgb = img.astype(np.float64) / 255.0 if img.dtype == np.uint8 else img.astype(np.float64)
    rows, cols = grid
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k == 0:
            ax.imshow(rgb, interpolation="nearest")
            ax.set_title("image", fontsize=12)
        elif k <= T:
            heat = alphas[k - 1].reshape(grid)
            # Each grid cell covers a block of pixels; brightness follows the cell's weight, so the
            # attended region keeps its colours and the rest of the image fades to black.
            cell_h, cell_w = -(-rgb.shape[0] // rows), -(-rgb.shape[1] // cols)
            block = np.kron(heat / max(heat.max(), 1e-12), np.ones((cell_h, cell_w)))
            block = block[: rgb.shape[0], : rgb.shape[1]]
            ax.imshow(rgb * (0.15 + 0.85 * block[..., None]), interpolation="nearest")
            for r in range(1, rows):
                ax.axhline(r * cell_h - 0.5, color="white", lw=0.3, alpha=0.5)
            for c in range(1, cols):
                ax.axvline(c * cell_w - 0.5, color="white", lw=0.3, alpha=0.5)
            ax.set_title(f"{words[k - 1]}\n(max {heat.max():.2f})", fontsize=12)
    fig.tight_layout()
    fig.alt_text = (f"Attention maps of {T} generated words over a {rows} by {cols} grid of the image: "
                    + "; ".join(f"{w} (peak weight {alphas[t].max():.2f})" for t, w in enumerate(words))
                    + ". Brighter regions got more attention.")
    return fig


_TEX_WORDS = {
    r"\sigma": "σ", r"\tau": "τ", r"\alpha": "α", r"\partial": "∂", r"\sum": "Σ", r"\prod": "Π",
    r"\odot": "⊙", r"\cdot": "·", r"\times": "×", r"\|": "‖", r"\max": "max", r"\min": "min",
    r"\tanh": "tanh", r"\log": "log", r"\ln": "ln", r"\approx": "≈", r"\leq": "≤", r"\geq": "≥",
    r"\to": "→", r"\infty": "∞", r"\lambda": "λ", r"\theta": "θ",
}


def plain_text(label: str) -> str:
    r"""A matplotlib label with its TeX turned into plain text for a screen reader:
    ``$\|\partial L / \partial h_{T-k}\|$`` -> ``‖∂L / ∂h_T-k‖``."""
    import re

    text = label.replace("$", "")
    for tex, char in sorted(_TEX_WORDS.items(), key=lambda kv: -len(kv[0])):
        text = re.sub(re.escape(tex) + r"(?![A-Za-z])", char, text)
    text = re.sub(r"\\(?:mathrm|mathbf|text|operatorname)\{([^{}]*)\}", r"\1", text)
    text = re.sub(r"\\[,;:! ]", " ", text)
    text = re.sub(r"\\([A-Za-z]+)", r"\1", text)  # any other command: its name
    text = text.replace("{", "").replace("}", "")
    return re.sub(r"\s+", " ", text).strip()


def describe_figure(fig: Figure) -> str:
    """The alt text of a figure: ``fig.alt_text`` when a drawing function set one, otherwise a
    description made from the figure's titles, axis labels and legend entries."""
    given = getattr(fig, "alt_text", None)
    if given:
        return given
    parts = []
    suptitle = fig._suptitle.get_text() if getattr(fig, "_suptitle", None) else ""
    if suptitle:
        parts.append(suptitle.replace("$", ""))
    for ax in fig.axes:
        if not ax.get_visible() or (not ax.axison and not ax.get_title() and not ax.images):
            continue
        bits = []
        if ax.get_title():
            bits.append(ax.get_title())
        if ax.images:
            bits.append("image")
        if ax.get_ylabel() or ax.get_xlabel():
            bits.append(f"{ax.get_ylabel() or 'value'} against {ax.get_xlabel() or 'x'}")
        legend = ax.get_legend()
        labels = [t.get_text() for t in legend.get_texts()] if legend else [
            line.get_label() for line in ax.get_lines() if not line.get_label().startswith("_")]
        if labels:
            bits.append("lines: " + ", ".join(labels))
        if bits:
            parts.append("; ".join(bits).replace("$", ""))
    for legend in fig.legends:
        parts.append("legend: " + ", ".join(t.get_text() for t in legend.get_texts()))
    kind = "Chart" if any(ax.get_lines() or ax.collections or ax.patches for ax in fig.axes) else "Figure"
    return plain_text(f"{kind}: " + (". ".join(parts) if parts else "see the text around it") + ".")


ALT_KEY = "Description"  # the PNG text chunk that carries a figure's alt text


def install_alt_text() -> None:
    """Make every figure a notebook shows inline carry its alt text (``describe_figure``).

    The kernel's PNG formatter for figures is replaced by one that writes the description into
    the PNG's ``Description`` text chunk (matplotlib ``savefig(metadata=...)``).
    ``scripts/sphinx_book_fixes.py`` copies it into the built page's ``<img alt=...>`` (myst-nb
    would otherwise use the image's file name). Outside an IPython kernel this does nothing.
    """
    try:
        from IPython import get_ipython
        from IPython.core.pylabtools import print_figure
    except ImportError:  # pragma: no cover - IPython comes with ipykernel
        return
    shell = get_ipython()
    if shell is None:
        return

    def png_with_alt(fig: Figure) -> str:
        return print_figure(fig, "png", bbox_inches="tight", base64=True,
                            metadata={ALT_KEY: describe_figure(fig)})

    # The inline backend registers its own PNG formatter when matplotlib first resolves the
    # backend (at the first figure) and again on `%matplotlib inline`: resolve it now, and
    # re-register ours before every cell.
    plt.close(plt.figure())
    formatter = shell.display_formatter.formatters["image/png"]

    def ensure(*_args) -> None:
        if formatter.lookup_by_type(Figure) is not png_with_alt:
            formatter.for_type(Figure, png_with_alt)

    ensure()
    shell.events.register("pre_run_cell", ensure)


def book_style() -> None:
    """The matplotlib settings every chapter uses: modest resolution (light pages), tidy axes, and
    alt text on every inline figure (``install_alt_text``)."""
    install_alt_text()
    plt.rcParams.update({
        "figure.dpi": 90,
        "savefig.dpi": 90,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "font.size": 10,
    })
