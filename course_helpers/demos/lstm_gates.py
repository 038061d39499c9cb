"""Chapter 3 demo: an LSTM gate explorer.

An LSTM (gates i, f, o, g as in the book) with small random weights reads T random inputs.
The controls shift the gate biases b_f, b_i, b_o (b_g stays 0). We show

* the cell state c_t of a few units over time (does the memory persist or get erased?), and the
  mean of each gate;
* the gradient of a loss at the last step, L = v . h_T, flowing back: ||dL/dc_t|| for the LSTM
  beside ||dL/dh_t|| for a vanilla tanh RNN of the same size, and
  the product of forget gates prod_{s>t} f_s (the uninterrupted path through c: elementwise, no
  matrix multiply), averaged over units.

Everything is computed with torch autograd; weights come from a fixed seed, so the only thing that
changes between frames is the biases.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from course_helpers.demos import svg

T_STEPS, H, D = 40, 8, 4


@dataclass
class GateResult:
    """c (T+1, H) cell states (c_0 = 0); gates dict name -> (T, H); grad_c (T+1,) = ||dL/dc_t||;
    grad_rnn (T+1,) = ||dL/dh_t|| of the vanilla RNN; f_path (T+1,) = mean over units of
    prod_{s=t+1..T} f_s (1 at t = T)."""

    bf: float
    bi: float
    bo: float
    c: np.ndarray
    gates: dict
    grad_c: np.ndarray
    grad_rnn: np.ndarray
    f_path: np.ndarray


def _weights(seed: int = 0):
    rng = np.random.default_rng(seed)
    return dict(
        x=rng.standard_normal((T_STEPS, D)),
        Wx=rng.standard_normal((D, 4 * H)) * 0.5 / np.sqrt(D),
        Wh=rng.standard_normal((H, 4 * H)) * 0.5 / np.sqrt(H),
        # the vanilla RNN: an orthogonal matrix scaled to sigma = 0.9 (a typical trained value)
        Wh_rnn=np.linalg.qr(rng.standard_normal((H, H)))[0] * 0.9,
        Wx_rnn=rng.standard_normal((D, H)) * 0.5 / np.sqrt(D),
        v=rng.standard_normal(H) / np.sqrt(H),
    )


def lstm_gates(bf: float = 1.0, bi: float = 0.0, bo: float = 0.0, seed: int = 0) -> GateResult:
    """Run the LSTM with gate biases (b_i, b_f, b_o, b_g = bi, bf, bo, 0) and the reference RNN."""
    import torch

    p = {k: torch.tensor(v) for k, v in _weights(seed).items()}
    b = torch.tensor(np.concatenate([np.full(H, bi), np.full(H, bf), np.full(H, bo), np.zeros(H)]))
    xW = p["x"] @ p["Wx"] + b  # (T, 4H): the input part of every step at once
    h = torch.zeros(H, dtype=torch.float64)
    cs = [torch.zeros(H, dtype=torch.float64, requires_grad=True)]
    acts = []
    for t in range(T_STEPS):
        a = xW[t] + h @ p["Wh"]
        ifo = torch.sigmoid(a[:3 * H])
        g = torch.tanh(a[3 * H:])
        c = ifo[H:2 * H] * cs[-1] + ifo[:H] * g
        h = ifo[2 * H:] * torch.tanh(c)
        cs.append(c)
        acts.append(torch.cat([ifo, g]))
    grad_c = np.linalg.norm(torch.stack(torch.autograd.grad(h @ p["v"], cs)).numpy(), axis=1)
    act = torch.stack(acts).detach().numpy()  # (T, 4H), blocks i, f, o, g
    gates = {name: act[:, k * H:(k + 1) * H] for k, name in enumerate("ifog")}
    f = gates["f"]  # (T, H); f[s-1] is the forget gate of step s
    # prod_{s=t+1..T} f_s for t = 0..T, as a reverse cumulative product
    f_path = np.concatenate([np.cumprod(f[::-1], axis=0)[::-1], np.ones((1, H))]).mean(axis=1)

    cells = torch.stack(cs).detach().numpy()
    return GateResult(bf, bi, bo, cells, gates, grad_c, vanilla_rnn_grads(seed), f_path)


@lru_cache(maxsize=4)
def vanilla_rnn_grads(seed: int = 0) -> np.ndarray:
    """||dL/dh_t|| (T+1,) for the reference tanh RNN (it does not depend on the controls: cached)."""
    import torch

    p = {k: torch.tensor(v) for k, v in _weights(seed).items()}
    xW_rnn = p["x"] @ p["Wx_rnn"]
    hs = [torch.zeros(H, dtype=torch.float64, requires_grad=True)]
    for t in range(T_STEPS):
        hs.append(torch.tanh(xW_rnn[t] + hs[-1] @ p["Wh_rnn"]))
    grads = torch.autograd.grad(hs[-1] @ p["v"], hs)
    out = np.linalg.norm(torch.stack(grads).numpy(), axis=1)
    out.setflags(write=False)  # shared between results
    return out


SHOWN_UNITS = (0, 1, 2, 3)  # the units whose cell state the explorer plots (of H = 8)


def render_cell(res: GateResult) -> str:
    """Cell state of four of the H units over time (each labelled), plus the gates' mean values."""
    t = np.arange(T_STEPS + 1)
    colors = [svg.BLUE, svg.ORANGE, svg.GREEN, svg.PURPLE]
    series = [svg.Series(t, res.c[:, j], colors[k], f"c_t[{j}]", width=1.5)
              for k, j in enumerate(SHOWN_UNITS)]
    means = ", ".join(f"{k}={res.gates[k].mean():.2f}" for k in "ifo")
    note = f'<text x="64" y="266" fill="#333">mean gates: {means}</text>'
    return svg.line_chart(series, title=(f"c_t of units {SHOWN_UNITS[0]}–{SHOWN_UNITS[-1]} of H={H} "
                                                f"(b_f={res.bf:g}, b_i={res.bi:g}, b_o={res.bo:g})"),
                          xlabel="", ylabel="c_t", width=420, height=280, ylim=(-3, 4.2), extra=note,
                          legend_loc="upper left",
                          alt=(f"Line chart: cell state c_t over {T_STEPS} steps of units "
                               f"{', '.join(map(str, SHOWN_UNITS))} of the H = {H} units, with gate biases "
                               f"b_f={res.bf:g}, b_i={res.bi:g}, b_o={res.bo:g}; mean gates {means}."))


def render_grad(res: GateResult) -> str:
    """Gradient norms flowing back from the last step: LSTM (through c) vs vanilla RNN."""
    t = np.arange(T_STEPS + 1)
    return svg.line_chart(
        [svg.Series(t, res.grad_c, svg.BLUE, "LSTM ‖∂L/∂c_t‖"),
         svg.Series(t, res.f_path, svg.GREEN, "mean Π f_s (c path)", dashed=True),
         svg.Series(t, res.grad_rnn, svg.RED, "vanilla RNN ‖∂L/∂h_t‖")],
        logy=True, ylim=(1e-12, 10.0), title="gradient flowing back from step T",
        xlabel="time step t", ylabel="norm", legend_loc="lower right", width=420, height=280)
