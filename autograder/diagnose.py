"""Compare one output with the reference and, when it is wrong, say why without leaking.

Messages name the output, the case kind, symbolic shapes ("(H, H)") and time steps counted from
the start or the end (never T), and match the student's values against a catalogue of common
mistakes: the function-specific buggy variants of ``Func.mistakes`` (each with a stable id), then
transpose, sign and a constant factor (not on one-element outputs), an error that starts at one
time step. They never contain the hidden inputs, the expected values, the hidden sizes or the test
code; the student's own exception text is rewritten with symbols (:func:`scrub`).

Interface used by the judge: :func:`verdict` per output, :func:`explain_error` per failed call,
:func:`summarize_hints` per function (one hint per mistake).
"""

from __future__ import annotations

import re

import numpy as np

RTOL = 1e-5


def close(a: np.ndarray, b: np.ndarray) -> bool:
    """float64 agreement up to summation order, scaled by magnitude (float32: :func:`close32`)."""
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
    """Render a shape with the docstring symbols: (5, 5) -> (H, H); never a hidden size.

    A size takes its declared symbol when it agrees with it, otherwise the one dimension it
    equals; a size that equals several dimensions or none is shown as "?".
    """
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
        parts.append(names[0] if len(names) == 1 else "1" if n == 1 and not names else "?")
    return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"


def explain_error(message: str, dims: dict[str, int] | None = None) -> str:
    """One line for a failed call; hidden sizes in the student's own message become symbols."""
    last = message.strip().splitlines()[-1] if message.strip() else "failed"
    last = scrub(last, dims or {})
    if "FloatingPointError" in last and "overflow" in last:
        return f"{last.split(':', 1)[-1].strip()}: {UNSTABLE}"
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
    """Return (passed, message); see :func:`verdict`, which also names the catalogued mistake."""
    passed, message, _ = verdict(name, got, ref, sym, prep, spec)
    return passed, message


def verdict(name: str, got, ref, sym: str, prep, spec) -> tuple[bool, str, str | None]:
    """Compare one output with the reference: (passed, message, catalogue mistake id or None).

    ``prep`` is the judge's Prepared case (its ``case`` gives the label and the hidden dims, its
    ``mistakes`` the outputs of the catalogued buggy variants), ``spec`` the :class:`Func`.
    The message names the output and symbolic shapes only (see :func:`symbolic`).
    """
    dims = prep.case.dims
    ref = np.asarray(ref)
    if not isinstance(got, np.ndarray):
        what = getattr(got, "what", f"a {type(got).__name__}")
        if "not" not in what:
            what += ", not a numpy array"
        return False, f"{name}: returned {scrub(what, dims)}", None
    if ref.ndim == 0 and _scalar(got):
        got = got.reshape(())
    if got.shape != ref.shape:
        exp_s, got_s = symbolic(ref.shape, sym, dims), symbolic(got.shape, "", dims)
        hint = ""
        if got.ndim == 2 and got.shape == ref.shape[::-1] and got.shape != ref.shape:
            hint = ": transposed?"
        return False, f"{name}: expected shape {exp_s}, got {got_s}{hint}", None
    if ref.dtype.kind in "iub":
        if got.dtype.kind not in "iub" and not np.all(np.isfinite(got)):
            return False, f"{name}: contains NaN or inf", None
        ok = bool(np.array_equal(got.astype(np.int64), ref.astype(np.int64)))
        if ok:
            return True, "", None
        n_diff = int(np.count_nonzero(got.astype(np.int64) != ref.astype(np.int64)))
        return False, (f"{name}: {_fraction(n_diff, ref.size)} of the entries differ"
                       + _time_hint(name, got, ref, sym, spec)), None
    single = got.dtype == np.float32
    got = got.astype(np.float64)
    if not np.all(np.isfinite(got)):
        if np.all(np.isfinite(ref)):
            if _extreme(prep):
                return False, f"{name}: contains NaN or inf; {UNSTABLE}", "numerically_unstable"
            return False, f"{name}: contains NaN or inf", None
    if close(got, ref) or (single and close32(got, ref)):
        return True, "", None
    text, mistake = _why(name, got, ref, sym, prep, spec, close32 if single else close)
    if single:
        text += ("; your arrays are float32 and these values are wrong even at float32 precision "
                 "(the reference computes in float64)")
    return False, f"{name}: {text}", mistake


UNSTABLE = ("not numerically stable with large inputs (about \u00b11000): exp overflows; subtract the "
            "maximum before exp (softmax) and use a stable sigmoid (exp of a non-positive number only)")


