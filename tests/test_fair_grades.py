"""Fair grades: checks that cannot be passed by accident, a catalogue that names the mistake,
hints that do not mislead on one-element outputs, no hidden sizes in feedback, numerically
unstable code caught, float32 graded at its own precision."""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from autograder import Limits, diagnose, grade
from autograder.judge import get_assignment
from autograder.specs import Case, Func
from autograder.synth import student_notebook

REPO = Path(__file__).resolve().parent.parent
MANIFEST = json.loads((REPO / "exercises" / "manifest.json").read_text())
ASSIGNMENTS = list(MANIFEST)
FAST = Limits(timeout_s=3.0, load_timeout_s=10.0)


def _inputs(prep) -> list[np.ndarray]:
    """Every array the judge sends in this case (arguments and upstream gradients)."""
    out = []

    def walk(v):
        if isinstance(v, np.ndarray):
            out.append(v)
        elif isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, list | tuple):
            for x in v:
                walk(x)
    walk(prep.args)
    walk(prep.douts)
    return out


def _checks():
    for a in ASSIGNMENTS:
        A = get_assignment(a)
        for f in A.points:
            for prep in A.prepared[f]:
                for name, ref in prep.expected.items():
                    yield a, f, A.specs[f], prep, name, np.asarray(ref)


# ----------------------------------------------------------------------------- item 4
def test_trivial_answers_fail_every_check():
    """All zeros, all ones and any input echoed back fail every check of every graded function."""
    n = 0
    for a, f, spec, prep, name, ref in _checks():
        sym = prep.shapes.get(name, "")
        trivial = {"zeros": np.zeros_like(ref), "ones": np.ones_like(ref)}
        for k, x in enumerate(_inputs(prep)):
            # (An input may be the right answer: clip_grad_norm below its threshold returns the
            # gradients unchanged; its total_norm check still fails an echo.)
            if x.shape == ref.shape and not np.array_equal(x, ref):
                trivial[f"input {k}"] = x.copy()
        for what, got in trivial.items():
            ok, msg, _ = diagnose.verdict(name, got, ref, sym, prep, spec)
            assert not ok, (a, f, prep.case.label, name, what)
            # float32 precision must not rescue a trivial answer either.
            ok32, _, _ = diagnose.verdict(name, got.astype(np.float32) if got.dtype.kind == "f"
                                          else got, ref, sym, prep, spec)
            assert not ok32, (a, f, prep.case.label, name, what, "float32")
            n += 1
    assert n > 500


def test_every_expected_value_is_well_above_the_tolerance():
    for a, f, _, prep, name, ref in _checks():
        if ref.dtype.kind == "f":
            # float64 tolerance is 1e-7 * max(1, |ref|), float32's 1e-5 * max(1, |ref|).
            assert np.abs(ref).max() >= 5e-4, (a, f, prep.case.label, name)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_not_implemented_scores_zero_on_every_check(tmp_path, assignment):
    fns = MANIFEST[assignment]["functions"]
    stub = {f: f"def {f}(*args, **kwargs):\n    raise NotImplementedError\n" for f in fns}
    nb = student_notebook(tmp_path / "stub.ipynb", fns, overrides=stub)
    r = grade(nb, assignment, limits=FAST)
    assert r["score"] == 0.0
    for f, fr in r["functions"].items():
        assert fr["passed"] == 0 and fr["checks"], f
        assert all(not c["passed"] for c in fr["checks"]), f
        assert any("not implemented" in h for h in fr["hints"]), (f, fr["hints"])


TRIVIAL_WRAPPER = '''
def {name}(*args, **kwargs):
    return _trivial(_ref_{name}(*args, **kwargs))
'''

