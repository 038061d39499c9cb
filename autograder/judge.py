"""The judge: runs the hidden tests against one submission and scores it, check by check.

The judge holds the references, the hidden tests and their expected outputs in its own process
(loaded before any student code starts). The student's functions run in a sandboxed worker
(``sandbox.py``); the judge sends inputs, receives plain arrays and compares them here.

Each function is graded on its own (:func:`grade_function`): the other graded functions it calls
are answered by the references here (:func:`answer_dependency`, over the worker's socket), and a
backward pass runs on the reference forward's cache sent as plain arrays, unless the student's
cache has another structure (then on the student's own chain, which the result says). Then
:func:`grade_chain` runs the student's whole chain for information and names the dependency
that breaks it.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import solutions
from autograder import diagnose
from autograder._zygote import cache_signature
from autograder.notebook import Program, load_program
from autograder.sandbox import Limits, WorkerDied, Zygote, default_hidden_paths
from autograder.specs import CACHE, Case, Func, Gen, calls_of

# Bumped whenever a change can move a grade (result format or grading rules).
GRADER_VERSION = "2.0"
REFERENCE_DEPS = "reference dependencies"
DEP_MAX_CALLS = 20_000          # dependency calls answered during one graded call
DEP_MAX_ELEMENTS = 1 << 20      # array elements in the arguments of one dependency call
DEP_MAX_ARRAYS = 4096

HIDDEN_DIR = Path(__file__).with_name("hidden")
REPO = Path(__file__).resolve().parent.parent
DEFAULT_MANIFEST = REPO / "exercises" / "manifest.json"


class Err:
    """A value the worker could not send as an array (its description only)."""

    def __init__(self, what: str):
        self.what = what


# ----------------------------------------------------------------------------- hidden tests
@dataclass
class Prepared:
    """One hidden case of one function, with everything the judge needs to check it."""

    case: Case
    args: list
    douts: list
    expected: dict[str, np.ndarray]       # flattened output name -> reference value
    shapes: dict[str, str]                # flattened output name -> symbolic shape ("N T H")
    mistakes: list[tuple[str, dict]]      # (hint, flattened outputs of the buggy version)
    ref_cache: object = None              # backward: the reference forward's cache (plain arrays)
    ref_sig: object = None                # ... and its structure (cache_signature, JSON form)


class Assignment:
    """An assignment's graded functions, points and prepared hidden cases."""

    def __init__(self, name: str, manifest: str | Path | None = None):
        self.name = name
        path = HIDDEN_DIR / f"{name}.py"
        if not path.exists():
            known = sorted(p.stem for p in HIDDEN_DIR.glob("[0-9]*.py"))
            raise ValueError(f"no hidden tests for assignment {name!r}; the assignments are "
                             f"{', '.join(known)}")
        spec = importlib.util.spec_from_file_location(f"autograder.hidden._{name}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        self.module = module
        self.specs: dict[str, Func] = module.FUNCTIONS
        self.cases: list[Case] = module.CASES
        man_path = Path(manifest) if manifest else DEFAULT_MANIFEST
        points = None
        if man_path.exists():
            entry = json.loads(man_path.read_text()).get(name)
            if entry:
                points = entry["functions"]
                self.notebook = entry.get("notebook", f"{name}.ipynb")
        if points is None:
            points = {f: 1 for f in self.specs}
            self.notebook = f"{name}.ipynb"
        unknown = [f for f in points if f not in self.specs]
        if unknown:
            raise ValueError(f"{name}: no hidden tests for graded function(s) {unknown}")
        self.points: dict[str, float] = points
        with np.errstate(all="ignore"):
            self.prepared = {f: self._prepare(f) for f in self.points}
        self.fixtures = "\n".join(s.fixtures for s in self.specs.values() if s.fixtures)

    def needed_functions(self) -> list[str]:
        """Graded functions plus the forwards that backward tests call."""
        names = list(self.points)
        for f in self.points:
            fwd = self.specs[f].backward_of
            if fwd and fwd not in names:
                names.append(fwd)
        return names

    def _prepare(self, fname: str) -> list[Prepared]:
        spec = self.specs[fname]
        out = []
        for case in self.cases:
            if spec.exclude(case):
                continue
            g = Gen(case, spec.backward_of or fname)
            args = spec.args(g)
            douts: list = []
            cache = None
            try:
                if spec.backward_of:
                    fwd = self.specs[spec.backward_of]
                    fwd_out = fwd.reference(*_copy(args))
                    douts = spec.douts(g, list(fwd_out))
                    cache = fwd_out[fwd.outputs.index(CACHE)]
                    ref = spec.reference(*_copy(douts), cache)
                else:
                    ref = spec.reference(*_copy(args))
            except (ValueError, IndexError):
                continue            # the reference does not define this case
            expected, shapes = flatten(spec.outputs, ref)
            mistakes = []
            for m in spec.mistakes:
                values = m.compute(_copy(args), _copy(douts))
                mistakes.append((m.hint, {k: np.asarray(v) for k, v in values.items()}))
            prep = Prepared(case, args, douts, expected, shapes, mistakes)
            if spec.backward_of:
                prep.ref_cache = _copy(cache)
                prep.ref_sig = json.loads(json.dumps(cache_signature(cache)))
            out.append(prep)
        return out


def _copy(values):
    if isinstance(values, np.ndarray):
        return values.copy()
    if isinstance(values, dict):
        return {k: _copy(v) for k, v in values.items()}
    if isinstance(values, list | tuple):
        return type(values)(_copy(v) for v in values)
    return values


def flatten(names: list[str], values) -> tuple[dict[str, object], dict[str, str]]:
    """Map a function's returned tuple to {output name: array}; dicts and lists are expanded."""
    if len(names) == 1:
        values = [values]
    flat: dict[str, object] = {}
    shapes: dict[str, str] = {}
    if not isinstance(values, list | tuple):
        values = [values]
    for k, spec in enumerate(names):
        if spec == CACHE:
            continue
        name, _, sym = spec.partition(":")
        v = values[k] if k < len(values) else Err("missing (too few return values)")
        if sym == "dict":
            if isinstance(v, dict):
                for key in sorted(v):
                    flat[f"{name}[{key}]"], shapes[f"{name}[{key}]"] = v[key], ""
            else:
                flat[name], shapes[name] = (v if isinstance(v, Err) else Err("not a dict")), ""
        elif sym == "list":
            if isinstance(v, list | tuple):
                for i, item in enumerate(v):
                    flat[f"{name}[{i}]"], shapes[f"{name}[{i}]"] = item, ""
            else:
                flat[name], shapes[name] = (v if isinstance(v, Err) else Err("not a list")), ""
        else:
            flat[name], shapes[name] = v, sym
    return flat, shapes


# ----------------------------------------------------------------------------- wire trees
class Ret:
    """Argument placeholder: output ``k`` of call ``j`` of the same case (it stays in the worker)."""

    def __init__(self, j: int, k: int):
        self.j, self.k = j, k


class Plain:
    """Argument sent as plain values with its tuples kept as tuples (a reference cache)."""

    def __init__(self, value):
        self.value = value


def plain_tree(value, arrays: list):
    """Reference values for the worker: arrays, numbers, and tuples/lists/dicts of them."""
    if isinstance(value, np.ndarray):
        arrays.append(value)
        return {"$a": len(arrays) - 1}
    if isinstance(value, tuple):
        return {"$t": [plain_tree(v, arrays) for v in value]}
    if isinstance(value, list):
        return [plain_tree(v, arrays) for v in value]
    if isinstance(value, dict):
        return {"$d": {str(k): plain_tree(v, arrays) for k, v in value.items()}}
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, bool | int | float):
        return value
    raise TypeError(f"a {type(value).__name__} cannot be sent to the worker")


