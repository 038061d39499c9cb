"""Interactive demos for the book: one pure compute module per demo, plus a thin widget layer.

Each ``*_demo`` function returns a :class:`~course_helpers.demos.widget.Demo`; make it the last
expression of a notebook cell to show it.

``static=None`` (the default) picks the mode: live (controls call Python) inside a Jupyter kernel,
static (precomputed frames in ``ipywidgets.Stack``s linked to the controls with ``jslink``, so the
page works without a kernel) elsewhere. The book passes ``static=True`` because it is executed by a
kernel that has no browser attached.

| chapter | function | compute module |
| --- | --- | --- |
| 1 | ``hello_stepper`` | ``hello`` |
| 2 | ``gradient_norms_demo`` | ``gradient_norms`` |
| 2 | ``cliff_clipping_demo`` | ``cliff`` |
| 3 | ``lstm_gates_demo`` | ``lstm_gates`` |
| 4 | ``adding_curves_demo`` | ``adding`` |
| 4 | ``update_gate_demo`` | ``update_gate`` |
| 5 | ``attention_stepper`` | ``attention`` |
"""

from __future__ import annotations

from course_helpers.demos.widget import Control, Demo, Panel, resolve_static

__all__ = [
    "Control", "Demo", "Panel", "resolve_static", "DEMOS", "TITLES",
    "hello_stepper", "gradient_norms_demo", "cliff_clipping_demo", "lstm_gates_demo",
    "adding_curves_demo", "update_gate_demo", "attention_stepper",
]


TITLES = {
    "hello_stepper": "A character RNN reads “hello” one character at a time",
    "gradient_norms": "How much gradient reaches k steps back?",
    "cliff_clipping": "A cliff in the loss surface, and what gradient clipping does there",
    "lstm_gates": "LSTM gate explorer",
    "adding_curves": "RNN, LSTM and GRU on the adding problem",
    "update_gate": "The update gate interpolates between the old state and the candidate",
    "attention_stepper": "Where does the captioning model look for each word?",
}


def _grid(lo: float, hi: float, step: float) -> list[float]:
    """Evenly spaced floats, rounded so that values like 0.3 compare equal to the literal."""
    n = int(round((hi - lo) / step))
    return [round(lo + i * step, 10) for i in range(n + 1)]


def hello_stepper(static: bool | None = None, model: str = "auto") -> Demo:
    """Chapter 1: step a character RNN through "hello"; hidden state, next-char distribution,
    sampled character; temperature control."""
    from course_helpers.demos import hello

    m = hello.load_model(model)
    return Demo(
        TITLES["hello_stepper"],
        [Control("step", "step t", list(range(len(hello.WORD))), list(range(len(hello.WORD))), 0,
                 fmt=lambda t: f"{t}: '{hello.WORD[t]}'"),
         Control("temperature", "temperature τ", _grid(0, 3, 0.05), [0.0, 0.25, 0.5, 1.0, 2.0], 1.0)],
        lambda step, temperature: hello.hello_step(step, temperature, m),
        [Panel(hello.render_state, ["step"]), Panel(hello.render_output, ["step", "temperature"])],
        static=static, note=f"Model: {m.name}.")


def gradient_norms_demo(static: bool | None = None) -> Demo:
    """Chapter 2: the gradient norm reaching each earlier step vs sigma_max(W_hh), f and T."""
    from course_helpers.demos import gradient_norms as g

    return Demo(
        TITLES["gradient_norms"],
        [Control("sigma", "σ_max(W_hh)", _grid(0.5, 1.5, 0.05), [0.6, 0.8, 0.9, 1.0, 1.1, 1.2, 1.5], 1.0),
         Control("nonlinearity", "nonlinearity f", list(g.NONLINEARITIES), list(g.NONLINEARITIES), "tanh",
                 kind="toggle"),
         Control("T", "length T", list(range(5, 101, 5)), [10, 25, 50, 100], 50)],
        lambda sigma, nonlinearity, T: g.gradient_norms(sigma, nonlinearity, T),
        [Panel(g.render, ["sigma", "nonlinearity", "T"])],
        static=static,
        note="H = 16; dL/dh_T points along W_hh's top singular vector, where the bound is tight.")


