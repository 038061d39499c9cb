"""Compare one output with the reference and, when it is wrong, say why without leaking.

Messages name the output, the case kind, symbolic shapes ("(H, H)") and time steps, and match
the student's values against a catalogue of common mistakes (transpose, sign, a constant factor,
an error that starts at one time step, the function-specific buggy variants of ``Func.mistakes``).
They never contain the hidden inputs, the expected values or the test code.
"""

from __future__ import annotations

import numpy as np

RTOL = 1e-5


def close(a: np.ndarray, b: np.ndarray) -> bool:
    """float64 agreement up to summation order (and float32 students), scaled by magnitude."""
    if a.shape != b.shape:
        return False
    if a.dtype.kind in "iub" and b.dtype.kind in "iub":
        return bool(np.array_equal(a, b))
    if not b.size:
        return True
    # np.allclose(a, b, rtol, atol) written out: the same test at a fraction of the overhead,
    # which matters for hundreds of small comparisons per notebook. NaN never compares close.
    abs_b = np.abs(b)
    atol = 1e-7 * max(1.0, float(abs_b.max()))
    with np.errstate(invalid="ignore", over="ignore"):
        return bool((np.abs(a - b) <= atol + RTOL * abs_b).all())


def symbolic(shape: tuple, sym: str, dims: dict[str, int]) -> str:
    """Render a shape with symbols where they are unambiguous: (5, 5) -> (H, H)."""
    syms = sym.split() if sym else []
    parts = []
    for k, n in enumerate(shape):
        if k < len(syms) and len(shape) == len(syms):
            want = syms[k]
            # Use the declared symbol only when the size agrees with it.
            kname = want.lstrip("0123456789")
            mult = int(want[: len(want) - len(kname)] or 1)
            if kname in dims and dims[kname] * mult == n:
                parts.append(want)
                continue
        names = [d for d, v in dims.items() if v == n]
        parts.append(names[0] if len(names) == 1 else str(n))
    return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"


def explain_error(message: str) -> str:
    last = message.strip().splitlines()[-1] if message.strip() else "failed"
    if "NotImplementedError" in last:
        return "not implemented yet (raises NotImplementedError)"
    if "is not defined" in last and "NameError" not in last:
        return last
    if "time limit" in last:
        return "stopped after the time limit: an infinite loop, or far too slow"
    if "worker died" in last:
        return ("the process running your code died during this check (os._exit, a crash, or a "
                "memory/CPU/output limit); only this check was lost")
    if "SystemExit" in last:
        return "your code called sys.exit() / exit() during this check"
    if "MemoryError" in last:
        return "ran out of memory (the memory limit was reached)"
    if "File too large" in last:
        return "printed too much output (the output limit was reached)"
    return f"raised an error: {last[:240]}"


def _scalar(a) -> bool:
    return isinstance(a, np.ndarray) and a.size == 1


FACTOR_NAMES = [("N", "averaged over the batch twice, or not at all?"),
                ("T", "averaged over time instead of summed?")]


def check(name: str, got, ref, sym: str, prep, spec) -> tuple[bool, str]:
    """Return (passed, message). ``prep`` is the judge's Prepared case, ``spec`` the Func."""
    where = prep.case.label
    dims = prep.case.dims
    ref = np.asarray(ref)
    if not isinstance(got, np.ndarray):
        what = getattr(got, "what", f"a {type(got).__name__}")
        if "not" not in what:
            what += ", not a numpy array"
        return False, f"{name}: returned {what}"
    if ref.ndim == 0 and _scalar(got):
        got = got.reshape(())
    if got.shape != ref.shape:
        exp_s, got_s = symbolic(ref.shape, sym, dims), symbolic(got.shape, "", dims)
        hint = ""
        if got.ndim == 2 and got.shape == ref.shape[::-1]:
            hint = ": transposed?"
        return False, f"{name}: expected shape {exp_s}, got {got_s}{hint}"
    if ref.dtype.kind in "iub":
        if got.dtype.kind not in "iub" and not np.all(np.isfinite(got)):
            return False, f"{name}: contains NaN or inf"
        ok = bool(np.array_equal(got.astype(np.int64), ref.astype(np.int64)))
        if ok:
            return True, ""
        diff = np.argwhere(got != ref)
        return False, (f"{name}: {len(diff)} of {ref.size} entries differ"
                       + _time_hint(name, got, ref, sym, spec))
    got = got.astype(np.float64)
    if not np.all(np.isfinite(got)):
        extra = (": overflow with large inputs? use a numerically stable form"
                 if "saturating" in where else "")
        return False, f"{name}: contains NaN or inf{extra}"
    if close(got, ref):
        return True, ""
    return False, f"{name}: " + _why(name, got, ref, sym, prep, spec)