def to_tree(value, arrays: list, base: int = 0):
    if isinstance(value, Plain):
        return plain_tree(value.value, arrays)
    if isinstance(value, np.ndarray):
        arrays.append(value)
        return {"$a": len(arrays) - 1}
    if isinstance(value, Ret):
        return {"$ret": [base + value.j, value.k]}
    if isinstance(value, dict):
        if set(value) in ({"$h"}, {"$rng"}):
            return value            # a handle to a worker object, or a seeded Generator there
        return {"$d": {k: to_tree(v, arrays, base) for k, v in value.items()}}
    if isinstance(value, list | tuple):
        return [to_tree(v, arrays, base) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if callable(value) and hasattr(value, "fn") and hasattr(value, "name"):
        return {"$fn": value.name}     # a fixture function: the worker has its own copy
    return value


def from_tree(tree, arrays: list):
    """Rebuild plain values from the worker's answer. Only arrays, lists, dicts and errors."""
    if isinstance(tree, dict):
        if "$a" in tree and isinstance(tree["$a"], int) and 0 <= tree["$a"] < len(arrays):
            return arrays[tree["$a"]]
        if "$d" in tree and isinstance(tree["$d"], dict):
            return {str(k): from_tree(v, arrays) for k, v in tree["$d"].items()}
        if "$h" in tree:
            return tree
        return Err(str(tree.get("$err", "an unsupported value"))[:200])
    if isinstance(tree, list):
        return [from_tree(v, arrays) for v in tree]
    if tree is None:
        return Err("None")
    return Err(f"a {type(tree).__name__}")


# ----------------------------------------------------------------------------- grading
class Died(str):
    """Why the worker died in a case (a str), with the answers of the calls it made before."""

    def __new__(cls, why: str, replies: list):
        obj = super().__new__(cls, why)
        obj.replies = replies
        return obj


class Session:
    """One submission's worker, restarted transparently after a crash or timeout."""

    def __init__(self, zygote: Zygote, limits: Limits, program: Program, fixtures: str,
                 files: list[tuple[str, bytes]] | None = None):
        self.zygote, self.limits, self.program, self.fixtures = zygote, limits, program, fixtures
        self.files = files or []
        self.worker = None
        self.student_seconds = 0.0     # time spent inside the student's functions
        self.dep_seconds = 0.0         # time the judge spent answering dependency calls
        self.dep_calls = 0
        self.sigs: dict[tuple[str, str], object] = {}   # (forward, case) -> its cache signature
        self.called_deps: set[str] = set()     # functions whose alone run called a dependency
        # (forward, case) -> (worker restarts then, handle of its cache in the worker) for a
        # forward that called no dependency: its alone run was its own chain, the cache reusable
        self.own_caches: dict[tuple[str, str], tuple[int, int]] = {}
        self.restarts = 0
        self.load_errors: list = []
        self.load_failure: str | None = None

    def _ensure(self) -> None:
        if self.worker is not None and self.worker.alive:
            return
        if self.worker is not None:
            self.restarts += 1
        self.worker = self.zygote.spawn(self.limits)
        if self.files:
            self.worker.request({"op": "files", "names": [n for n, _ in self.files]},
                                [np.frombuffer(data, dtype=np.uint8) for _, data in self.files])
        if self.fixtures:
            self.worker.request({"op": "fixtures", "source": self.fixtures})
        reply, _ = self.worker.request({"op": "load", "chunks": self.program.chunks},
                                       timeout=self.limits.load_timeout_s)
        self.load_errors = reply.get("errors", [])

    def run_cases(self, cases: list[list[tuple]]) -> list:
        """Run the calls of several cases in one message; the answers stream back one per call.

        ``cases[i]`` is a list of (fn, args, keep, echo[, opts]); opts may hold "proxy" (names
        the judge answers with the references during the call) and "sig" (send the kept cache's
        structure). Returns, per case, the list of (reply, arrays) or the reason the worker died
        in it. After a death the worker is restarted and the later cases are sent again: a crash
        costs only the case it hit.

        While a call runs, its dependency calls ({"dep": name, ...}) are answered here. The time
        limit of the call runs on the worker's time only: the judge's own time answering is added
        back to its deadline, and at most DEP_MAX_CALLS answers are given per call.
        """
        out: list = [None] * len(cases)
        start = 0
        while start < len(cases):
            try:
                self._ensure()
            except WorkerDied as e:
                out[start] = Died(str(e), [])
                start += 1
                continue
            arrays: list = []
            calls, owner = [], []
            for ci in range(start, len(cases)):
                base = len(calls)
                for fn, args, keep, echo, *opts in cases[ci]:
                    calls.append({"fn": fn, "args": to_tree(args, arrays, base),
                                  "keep": list(keep), "echo": echo, **(opts[0] if opts else {})})
                    owner.append(ci)
            replies: dict[int, list] = {}
            try:
                self.worker.send({"op": "calls", "calls": calls}, arrays)
                for k in range(len(calls)):
                    current = owner[k]
                    reply, arr = self._receive_answer(calls[k].get("proxy", ()))
                    t = reply.get("t")
                    if isinstance(t, float) and 0 <= t < 1e4:
                        self.student_seconds += t
                    replies.setdefault(current, []).append((reply, arr))
                for ci, rs in replies.items():
                    out[ci] = rs
                start = len(cases)
            except WorkerDied as e:
                for ci, rs in replies.items():
                    if ci != current:
                        out[ci] = rs
                out[current] = Died(str(e), replies.get(current, []))
                start = current + 1
        return out

    def _receive_answer(self, allowed) -> tuple[dict, list]:
        """The worker's answer to one call, answering its dependency calls meanwhile."""
        deadline = time.monotonic() + self.limits.timeout_s
        n, judge_time = 0, 0.0
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.worker.close()
                raise WorkerDied("time limit exceeded (infinite loop?)")
            reply, arr = self.worker.receive(timeout=remaining)
            if "dep" not in reply:
                return reply, arr
            n += 1
            if n > DEP_MAX_CALLS:
                self.worker.close()
                raise WorkerDied(f"time limit exceeded (more than {DEP_MAX_CALLS} calls of "
                                 "other graded functions)")
            t0 = time.monotonic()
            header, out = answer_dependency(reply, arr, allowed)
            self.worker.send(header, out)
            spent = time.monotonic() - t0
            judge_time += spent
            if judge_time > self.limits.timeout_s:      # the references' time is capped too
                self.worker.close()
                raise WorkerDied("time limit exceeded (the calls of other graded functions took "
                                 "too long)")
            deadline += spent
            self.dep_seconds += spent
            self.dep_calls += 1

    def close(self) -> None:
        if self.worker is not None:
            self.worker.close()


def _dep_value(tree, arrays: list, budget: list, depth: int = 0):
    """Decode a dependency call's arguments: numeric arrays, numbers, None, containers only."""
    if depth > 8:
        raise TypeError("arguments nested too deeply")
    if isinstance(tree, dict):
        if "$a" in tree and isinstance(tree["$a"], int) and 0 <= tree["$a"] < len(arrays):
            a = arrays[tree["$a"]]
            budget[0] -= a.size
            budget[1] -= 1
            if budget[0] < 0 or budget[1] < 0:
                raise ValueError("arguments too large for the grader's reference "
                                 f"(over {DEP_MAX_ELEMENTS} numbers)")
            return a
        if "$d" in tree and isinstance(tree["$d"], dict):
            return {str(k): _dep_value(v, arrays, budget, depth + 1) for k, v in tree["$d"].items()}
        if "$err" in tree:
            raise TypeError(f"an argument is {str(tree['$err'])[:120]}")
        raise TypeError("an argument of an unsupported kind")
    if isinstance(tree, list):
        return [_dep_value(v, arrays, budget, depth + 1) for v in tree]
    if tree is None or isinstance(tree, bool | int | float):
        return tree
    raise TypeError(f"an argument is a {type(tree).__name__}, not a numpy array or a number")


def answer_dependency(req: dict, arrays: list, allowed) -> tuple[dict, list]:
    """Run the reference of one graded function on the worker's arguments; plain arrays back.

    Only names the judge bound for the current call are answered. Anything the reference raises
    (a shape error from a wrong call, say) goes back as (exception type, message) and is raised
    in the student's code; nothing but arrays, numbers and containers leaves the judge.
    """
    name = req.get("dep")
    if not isinstance(name, str) or name not in allowed or not hasattr(solutions, name):
        return {"ok": False, "etype": "RuntimeError",
                "error": f"{str(name)[:60]} is not answered by the grader here"}, []
    try:
        budget = [DEP_MAX_ELEMENTS, DEP_MAX_ARRAYS]
        args = _dep_value(req.get("args", []), arrays, budget)
        kwargs = _dep_value(req.get("kwargs") or {"$d": {}}, arrays, budget)
        if not isinstance(args, list) or not isinstance(kwargs, dict):
            raise TypeError("bad arguments")
        with np.errstate(all="ignore"):
            result = getattr(solutions, name)(*args, **kwargs)     # fresh arrays, never reused
        out: list = []
        return {"ok": True, "result": plain_tree(result, out)}, out
    except Exception as e:  # noqa: BLE001 - the reference's error goes to the student's code
        return {"ok": False, "etype": type(e).__name__, "error": str(e)[:300]}, []


def _case_calls(assignment: Assignment, fname: str, prep: Prepared, mode: str = "alone",
                reference_cache: bool = True) -> list[tuple]:
    """The worker calls of one hidden case.

    ``mode="alone"``: the function with its dependencies answered by the references; a backward
    on the reference forward's cache (``reference_cache``), otherwise on the student's own chain.
    ``mode="chain"``: the student's own dependencies, and for a backward the student's forward.
    """
    spec = assignment.specs[fname]
    keep = [i for i, o in enumerate(spec.outputs) if o == CACHE]
    if mode == "alone":
        proxy = {"proxy": _deps(assignment, fname)}
        if not spec.backward_of:
            return [(fname, _copy(prep.args), keep, True, dict(proxy, sig=bool(keep)))]
        if reference_cache:
            return [(fname, [*_copy(prep.douts), Plain(prep.ref_cache)], [], True, proxy)]
        # The student's cache has another structure (e.g. a list of step caches, CS231n's own
        # layout): their forward builds it, but with the references answering its calls (so the
        # step caches in it are the reference's), and the backward's own calls are answered by
        # the references too. A bug in a step function is charged to the step function only.
        k = assignment.specs[spec.backward_of].outputs.index(CACHE)
        fwd_proxy = {"proxy": _deps(assignment, spec.backward_of)}
        return [(spec.backward_of, _copy(prep.args), [k], False, fwd_proxy),
                (fname, [*_copy(prep.douts), Ret(0, k)], [], True, proxy)]
    if spec.backward_of:
        k = assignment.specs[spec.backward_of].outputs.index(CACHE)
        return [(spec.backward_of, _copy(prep.args), [k], False),
                (fname, [*_copy(prep.douts), Ret(0, k)], [], True)]
    return [(fname, _copy(prep.args), keep, True)]


def _case_result(assignment: Assignment, fname: str, prep: Prepared, replies):
    """(student outputs | error string, (sent, echo) | None) from the worker's answers."""
    spec = assignment.specs[fname]
    if isinstance(replies, str):
        return replies, None
    if spec.backward_of:
        fwd_reply, _ = replies[0]
        if len(replies) > 1 and not fwd_reply.get("ok"):      # the student's own forward ran
            return (f"your {spec.backward_of} failed, so the backward pass could not run: "
                    f"{fwd_reply.get('error', '')}"), None
        if not replies:
            return "no answer", None
        sent = prep.douts
    else:
        sent = prep.args
    reply, arrays = replies[-1]
    if not reply.get("ok"):
        return reply.get("error", "failed"), None
    result = from_tree(reply.get("result"), arrays)
    echo = from_tree(reply.get("echo"), arrays) if reply.get("echo") is not None else None
    if isinstance(echo, list):
        echo = echo[: len(sent)]
    return result, (sent, echo)


def _inputs_unchanged(sent, echo) -> bool:
    """Every array the judge sent must come back bit for bit (dicts and lists recursively)."""
    if isinstance(sent, np.ndarray):
        return (isinstance(echo, np.ndarray) and echo.shape == sent.shape
                and bool(np.array_equal(sent, echo)))
    if isinstance(sent, dict):
        if "$rng" in sent:
            return True             # a Generator built in the worker: drawing from it is fine
        return isinstance(echo, dict) and all(
            _inputs_unchanged(v, echo.get(k)) for k, v in sent.items())
    if isinstance(sent, list | tuple):
        return isinstance(echo, list) and len(echo) >= len(sent) and all(
            _inputs_unchanged(v, echo[k]) for k, v in enumerate(sent))
    return True


def grade_function(session: Session, assignment: Assignment, fname: str) -> dict:
    """Grade ``fname`` alone: its dependencies answered by the references, a backward on the
    reference forward's cache (or, for a student whose cache has another structure, on the
    student's own chain, which the result then says)."""
    spec = assignment.specs[fname]
    checks: list[dict] = []
    preps = assignment.prepared[fname]
    use_ref, why = _reference_cache_plan(session, assignment, fname)
    restarts = session.restarts
    answers = session.run_cases([_case_calls(assignment, fname, p, "alone", u)
                                 for p, u in zip(preps, use_ref, strict=True)])
    keep = [i for i, o in enumerate(spec.outputs) if o == CACHE]
    for prep, replies in zip(preps, answers, strict=True):
        if (len(keep) == 1 and session.restarts == restarts and not isinstance(replies, str)
                and replies[0][0].get("ok") and not replies[0][0].get("deps")):
            tree = replies[0][0].get("result")
            handle = tree[keep[0]] if isinstance(tree, list) and len(tree) > keep[0] else None
            if isinstance(handle, dict) and isinstance(handle.get("$h"), int):
                session.own_caches[(fname, prep.case.label)] = (restarts, handle["$h"])
        if not spec.backward_of and CACHE in spec.outputs:
            session.sigs[(fname, prep.case.label)] = _sig_of(replies)
        if isinstance(replies, str) or any(r.get("deps") for r, _ in replies):
            session.called_deps.add(fname)
        checks.extend(_case_checks(assignment, fname, prep, replies))
    passed = sum(c["passed"] for c in checks)
    total = len(checks)
    points = float(assignment.points[fname])
    score = round(points * passed / total, 4) if total else 0.0
    # One hint per mistake (catalogued mistakes first), not one per output, with the number of
    # cases it showed up in.
    n_cases = len(assignment.prepared[fname])
    order, mistakes = diagnose.summarize_hints(checks, n_cases)
    graded_with = REFERENCE_DEPS
    if why:
        graded_with = _fallback_sentence(assignment, fname, why, len(preps))
        order = [graded_with, *order]
    failed = [c for c in checks if not c["passed"] and c["check"] != "inputs unchanged"]
    errors: dict[str, int] = {}
    for case in {c["case"]: c["error"] for c in failed if c["error"]}.items():
        errors[case[1]] = errors.get(case[1], 0) + 1
    return {"score": score, "max_score": points, "passed": passed, "total": total,
            "status": "passed" if passed == total else ("partial" if passed else "failed"),
            "hints": order[:6], "checks": checks, "mistakes": mistakes,
            "unexplained": bool(passed < total and not mistakes
                                and any(not c["error"] for c in failed)),
            "errors": errors, "chain": None, "graded_with": graded_with,
            "visible_tests": f"test_{fname} cell: {spec.visible}",
            "hidden_tests": _hidden_summary(assignment, fname)}


def _case_checks(assignment: Assignment, fname: str, prep: Prepared, replies,
                 inputs: bool = True) -> list[dict]:
    """The check dicts of one case: one per output (and "inputs unchanged" if ``inputs``)."""
    spec = assignment.specs[fname]
    label = prep.case.label
    checks: list[dict] = []
    result, echo = _case_result(assignment, fname, prep, replies)
    if isinstance(result, str):
        msg = diagnose.explain_error(result, prep.case.dims)
        kind, mistake = _error_kind(result), diagnose.error_mistake(result)
        for name in prep.expected:
            checks.append({"case": label, "check": name, "passed": False, "message": msg,
                           "mistake": mistake, "error": kind})
        if inputs:
            checks.append({"case": label, "check": "inputs unchanged", "passed": False,
                           "message": "not checked: the call failed", "mistake": None,
                           "error": kind})
        return checks
    got, _ = flatten(spec.outputs, result)
    for name, ref in prep.expected.items():
        ok, msg, mistake = diagnose.verdict(name, got.get(name, Err("missing")), ref,
                                            prep.shapes.get(name, ""), prep, spec)
        checks.append({"case": label, "check": name, "passed": ok, "message": msg,
                       "mistake": mistake, "error": None})
    if inputs:
        sent, echoed = echo
        unchanged = _inputs_unchanged(sent, echoed)
        # Leaving the inputs alone earns credit only alongside some right output: returning
        # garbage without touching anything is not honest work.
        some_right = any(c["passed"] for c in checks)
        message = ("" if unchanged and some_right else
                   "not credited: no output of this case was right" if unchanged else
                   "your function modified an input array in place; work on copies")
        checks.append({"case": label, "check": "inputs unchanged",
                       "passed": unchanged and some_right, "message": message, "mistake": None,
                       "error": None})
    return checks


def _error_kind(message: str) -> str:
    """The result format's error kind of a failed call: exception, timeout, crash, limit..."""
    last = message.strip().splitlines()[-1] if message.strip() else ""
    if "time limit" in message:
        return "timeout"
    if "NotImplementedError" in last:
        return "not_implemented"
    if "MemoryError" in last or "File too large" in last or "output limit" in last:
        return "limit"
    if "worker died" in message or "could not start a worker" in message:
        return "crash"
    return "exception"


def _sig_of(replies):
    """The cache signature a forward call sent back, or None (it failed, crashed, timed out)."""
    if isinstance(replies, str) or not replies:
        return None
    reply = replies[0][0]
    sig = reply.get("sig") if reply.get("ok") else None
    return sig[0] if isinstance(sig, list) and sig else None


def _reference_cache_plan(session: Session, assignment: Assignment,
                          fname: str) -> tuple[list[bool], list[str]]:
    """Per case: grade the backward on the reference cache? And why not, where not.

    The reference cache is used when the student's forward (its dependencies answered by the
    references) returns a cache with the reference's structure, or fails, or is missing.
    """
    spec = assignment.specs[fname]
    preps = assignment.prepared[fname]
    if not spec.backward_of:
        return [True] * len(preps), []
    fwd = spec.backward_of
    todo = [p for p in preps if (fwd, p.case.label) not in session.sigs]
    if todo:
        keep = assignment.specs[fwd].outputs.index(CACHE)
        opts = {"proxy": _deps(assignment, fwd), "sig": True}
        answers = session.run_cases([[(fwd, _copy(p.args), [keep], False, opts)] for p in todo])
        for p, replies in zip(todo, answers, strict=True):
            session.sigs[(fwd, p.case.label)] = _sig_of(replies)
    use, why = [], []
    for p in preps:
        sig = session.sigs.get((fwd, p.case.label))
        ok = sig is None or sig == p.ref_sig
        use.append(ok)
        if not ok:
            why.append(_sig_difference(sig, p.ref_sig))
    return use, why


def _describe_sig(sig) -> str:
    kind = sig[0] if isinstance(sig, list) and sig else "?"
    return {"seq": "a tuple", "dict": "a dict", "array": "an array", "scalar": "a number",
            "none": "None"}.get(kind, f"a {sig[1] if kind == 'object' and len(sig) > 1 else kind}")


def _sig_difference(got, ref) -> str:
    """Where the student's cache structure departs from the documented one (no sizes)."""
    if not isinstance(got, list) or not got or got[0] != ref[0]:
        return f"yours is {_describe_sig(got)}, the documented cache {_describe_sig(ref)}"
    if ref[0] == "seq":
        if not isinstance(got[1], list) or len(got[1]) != len(ref[1]):
            return f"yours has a different number of entries than the documented {len(ref[1])}"
        for k, (g, r) in enumerate(zip(got[1], ref[1], strict=True)):
            if g != r:
                if isinstance(g, list) and g and g[0] == r[0] == "array":
                    return f"entry {k + 1} is an array of another shape or type"
                return f"entry {k + 1} is {_describe_sig(g)}, documented: {_describe_sig(r)}"
    if ref[0] == "dict":
        return "its keys or entries differ from the documented ones"
    return "its shape or type differs from the documented one"


def _fallback_sentence(assignment: Assignment, fname: str, why: list[str], n_cases: int) -> str:
    fwd = assignment.specs[fname].backward_of
    fwd_deps, deps = _deps(assignment, fwd), _deps(assignment, fname)
    where = "" if len(why) == n_cases else f" (in {len(why)} of {n_cases} cases)"
    own = f"your own {fwd}" + (f" (its {' and '.join(fwd_deps)} answered by the reference)"
                               if fwd_deps else "")
    ref = f" and the reference {' and '.join(deps)}" if deps else ""
    return (f"your cache differs from the documented structure ({why[0]}), so {fname} was checked "
            f"on the cache of {own}{ref}{where}")


def _deps(assignment: Assignment, fname: str) -> list[str]:
    """The dependencies of ``fname`` that the judge answers (references that exist)."""
    return [d for d in calls_of(fname, assignment.specs[fname]) if hasattr(solutions, d)]


def _chain_members(assignment: Assignment, fname: str) -> list[str]:
    """Every function of the student's own chain below ``fname``: forward, callees, theirs."""
    out: list[str] = []
    spec = assignment.specs[fname]
    todo = ([spec.backward_of] if spec.backward_of else []) + _deps(assignment, fname)
    while todo:
        d = todo.pop(0)
        if d in out or d == fname:
            continue
        out.append(d)
        if d in assignment.specs:
            sub = assignment.specs[d]
            todo += ([sub.backward_of] if sub.backward_of else []) + _deps(assignment, d)
    return out


def grade_chain(session: Session, assignment: Assignment, fname: str, results: dict,
                missing: list[str] = ()) -> dict | None:
    """"Your whole chain", information without points: ``fname`` with the student's own
    dependencies (and own forward cache). None for a function that uses no other graded one.

    The hints name the dependency that breaks the chain (it timed out, raised, is missing, or
    fails its own checks), never the function itself for its dependency's fault.
    """
    members = _chain_members(assignment, fname)
    if not members:
        return None
    res = results[fname]
    preps = assignment.prepared[fname]
    n_checks = sum(len(p.expected) for p in preps)

    def summary(checks, hints, status=None):
        passed = sum(c["passed"] for c in checks)
        status = status or ("passed" if checks and passed == len(checks) else
                            "partial" if passed else "failed")
        return {"passed": passed, "total": n_checks, "status": status, "hints": hints[:4]}

    def timed_out(d):
        r = results.get(d)
        return r is not None and r.get("errors", {}).get("timeout", 0) >= len(assignment.prepared[d])

    absent = [d for d in members if d in missing]
    if absent:
        return summary([], [f"your notebook has no {absent[0]}, so {fname} could not be checked "
                            "with your chain"], "not run")
    hopeless = [d for d in members if timed_out(d)]
    if hopeless:          # it would only time out again, case after case
        return summary([], [f"{hopeless[0]} did not finish within the time limit, so {fname} "
                            "could not be checked with your chain"], "not run")
    spec = assignment.specs[fname]
    if not spec.backward_of and fname not in session.called_deps:
        # It called none of its dependencies: its own chain is exactly what was graded alone.
        alone = [c for c in res["checks"] if c["check"] != "inputs unchanged"]
        return summary(alone, [] if res["status"] == "passed" else
                       [f"{fname} uses none of your other functions: see its own hints"])
    calls, reused = [], []
    for p in preps:
        handle = _own_cache(session, assignment, fname, p) if spec.backward_of else None
        reused.append(handle is not None)
        calls.append([(fname, [*_copy(p.douts), handle], [], False)] if handle is not None
                     else _case_calls(assignment, fname, p, "chain"))
    before = session.restarts
    answers = session.run_cases(calls)
    if session.restarts != before and any(reused):     # handles of a worker that died: again
        redo = [i for i, r in enumerate(reused) if r]
        again = session.run_cases([_case_calls(assignment, fname, preps[i], "chain") for i in redo])
        for i, replies in zip(redo, again, strict=True):
            answers[i], reused[i] = replies, False
    checks: list[dict] = []
    events: list[str] = []
    for prep, replies, own in zip(preps, answers, reused, strict=True):
        checks.extend(c for c in _case_checks(assignment, fname, prep, replies, inputs=False))
        event = _chain_failure(assignment, fname, members, results, replies, prep, own)
        if event and event not in events:
            events.append(event)
    if all(c["passed"] for c in checks):
        if checks and len(checks) == n_checks and res["passed"] < res["total"]:
            _credit_own_chain(assignment, fname, res)
        return summary(checks, [])
    hints = list(events)
    if any(not c["passed"] and not c["error"] for c in checks):
        bad = [d for d in members if d in results and results[d]["status"] != "passed"]
        alone_ok = res["status"] == "passed"
        if bad:
            names = " and ".join(bad)
            hints.append(f"{fname} {'is right on its own' if alone_ok else 'has mistakes of its own too'}"
                         f"; your {names} {'fails its' if len(bad) == 1 else 'fail their'} own checks "
                         "and breaks the chain")
        elif alone_ok and [d for d in members if d not in results]:
            ungraded = [d for d in members if d not in results]
            earlier = " and ".join(ungraded) if len(ungraded) <= 3 else (
                f"{', '.join(ungraded[:2])} and the other functions it calls")
            hints.append(f"{fname} is right on its own; with your own {earlier} (not graded in this "
                         "assignment) the chain gives other values")
        elif alone_ok:
            what = (f"check that your {spec.backward_of} keeps in its cache what your {fname} reads"
                    if spec.backward_of else "check how your functions call each other")
            hints.append(f"{fname} and the functions it uses pass on their own but not together: "
                         f"{what}")
        value_hints, _ = diagnose.summarize_hints([c for c in checks if not c["error"]], len(preps))
        hints.extend(value_hints[:1])
    return summary(checks, hints)


def _credit_own_chain(assignment: Assignment, fname: str, res: dict) -> None:
    """The student's own chain passes every check where the function alone did not: their own
    forward or dependencies hold other values than the documented ones (same structure, other
    meaning, such as a pre-activation kept instead of the output), and the function fits them.
    The function is graded with its own chain, and the result says so."""
    spec = assignment.specs[fname]
    own = ([spec.backward_of] if spec.backward_of else []) + [
        d for d in _deps(assignment, fname) if d not in ([spec.backward_of] if spec.backward_of else [])]
    sentence = (f"with the reference {' and '.join(own[:3])} some checks failed, but with your own "
                f"every check passes (your {'cache holds' if spec.backward_of else 'functions return'}"
                f" other values than the documented ones), so {fname} was graded with your own chain")
    checks = []
    for c in res["checks"]:
        c = dict(c)
        if c["check"] != "inputs unchanged" or "modified" not in c["message"]:
            c.update(passed=True, message="", mistake=None, error=None)
        checks.append(c)
    passed = sum(c["passed"] for c in checks)
    res.update(checks=checks, passed=passed, mistakes=[], errors={}, unexplained=False,
               graded_with=sentence,
               score=round(res["max_score"] * passed / len(checks), 4) if checks else 0.0,
               status="passed" if passed == len(checks) else "partial",
               hints=[sentence] + [c["message"] for c in checks if not c["passed"]][:1])


def _own_cache(session: Session, assignment: Assignment, fname: str, prep: Prepared):
    """The worker handle of the cache the student's forward made, alone and without calling any
    dependency, on this case's very inputs (so it is their own chain's cache); or None."""
    fwd = assignment.specs[fname].backward_of
    kept = session.own_caches.get((fwd, prep.case.label))
    if kept is None or kept[0] != session.restarts or session.worker is None or not session.worker.alive:
        return None
    fwd_prep = next((q for q in assignment.prepared[fwd] if q.case.label == prep.case.label), None)
    if fwd_prep is None or not _same(fwd_prep.args, prep.args):
        return None
    return {"$h": kept[1]}


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape
                and a.dtype == b.dtype and bool(np.array_equal(a, b)))
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def _chain_failure(assignment: Assignment, fname: str, members: list[str], results: dict,
                   replies, prep: Prepared, reused: bool = False) -> str | None:
    """Why one case of the chain could not be checked, naming the dependency at fault."""
    spec = assignment.specs[fname]
    tail = f"so {fname} could not be checked with your chain"
    if isinstance(replies, str):
        kind = _error_kind(replies)
        partial = getattr(replies, "replies", [])
        culprit = None
        if spec.backward_of and not partial and not reused:
            culprit = spec.backward_of                   # it died in the student's forward
        else:
            culprit = next((d for d in members if results.get(d, {}).get("errors", {}).get(kind)),
                           None)
        if kind == "timeout":
            return (f"{culprit} did not finish within the time limit, {tail}" if culprit else
                    f"your chain did not finish within the time limit, {tail}")
        who = f"your {culprit}" if culprit else "your chain"
        return f"{who} stopped the process ({diagnose.explain_error(replies, prep.case.dims)}), {tail}"
    failing = next((r for r, _ in replies if not r.get("ok")), None)
    if failing is None:
        return None
    error = str(failing.get("error", ""))
    named = re.search(r"name '(\w+)' is not defined", error)
    if named and named.group(1) in members:
        return f"your notebook has no {named.group(1)}, {tail}"
    frames = [f for f in failing.get("frames", []) if isinstance(f, str)]
    culprit = next((f for f in reversed(frames) if f in members), None)
    if culprit is None and spec.backward_of and failing is replies[0][0] and len(replies) > 1:
        culprit = spec.backward_of
    if culprit is None:
        return None                   # fname's own error: its own result already says so
    return f"your {culprit} raised an error ({diagnose.explain_error(error, prep.case.dims)}), {tail}"


