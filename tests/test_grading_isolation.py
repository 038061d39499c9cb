"""Each function graded on its own: dependencies answered by the judge's references, backward
passes on the reference forward's cache, the student's whole chain reported without points, and
the chain's failures attributed to the dependency at fault (issue 11, items 1 and 2)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from autograder import Limits, grade
from autograder.synth import student_notebook

REPO = Path(__file__).resolve().parent.parent
MANIFEST = json.loads((REPO / "exercises" / "manifest.json").read_text())
RNN = MANIFEST["01_rnn"]["functions"]
LSTM = MANIFEST["03_lstm"]["functions"]
FAST = Limits(timeout_s=2.0, load_timeout_s=10.0)

# A CS231n-style student: the sequence functions call the step functions, caches as documented.
RNN_STEP_FORWARD = '''
def rnn_step_forward(x, prev_h, Wx, Wh, b):
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    return next_h, (x, prev_h, Wx, Wh, next_h)
'''
RNN_STEP_BACKWARD = '''
def rnn_step_backward(dnext_h, cache):
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h ** 2)
    return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0)
'''
RNN_FORWARD = '''
def rnn_forward(x, h0, Wx, Wh, b):
    N, T, D = x.shape
    h = np.zeros((N, T, h0.shape[1]))
    prev_h = h0
    for t in range(T):
        prev_h, _ = rnn_step_forward(x[:, t], prev_h, Wx, Wh, b)
        h[:, t] = prev_h
    return h, (x, h0, Wx, Wh, h)
'''
RNN_BACKWARD = '''
def rnn_backward(dh, cache):
    x, h0, Wx, Wh, h = cache
    N, T, H = dh.shape
    dx = np.zeros(x.shape)
    dWx, dWh, db = np.zeros(Wx.shape), np.zeros(Wh.shape), np.zeros(H)
    dprev_h = np.zeros(h0.shape)
    for t in reversed(range(T)):
        prev_h = h[:, t - 1] if t > 0 else h0
        dx[:, t], dprev_h, dWx_t, dWh_t, db_t = rnn_step_backward(
            dh[:, t] + dprev_h, (x[:, t], prev_h, Wx, Wh, h[:, t]))
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    return dx, dprev_h, dWx, dWh, db
'''
CS231N_RNN = {"rnn_step_forward": RNN_STEP_FORWARD, "rnn_step_backward": RNN_STEP_BACKWARD,
              "rnn_forward": RNN_FORWARD, "rnn_backward": RNN_BACKWARD}

# Step caches kept in a list: a structure other than the documented (x, h0, Wx, Wh, h).
RNN_FORWARD_LIST_CACHE = '''
def rnn_forward(x, h0, Wx, Wh, b):
    N, T, D = x.shape
    h = np.zeros((N, T, h0.shape[1]))
    prev_h, caches = h0, []
    for t in range(T):
        prev_h, step_cache = rnn_step_forward(x[:, t], prev_h, Wx, Wh, b)
        h[:, t] = prev_h
        caches.append(step_cache)
    return h, caches
'''
RNN_BACKWARD_LIST_CACHE = '''
def rnn_backward(dh, cache):
    N, T, H = dh.shape
    x0, h0, Wx, Wh, _ = cache[0]
    dx = np.zeros((N, T, x0.shape[1]))
    dWx, dWh, db = np.zeros(Wx.shape), np.zeros(Wh.shape), np.zeros(H)
    dprev_h = np.zeros((N, H))
    for t in reversed(range(T)):
        dx[:, t], dprev_h, dWx_t, dWh_t, db_t = rnn_step_backward(dh[:, t] + dprev_h, cache[t])
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    return dx, dprev_h, dWx, dWh, db
'''


def rnn_student(tmp_path: Path, name: str, **changes: str) -> Path:
    overrides = dict(CS231N_RNN)
    overrides.update(changes)
    return student_notebook(tmp_path / f"{name}.ipynb", RNN, overrides=overrides)


def assert_only(r: dict, buggy: str) -> None:
    """The buggy function loses points; every other function keeps full marks."""
    for f, fr in r["functions"].items():
        if f == buggy:
            assert fr["score"] < fr["max_score"], (f, fr["hints"])
        else:
            assert fr["score"] == fr["max_score"], (f, fr["hints"])
            assert fr["graded_with"] == "reference dependencies"


def test_cs231n_style_student_gets_full_marks_alone_and_in_chain(tmp_path):
    r = grade(rnn_student(tmp_path, "ok"), "01_rnn", limits=FAST)
    assert r["score"] == r["max_score"] == sum(RNN.values())
    fr = r["functions"]
    assert fr["rnn_step_forward"]["chain"] is None          # it calls no graded function
    for f in ("rnn_step_backward", "rnn_forward", "rnn_backward"):
        chain = fr[f]["chain"]
        assert chain["status"] == "passed" and chain["passed"] == chain["total"] > 0, chain
        assert chain["hints"] == []


def test_sigmoid_in_rnn_step_forward_costs_only_rnn_step_forward(tmp_path):
    buggy = RNN_STEP_FORWARD.replace("np.tanh(x @ Wx + prev_h @ Wh + b)",
                                     "1 / (1 + np.exp(-(x @ Wx + prev_h @ Wh + b)))")
    r = grade(rnn_student(tmp_path, "sigmoid", rnn_step_forward=buggy), "01_rnn", limits=FAST)
    assert_only(r, "rnn_step_forward")
    fr = r["functions"]
    # The chain shows the cascade and names the step function that breaks it.
    for f in ("rnn_forward", "rnn_step_backward", "rnn_backward"):
        chain = fr[f]["chain"]
        assert chain["status"] != "passed" and chain["passed"] < chain["total"], (f, chain)
        assert any("rnn_step_forward" in h and "is right on its own" in h
                   for h in chain["hints"]), (f, chain["hints"])


def test_wrong_rnn_step_backward_is_named_in_rnn_backward_chain(tmp_path):
    buggy = RNN_STEP_BACKWARD.replace("da = dnext_h * (1 - next_h ** 2)", "da = dnext_h")
    r = grade(rnn_student(tmp_path, "notanh", rnn_step_backward=buggy), "01_rnn", limits=FAST)
    assert_only(r, "rnn_step_backward")
    fr = r["functions"]
    assert fr["rnn_backward"]["hints"] == []                 # never blamed for its dependency
    chain = fr["rnn_backward"]["chain"]
    assert chain["status"] != "passed"
    assert any("rnn_backward is right on its own; your rnn_step_backward fails its own checks" in h
               for h in chain["hints"]), chain["hints"]
    assert fr["rnn_forward"]["chain"]["status"] == "passed"


LSTM_STEP_FORWARD_IFGO = '''
def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    sig = lambda z: 1 / (1 + np.exp(-z))
    i, f = sig(a[:, :H]), sig(a[:, H:2 * H])
    g, o = np.tanh(a[:, 2 * H:3 * H]), sig(a[:, 3 * H:])      # PyTorch's order, not CS231n's
    next_c = f * prev_c + i * g
    tanh_c = np.tanh(next_c)
    next_h = o * tanh_c
    return next_h, next_c, (x, prev_h, prev_c, Wx, Wh, i, f, o, g, tanh_c)
'''
LSTM_FORWARD_CALLS_STEP = '''
def lstm_forward(x, h0, Wx, Wh, b):
    N, T, D = x.shape
    H = h0.shape[1]
    h, c, gates = np.zeros((N, T, H)), np.zeros((N, T, H)), np.zeros((N, T, 4 * H))
    prev_h, prev_c = h0, np.zeros_like(h0)
    for t in range(T):
        prev_h, prev_c, step = lstm_step_forward(x[:, t], prev_h, prev_c, Wx, Wh, b)
        h[:, t], c[:, t] = prev_h, prev_c
        gates[:, t] = np.concatenate(step[5:9], axis=1)
    return h, (x, h0, Wx, Wh, h, c, gates)
'''


def test_lstm_gate_order_in_step_forward_costs_only_that_function(tmp_path):
    nb = student_notebook(tmp_path / "ifgo.ipynb", LSTM,
                          overrides={"lstm_step_forward": LSTM_STEP_FORWARD_IFGO,
                                     "lstm_forward": LSTM_FORWARD_CALLS_STEP})
    r = grade(nb, "03_lstm", limits=FAST)
    assert_only(r, "lstm_step_forward")
    assert r["score"] > r["max_score"] - LSTM["lstm_step_forward"] - 1e-9
    fr = r["functions"]
    assert fr["lstm_forward"]["chain"]["status"] != "passed"
    assert any("lstm_step_forward" in h for h in fr["lstm_forward"]["chain"]["hints"])
    assert fr["lstm_step_backward"]["chain"]["status"] != "passed"      # on its own cache


def test_hanging_forward_is_named_and_backward_keeps_its_marks(tmp_path):
    hang = "def rnn_forward(x, h0, Wx, Wh, b):\n    while True:\n        pass\n"
    nb = rnn_student(tmp_path, "hang", rnn_forward=hang)
    r = grade(nb, "01_rnn", limits=Limits(timeout_s=0.5, load_timeout_s=10.0))
    fr = r["functions"]
    assert fr["rnn_forward"]["score"] == 0
    assert fr["rnn_forward"]["errors"] == {"timeout": len({c["case"] for c in fr["rnn_forward"]["checks"]})}
    assert {c["error"] for c in fr["rnn_forward"]["checks"]} == {"timeout"}
    assert fr["rnn_backward"]["score"] == fr["rnn_backward"]["max_score"]
    assert fr["rnn_backward"]["chain"]["hints"] == [
        "rnn_forward did not finish within the time limit, so rnn_backward could not be checked "
        "with your chain"]
    assert fr["rnn_backward"]["chain"]["status"] == "not run"


def test_hanging_step_forward_is_named_in_the_sequence_chain(tmp_path):
    hang = "def rnn_step_forward(x, prev_h, Wx, Wh, b):\n    while True:\n        pass\n"
    nb = rnn_student(tmp_path, "hangstep", rnn_step_forward=hang)
    r = grade(nb, "01_rnn", limits=Limits(timeout_s=0.5, load_timeout_s=10.0))
    fr = r["functions"]
    assert fr["rnn_forward"]["score"] == fr["rnn_forward"]["max_score"]
    assert fr["rnn_forward"]["chain"]["hints"][0].startswith(
        "rnn_step_forward did not finish within the time limit, so rnn_forward could not")


def test_raising_dependency_is_named_in_the_chain(tmp_path):
    broken = RNN_STEP_BACKWARD.replace("x, prev_h, Wx, Wh, next_h = cache",
                                       "raise NotImplementedError")
    r = grade(rnn_student(tmp_path, "raise", rnn_step_backward=broken), "01_rnn", limits=FAST)
    assert_only(r, "rnn_step_backward")
    step = r["functions"]["rnn_step_backward"]
    assert step["errors"] == {"not_implemented": len({c["case"] for c in step["checks"]})}
    hints = r["functions"]["rnn_backward"]["chain"]["hints"]
    assert hints and hints[0].startswith("your rnn_step_backward raised an error (not implemented"), hints


def test_missing_dependency_is_named_in_the_chain(tmp_path):
    nb = student_notebook(tmp_path / "nostep.ipynb", RNN, overrides=CS231N_RNN,
                          drop=["rnn_step_forward"])
    r = grade(nb, "01_rnn", limits=FAST)
    fr = r["functions"]
    assert fr["rnn_step_forward"]["status"] == "missing"
    assert fr["rnn_forward"]["score"] == fr["rnn_forward"]["max_score"]
    assert fr["rnn_forward"]["chain"]["hints"] == [
        "your notebook has no rnn_step_forward, so rnn_forward could not be checked with your chain"]


def test_cache_of_another_structure_falls_back_to_the_students_chain(tmp_path):
    nb = rnn_student(tmp_path, "listcache", rnn_forward=RNN_FORWARD_LIST_CACHE,
                     rnn_backward=RNN_BACKWARD_LIST_CACHE)
    r = grade(nb, "01_rnn", limits=FAST)
    assert r["score"] == r["max_score"]                       # a consistent chain: full marks
    fr = r["functions"]["rnn_backward"]
    assert fr["graded_with"].startswith("your cache differs from the documented structure (")
    assert fr["graded_with"].endswith(
        "so rnn_backward was checked on the cache of your own rnn_forward (its rnn_step_forward "
        "answered by the reference) and the reference rnn_step_backward")
    assert fr["hints"][0] == fr["graded_with"]
    assert r["functions"]["rnn_step_backward"]["graded_with"] == "reference dependencies"


@pytest.mark.parametrize("bug", ["step_backward", "step_forward"])
def test_list_of_step_caches_still_charges_a_step_bug_to_the_step_function_only(tmp_path, bug):
    """CS231n's own layout (rnn_forward keeps a list of step caches) must not turn a bug in a
    step function into a second loss in the correct rnn_backward."""
    if bug == "step_backward":
        broken = {"rnn_step_backward": RNN_STEP_BACKWARD.replace("da = dnext_h * (1 - next_h ** 2)", "da = dnext_h")}
        buggy = "rnn_step_backward"
    else:
        broken = {"rnn_step_forward": "def rnn_step_forward(x, prev_h, Wx, Wh, b):\n"
                  "    next_h = 1 / (1 + np.exp(-(x @ Wx + prev_h @ Wh + b)))\n"
                  "    return next_h, (x, prev_h, Wx, Wh, next_h)\n"}
        buggy = "rnn_step_forward"
    nb = rnn_student(tmp_path, f"list-{bug}", rnn_forward=RNN_FORWARD_LIST_CACHE,
                     rnn_backward=RNN_BACKWARD_LIST_CACHE, **broken)
    r = grade(nb, "01_rnn", limits=FAST)
    fr = r["functions"]
    assert fr[buggy]["score"] < fr[buggy]["max_score"]
    for f in ("rnn_forward", "rnn_backward"):
        assert fr[f]["score"] == fr[f]["max_score"], (f, fr[f]["hints"])
    assert fr["rnn_backward"]["graded_with"] != "reference dependencies"


def test_fallback_chain_charges_the_students_forward_bug(tmp_path):
    # Documented structure: a buggy forward does not cost the backward anything...
    wrong_sign = RNN_FORWARD.replace("h[:, t] = prev_h", "h[:, t] = -prev_h")
    r = grade(rnn_student(tmp_path, "doc", rnn_forward=wrong_sign), "01_rnn", limits=FAST)
    assert_only(r, "rnn_forward")
    # ... another structure: the backward is checked on the student's own (wrong) cache.
    wrong_list = RNN_FORWARD_LIST_CACHE.replace("caches.append(step_cache)",
                                                "caches.append((2 * step_cache[0],) + step_cache[1:])")
    r = grade(rnn_student(tmp_path, "list", rnn_forward=wrong_list,
                          rnn_backward=RNN_BACKWARD_LIST_CACHE), "01_rnn", limits=FAST)
    fr = r["functions"]["rnn_backward"]
    assert fr["graded_with"] != "reference dependencies" and fr["score"] < fr["max_score"]


# A graded function that looks for the references through everything the proxy exposes.
SNOOP = '''
def _snoop(fn):
    import gc, sys
    found = []
    for mod in ("solutions", "autograder.judge"):
        if hasattr(sys.modules.get(mod), "__file__") and getattr(sys.modules[mod], "__file__"):
            found.append("module")
    try:
        import solutions
        if hasattr(solutions, "rnn_step_forward"):     # (an empty hidden folder imports as nothing)
            found.append("import")
    except ImportError:
        pass
    cells = getattr(fn, "__closure__", None) or ()
    for cell in cells:
        try:
            v = cell.cell_contents
        except ValueError:
            continue
        if getattr(v, "__module__", "") and str(getattr(v, "__module__", "")).startswith("solutions"):
            found.append("closure")
    for name, v in list(getattr(fn, "__globals__", {}).items()):
        if str(getattr(v, "__module__", "") or "").startswith("solutions") or name == "solutions":
            found.append("globals")
    if str(getattr(fn, "__module__", "") or "").startswith("solutions"):
        found.append("module of the function")
    for obj in gc.get_objects():
        if callable(obj) and str(getattr(obj, "__module__", "") or "").startswith("solutions"):
            found.append("gc")
            break
    return found
'''
RNN_FORWARD_SNOOPING = SNOOP + RNN_FORWARD.replace(
    "    N, T, D = x.shape\n",
    "    found = _snoop(rnn_step_forward)\n    if found:\n        raise RuntimeError(str(found))\n"
    "    N, T, D = x.shape\n")


def _other_copies_of_the_references() -> list[str]:
    """Where an isolated interpreter of this venv imports solutions from, if not this checkout
    (a git worktree whose venv points at the main checkout): the sandbox must hide it too."""
    out = subprocess.run([sys.executable, "-I", "-c", "import solutions, os; "
                          "print(os.path.dirname(os.path.dirname(solutions.__file__)))"],
                         capture_output=True, text=True, cwd="/")
    root = out.stdout.strip()
    if out.returncode or not root or Path(root).resolve() == REPO:
        return []
    return [str(Path(root) / "solutions"), str(Path(root) / "autograder")]


def test_the_worker_never_receives_reference_code(tmp_path, monkeypatch):
    # The snooping function does find the reference when it has it (here, in the judge's process).
    import solutions

    extra = _other_copies_of_the_references()
    if extra:
        monkeypatch.setenv("AUTOGRADER_HIDE", os.pathsep.join(extra))

    ns = {"np": np}
    exec(SNOOP, ns)
    assert ns["_snoop"](solutions.rnn_step_forward)
    # In the worker, the dependency it calls is answered by the judge: nothing to find.
    r = grade(rnn_student(tmp_path, "snoop", rnn_forward=RNN_FORWARD_SNOOPING), "01_rnn",
              limits=FAST)
    fr = r["functions"]["rnn_forward"]
    assert fr["score"] == fr["max_score"], fr["hints"]
    assert fr["chain"]["status"] == "passed"


def test_a_wrong_call_of_a_dependency_raises_the_references_error_in_the_students_code(tmp_path):
    swapped = RNN_FORWARD.replace("rnn_step_forward(x[:, t], prev_h, Wx, Wh, b)",
                                  "rnn_step_forward(x[:, t], prev_h, Wh, Wx, b)")
    r = grade(rnn_student(tmp_path, "swap", rnn_forward=swapped), "01_rnn", limits=FAST)
    fr = r["functions"]["rnn_forward"]
    failed = [c for c in fr["checks"] if not c["passed"] and c["check"] != "inputs unchanged"]
    assert failed and all(c["error"] == "exception" for c in failed)
    assert any("ValueError" in c["message"] for c in failed), failed[0]["message"]


def test_result_format(tmp_path):
    buggy = RNN_STEP_BACKWARD.replace("da = dnext_h * (1 - next_h ** 2)", "da = dnext_h")
    r = grade(rnn_student(tmp_path, "fmt", rnn_step_backward=buggy), "01_rnn", limits=FAST)
    assert isinstance(r["grader_version"], str) and r["grader_version"]
    for fr in r["functions"].values():
        assert {"score", "max_score", "passed", "total", "status", "hints", "checks", "mistakes",
                "unexplained", "errors", "chain", "graded_with"} <= set(fr)
        for c in fr["checks"]:
            assert set(c) == {"case", "check", "passed", "message", "mistake", "error"}
            assert c["error"] in (None, "exception", "timeout", "crash", "limit", "not_implemented")
        for m in fr["mistakes"]:
            assert set(m) == {"id", "hint", "cases"}
        assert isinstance(fr["unexplained"], bool) and isinstance(fr["errors"], dict)
        if fr["chain"] is not None:
            assert set(fr["chain"]) == {"passed", "total", "status", "hints"}
    step = r["functions"]["rnn_step_backward"]
    assert step["mistakes"] and step["mistakes"][0]["cases"] >= 1
    assert not step["unexplained"]
    # The student's feedback carries both views: the score alone, the chain as information.
    from autograder.report import feedback_json

    fb = feedback_json(r)["functions"]["rnn_backward"]
    assert fb["chain"] == r["functions"]["rnn_backward"]["chain"] and fb["chain"]["status"] != "passed"
    assert fb["graded_with"] == "reference dependencies" and fb["score"] == fb["max_score"]


def test_dependency_answers_are_plain_arrays():
    """The judge's answer to a dependency call: only arrays, numbers and containers."""
    from autograder.judge import answer_dependency

    x = np.ones((2, 3))
    arrays = [x, np.ones((2, 4)), np.ones((3, 4)), np.ones((4, 4)), np.ones(4)]
    req = {"dep": "rnn_step_forward", "args": [{"$a": i} for i in range(5)], "kwargs": {"$d": {}}}
    header, out = answer_dependency(req, arrays, ["rnn_step_forward"])
    assert header["ok"]
    assert header["result"] == {"$t": [{"$a": 0}, {"$t": [{"$a": k} for k in range(1, 6)]}]}
    assert all(isinstance(a, np.ndarray) for a in out)
    # A name not bound for this call, and arguments that are not arrays, are refused.
    assert not answer_dependency(dict(req, dep="rnn_backward"), arrays, ["rnn_step_forward"])[0]["ok"]
    bad = dict(req, args=[{"$err": "a str, not a numpy array"}])
    assert answer_dependency(bad, arrays, ["rnn_step_forward"])[0]["etype"] == "TypeError"
    wrong = dict(req, args=[{"$a": 2}, {"$a": 1}, {"$a": 0}, {"$a": 3}, {"$a": 4}])
    assert answer_dependency(wrong, arrays, ["rnn_step_forward"])[0]["etype"] == "ValueError"