def _why(name, got, ref, sym, prep, spec) -> str:
    shape_s = symbolic(ref.shape, sym, prep.case.dims)
    if np.all(got == 0) and np.any(ref != 0):
        return "all zeros: is it computed at all?"
    for hint, outputs in prep.mistakes:
        if name in outputs and close(got, np.asarray(outputs[name], dtype=np.float64)):
            # Say where in time it goes wrong, without the generic question (the hint is better).
            where = _time_hint(name, got, ref, sym, spec).lstrip(": ").split(": ")[0]
            return f"{where}; {hint}" if where else hint
    if ref.ndim == 2 and ref.shape[0] == ref.shape[1] and ref.shape[0] > 1 and close(got, ref.T):
        return f"shape {shape_s} ok, values off by a transpose"
    if close(got, -ref):
        return "sign error: the values have the opposite sign"
    denom = float(np.sum(ref * ref))
    if denom > 0:
        k = float(np.sum(got * ref) / denom)
        if k != 0 and close(got, k * ref):
            return _factor(k, prep.case.dims)
    t_hint = _time_hint(name, got, ref, sym, spec)
    if t_hint:
        return t_hint.lstrip(": ")
    return f"values wrong (shape {shape_s} ok)"


def _factor(k: float, dims: dict[str, int]) -> str:
    for d, why in FACTOR_NAMES:
        n = dims.get(d, 0)
        if n > 1 and np.isclose(k, 1 / n, rtol=1e-4):
            return f"off by a factor of 1/{d}: {why}"
        if n > 1 and np.isclose(k, n, rtol=1e-4):
            return f"off by a factor of {d}: {why}"
    if np.isclose(k, 2) or np.isclose(k, 0.5):
        return f"off by a factor of {'2' if k > 1 else '1/2'}"
    return "right direction but wrong scale (off by a constant factor)"


def _time_hint(name, got, ref, sym, spec) -> str:
    """Locate errors along the time axis: 'wrong from t=3 backwards', 'off by one step'."""
    syms = sym.split()
    if not spec.time_axis or "T" not in syms or len(syms) != ref.ndim:
        return ""
    ax = syms.index("T")
    T = ref.shape[ax]
    if T < 2:
        return ""
    g = np.moveaxis(got, ax, 0)
    r = np.moveaxis(ref, ax, 0)
    ok = [close(g[t], r[t]) for t in range(T)]
    if all(ok):
        return ""
    if T >= 3 and all(close(g[t], r[t - 1]) for t in range(1, T)):
        return ": off by one time step (step t holds the value of step t-1)"
    if T >= 3 and all(close(g[t], r[t + 1]) for t in range(T - 1)):
        return ": off by one time step (step t holds the value of step t+1)"
    wrong = [t for t in range(T) if not ok[t]]
    if spec.backward_in_time and ok[-1] and wrong == list(range(wrong[-1] + 1)):
        return (f": right for the last steps, wrong from t={wrong[-1]} backwards: is the "
                "gradient from later steps added?")
    if not spec.backward_in_time and ok[0] and wrong == list(range(wrong[0], T)):
        return (f": right up to t={wrong[0] - 1}, wrong from t={wrong[0]} on: is the hidden "
                "state carried from one step to the next?")
    return f": wrong at {len(wrong)} of {T} time steps"
