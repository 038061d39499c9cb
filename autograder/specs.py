"""How a hidden test is described: functions, cases, inputs and common mistakes.

A hidden-test module (``autograder/hidden/<assignment>.py``) defines

- ``SEED``: the secret seed of the random cases (never released to students);
- ``FUNCTIONS``: graded function name -> :class:`Func`.

The judge builds every case's inputs from the seed, computes the reference outputs with
``solutions`` (and the outputs of each catalogued mistake) once per process, then compares what
the student's function returns, output by output.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

CACHE = "<cache>"       # an output that stays in the worker (the student's own cache object)


@dataclass(frozen=True)
class Case:
    """One hidden case: symbolic dimensions and an input magnitude."""

    label: str            # shown to students: "fixed case", "edge case N=1, T=1, H=1", ...
    dims: dict[str, int]
    scale: float = 1.0    # multiplies weights and inputs; large values saturate tanh/sigmoid
    seed: int = 0


class Gen:
    """Draws the arrays of one case from its seed. Shapes are written with symbols: "N T D"."""

    def __init__(self, case: Case, salt: str):
        self.case = case
        self.dims = case.dims
        self.rng = np.random.default_rng([case.seed, zlib.crc32(salt.encode())])

    def shape(self, spec: str) -> tuple[int, ...]:
        out = []
        for sym in spec.split():
            k = sym.rstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ_")
            name = sym[len(k):]
            out.append((int(k) if k else 1) * self.dims[name])
        return tuple(out)

    def x(self, spec: str, scale: float = 1.0) -> np.ndarray:
        """Data-like values (inputs, states, upstream gradients)."""
        return self.rng.standard_normal(self.shape(spec)) * scale * self.case.scale

    def w(self, spec: str, scale: float = 1.0) -> np.ndarray:
        """Weight-like values: variance 1/fan_in, so activations are O(1) at scale 1."""
        shape = self.shape(spec)
        fan = shape[0] if len(shape) > 1 else 4
        return self.rng.standard_normal(shape) * scale * self.case.scale / np.sqrt(fan)

    def ints(self, spec: str, high: int, low: int = 0) -> np.ndarray:
        return self.rng.integers(low, high, size=self.shape(spec)).astype(np.int64)

    def mask(self, spec: str) -> np.ndarray:
        m = self.rng.random(self.shape(spec)) < 0.7
        m.flat[0] = True
        return m


@dataclass
class Mistake:
    """A common mistake: a buggy version of the reference and the hint to give when it matches.

    - ``id``: a stable slug ("sigmoid_for_tanh"), reported in the result's ``mistakes`` and used
      by the bug corpus to check that the hint is on target;
    - ``hint``: what the student is told (never code or values of the buggy variant);
    - ``compute(args, douts)``: the outputs (name -> array) that the buggy code would give, computed
      in the judge from the reference with *reference* dependencies (each function is graded on
      its own). Only the outputs it returns are compared.
    """

    id: str
    hint: str
    compute: Callable[[list, list], dict[str, np.ndarray]]


@dataclass
class Func:
    """A graded function.

    - ``reference``: the solutions function;
    - ``args(gen)``: its arguments for one case (for a backward function: the *forward's*
      arguments; the forward is ``backward_of``, run first in the worker, its cache kept there);
    - ``outputs``: "name:shape" per returned value ("loss:" for a scalar, "grads:dict",
      "clipped:list"), or CACHE;
    - ``douts(gen, fwd_outputs)``: upstream gradients, for a backward function;
    - ``exclude``: case labels where the function is not defined (e.g. T=1 for captions);
    - ``calls``: the graded (or pasted-in prior) functions it may call. Graded alone, each of these
      names is answered by the judge's reference (``None``: the default of :data:`CALLS`).
    """

    reference: Callable
    args: Callable[[Gen], list] | None = None
    outputs: list[str] = field(default_factory=list)
    backward_of: str | None = None
    douts: Callable[[Gen, list], list] | None = None
    mistakes: list[Mistake] = field(default_factory=list)
    time_axis: bool = True          # outputs with a "T" axis get per-time-step diagnosis
    backward_in_time: bool = False  # backward pass: errors propagate from late to early t
    exclude: Callable[[Case], bool] = lambda case: False
    fixtures: str = ""              # source of helper functions the worker needs ($fn args)
    visible: str = "shape checks, a small known-answer case and a numerical gradient check"
    calls: tuple[str, ...] | None = None
    extreme: bool = False           # exponentiates: also graded on the "extreme values" case

    def __post_init__(self):
        if not self.extreme:
            own = self.exclude
            self.exclude = lambda case: EXTREME in case.label or own(case)


# The call graph of the solutions (and of any student who follows the stubs): a function graded
# "alone" sees the judge's reference for each of these names. A superset is harmless (a name the
# student never calls is never asked for); the references must exist in ``solutions``.
_CAPTION_LAYERS = ("word_embedding_forward", "temporal_affine_forward", "lstm_step_forward",
                   "attention_forward")
CALLS: dict[str, tuple[str, ...]] = {
    "rnn_forward": ("rnn_step_forward",),
    "rnn_backward": ("rnn_step_backward",),
    "lstm_forward": ("lstm_step_forward",),
    "lstm_backward": ("lstm_step_backward",),
    "gru_forward": ("gru_step_forward",),
    "gru_backward": ("gru_step_backward",),
    "tbptt_train": ("clip_grad_norm",),
    "captioning_loss": (*_CAPTION_LAYERS, "temporal_softmax_loss", "word_embedding_backward",
                        "temporal_affine_backward", "lstm_step_backward", "attention_backward"),
    "captioning_sample": _CAPTION_LAYERS,
}


def calls_of(name: str, spec: Func) -> tuple[str, ...]:
    """The dependencies of graded function ``name``: ``spec.calls``, else :data:`CALLS`."""
    return tuple(spec.calls) if spec.calls is not None else CALLS.get(name, ())


def standard_cases(seed: int, random_dims: Callable[[np.random.Generator], dict[str, int]],
                   fixed: dict[str, int], edge: dict[str, int], n_random: int = 2,
                   saturate: float = 6.0) -> list[Case]:
    """The case set used for every function: fixed, random (secret seed), edge, saturating."""
    rng = np.random.default_rng(seed)
    cases = [Case("fixed case", fixed, 1.0, seed + 1)]
    for k in range(n_random):
        cases.append(Case(f"random case {k + 1}", random_dims(rng), 1.0, seed + 10 + k))
    edge_txt = ", ".join(f"{k}=1" for k, v in edge.items() if v == 1 and k in "NTH")
    cases.append(Case(f"edge case {edge_txt}", edge, 1.0, seed + 20))
    cases.append(Case("large magnitudes (saturating)", fixed, saturate, seed + 30))
    cases.append(Case(EXTREME_LABEL, fixed, EXTREME_SCALE, seed + 40))
    return cases


# Inputs and weights scaled by 32: pre-activations x Wx + h Wh + b of about +-1000 (sums of
# O(1) products scaled 32 * 32). exp(710) overflows float64, so an exp-based sigmoid, tanh or
# softmax that is not written in a stable form fails here. Only functions with ``extreme=True``
# (forward passes that exponentiate) are graded on this case: the gradients of a fully saturated
# layer are zero, which a do-nothing answer would match.
EXTREME = "extreme values"
EXTREME_LABEL = "extreme values (about \u00b11000)"
EXTREME_SCALE = 32.0


def recurrent_cases(seed: int) -> list[Case]:
    """The standard cases for a gated recurrent layer (LSTM, GRU) with dims N, T, D, H."""
    def random_dims(rng: np.random.Generator) -> dict[str, int]:
        return {"N": int(rng.integers(2, 6)), "T": int(rng.integers(3, 8)), "D": int(rng.integers(2, 7)),
                "H": int(rng.integers(2, 7))}
    return standard_cases(seed, random_dims, fixed={"N": 3, "T": 4, "D": 5, "H": 4},
                          edge={"N": 1, "T": 1, "D": 2, "H": 1}, saturate=5.0)


def swap_blocks(a: np.ndarray, n_blocks: int, i: int, j: int) -> np.ndarray:
    """Swap gate blocks i and j along the last axis (a weight matrix with n_blocks * H columns)."""
    H = a.shape[-1] // n_blocks
    out = a.copy()
    out[..., i * H:(i + 1) * H], out[..., j * H:(j + 1) * H] = (
        a[..., j * H:(j + 1) * H].copy(), a[..., i * H:(i + 1) * H].copy())
    return out