@pytest.mark.parametrize("assignment", ["03_lstm", "04_gru", "05_attention", "02_bptt"])
def test_reference_notebooks_pass_alone_and_in_chain(tmp_path, assignment):
    functions = MANIFEST[assignment]["functions"]
    r = grade(student_notebook(tmp_path / f"{assignment}.ipynb", functions), assignment,
              limits=FAST)
    assert r["score"] == r["max_score"]
    for f, fr in r["functions"].items():
        assert fr["chain"] is None or fr["chain"]["status"] == "passed", (f, fr["chain"])


def test_captioning_keeps_its_marks_when_attention_is_wrong(tmp_path):
    """The captioning loss and sampler call attention_forward: answered by the reference alone,
    the student's own (wrong) one in the chain, which names it."""
    functions = MANIFEST["05_attention"]["functions"]
    from autograder.synth import function_sources

    src = function_sources(["attention_forward"])["attention_forward"]
    wrong_axis = src.replace("alpha /= alpha.sum(axis=1, keepdims=True)",
                             "alpha /= alpha.sum(axis=0, keepdims=True)")
    assert wrong_axis != src
    nb = student_notebook(tmp_path / "att.ipynb", functions,
                          overrides={"attention_forward": wrong_axis})
    r = grade(nb, "05_attention", limits=FAST)
    fr = r["functions"]
    assert fr["attention_forward"]["score"] < fr["attention_forward"]["max_score"]
    for f in ("captioning_loss", "captioning_sample"):
        assert fr[f]["score"] == fr[f]["max_score"], (f, fr[f]["hints"])
        chain = fr[f]["chain"]
        assert chain["status"] != "passed"
        assert any("your attention_forward fails its own checks" in h for h in chain["hints"]), chain