TRIVIAL_HELPER = '''
import numpy as np

def _trivial(out):
    """The right structure with every array (and number) replaced by {value}; caches (tuples
    inside the result) untouched."""
    def fill(v):
        if isinstance(v, np.ndarray):
            return np.full_like(v, {value})
        if isinstance(v, float | int) and not isinstance(v, bool):
            return type(v)({value})
        if isinstance(v, dict):
            return {{k: fill(x) for k, x in v.items()}}
        if isinstance(v, list):
            return [fill(x) for x in v]
        return v
    if isinstance(out, tuple):
        return tuple(fill(v) if not isinstance(v, tuple) else v for v in out)
    return fill(out)
'''


@pytest.mark.slow
@pytest.mark.parametrize("value", [0, 1, None])
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_all_zeros_or_all_ones_of_the_right_structure_score_zero(tmp_path, assignment, value):
    """End to end: every graded function returns its reference's result with each array filled
    with 0 (or 1), the right structure and dtypes: no check, not even "inputs unchanged", passes.
    (value None: the same wrapper returning the reference's result unchanged gets full marks.)"""
    import solutions
    from autograder.synth import (
        _extra,  # the reference of a function not exported by solutions
        clean_source,
    )

    fns = MANIFEST[assignment]["functions"]
    refs = []
    for f in fns:
        fn = getattr(solutions, f, None) or _extra(f)
        refs.append(clean_source(fn).replace(f"def {f}(", f"def _ref_{f}(", 1))
    overrides = {f: TRIVIAL_WRAPPER.format(name=f) for f in fns}
    helper = TRIVIAL_HELPER.format(value=value)
    if value is None:
        helper = helper.replace("    def fill(v):\n", "    def fill(v):\n        return v\n", 1)
    nb = student_notebook(tmp_path / "trivial.ipynb", fns, overrides=overrides,
                          extra_cells=[helper, *refs])
    r = grade(nb, assignment, limits=FAST)
    if value is None:
        assert r["score"] == r["max_score"], {f: v["hints"] for f, v in r["functions"].items()}
        return
    for f, fr in r["functions"].items():
        assert fr["checks"] and fr["passed"] == 0, (f, [c for c in fr["checks"] if c["passed"]])
    assert r["score"] == 0.0


# ----------------------------------------------------------------------------- item 3
def test_catalogue_ids_are_stable_slugs_and_each_mistake_is_detectable():
    for a in ASSIGNMENTS:
        A = get_assignment(a)
        for f in A.points:
            spec = A.specs[f]
            hints_by_id: dict[str, set] = {}
            for m in spec.mistakes:
                assert re.fullmatch(r"[a-z0-9_]+", m.id), m.id
                hints_by_id.setdefault(m.id, set()).add(m.hint)
                assert not re.search(r"\d\.\d", m.hint), m.hint      # never a value
            assert all(len(h) == 1 for h in hints_by_id.values()), (f, hints_by_id)
            for k, m in enumerate(spec.mistakes):
                named = 0
                for prep in A.prepared[f]:
                    mid, hint, outputs = list(diagnose._mistakes(prep, spec))[k]
                    assert mid == m.id
                    for name, value in outputs.items():
                        ref = np.asarray(prep.expected[name])
                        value = np.asarray(value, dtype=float)
                        if value.shape != ref.shape or diagnose.close(value, ref):
                            continue
                        ok, msg, got_id = diagnose.verdict(name, value, ref,
                                                           prep.shapes.get(name, ""), prep, spec)
                        assert not ok
                        named += got_id == m.id
                assert named, (a, f, m.id, "never distinguishable from the reference")


def _prep(label: str, dims: dict, mistakes=()) -> SimpleNamespace:
    return SimpleNamespace(case=Case(label, dims), mistakes=list(mistakes))


