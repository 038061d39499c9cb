"""The demos' and the book's figures say what they show and draw it legibly (issue 13's defects).

Each test reads the SVG a demo renders or the matplotlib artists a figure function draws, and
checks the property a reader saw broken: labels for every plotted line, a colour bar, a note that
does not sit on the plot, arrows that do not run behind boxes, legible titles, alt text.
"""

from __future__ import annotations

import re

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from course_helpers import figures  # noqa: E402
from course_helpers.demos import DEMOS, cliff, hello, lstm_gates, svg, update_gate  # noqa: E402


def _svg_roots(html: str) -> list[str]:
    return re.findall(r"<svg\b[^>]*>", html)


def test_charts_carry_a_viewbox_role_and_a_description():
    chart = svg.line_chart([svg.Series([0, 1], [0, 1], label="measured")], title="t", xlabel="step",
                           ylabel="loss")
    (tag,) = _svg_roots(chart)
    assert 'viewBox="0 0 430 260"' in tag and 'role="img"' in tag
    label = re.search(r'aria-label="([^"]*)"', tag).group(1)
    assert "loss against step" in label and "measured" in label
    bars = svg.bar_chart(["a", "b"], [0.25, 0.75], title="p")
    assert "a 0.25, b 0.75" in re.search(r'aria-label="([^"]*)"', bars).group(1)


@pytest.mark.parametrize("render", [cliff.render_surface, cliff.render_losses])
def test_every_demo_svg_is_described(render):
    res = cliff.cliff_descent(10.0, "w=10, b=-3.5")
    for tag in _svg_roots(render(res)):
        assert 'role="img"' in tag and re.search(r'aria-label="[^"]{20,}"', tag) and "viewBox" in tag


def test_lstm_explorer_labels_every_line_and_names_the_units():
    res = lstm_gates.lstm_gates(1.0, 0.0, 0.0)
    html = lstm_gates.render_cell(res)
    lines = re.findall(r"<polyline", html)
    legend = re.findall(r"<text[^>]*>c_t\[(\d)\]</text>", html)
    assert len(lines) == len(lstm_gates.SHOWN_UNITS) == len(legend)
    assert [int(u) for u in legend] == list(lstm_gates.SHOWN_UNITS)
    assert f"of H={lstm_gates.H}" in html


def test_cliff_map_has_a_colour_bar_and_its_note_below_the_plot():
    res = cliff.cliff_descent(10.0, "w=10, b=-3.5")
    html = cliff.render_surface(res)
    images = re.findall(r'<image href="[^"]*" x="(\d+)" y="(\d+)" width="(\d+)" height="(\d+)"', html)
    assert len(images) == 2, "expected the surface and its colour bar"
    (sx, sy, sw, sh), (bx, by, bw, bh) = [tuple(map(int, i)) for i in images]
    assert bx >= sx + sw and bh == sh and "log10 L" in html
    note = re.search(r'<text x="\d+" y="(\d+)" fill="#333">(the plain run[^<]*)</text>', html)
    assert note and int(note.group(1)) > sy + sh + 20, "the note must sit under the plot, off the paths"


def test_attention_demo_orders_images_and_explains_a_slider_past_the_caption():
    from course_helpers.demos import attention

    demo = DEMOS["attention_stepper"](static=False)
    labels = [label for label, _ in demo.controls["image"].options]
    numbers = [int(label.lstrip("#")) for label in labels]
    assert numbers == sorted(numbers)
    data = attention.load(6)
    short = int(np.argmin(data.lengths))
    past = int(data.lengths.max()) - 1
    text = attention.render(attention.attention_step(data, short, past))
    n = int(data.lengths[short])
    if past >= n:
        assert f"slider at word {past + 1}" in text and f"word {n} of {n}" in text
    assert f"word 1 of {n}" in attention.render(attention.attention_step(data, short, 0))


def test_update_gate_plane_and_hello_state_are_described():
    html = update_gate.render_plane(update_gate.update_gate(0.3))
    assert 'role="img"' in html and "z = 0.3" in re.search(r'aria-label="([^"]*)"', html).group(1)
    res = hello.hello_step(2, 1.0, hello.load_model("hello"))
    assert re.search(r'<img [^>]*alt="hidden state h_2 as \d+ coloured cells', hello.render_state(res))


def _boxes_with_text(ax, pattern: str):
    """Display-space extents of the boxes whose label matches ``pattern``."""
    out = []
    for text in ax.texts:
        if re.fullmatch(pattern, text.get_text()):
            for patch in ax.patches:
                if isinstance(patch, matplotlib.patches.FancyBboxPatch) and patch.contains_point(
                        ax.transData.transform(text.get_position())):
                    out.append(patch.get_window_extent())
    return out


@pytest.mark.parametrize("backward", [False, True])
def test_unrolled_graph_arrows_from_w_stay_clear_of_the_x_boxes(backward):
    fig = figures.draw_unrolled_graph(T=4, backward=backward)
    fig.canvas.draw()
    ax = fig.axes[0]
    x_boxes = _boxes_with_text(ax, r"\$x_\d\$")
    assert len(x_boxes) == 4
    dashed = [p for p in ax.patches if isinstance(p, matplotlib.patches.FancyArrowPatch)
              and p.get_linestyle() in ("--", "dashed")]
    assert len(dashed) == 4, "one dashed arrow from W to each step"
    for arrow in dashed:
        path = arrow.get_path()  # data coordinates, arrow head included
        pts = ax.transData.transform(path.interpolated(30).vertices)
        for box in x_boxes:
            inside = (pts[:, 0] > box.x0) & (pts[:, 0] < box.x1) & (pts[:, 1] > box.y0) & (pts[:, 1] < box.y1)
            assert not inside.any(), "an arrow from W runs behind an x box"


def test_attention_map_titles_are_legible_and_the_figure_is_described():
    rng = np.random.default_rng(0)
    alphas = rng.dirichlet(np.ones(16), size=5)
    fig = figures.plot_attention_maps(np.zeros((64, 64, 3)), alphas, ["a", "red", "circle", "left", "<END>"],
                                      grid=(4, 4))
    titles = [ax.title for ax in fig.axes if ax.get_title()]
    assert len(titles) == 6 and min(t.get_fontsize() for t in titles) >= 11
    # at most 4 panels a row, so the figure is not shrunk to fit the page
    assert fig.get_size_inches()[0] <= 8.0 + 1e-9
    assert "red (peak weight" in figures.describe_figure(fig)


def test_describe_figure_uses_titles_axes_and_legend():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0], label="LSTM")
    ax.set_title("adding problem, T=100")
    ax.set_xlabel("training step")
    ax.set_ylabel("validation MSE")
    ax.legend()
    text = figures.describe_figure(fig)
    assert text.startswith("Chart:") and "validation MSE against training step" in text and "LSTM" in text
    plt.close(fig)


def test_alt_text_reads_tex_as_plain_text():
    assert figures.plain_text(r"$\|\partial L / \partial h_{T-k}\|$ against $\tau$") == "‖∂ L / ∂ h_T-k‖ against τ"
    assert figures.plain_text(r"$h_t = (1 - z)\, n_t$") == "h_t = (1 - z) n_t"