def _extreme(prep) -> bool:
    label = prep.case.label
    return "saturating" in label or "extreme" in label


def close32(a: np.ndarray, b: np.ndarray) -> bool:
    """Agreement at float32 precision: a student computing in float32 gets full credit.

    float32 has a resolution of about 1.2e-7; sums of O(1) terms and the cancellation in
    ``1 - h**2`` for saturated units give absolute errors of a few 1e-7 relative to the largest
    value involved, so the tolerance is ``1e-5 * max(1, max|b|)`` plus ``1e-4 * |b|``.
    """
    if a.shape != b.shape:
        return False
    abs_b = np.abs(b)
    atol = 1e-5 * max(1.0, float(abs_b.max())) if b.size else 0.0
    with np.errstate(invalid="ignore", over="ignore"):
        return bool((np.abs(a - b) <= atol + 1e-4 * abs_b).all())


def _fraction(k: int, n: int) -> str:
    """'all', 'some' or 'most' instead of counts that would reveal hidden sizes."""
    if k >= n:
        return "all"
    return "most" if 2 * k > n else "some"


def _why(name, got, ref, sym, prep, spec, near=close) -> tuple[str, str | None]:
    """Why an output is wrong: (text, catalogue mistake id or None); ``near`` compares with a
    buggy variant (at float32 precision for a float32 answer)."""
    shape_s = symbolic(ref.shape, sym, prep.case.dims)
    zeros = bool(np.all(got == 0) and np.any(ref != 0))
    for mistake_id, hint, outputs in _mistakes(prep, spec):
        value = outputs.get(name)
        if value is None:
            continue
        value = np.asarray(value, dtype=np.float64)
        if value.shape != ref.shape or close(value, ref) or not near(got, value):
            continue            # the buggy variant gives the right answer here: no evidence
        if zeros and not np.any(value):
            break               # all zeros matches a mistake only by accident: say "zeros"
        where = _time_hint(name, got, ref, sym, spec).lstrip(": ").split(": ")[0]
        return (f"{where}; {hint}" if where else hint), mistake_id
    if zeros:
        return "all zeros: is it computed at all?", None
    if ref.size > 1:            # one element: transpose, sign and scale say nothing
        if (ref.ndim == 2 and ref.shape[0] == ref.shape[1] and ref.shape[0] > 1
                and close(got, ref.T) and not close(ref, ref.T)):
            return f"shape {shape_s} ok, values off by a transpose", "transposed"
        if close(got, -ref):
            return "sign error: the values have the opposite sign", "sign_error"
        denom = float(np.sum(ref * ref))
        if denom > 0:
            k = float(np.sum(got * ref) / denom)
            if k != 0 and close(got, k * ref):
                return _factor(k, prep.case.dims), "scaled"
    t_hint = _time_hint(name, got, ref, sym, spec)
    if t_hint:
        return t_hint.lstrip(": "), None
    return f"values wrong (shape {shape_s} ok)", None


def _mistakes(prep, spec):
    """(id, hint, outputs) of each catalogued mistake of this case, whatever the judge stored."""
    known = list(getattr(spec, "mistakes", []) or [])
    by_hint = {m.hint: m.id for m in known}
    entries = list(getattr(prep, "mistakes", []) or [])
    for k, entry in enumerate(entries):
        if isinstance(entry, dict):
            yield entry.get("id"), entry["hint"], entry["outputs"]
        elif len(entry) == 3:
            yield entry
        else:
            hint, outputs = entry
            mid = known[k].id if len(known) == len(entries) else by_hint.get(hint)
            yield mid, hint, outputs


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


def _steps_from_end(k: int) -> str:
    return "the last step" if k == 1 else f"the last {k} steps"


def _time_hint(name, got, ref, sym, spec) -> str:
    """Locate errors along the time axis without revealing T.

    Steps are counted from the start for a forward pass ("right for the first 2 steps, wrong from
    step 3 on") and from the end for a backward pass ("right for the last 2 steps").
    """
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
        return (f": right for {_steps_from_end(T - 1 - wrong[-1])}, wrong before: is the "
                "gradient from later steps added?")
    if not spec.backward_in_time and ok[0] and wrong == list(range(wrong[0], T)):
        first = "the first step" if wrong[0] == 1 else f"the first {wrong[0]} steps"
        return (f": right for {first}, wrong from step {wrong[0] + 1} on: is the hidden "
                "state carried from one step to the next?")
    if len(wrong) == T:
        return ": wrong at every time step"
    return f": wrong at {_fraction(len(wrong), T)} time steps"