def test_one_element_outputs_get_no_scale_sign_or_transpose_hint():
    spec = Func(reference=None)
    prep = _prep("edge case N=1, T=1, H=1", {"N": 1, "T": 1, "H": 1})
    for got, ref in [(np.array([[2.0]]), np.array([[0.5]])), (np.array([[-0.5]]), np.array([[0.5]])),
                     (np.array([3.0]), np.array([1.0]))]:
        ok, msg, mid = diagnose.verdict("dh0", got, ref, "N H", prep, spec)
        assert not ok and mid is None
        assert "factor" not in msg and "sign" not in msg and "transpose" not in msg, msg
    # The same mistakes on larger arrays are named.
    ref = np.arange(1.0, 7.0).reshape(2, 3)
    prep = _prep("fixed case", {"N": 2, "H": 3})
    assert diagnose.verdict("h", -ref, ref, "N H", prep, spec)[2] == "sign_error"
    assert diagnose.verdict("h", 3 * ref, ref, "N H", prep, spec)[2] == "scaled"


def test_hints_one_per_mistake_not_one_per_output():
    checks = []
    for case in ("fixed case", "random case 1"):
        for out in ("dx", "dh0", "dWx", "dWh", "db"):
            checks.append({"case": case, "check": out, "passed": False, "mistake": "no_tanh_derivative",
                           "message": f"{out}: right for the last step, wrong before; missing tanh'",
                           "error": None})
        checks.append({"case": case, "check": "inputs unchanged", "passed": False, "mistake": None,
                       "message": "not credited: no output of this case was right", "error": None})
    checks.append({"case": "edge case", "check": "dx", "passed": False, "mistake": None,
                   "message": "dx: values wrong (shape (N, T, D) ok)", "error": None})
    hints, mistakes = diagnose.summarize_hints(checks, 5)
    assert len(hints) == 2
    assert hints[0] == "dx, dh0 and 3 more outputs: missing tanh' (in 2 of 5 cases)"
    assert mistakes == [{"id": "no_tanh_derivative", "hint": "missing tanh'", "cases": 2}]
    # A catalogue hint that contains "; " itself is kept whole.
    hint = "the candidate g uses a sigmoid: g = tanh(a_g); only i, f and o are sigmoids"
    checks = [{"case": "fixed case", "check": "h", "passed": False, "mistake": "g_sigmoid",
               "message": f"h: right for the first step, wrong from step 2 on; {hint}", "error": None},
              {"case": "random case 1", "check": "h", "passed": False, "mistake": "g_sigmoid",
               "message": f"h: {hint}", "error": None}]
    assert diagnose.summarize_hints(checks, 5)[1] == [{"id": "g_sigmoid", "hint": hint, "cases": 2}]


# ----------------------------------------------------------------------------- item 7
def test_shapes_and_time_steps_never_show_hidden_sizes():
    dims = {"N": 3, "T": 6, "D": 5, "H": 4}
    spec = Func(reference=None, backward_in_time=True)
    prep = _prep("random case 1", dims)
    ref = np.random.default_rng(0).standard_normal((3, 6, 4))
    # wrong shape, with a size shared by nobody and a size shared by two symbols
    ok, msg, _ = diagnose.verdict("h", np.zeros((3, 7, 4)), ref, "N T H", prep, spec)
    assert not ok and not re.search(r"\d", msg), msg
    # wrong at the first 4 steps of a backward pass: counted from the end, T never named
    got = ref.copy()
    got[:, :4] += 1.0
    ok, msg, _ = diagnose.verdict("dx", got, ref, "N T H", prep, spec)
    assert "last 2 steps" in msg and "6" not in msg and "T=" not in msg, msg
    got = ref.copy()
    got[:, ::2] += 1.0
    msg = diagnose.verdict("dx", got, ref, "N T H", prep, spec)[1]
    assert "of 6" not in msg and not re.search(r"\d", msg), msg


