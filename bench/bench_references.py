"""Numpy references against torch's CPU float64 kernels: forward + backward of a whole sequence.

Usage: python bench/bench_references.py [--repeats 20]

Both sides run in this process with the same thread settings; the ratio numpy/torch is measured
in the same run. Goal: numpy within 1.5x of torch at N=32, T=50, D=H=128.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import median_ms, time_calls, write_results  # noqa: E402

import solutions as S  # noqa: E402

N, T, D, H = 32, 50, 128, 128


def numpy_case(kind: str, rng: np.random.Generator):
    G = {"rnn": 1, "lstm": 4, "gru": 3}[kind]
    x, h0, dh = rng.standard_normal((N, T, D)), rng.standard_normal((N, H)), rng.standard_normal((N, T, H))
    Wx, Wh = rng.standard_normal((D, G * H)) * 0.05, rng.standard_normal((H, G * H)) * 0.05
    b = rng.standard_normal(G * H) * 0.1
    fwd, bwd = {"rnn": (S.rnn_forward, S.rnn_backward), "lstm": (S.lstm_forward, S.lstm_backward),
                "gru": (S.gru_forward, S.gru_backward)}[kind]
    args = (x, h0, Wx, Wh, b, b) if kind == "gru" else (x, h0, Wx, Wh, b)

    def run():
        _, cache = fwd(*args)
        return bwd(dh, cache)
    return run


def torch_case(kind: str, rng: np.random.Generator):
    cls = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[kind]
    module = cls(D, H, batch_first=True).double()
    x = torch.tensor(rng.standard_normal((N, T, D)), requires_grad=True)
    h0 = torch.tensor(rng.standard_normal((1, N, H)), requires_grad=True)
    dh = torch.tensor(rng.standard_normal((N, T, H)))
    state = (h0, torch.zeros(1, N, H, dtype=torch.float64)) if kind == "lstm" else h0

    def run():
        module.zero_grad(set_to_none=True)
        x.grad = None
        h0.grad = None
        out, _ = module(x, state)
        out.backward(dh)
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    rows = []
    for kind in ("rnn", "lstm", "gru"):
        t_np = median_ms(time_calls(numpy_case(kind, rng), args.repeats))
        t_torch = median_ms(time_calls(torch_case(kind, rng), args.repeats))
        ratio = t_np / t_torch
        rows.append([kind.upper(), round(t_np, 2), round(t_torch, 2), round(ratio, 2),
                     "yes" if ratio <= 1.5 else "no"])
    write_results(
        "references", f"Reference forward+backward vs torch float64 (N={N}, T={T}, D=H={D})",
        ["model", "numpy ms (median)", "torch ms (median)", "numpy / torch", "within 1.5x"], rows,
        notes=f"{args.repeats} timed runs each after 2 warm-up runs; torch {torch.__version__}, "
              f"{torch.get_num_threads()} torch threads; numpy {np.__version__}.",
    )


if __name__ == "__main__":
    main()
