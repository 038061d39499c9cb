"""Chapter 4 demo: RNN, LSTM and GRU learning curves on the adding problem, by sequence length.

The curves were recorded when the shipped models were trained (``scripts/train_adding.py``,
loaded with ``course_helpers.artifacts.load_adding_curves``); nothing is trained here. The dashed
line is the trivial baseline: always predicting 1 gives MSE 1/6 = 0.167.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from course_helpers.demos import svg

KINDS = {"rnn": svg.RED, "lstm": svg.BLUE, "gru": svg.GREEN}
SOURCE_NOTE = ("Stored learning curves of the shipped models (validation MSE during training, "
               "made by scripts/train_adding.py); the dashed line is the predict-1 baseline, 0.167.")


def load_curves() -> dict[str, Any]:
    """The shipped curves: {"T=10": {kind: {"step": [...], "mse": [...]}}, ..., "baseline": x}."""
    from course_helpers.artifacts import load_adding_curves

    return load_adding_curves()


def lengths(curves: dict[str, Any]) -> list[int]:
    """The sequence lengths that have curves, ascending."""
    return sorted(int(k[2:]) for k in curves if k.startswith("T="))


@dataclass
class Curves:
    """Learning curves at one length: ``series`` kind -> (step (n,), mse (n,)); final MSE per kind."""

    T: int
    scale: str
    series: dict[str, tuple[np.ndarray, np.ndarray]]
    final: dict[str, float]
    baseline: float


def curves_for(curves: dict[str, Any], T: int, scale: str = "log") -> Curves:
    """Select the curves of length ``T``."""
    key = f"T={T}"
    if key not in curves:
        raise ValueError(f"no curves for T={T}; have {lengths(curves)}")
    if scale not in ("log", "linear"):
        raise ValueError(f"scale must be 'log' or 'linear', got {scale!r}")
    series = {k: (np.asarray(v["step"], float), np.asarray(v["mse"], float))
              for k, v in curves[key].items() if k in KINDS}
    final = {k: float(m[-1]) for k, (_, m) in series.items()}
    return Curves(T, scale, series, final, float(curves["baseline"]))


def render(res: Curves) -> str:
    """MSE against training step for each kind, with the baseline."""
    steps = np.concatenate([s for s, _ in res.series.values()])
    base = svg.Series([steps.min(), steps.max()], [res.baseline] * 2, svg.GREY, "baseline 0.167",
                      dashed=True)
    lines = [svg.Series(s, m, KINDS[k], f"{k.upper()} (final {res.final[k]:.3g})")
             for k, (s, m) in res.series.items()]
    log = res.scale == "log"
    return svg.line_chart(lines + [base], logy=log, ylim=None if log else (0, 0.5),
                          title=f"adding problem, T = {res.T}: validation MSE",
                          xlabel="training step", ylabel="MSE", legend_loc="lower left" if log else "upper right",
                          width=480, height=290)
