"""The book's diagram functions (course_helpers.figures): they draw, and they reject bad input."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

from course_helpers import figures  # noqa: E402


def _texts(fig) -> str:
    return " ".join(t.get_text() for ax in fig.axes for t in ax.texts)


@pytest.mark.parametrize("T", [1, 3, 6])
def test_unrolled_graph_has_one_cell_per_step(T: int) -> None:
    fig = figures.draw_unrolled_graph(T=T)
    labels = _texts(fig)
    assert labels.count("$f_W$") == T
    assert all(f"$x_{t}$" in labels for t in range(1, T + 1))
    assert "$W$" in labels
    plt.close(fig)


def test_unrolled_graph_backward_adds_red_arrows() -> None:
    red = matplotlib.colors.to_rgb(figures.COLORS["grad"])

    def red_arrows(fig) -> int:
        return sum(isinstance(p, FancyArrowPatch) and tuple(p.get_edgecolor()[:3]) == red
                   for ax in fig.axes for p in ax.patches)

    forward, backward = figures.draw_unrolled_graph(T=4), figures.draw_unrolled_graph(T=4, backward=True)
    assert red_arrows(forward) == 0
    assert red_arrows(backward) == 8          # per step: one from the loss, one to h_{t-1}
    plt.close("all")


def test_unrolled_graph_rejects_empty_sequence() -> None:
    with pytest.raises(ValueError, match="T must be at least 1"):
        figures.draw_unrolled_graph(T=0)


@pytest.mark.parametrize("draw, labels", [
    (figures.draw_rnn_cell, ["$h_{t-1}$", "$x_t$", "tanh", "$h_t$"]),
    (figures.draw_lstm_cell, ["$c_{t-1}$", "$c_t$", "$h_t$", "$f$", "$i$", "$g$", "$o$"]),
    (figures.draw_gru_cell, ["$h_{t-1}$", "$h_t$", "$r$", "$z$", "$n$"]),
])
def test_cell_diagrams_label_their_parts(draw, labels) -> None:
    fig = draw()
    text = _texts(fig)
    for label in labels:
        assert label in text, f"{draw.__name__} does not show {label}"
    assert sum(isinstance(p, FancyBboxPatch) for p in fig.axes[0].patches) >= 4
    plt.close(fig)


def test_sequence_types_has_five_panels() -> None:
    fig = figures.draw_sequence_types()
    assert len(fig.axes) == 5
    plt.close(fig)


def test_attention_maps_one_panel_per_word_and_validation() -> None:
    rng = np.random.default_rng(0)
    alphas = rng.random((3, 16))
    alphas /= alphas.sum(axis=1, keepdims=True)
    fig = figures.plot_attention_maps(rng.random((64, 64, 3)), alphas, ["a", "red", "circle"])
    titled = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titled[0] == "image" and len(titled) == 4
    assert titled[2].startswith("red")
    plt.close(fig)
    with pytest.raises(ValueError, match="words must have 3"):
        figures.plot_attention_maps(np.zeros((8, 8, 3)), alphas, ["a", "b"])
    with pytest.raises(ValueError, match="not square"):
        figures.plot_attention_maps(np.zeros((8, 8, 3)), np.ones((1, 6)) / 6, ["a"])
    with pytest.raises(ValueError, match="grid"):
        figures.plot_attention_maps(np.zeros((8, 8, 3)), np.ones((1, 6)) / 6, ["a"], grid=(2, 2))