def cliff_clipping_demo(static: bool | None = None) -> Demo:
    """Chapter 2: a one-unit RNN's loss surface with a cliff; descent with and without clipping."""
    from course_helpers.demos import cliff

    return Demo(
        TITLES["cliff_clipping"],
        [Control("threshold", "clip threshold", [0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0],
                 list(cliff.THRESHOLDS), 10.0),
         Control("start", "start", list(cliff.STARTS), list(cliff.STARTS), "w=10, b=-3.5",
                 kind="toggle")],
        lambda threshold, start: cliff.cliff_descent(threshold, start),
        [Panel(cliff.render_surface, ["threshold", "start"]),
         Panel(cliff.render_losses, ["threshold", "start"])],
        static=static,
        note=(f"h_t = w·σ(h_(t−1)) + b, h_0 = {cliff.H0}, T = {cliff.T_STEPS}, "
              f"L = (h_T − {cliff.TARGET})²; colour = log10 loss. Red: plain gradient descent, "
              f"white: norm-clipped; lr = 0.02, 60 steps."))


def lstm_gates_demo(static: bool | None = None) -> Demo:
    """Chapter 3: gate biases -> cell state, and gradient through c vs a vanilla RNN."""
    from course_helpers.demos import lstm_gates as lg

    return Demo(
        TITLES["lstm_gates"],
        [Control("bf", "forget bias b_f", _grid(-3, 6, 0.5), [-2.0, 0.0, 1.0, 2.0, 3.0, 5.0], 1.0),
         Control("bi", "input bias b_i", _grid(-3, 3, 0.5), [-2.0, 0.0, 2.0], 0.0),
         Control("bo", "output bias b_o", _grid(-3, 3, 0.5), [-2.0, 0.0, 2.0], 0.0)],
        lambda bf, bi, bo: lg.lstm_gates(bf, bi, bo),
        [Panel(lg.render_cell, ["bf", "bi", "bo"]), Panel(lg.render_grad, ["bf", "bi", "bo"])],
        static=static,
        note=f"H = {lg.H}, T = {lg.T_STEPS}, fixed random weights; loss L = v·h_T. "
             "The vanilla RNN (red) has W_hh with σ = 0.9 and does not change with the controls.")


def adding_curves_demo(static: bool | None = None) -> Demo:
    """Chapter 4: stored learning curves of RNN, LSTM and GRU on the adding problem, by T."""
    from course_helpers.demos import adding

    curves = adding.load_curves()
    Ts = adding.lengths(curves)
    return Demo(
        TITLES["adding_curves"],
        [Control("T", "sequence length T", Ts, Ts, Ts[-1], kind="toggle"),
         Control("scale", "y axis", ["log", "linear"], ["log", "linear"], "log", kind="toggle")],
        lambda T, scale: adding.curves_for(curves, T, scale),
        [Panel(adding.render, ["T", "scale"])],
        static=static, note=adding.SOURCE_NOTE)


def update_gate_demo(static: bool | None = None) -> Demo:
    """Chapter 4: the GRU update gate as an interpolation between old and candidate state."""
    from course_helpers.demos import update_gate as ug

    return Demo(
        TITLES["update_gate"],
        [Control("z", "update gate z", _grid(0, 1, 0.05), _grid(0, 1, 0.1), 0.5)],
        lambda z: ug.update_gate(z),
        [Panel(ug.render_plane, ["z"]), Panel(ug.render_memory, ["z"])],
        static=static)


def attention_stepper(static: bool | None = None, n_images: int = 6) -> Demo:
    """Chapter 5: pick a test image, step through its generated caption, see the attention map."""
    from course_helpers.demos import attention

    data = attention.load(n_images)
    max_words = int(data.lengths.max())
    return Demo(
        TITLES["attention_stepper"],
        [Control("image", "test image", list(range(n_images)), list(range(n_images)), 0,
                 kind="toggle", fmt=lambda i: f"#{data.index[i]}"),
         Control("word", "word", list(range(max_words)), list(range(max_words)), 0,
                 fmt=lambda w: f"{w + 1}")],
        lambda image, word: attention.attention_step(data, image, word),
        [Panel(attention.render, ["image", "word"])],
        static=static, note=data.note, caches=[data._cache])


DEMOS = {
    "hello_stepper": hello_stepper,
    "gradient_norms": gradient_norms_demo,
    "cliff_clipping": cliff_clipping_demo,
    "lstm_gates": lstm_gates_demo,
    "adding_curves": adding_curves_demo,
    "update_gate": update_gate_demo,
    "attention_stepper": attention_stepper,
}