def _hidden_summary(assignment: Assignment, fname: str) -> str:
    preps = assignment.prepared[fname]
    labels = ", ".join(p.case.label for p in preps)
    outs = ", ".join(preps[0].expected) if preps else ""
    spec = assignment.specs[fname]
    deps = _deps(assignment, fname)
    how = (f", on the cache of the reference {spec.backward_of}" if spec.backward_of else "")
    how += f", with the reference {' and '.join(deps)}" if 0 < len(deps) <= 2 else (
        ", with the reference versions of the functions it calls" if deps else "")
    return (f"{len(preps)} cases ({labels}); in each, every output ({outs}) compared with the "
            f"reference implementation{how}, and the inputs checked to be left unchanged")


_ZYGOTE: Zygote | None = None
_ZLOCK = threading.Lock()
_ASSIGNMENTS: dict[tuple, Assignment] = {}


def get_assignment(name: str, manifest: str | Path | None = None) -> Assignment:
    key = (name, str(manifest))
    if key not in _ASSIGNMENTS:
        _ASSIGNMENTS[key] = Assignment(name, manifest)
    return _ASSIGNMENTS[key]


def get_zygote(extra_hidden: list | tuple = ()) -> Zygote:
    """The process-wide zygote, started on first use (after references and tests are loaded)."""
    global _ZYGOTE
    extra = [str(p) for p in extra_hidden if p and Path(p).exists()] + _env_hidden()
    with _ZLOCK:
        if _ZYGOTE is None or not _ZYGOTE.covers(extra):
            import atexit

            # A new zygote that also hides the new paths; one already in use stays alive until
            # exit (threads may still be grading with it).
            previous = _ZYGOTE.hide if _ZYGOTE is not None else []
            _ZYGOTE = Zygote(default_hidden_paths(list(previous) + extra))
            atexit.register(_ZYGOTE.close)
        return _ZYGOTE