@pytest.mark.parametrize("text,dims,want", [
    ("ValueError: operands could not be broadcast together with shapes (3,5) (5,3) ",
     {"N": 3, "T": 4, "H": 5}, "shapes (N,H) (H,N)"),
    ("ValueError: matmul: size 5 is different from 3", {"N": 3, "T": 3, "H": 5},
     "size H is different from a size"),
    ("IndexError: index 7 is out of bounds for axis 0 with size 7", {"N": 2, "V": 7},
     "index V is out of bounds for axis 0 with size V"),
])
def test_student_exception_text_is_rewritten_with_symbols(text, dims, want):
    out = diagnose.explain_error("Traceback (most recent call last):\n  line 3\n" + text, dims)
    assert want in out, out


def test_exception_text_in_a_graded_notebook_has_no_hidden_sizes(tmp_path):
    fns = MANIFEST["01_rnn"]["functions"]
    bad = ("def rnn_step_forward(x, prev_h, Wx, Wh, b):\n"
           "    return np.tanh(x @ Wh + prev_h @ Wx + b), None\n")
    nb = student_notebook(tmp_path / "shapes.ipynb", fns, overrides={"rnn_step_forward": bad})
    r = grade(nb, "01_rnn", limits=FAST)
    fr = r["functions"]["rnn_step_forward"]
    assert fr["score"] == 0
    for h in fr["hints"]:
        msg = h.split(" (in ")[0]
        assert not re.search(r"\(\d|\d\)|size \d", msg), h


# ----------------------------------------------------------------------------- items 4 and 6
NAIVE_SOFTMAX_LOSS = '''
def temporal_softmax_loss(x, y, mask):
    N, T, V = x.shape
    p = np.exp(x)
    p = p / p.sum(axis=2, keepdims=True)
    m = mask.astype(float)
    logp = np.log(np.take_along_axis(p, y[..., None], axis=2)[..., 0])
    loss = -(m * logp).sum() / N
    dx = p.copy()
    np.put_along_axis(dx, y[..., None], np.take_along_axis(dx, y[..., None], axis=2) - 1, axis=2)
    return loss, dx * m[..., None] / N
'''

CS231N_SOFTMAX_LOSS = '''
def temporal_softmax_loss(x, y, mask):
    N, T, V = x.shape
    x_flat, y_flat, mask_flat = x.reshape(N * T, V), y.reshape(N * T), mask.reshape(N * T)
    probs = np.exp(x_flat - np.max(x_flat, axis=1, keepdims=True))
    probs /= np.sum(probs, axis=1, keepdims=True)
    loss = -np.sum(mask_flat * np.log(probs[np.arange(N * T), y_flat])) / N
    dx_flat = probs.copy()
    dx_flat[np.arange(N * T), y_flat] -= 1
    dx_flat /= N
    dx_flat *= mask_flat[:, None]
    return loss, dx_flat.reshape(N, T, V)
'''


NAIVE_SIGMOID = '''
def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))
'''


def test_softmax_without_max_shift_fails_with_a_stability_hint(tmp_path):
    fns = MANIFEST["01_rnn"]["functions"]
    nb = student_notebook(tmp_path / "naive.ipynb", fns,
                          overrides={"temporal_softmax_loss": NAIVE_SOFTMAX_LOSS})
    r = grade(nb, "01_rnn", limits=FAST)
    fr = r["functions"]["temporal_softmax_loss"]
    assert 0 < fr["score"] < fr["max_score"]
    assert any("numerically stable" in h for h in fr["hints"]), fr["hints"]
    assert [m["id"] for m in fr["mistakes"]] == ["numerically_unstable"]
    assert sum(v["score"] for k, v in r["functions"].items() if k != "temporal_softmax_loss") == \
        sum(v for k, v in fns.items() if k != "temporal_softmax_loss")