def test_a_kept_stand_in_answers_nothing_outside_its_call(tmp_path):
    """A stand-in kept past its call (here used by another function) gets an error, not a hang,
    and an oversized dependency call is refused: the judge never waits on the worker's proxy."""
    keeper = RNN_FORWARD.replace("    N, T, D = x.shape\n",
                                 "    global KEPT\n    KEPT = rnn_step_forward\n    N, T, D = x.shape\n")
    thief = ("def temporal_softmax_loss(x, y, mask):\n"
             "    return KEPT(x[:, 0], x[:, 0], x[0], x[0], x[0, 0])\n")
    big = RNN_BACKWARD.replace("x, h0, Wx, Wh, h = cache",
                               "x, h0, Wx, Wh, h = cache\n"
                               "    rnn_step_backward(np.zeros((1100, 1000)), cache)")
    r = grade(rnn_student(tmp_path, "keep", rnn_forward=keeper, rnn_backward=RNN_BACKWARD,
                          temporal_softmax_loss=thief), "01_rnn", limits=FAST)
    fr = r["functions"]
    assert fr["rnn_forward"]["score"] == fr["rnn_forward"]["max_score"]
    loss = fr["temporal_softmax_loss"]
    assert loss["score"] == 0 and {c["error"] for c in loss["checks"]} == {"exception"}
    assert "not answered by the grader here" in loss["checks"][0]["message"]
    r = grade(rnn_student(tmp_path, "big", rnn_backward=big), "01_rnn", limits=FAST)
    step = r["functions"]["rnn_backward"]["checks"]
    assert any("too large" in c["message"] for c in step), step[0]["message"]