def _env_hidden() -> list[str]:
    return [p for p in os.environ.get("AUTOGRADER_HIDE", "").split(os.pathsep) if p]


def submission_files(notebook: str | Path, budget_bytes: int) -> tuple[list[tuple[str, bytes]], list[str]]:
    """The other files of the notebook's folder, for the worker's scratch copy.

    Regular files only (no links), no checkpoints, no other notebooks, at most budget_bytes in
    all; returns (files as (relative name, bytes), notes on what was left out).
    """
    folder = Path(notebook).resolve().parent
    files, notes, total = [], [], 0
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if (path.is_symlink() or not path.is_file() or path.suffix == ".ipynb"
                or any(part.startswith(".") for part in rel.parts)):
            continue
        size = path.stat().st_size
        if total + size > budget_bytes:
            notes.append(f"{rel} not copied to the sandbox: the folder is over {budget_bytes >> 20} MB")
            continue
        files.append((rel.as_posix(), path.read_bytes()))
        total += size
    return files, notes


def grade_notebook(notebook: str | Path, assignment: Assignment, zygote: Zygote,
                   limits: Limits | None = None) -> dict:
    """Grade one notebook file. Never raises for anything the student did."""
    limits = limits or Limits()
    t0 = time.perf_counter()
    functions = assignment.needed_functions()
    try:
        program = load_program(notebook, functions)
    except OSError as e:
        program = Program([], {}, functions, [f"could not read the notebook: {e}"])
    files, file_notes = submission_files(notebook, budget_bytes=(limits.scratch_mb << 20) // 4)
    program.notes.extend(file_notes)
    session = Session(zygote, limits, program, assignment.fixtures, files)
    results: dict[str, dict] = {}
    try:
        for fname in assignment.points:
            if fname in program.missing:
                results[fname] = _missing(assignment, fname)
                if fname in getattr(program, "problems", {}):   # defined, but in a broken cell
                    results[fname]["hints"] = [program.problems[fname]]
                continue
            results[fname] = grade_function(session, assignment, fname)
            results[fname]["found_in"] = program.found.get(fname, "")
        for fname in results:          # "your whole chain", once every function was graded alone
            if fname not in program.missing:
                results[fname]["chain"] = grade_chain(session, assignment, fname, results,
                                                      program.missing)
    finally:
        session.close()
    score = round(sum(r["score"] for r in results.values()), 4)
    max_score = float(sum(assignment.points.values()))
    return {
        "assignment": assignment.name,
        "notebook": str(notebook),
        "score": score,
        "max_score": max_score,
        "functions": results,
        "notes": program.notes + [f"could not run {lbl}: {err}" for lbl, err in
                                  session.load_errors][:10],
        "worker_restarts": session.restarts,
        "protections": zygote.protections(limits),
        "seconds": round(time.perf_counter() - t0, 4),
        "student_seconds": round(session.student_seconds, 4),
        "grader_version": GRADER_VERSION,
    }


def _missing(assignment: Assignment, fname: str) -> dict:
    n = sum(len(p.expected) + 1 for p in assignment.prepared[fname])
    return {"score": 0.0, "max_score": float(assignment.points[fname]), "passed": 0, "total": n,
            "status": "missing", "found_in": "",
            "hints": [f"no definition of {fname} was found in the notebook's code cells"],
            "checks": [], "mistakes": [], "unexplained": False, "errors": {}, "chain": None,
            "graded_with": REFERENCE_DEPS, "visible_tests": f"test_{fname} cell",
            "hidden_tests": _hidden_summary(assignment, fname)}


def grade(notebook_path: str | Path, assignment: str, *, manifest: str | Path | None = None,
          limits: Limits | None = None) -> dict:
    """Grade one notebook statelessly; returns a JSON-serialisable dict (see README)."""
    a = get_assignment(assignment, manifest)            # references + hidden tests first
    z = get_zygote([Path(notebook_path).resolve().parent])
    result = grade_notebook(notebook_path, a, z, limits)
    json.dumps(result)          # guarantee: serialisable
    return result