def test_a_correct_loss_written_as_log_of_probabilities_keeps_full_marks(tmp_path):
    """CS231n's own form (shift, normalise, then log of the picked probability) is correct; the
    extreme case must catch a missing max shift, not the underflow of a tiny probability."""
    fns = MANIFEST["01_rnn"]["functions"]
    nb = student_notebook(tmp_path / "cs231n.ipynb", fns,
                          overrides={"temporal_softmax_loss": CS231N_SOFTMAX_LOSS})
    r = grade(nb, "01_rnn", limits=FAST)
    fr = r["functions"]["temporal_softmax_loss"]
    assert fr["score"] == fr["max_score"], fr["hints"]


def test_naive_sigmoid_fails_with_a_stability_hint(tmp_path):
    fns = MANIFEST["03_lstm"]["functions"]
    nb = student_notebook(tmp_path / "naive.ipynb", fns, overrides={"sigmoid": NAIVE_SIGMOID})
    r = grade(nb, "03_lstm", limits=FAST)
    fr = r["functions"]["lstm_step_forward"]
    assert 0 < fr["score"] < fr["max_score"]
    assert any("numerically stable" in h for h in fr["hints"]), fr["hints"]
    assert "numerically_unstable" in [m["id"] for m in fr["mistakes"]]
    # Backward passes are graded on cases of moderate size: no overflow, full marks.
    assert r["functions"]["lstm_step_backward"]["score"] == fns["lstm_step_backward"]


FLOAT32_CASE = Path(__file__).parent / "cases" / "float32-precision" / "01_rnn.ipynb"


def test_float32_student_gets_full_credit_within_float32_precision(tmp_path):
    fns = MANIFEST["01_rnn"]["functions"]
    step_fwd = ("def rnn_step_forward(x, prev_h, Wx, Wh, b):\n"
                "    x, prev_h, Wx, Wh, b = (a.astype(np.float32) for a in (x, prev_h, Wx, Wh, b))\n"
                "    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)\n"
                "    return next_h, (x, prev_h, Wx, Wh, next_h)\n")
    step_bwd = ("def rnn_step_backward(dnext_h, cache):\n"
                "    x, prev_h, Wx, Wh, next_h = (a.astype(np.float32) for a in cache)\n"
                "    da = dnext_h.astype(np.float32) * (1 - next_h ** 2)\n"
                "    return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0)\n")
    wrong = step_bwd.replace("da.sum(axis=0)", "da.sum(axis=0) + 1.0")
    nb = student_notebook(tmp_path / "f32.ipynb", fns,
                          overrides={"rnn_step_forward": step_fwd, "rnn_step_backward": step_bwd})
    r = grade(nb, "01_rnn", limits=FAST)
    for f in ("rnn_step_forward", "rnn_step_backward"):
        assert r["functions"][f]["score"] == fns[f], r["functions"][f]["hints"]
    nb = student_notebook(tmp_path / "f32w.ipynb", fns,
                          overrides={"rnn_step_forward": step_fwd, "rnn_step_backward": wrong})
    fr = grade(nb, "01_rnn", limits=FAST)["functions"]["rnn_step_backward"]
    assert fr["score"] < fns["rnn_step_backward"]
    assert any(h.startswith("db: ") and "float32" in h for h in fr["hints"]), fr["hints"]


@pytest.mark.skipif(not FLOAT32_CASE.exists(), reason="shared case not available")
def test_shared_float32_case_gets_full_credit():
    r = grade(FLOAT32_CASE, "01_rnn", limits=FAST)
    for f in ("rnn_step_forward", "rnn_step_backward"):
        fr = r["functions"][f]
        assert fr["score"] == fr["max_score"], fr["hints"]


def test_gradient_checker_refuses_float32():
    from course_helpers.gradcheck import eval_numerical_gradient_array

    x32 = np.ones((2, 3), dtype=np.float32)
    with pytest.raises(ValueError, match="float64"):
        eval_numerical_gradient_array(lambda a: a * 2, x32, np.ones((2, 3)))
    g = eval_numerical_gradient_array(lambda a: a * 2, x32.astype(np.float64), np.ones((2, 3)))
    assert np.allclose(g, 2.0)