# ----------------------------------------------------------------------------- dimension scrubbing
_TUPLE = re.compile(r"\((\s*\d+\s*(?:,\s*\d+\s*)*,?\s*)\)")
_SIZE_WORD = re.compile(r"\b(size|sizes|index|length|shape|from|and|vs\.?)\s+(\d+)\b")


def _sym_of(n: int, dims: dict[str, int], prefer: str | None = None) -> str:
    names = [d for d, v in dims.items() if v == n]
    if prefer and prefer in names:
        return prefer
    if len(names) == 1:
        return names[0]
    if n == 1 and not names:
        return "1"
    return "a size"


def scrub(text: str, dims: dict[str, int]) -> str:
    """Rewrite shapes and sizes in a student's own message as symbols: (3,5) -> (N,H).

    A tuple of integers becomes the symbols of the hidden dimensions where each size names
    exactly one dimension; sizes shared by several dimensions or by none become "a size".
    Other numbers (line numbers, axes) are left alone.
    """
    if not dims:
        return text

    def tup(m: re.Match) -> str:
        nums = [int(v) for v in re.findall(r"\d+", m.group(1))]
        syms = [_sym_of(n, dims) for n in nums]
        if any(s == "a size" for s in syms):
            return "(" + ",".join("?" if s == "a size" else s for s in syms) + ")"
        return "(" + ",".join(syms) + ("," if len(syms) == 1 else "") + ")"

    text = _TUPLE.sub(tup, text)
    return _SIZE_WORD.sub(lambda m: f"{m.group(1)} {_sym_of(int(m.group(2)), dims)}", text)


# ----------------------------------------------------------------------------- hint summary
def error_mistake(error: str) -> str | None:
    """The catalogue id an error message proves by itself (an overflow in the extreme case)."""
    error = str(error or "")
    last = error.strip().splitlines()[-1] if error.strip() else ""
    if "FloatingPointError" in last and "overflow" in last:
        return "numerically_unstable"
    return None


# The location prefix verdict() puts before a catalogue hint ("right for the last step, ...; ")
# and the NaN prefix before the stability hint.
_WHERE = re.compile(r"^(right for |wrong at |off by one time step|contains NaN or inf)[^;]*; ")


def summarize_hints(checks: list[dict], n_cases: int) -> tuple[list[str], list[dict]]:
    """Rank a function's failed checks into hints: one per mistake, not one per output.

    ``checks``: the judge's check dicts ({"case", "check", "passed", "message", "mistake",
    "error"}). Returns (hints, mistakes): at most 6 hints, catalogued mistakes first, each with
    the outputs it shows in and the number of cases; and [{"id", "hint", "cases"}] for every
    catalogued mistake that explains at least one failed check.
    """
    groups: dict[str, dict] = {}
    for c in checks:
        if c.get("passed"):
            continue
        msg = c.get("message") or ""
        if c.get("check") == "inputs unchanged" and "modified" not in msg:
            continue        # "not credited"/"not checked" follow from the other failures
        mistake = c.get("mistake") or (error_mistake(c["error"]) if c.get("error") else None)
        output = c.get("check", "")
        is_error = bool(c.get("error"))
        text = msg
        if not is_error and output and msg.startswith(f"{output}: "):
            text = msg[len(output) + 2:]
        if mistake:
            # The catalogue hint without a per-output location prefix.
            key = f"mistake:{mistake}"
            if not is_error:
                text = _WHERE.sub("", text, count=1)
        else:
            key = "text:" + re.sub(r"\d+", "#", text)
        g = groups.setdefault(key, {"id": mistake, "text": text, "outputs": [], "cases": set(),
                                    "error": is_error or output == "inputs unchanged"})
        if output and output not in g["outputs"] and not g["error"]:
            g["outputs"].append(output)
        g["cases"].add(c.get("case", ""))
    ranked = sorted(groups.values(), key=lambda g: (g["id"] is None, -len(g["cases"]),
                                                    -len(g["outputs"])))
    hints = []
    for g in ranked:
        outs = g["outputs"]
        head = ""
        if outs:
            head = (", ".join(outs) if len(outs) <= 3 else f"{', '.join(outs[:2])} and "
                    f"{len(outs) - 2} more outputs") + ": "
        tail = "" if n_cases <= 1 else f" (in {len(g['cases'])} of {n_cases} cases)"
        hints.append(f"{head}{g['text']}{tail}")
    mistakes = [{"id": g["id"], "hint": g["text"], "cases": len(g["cases"])}
                for g in ranked if g["id"]]
    return hints[:6], mistakes