def test_same_structure_other_values_is_graded_with_the_students_own_chain(tmp_path):
    """A step cache that keeps the pre-activation a where the docstring has next_h (same shape):
    the backward fits the student's own forward, so it is graded with it, and says so."""
    fwd = ("def rnn_step_forward(x, prev_h, Wx, Wh, b):\n"
           "    a = x @ Wx + prev_h @ Wh + b\n"
           "    return np.tanh(a), (x, prev_h, Wx, Wh, a)\n")
    bwd = RNN_STEP_BACKWARD.replace("x, prev_h, Wx, Wh, next_h = cache",
                                    "x, prev_h, Wx, Wh, a = cache").replace(
                                    "(1 - next_h ** 2)", "(1 - np.tanh(a) ** 2)")
    r = grade(rnn_student(tmp_path, "pre", rnn_step_forward=fwd, rnn_step_backward=bwd),
              "01_rnn", limits=FAST)
    fr = r["functions"]["rnn_step_backward"]
    assert fr["score"] == fr["max_score"]
    assert fr["graded_with"].startswith("with the reference rnn_step_forward some checks failed, "
                                        "but with your own every check passes")
    assert fr["hints"] == [fr["graded_with"]]
    assert r["functions"]["rnn_step_forward"]["score"] == r["functions"]["rnn_step_forward"]["max_score"]


def test_feedback_page_shows_the_whole_chain_and_who_breaks_it(tmp_path):
    """The student's feedback page (not only the JSON) says that rnn_backward is right on its own
    and which of their functions breaks the chain."""
    from autograder import report

    buggy = RNN_STEP_BACKWARD.replace("da = dnext_h * (1 - next_h ** 2)", "da = dnext_h")
    r = grade(rnn_student(tmp_path, "page", rnn_step_backward=buggy), "01_rnn", limits=FAST)
    html = report.feedback_html(report.feedback_json(r, "page"))
    assert "Your whole chain" in html
    assert "your rnn_step_backward fails its own checks and breaks the chain" in html
