"""Visible tests that explain themselves: compare every output, report every wrong one with a hint.

The visible tests of the assignments call these helpers. A test compares *all* the outputs of a
function (and all its gradients) before it fails, so a student with three wrong gradients learns
about all three at once, and each wrong output gets a hint computed from what was returned:

- a wrong shape, or the transposed shape;
- the right numbers transposed, or scaled by a constant factor (a missing 1/N, a flipped sign);
- all zeros, NaN or inf;
- for outputs with a time axis: at which time steps the values are wrong (only the first step,
  only the last, everything before step t ...).

The first line of the AssertionError is short (at most 64 characters: ``nbgrader validate`` cuts
every traceback line at 87 characters, after "AssertionError: ") and names the wrong outputs with
their hints; the following lines, wrapped at 80 characters, give the details.

The inputs and expected outputs of the fixed cases are public arrays shipped in
``course_helpers/fixtures/<function>.npz`` (made by ``scripts/make_public_fixtures.py``), the
way CS231n ships its expected values: the visible tests never run the reference code.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

FIXTURES = Path(__file__).resolve().parent / "fixtures"
# nbgrader validate shows each line of a traceback indented by 4 and cut at 90 - 3 characters, and the
# last line of the traceback is "AssertionError: " + the message's first line: 64 characters survive.
FIRST_LINE = 64
DETAIL_WIDTH = 80


# --------------------------------------------------------------------------------------------
# Public fixtures
# --------------------------------------------------------------------------------------------

def load_case(name: str) -> dict[str, Any]:
    """The public fixed case of the function `name`.

    Returns a dict with
    - "args": dict argument name -> value (arrays; dicts of arrays; ints), in call order;
    - "douts": list of upstream gradients (backward functions only, else empty);
    - "expected": dict output name -> expected array, in return order;
    - "time_axis": dict output name -> index of its time axis (outputs without one are absent);
    - "forward": name of the forward function (backward functions only, else None).

    Raises FileNotFoundError naming the file when the fixture is not shipped.
    """
    path = FIXTURES / f"{name}.npz"
    if not path.exists():
        raise FileNotFoundError(f"no public fixture for {name}: {path} is missing")
    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(str(z["meta"]))
        arrays = {k: z[k] for k in z.files if k != "meta"}

    def value(key: str) -> Any:
        if key in arrays:
            a = arrays[key]
            return a.item() if a.ndim == 0 and np.issubdtype(a.dtype, np.integer) else a
        prefix = key + "."
        return {k[len(prefix):]: arrays[k] for k in sorted(arrays) if k.startswith(prefix)}

    mistakes = {mid: {"hint": hint,
                      "outputs": {k[len(f"mistake.{mid}."):]: arrays[k] for k in arrays
                                  if k.startswith(f"mistake.{mid}.")}}
                for mid, hint in meta.get("mistakes", {}).items()}
    return {"args": {a: value(f"in.{a}") for a in meta["args"]},
            "douts": [value(f"dout.{d}") for d in meta["douts"]],
            "expected": {o: value(f"out.{o}") for o in meta["outputs"]},
            "returns": meta.get("returns", meta["outputs"]),
            "time_axis": meta.get("time_axis", {}), "forward": meta.get("forward"),
            "mistakes": mistakes}


def _copy(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        return v.copy()
    if isinstance(v, dict):
        return {k: _copy(x) for k, x in v.items()}
    return v


def _as_outputs(name: str, result: Any, returns: list[str]) -> dict[str, Any]:
    """Name what a function returned (extra values, e.g. a cache, are ignored; dicts are flattened)."""
    if len(returns) == 1:
        values = [result[0] if isinstance(result, tuple) and result else result]
    elif not isinstance(result, tuple | list):
        raise AssertionError(f"{name} must return {len(returns)} values ({', '.join(returns)})\n"
                             f"{name} returned one {type(result).__name__}")
    elif len(result) < len(returns):
        raise AssertionError(f"{name} returned {len(result)} values, want {len(returns)}\n"
                             f"{name} must return {', '.join(returns)}")
    else:
        values = list(result[: len(returns)])
    out: dict[str, Any] = {}
    for r, v in zip(returns, values, strict=True):
        if isinstance(v, Mapping):
            out.update({f"{r}[{k}]": x for k, x in v.items()})
        out[r] = v
    return out


def check_function(name: str, fn: Callable, tol: float = 1e-7) -> None:
    """Run `fn` on the public case of `name` and compare every output with the expected one.

    Raises AssertionError listing every wrong output with a hint; prints a line when all agree.
    """
    __tracebackhide__ = True           # IPython and pytest show the caller's line, not this one
    case = load_case(name)
    args = _copy(case["args"])
    result = fn(*args.values())
    got = _as_outputs(name, result, case["returns"])
    check_outputs(name, got, case["expected"], case["time_axis"], tol=tol, mistakes=case["mistakes"])
    _check_untouched(name, args, case["args"])
    print(f"{name}: the public case agrees ({', '.join(case['expected'])})")


def check_backward(name: str, forward: Callable, backward: Callable, tol: float = 1e-7) -> None:
    """Run your `forward` then your `backward` on the public case of `name` and compare every gradient.

    `backward` receives the upstream gradients of the case and your forward's cache (its last
    return value), as in CS231n: backward(*douts, cache).
    """
    __tracebackhide__ = True           # IPython and pytest show the caller's line, not this one
    case = load_case(name)
    fwd_out = forward(*_copy(case["args"]).values())
    if not isinstance(fwd_out, tuple) or len(fwd_out) < 2:
        raise AssertionError(f"{case['forward']} must return its outputs and then a cache")
    result = backward(*_copy(case["douts"]), fwd_out[-1])
    got = _as_outputs(name, result, case["returns"])
    try:
        check_outputs(name, got, case["expected"], case["time_axis"], tol=tol, mistakes=case["mistakes"])
    except AssertionError as e:
        raise AssertionError(f"{e}\n" + _wrap(
            f"(The cache came from your own {case['forward']}: if its test fails, fix it first.)")) from None
    print(f"{name}: the public case agrees ({', '.join(case['expected'])})")


def check_gradients(name: str, pairs: Mapping[str, tuple[Any, np.ndarray]],
                    time_axis: Mapping[str, int] | None = None, tol: float = 1e-6) -> None:
    """Compare analytic gradients with numerical ones, all of them, and report every mismatch.

    pairs: gradient name -> (your analytic gradient, the numerical gradient).
    """
    __tracebackhide__ = True           # IPython and pytest show the caller's line, not this one
    got = {k: v[0] for k, v in pairs.items()}
    want = {k: v[1] for k, v in pairs.items()}
    check_outputs(name, got, want, time_axis or {}, tol=tol, what="the numerical gradient")
    print(f"{name}: every gradient matches the numerical gradient ({', '.join(pairs)})")


def _check_untouched(name: str, after: dict, before: dict) -> None:
    for k, v in before.items():
        if isinstance(v, np.ndarray) and isinstance(after[k], np.ndarray) and not np.array_equal(v, after[k]):
            raise AssertionError(f"{name} modified its input {k}: work on copies\n"
                                 f"{name} must not change the arrays it is given ({k} changed).")


# --------------------------------------------------------------------------------------------
# Comparing and explaining
# --------------------------------------------------------------------------------------------

def rel_err(a: np.ndarray, b: np.ndarray) -> float:
    """max |a - b| / max(1e-8, |a| + |b|), elementwise (CS231n's rel_error)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


def _close(a: np.ndarray, b: np.ndarray, tol: float) -> bool:
    return a.shape == b.shape and bool(np.all(np.isfinite(a))) and rel_err(a, b) < tol


def _steps(ts: list[int]) -> str:
    """'0', '0-2', '0, 3' for a list of time steps."""
    if not ts:
        return ""
    runs, start, prev = [], ts[0], ts[0]
    for t in ts[1:] + [None]:
        if t is not None and t == prev + 1:
            prev = t
            continue
        runs.append(f"{start}" if start == prev else f"{start}-{prev}")
        if t is not None:
            start = prev = t
    return ", ".join(runs)


def diagnose(got: Any, want: np.ndarray, time_axis: int | None = None, tol: float = 1e-7) -> tuple[str, str]:
    """(short hint, longer explanation) of why `got` is not `want`; ("", "") when they agree."""
    want = np.asarray(want)
    if got is None:
        return "None", "returned None: did you forget a return, or to assign the result?"
    try:
        a = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return "not an array", f"got a {type(got).__name__}, want an array of shape {want.shape}"
    w = want.astype(np.float64)
    if a.shape != w.shape:
        if a.ndim == 2 and a.shape == w.T.shape:
            return "transposed shape", f"shape {a.shape} is the transpose of the expected {w.shape}"
        if a.size == w.size:
            return "wrong shape", f"shape {a.shape}, want {w.shape} (same number of entries: reshape/axis order?)"
        if a.ndim == w.ndim - 1 and a.shape == w.shape[1:]:
            return "summed over N?", f"shape {a.shape}, want {w.shape}: the batch axis is missing"
        if w.ndim == a.ndim - 1 and a.shape[1:] == w.shape:
            return "not summed over N?", f"shape {a.shape}, want {w.shape}: sum over the batch axis"
        return "wrong shape", f"shape {a.shape}, want {w.shape}"
    if not np.all(np.isfinite(a)):
        return "NaN/inf", "contains NaN or inf: an overflow (exp of a large number?) or 0/0"
    if _close(a, w, tol):
        return "", ""
    if np.all(a == 0) and np.any(w != 0):
        return "all zeros", "all zeros: was it computed, or only initialised?"
    if a.ndim == 2 and a.shape[0] == a.shape[1] and _close(a, w.T, tol):
        return "transposed", "the right numbers, transposed (x.T @ d vs d.T @ x?)"
    denom = float(np.sum(w * w))
    if denom > 0:
        ratio = float(np.sum(a * w)) / denom
        if abs(ratio - 1) > 1e-3 and ratio != 0 and _close(a, ratio * w, max(tol, 1e-6)):
            if abs(ratio + 1) < 1e-3:
                return "sign flipped", "the right numbers with the opposite sign"
            return f"scaled x{ratio:.3g}", (f"the right numbers times {ratio:.4g}: a missing or extra factor "
                                            f"(1/N? a sum vs a mean? a factor 2?)")
    if time_axis is not None and a.ndim > time_axis and a.shape[time_axis] > 1:
        T = a.shape[time_axis]
        bad = [t for t in range(T) if not _close(np.take(a, t, axis=time_axis), np.take(w, t, axis=time_axis), tol)]
        if bad and len(bad) < T:
            good = [t for t in range(T) if t not in bad]
            short = f"wrong at t={_steps(bad)}"
            if bad == list(range(bad[-1] + 1)):
                why = (f"right at the last steps (t={_steps(good)}), wrong before: what is carried from "
                       "step to step (the state forward, its gradient backward) is off")
            elif bad == [0]:
                why = "only the first step is wrong: how does step 0 start (h0, c0)?"
            elif bad == [T - 1]:
                why = "only the last step is wrong: is the loop's last step computed or stored?"
            else:
                why = f"right at t={_steps(good)}"
            return short, f"wrong at time steps t={_steps(bad)} of {T}; {why}"
    err = rel_err(a, w)
    return f"rel. error {err:.0e}", f"relative error {err:.1e} (want < {tol:g}); max |diff| {np.max(np.abs(a - w)):.2e}"


def known_mistake(got: Mapping[str, Any], wrong: list[str], mistakes: Mapping[str, dict],
                  tol: float = 1e-7) -> str | None:
    """The hint of a common mistake whose outputs on the public case are exactly what was
    returned for every wrong output (``mistakes``: id -> {"hint", "outputs"}, from the fixture);
    None when no common mistake explains all of them."""
    for info in mistakes.values():
        outs = info["outputs"]
        if not wrong or not set(wrong) <= set(outs):
            continue
        try:
            if all(np.shape(got[o]) == np.shape(outs[o])
                   and np.allclose(np.asarray(got[o], dtype=np.float64), outs[o], rtol=1e-5, atol=tol)
                   for o in wrong):
                return info["hint"]
        except (TypeError, ValueError):
            continue
    return None


def check_outputs(name: str, got: Mapping[str, Any], expected: Mapping[str, np.ndarray],
                  time_axis: Mapping[str, int] | None = None, tol: float = 1e-7,
                  what: str = "the expected value", mistakes: Mapping[str, dict] | None = None) -> None:
    """Compare every output; raise one AssertionError that lists every wrong one with its hint.

    got / expected: output name -> value. time_axis: output name -> index of its time axis.
    mistakes: the fixture's common mistakes; when one explains every wrong output, the message
    names it. The error's first line is at most 64 characters and names the wrong outputs with
    short hints.
    """
    __tracebackhide__ = True           # IPython and pytest show the caller's line, not this one
    time_axis = time_axis or {}
    wrong = []
    for out, want in expected.items():
        if out not in got:
            wrong.append((out, "missing", f"{out} was not returned"))
            continue
        want = np.asarray(want)
        if np.issubdtype(want.dtype, np.integer) and not np.issubdtype(np.asarray(got[out]).dtype, np.floating):
            g = np.asarray(got[out])
            if g.shape != want.shape:
                wrong.append((out, "wrong shape", f"shape {g.shape}, want {want.shape}"))
            elif not np.array_equal(g, want):
                bad = np.argwhere(g != want)
                wrong.append((out, f"{len(bad)} entries differ",
                              f"{len(bad)} of {want.size} entries differ, first at index {tuple(bad[0])}: "
                              f"got {g[tuple(bad[0])]}, want {want[tuple(bad[0])]}"))
            continue
        short, long = diagnose(got[out], want, time_axis.get(out), tol)
        if short:
            wrong.append((out, short, long))
    if not wrong:
        return
    first = f"{name}: " + "; ".join(f"{o} {s}" for o, s, _ in wrong)
    if len(first) > FIRST_LINE:
        parts, kept = [], f"{name}: "
        for o, s, _ in wrong:
            piece = f"{o} {s}"
            rest = len(wrong) - len(parts) - 1
            tail = f"; +{rest} more" if rest else ""
            if len(kept) + len("; ".join(parts + [piece])) + len(tail) > FIRST_LINE:
                break
            parts.append(piece)
        more = len(wrong) - len(parts)
        first = kept + "; ".join(parts) + (f"; +{more} more" if more else "")
        if len(first) > FIRST_LINE:
            first = first[: FIRST_LINE - 1] + "…"
    n_ok = len(expected) - len(wrong)
    lines = [first, f"{len(wrong)} of {len(expected)} outputs differ from {what} ({n_ok} right):"]
    lines += [_wrap(f"- {o}: {long}") for o, _, long in wrong]
    hint = known_mistake(got, [o for o, _, _ in wrong], mistakes or {}, tol)
    if hint:
        # the first line (the one nbgrader validate keeps) names the mistake itself
        short = f"{name}: {hint.split(':')[0]}"
        lines[0] = short if len(short) <= FIRST_LINE else short[: FIRST_LINE - 1] + "…"
        lines.insert(1, _wrap(f"A common mistake gives exactly these values: {hint}"))
    raise AssertionError("\n".join(lines))


def _wrap(text: str) -> str:
    return textwrap.fill(text, width=DETAIL_WIDTH, subsequent_indent="  ", break_long_words=False)


def check_gradient(name: str, analytic: Any, numeric: np.ndarray, tol: float = 1e-6,
                   time_axis: int | None = None) -> None:
    """Compare one analytic gradient with a numerical one; print the relative error.

    Raises AssertionError whose first line is short and carries the hint (transposed, scaled, which
    time steps ...).
    """
    __tracebackhide__ = True           # IPython and pytest show the caller's line, not this one
    short, long = diagnose(analytic, numeric, time_axis, tol)
    if short:
        first = f"{name}: {short} vs the numerical gradient"
        raise AssertionError(f"{first[:FIRST_LINE]}\n" + _wrap(f"- {name}: {long}"))
    print(f"{name:>8}: relative error {rel_err(np.asarray(analytic, dtype=np.float64), numeric):.2e}")
