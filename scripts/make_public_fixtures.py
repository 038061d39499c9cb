"""Write the public fixed cases of the visible tests: course_helpers/fixtures/<function>.npz.

Usage (from the repository root):

    python -m scripts.make_public_fixtures          # write every fixture
    python -m scripts.make_public_fixtures --check  # exit 1 if a stored fixture differs

Each file holds one small case of one graded function: its inputs, the upstream gradients of a
backward function, and the outputs of the reference implementation (solutions/), computed here
once. Released notebooks compare the student's outputs with these stored arrays (through
course_helpers.checks), so they never run the reference code; the way CS231n ships expected values.
The seeds below are public and unrelated to the hidden tests' secret seeds.

Layout of a file: ``in.<arg>`` (``in.<arg>.<key>`` for a dict argument), ``dout.<name>``,
``out.<name>``, and ``meta``, a JSON string: {"args", "douts", "outputs", "returns", "time_axis",
"forward"}. "returns" names what the function returns in order; a dict it returns is stored
flattened as ``out.<name>[<key>]``.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import solutions as S  # noqa: E402
from solutions.tbptt import rnn_backward_truncated  # noqa: E402

OUT_DIR = ROOT / "course_helpers" / "fixtures"
SEED = 20_260_415


def _rng(name: str) -> np.random.Generator:
    return np.random.default_rng([SEED, sum(map(ord, name))])


def _w(rng, *shape, scale=1.0):
    return rng.normal(size=shape) * scale / np.sqrt(shape[0] if len(shape) > 1 else 4)


class Spec:
    """One public case: how to make its inputs and what the function returns."""

    def __init__(self, name: str, make: Callable, returns: list[str], *, forward: str | None = None,
                 douts: Callable | None = None, time_axis: dict[str, int] | None = None,
                 call: Callable | None = None):
        self.name, self.make, self.returns = name, make, returns
        self.forward, self.douts, self.time_axis = forward, douts, time_axis or {}
        self.call = call


def _caption_params(rng, V=7, D=4, E=3, H=5, K=3):
    shapes = dict(W_init=(D, H), b_init=(H,), W_embed=(V, E), Wa=(H, K), Ua=(D, K), ba=(K,), va=(K,),
                  Wx=(E + D, 4 * H), Wh=(H, 4 * H), b=(4 * H,), W_vocab=(H, V), b_vocab=(V,))
    return {k: rng.normal(size=s) * 0.5 for k, s in shapes.items()}


def _specs() -> list[Spec]:
    N, T, D, H, V, L, M = 3, 4, 5, 4, 6, 5, 7

    def step_args(G=1, n_bias=1):
        def make(rng):
            args = {"x": rng.normal(size=(N, D)), "prev_h": rng.normal(size=(N, H))}
            if G == 4:
                args["prev_c"] = rng.normal(size=(N, H))
            args["Wx"], args["Wh"] = _w(rng, D, G * H), _w(rng, H, G * H)
            names = ["b"] if n_bias == 1 else ["bx", "bh"]
            for b in names:
                args[b] = rng.normal(size=G * H) * 0.5
            return args
        return make

    def seq_args(G=1, n_bias=1):
        def make(rng):
            args = {"x": rng.normal(size=(N, T, D)), "h0": rng.normal(size=(N, H)),
                    "Wx": _w(rng, D, G * H), "Wh": _w(rng, H, G * H)}
            for b in (["b"] if n_bias == 1 else ["bx", "bh"]):
                args[b] = rng.normal(size=G * H) * 0.5
            return args
        return make

    def dh_step(rng, out):
        return {"dnext_h": rng.normal(size=(N, H))}

    def dh_seq(rng, out):
        return {"dh": rng.normal(size=(N, T, H))}

    def truncated_args(rng):
        x, h0 = rng.normal(size=(N, T, D)), rng.normal(size=(N, H))
        Wx, Wh, b = _w(rng, D, H), _w(rng, H, H, scale=1.5), rng.normal(size=H) * 0.5
        h, _ = S.rnn_forward(x, h0, Wx, Wh, b)
        return {"dh": rng.normal(size=(N, T, H)), "x": x, "h0": h0, "Wx": Wx, "Wh": Wh, "h": h,
                "k": np.int64(2)}

    def caption_args(rng):
        return {"params": _caption_params(rng), "feats": rng.normal(size=(2, 3, 4)),
                "captions": np.array([[1, 4, 5, 2, 0], [1, 6, 3, 2, 0]])}

    def sample_args(rng):
        return {"params": _caption_params(rng), "feats": rng.normal(size=(3, 3, 4))}

    seq_grads = {"dx": 1}
    return [
        # 01_rnn
        Spec("rnn_step_forward", step_args(), ["next_h"]),
        Spec("rnn_step_backward", step_args(), ["dx", "dprev_h", "dWx", "dWh", "db"],
             forward="rnn_step_forward", douts=dh_step),
        Spec("rnn_forward", seq_args(), ["h"], time_axis={"h": 1}),
        Spec("rnn_backward", seq_args(), ["dx", "dh0", "dWx", "dWh", "db"], forward="rnn_forward",
             douts=dh_seq, time_axis=seq_grads),
        Spec("word_embedding_forward", lambda rng: {"x": rng.integers(0, V, size=(N, T)),
                                                    "W": rng.normal(size=(V, D))}, ["out"], time_axis={"out": 1}),
        Spec("word_embedding_backward", lambda rng: {"x": np.array([[0, 3, 3, 1], [2, 0, 5, 3], [1, 1, 4, 0]]),
                                                     "W": rng.normal(size=(V, D))}, ["dW"],
             forward="word_embedding_forward", douts=lambda rng, out: {"dout": rng.normal(size=(N, T, D))}),
        Spec("temporal_affine_forward", lambda rng: {"x": rng.normal(size=(N, T, D)), "w": _w(rng, D, M),
                                                     "b": rng.normal(size=M)}, ["out"], time_axis={"out": 1}),
        Spec("temporal_affine_backward", lambda rng: {"x": rng.normal(size=(N, T, D)), "w": _w(rng, D, M),
                                                      "b": rng.normal(size=M)}, ["dx", "dw", "db"],
             forward="temporal_affine_forward", douts=lambda rng, out: {"dout": rng.normal(size=(N, T, M))},
             time_axis={"dx": 1}),
        Spec("temporal_softmax_loss", lambda rng: {"x": rng.normal(size=(N, T, V)),
                                                   "y": rng.integers(0, V, size=(N, T)),
                                                   "mask": np.array([[1, 1, 1, 1], [1, 1, 0, 0], [1, 0, 1, 0]],
                                                                    dtype=bool)},
             ["loss", "dx"], time_axis={"dx": 1}),
        # 02_bptt
        Spec("rnn_backward_truncated", truncated_args, ["dx", "dh0", "dWx", "dWh", "db"],
             time_axis=seq_grads,
             call=lambda a: rnn_backward_truncated(a["dh"], (a["x"], a["h0"], a["Wx"], a["Wh"], a["h"]),
                                                   int(a["k"]))),
        # 03_lstm
        Spec("lstm_step_forward", step_args(4), ["next_h", "next_c"]),
        Spec("lstm_step_backward", step_args(4), ["dx", "dprev_h", "dprev_c", "dWx", "dWh", "db"],
             forward="lstm_step_forward",
             douts=lambda rng, out: {"dnext_h": rng.normal(size=(N, H)), "dnext_c": rng.normal(size=(N, H))}),
        Spec("lstm_forward", seq_args(4), ["h"], time_axis={"h": 1}),
        Spec("lstm_backward", seq_args(4), ["dx", "dh0", "dWx", "dWh", "db"], forward="lstm_forward",
             douts=dh_seq, time_axis=seq_grads),
        # 04_gru
        Spec("gru_step_forward", step_args(3, 2), ["next_h"]),
        Spec("gru_step_backward", step_args(3, 2), ["dx", "dprev_h", "dWx", "dWh", "dbx", "dbh"],
             forward="gru_step_forward", douts=dh_step),
        Spec("gru_forward", seq_args(3, 2), ["h"], time_axis={"h": 1}),
        Spec("gru_backward", seq_args(3, 2), ["dx", "dh0", "dWx", "dWh", "dbx", "dbh"], forward="gru_forward",
             douts=dh_seq, time_axis=seq_grads),
        # 05_attention
        Spec("attention_forward", lambda rng: {"prev_h": rng.normal(size=(N, H)), "feats": rng.normal(size=(N, L, D)),
                                               "Wa": _w(rng, H, 3), "Ua": _w(rng, D, 3), "ba": rng.normal(size=3),
                                               "va": rng.normal(size=3)}, ["context", "alpha"]),
        Spec("attention_backward", lambda rng: {"prev_h": rng.normal(size=(N, H)), "feats": rng.normal(size=(N, L, D)),
                                                "Wa": _w(rng, H, 3), "Ua": _w(rng, D, 3), "ba": rng.normal(size=3),
                                                "va": rng.normal(size=3)},
             ["dprev_h", "dfeats", "dWa", "dUa", "dba", "dva"], forward="attention_forward",
             douts=lambda rng, out: {"dcontext": rng.normal(size=(N, D))}),
        Spec("captioning_loss", caption_args, ["loss", "grads"]),
        Spec("captioning_sample", sample_args, ["captions", "alphas"],
             call=lambda a: S.captioning_sample(a["params"], a["feats"], max_length=5)),
    ]


def _flatten(prefix: str, value, out: dict) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            out[f"{prefix}.{k}"] = np.asarray(v)
    else:
        out[prefix] = np.asarray(value)


def build(spec: Spec) -> dict[str, np.ndarray]:
    """The arrays of one fixture file (reference outputs computed here)."""
    rng = _rng(spec.name)
    args = spec.make(rng)
    arrays: dict[str, np.ndarray] = {}
    for k, v in args.items():
        _flatten(f"in.{k}", v, arrays)
    douts: dict = {}
    if spec.forward:
        fwd_out = getattr(S, spec.forward)(*args.values())
        douts = spec.douts(rng, fwd_out)
        for k, v in douts.items():
            arrays[f"dout.{k}"] = np.asarray(v)
        result = getattr(S, spec.name)(*douts.values(), fwd_out[-1])
    elif spec.call:
        result = spec.call(args)
    else:
        result = getattr(S, spec.name)(*args.values())
    if len(spec.returns) == 1:
        result = (result[0] if isinstance(result, tuple) else result,)
    outputs = []
    for name, value in zip(spec.returns, result, strict=False):
        if isinstance(value, dict):
            for k in value:
                arrays[f"out.{name}[{k}]"] = np.asarray(value[k])
                outputs.append(f"{name}[{k}]")
        else:
            arrays[f"out.{name}"] = np.asarray(value)
            outputs.append(name)
    mistakes = _mistake_outputs(spec.name, list(args.values()), list(douts.values()), arrays, outputs)
    meta = {"args": list(args), "douts": list(douts), "outputs": outputs, "returns": spec.returns,
            "time_axis": spec.time_axis, "forward": spec.forward, "mistakes": mistakes}
    arrays["meta"] = np.array(json.dumps(meta))
    return arrays


def _catalogue(name: str) -> list:
    """The hidden tests' catalogued mistakes of function ``name`` (instructor side: used here only
    to compute what each mistake returns on this public case; no hidden input leaves the judge)."""
    import importlib.util

    for path in sorted((ROOT / "autograder" / "hidden").glob("[0-9]*.py")):
        spec = importlib.util.spec_from_file_location(f"_fixture_hidden_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        if name in module.FUNCTIONS:
            return list(module.FUNCTIONS[name].mistakes)
    return []


def _mistake_outputs(name: str, args: list, douts: list, arrays: dict, outputs: list[str]) -> dict:
    """{mistake id: hint} for the catalogued mistakes that are visible on this public case, and
    their outputs stored as ``mistake.<id>.<output>`` in ``arrays`` (only the outputs the buggy
    version gets wrong). A mistake that raises or agrees with the reference here is left out."""
    found = {}
    for m in _catalogue(name):
        try:
            with np.errstate(all="ignore"):
                values = m.compute([_copy_arg(a) for a in args], [_copy_arg(d) for d in douts])
        except Exception:  # noqa: BLE001 - a variant that does not apply to this case
            continue
        kept = {}
        for out, v in values.items():
            ref = arrays.get(f"out.{out}")
            v = np.asarray(v)
            if out in outputs and ref is not None and v.shape == ref.shape and np.all(np.isfinite(v)) \
                    and not np.allclose(v, ref, rtol=1e-6, atol=1e-9):
                kept[out] = v
        if kept:
            found[m.id] = m.hint
            for out, v in kept.items():
                arrays[f"mistake.{m.id}.{out}"] = v
    return found


def _copy_arg(v):
    if isinstance(v, np.ndarray):
        return v.copy()
    if isinstance(v, dict):
        return {k: _copy_arg(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return type(v)(_copy_arg(x) for x in v)
    return v


def _bytes(arrays: dict[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def _same(path: Path, arrays: dict[str, np.ndarray]) -> bool:
    if not path.exists():
        return False
    with np.load(path, allow_pickle=False) as z:
        if set(z.files) != set(arrays):
            return False
        return all(z[k].shape == arrays[k].shape and np.array_equal(z[k], arrays[k]) for k in arrays)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report whether the stored fixtures are current")
    args = parser.parse_args(argv)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    stale = []
    with np.errstate(all="raise"):
        for spec in _specs():
            arrays = build(spec)
            path = OUT_DIR / f"{spec.name}.npz"
            if not _same(path, arrays):
                stale.append(path.name)
                if not args.check:
                    path.write_bytes(_bytes(arrays))
                    print(f"wrote {path.relative_to(ROOT)}")
    if args.check:
        if stale:
            print("stale fixtures (run python -m scripts.make_public_fixtures):", *stale)
            return 1
        print("course_helpers/fixtures is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
