"""The judge: runs the hidden tests against one submission and scores it, check by check.

The judge holds the references, the hidden tests and their expected outputs in its own process
(loaded before any student code starts). The student's functions run in a sandboxed worker
(``sandbox.py``); the judge sends inputs, receives plain arrays and compares them here.
"""

from __future__ import annotations

import importlib.util
import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from autograder import diagnose
from autograder.notebook import Program, load_program
from autograder.sandbox import Limits, WorkerDied, Zygote, default_hidden_paths
from autograder.specs import CACHE, Case, Func, Gen

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


class Assignment:
    """An assignment's graded functions, points and prepared hidden cases."""

    def __init__(self, name: str, manifest: str | Path | None = None):
        self.name = name
        path = HIDDEN_DIR / f"{name}.py"
        if not path.exists():
            raise ValueError(f"no hidden tests for assignment {name!r} (expected {path})")
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
            out.append(Prepared(case, args, douts, expected, shapes, mistakes))
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


def to_tree(value, arrays: list, base: int = 0):
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
class Session:
    """One submission's worker, restarted transparently after a crash or timeout."""

    def __init__(self, zygote: Zygote, limits: Limits, program: Program, fixtures: str,
                 files: list[tuple[str, bytes]] | None = None):
        self.zygote, self.limits, self.program, self.fixtures = zygote, limits, program, fixtures
        self.files = files or []
        self.worker = None
        self.student_seconds = 0.0     # time spent inside the student's functions
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

        ``cases[i]`` is a list of (fn, args, keep, echo). Returns, per case, the list of
        (reply, arrays) or the reason the worker died in it. After a death the worker is
        restarted and the later cases are sent again: a crash costs only the case it hit.
        """
        out: list = [None] * len(cases)
        start = 0
        while start < len(cases):
            try:
                self._ensure()
            except WorkerDied as e:
                out[start] = str(e)
                start += 1
                continue
            arrays: list = []
            calls, owner = [], []
            for ci in range(start, len(cases)):
                base = len(calls)
                for fn, args, keep, echo in cases[ci]:
                    calls.append({"fn": fn, "args": to_tree(args, arrays, base),
                                  "keep": list(keep), "echo": echo})
                    owner.append(ci)
            replies: dict[int, list] = {}
            try:
                self.worker.send({"op": "calls", "calls": calls}, arrays)
                for k in range(len(calls)):
                    current = owner[k]
                    reply, arr = self.worker.receive()
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
                out[current] = str(e)
                start = current + 1
        return out

    def close(self) -> None:
        if self.worker is not None:
            self.worker.close()


def _case_calls(assignment: Assignment, fname: str, prep: Prepared) -> list[tuple]:
    """The worker calls of one hidden case: the function, or forward then backward."""
    spec = assignment.specs[fname]
    if spec.backward_of:
        fwd = assignment.specs[spec.backward_of]
        keep = fwd.outputs.index(CACHE)
        return [(spec.backward_of, _copy(prep.args), [keep], False),
                (fname, [*_copy(prep.douts), Ret(0, keep)], [], True)]
    keep = [i for i, o in enumerate(spec.outputs) if o == CACHE]
    return [(fname, _copy(prep.args), keep, True)]


def _case_result(assignment: Assignment, fname: str, prep: Prepared, replies):
    """(student outputs | error string, (sent, echo) | None) from the worker's answers."""
    spec = assignment.specs[fname]
    if isinstance(replies, str):
        return replies, None
    if spec.backward_of:
        fwd_reply, _ = replies[0]
        if not fwd_reply.get("ok"):
            return (f"your {spec.backward_of} failed, so the backward pass could not run: "
                    f"{fwd_reply.get('error', '')}"), None
        if len(replies) < 2:
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
    spec = assignment.specs[fname]
    checks: list[dict] = []
    hints: list[str] = []
    preps = assignment.prepared[fname]
    answers = session.run_cases([_case_calls(assignment, fname, p) for p in preps])
    for prep, replies in zip(preps, answers, strict=True):
        result, echo = _case_result(assignment, fname, prep, replies)
        if isinstance(result, str):
            msg = diagnose.explain_error(result, prep.case.dims)
            for name in prep.expected:
                checks.append({"case": prep.case.label, "check": name, "passed": False,
                               "message": msg, "mistake": None, "error": result})
            checks.append({"case": prep.case.label, "check": "inputs unchanged",
                           "passed": False, "message": "not checked: the call failed"})
            hints.append(msg)
            continue
        got, _ = flatten(spec.outputs, result)
        for name, ref in prep.expected.items():
            ok, msg, mistake = diagnose.verdict(name, got.get(name, Err("missing")), ref,
                                                prep.shapes.get(name, ""), prep, spec)
            checks.append({"case": prep.case.label, "check": name, "passed": ok,
                           "message": msg, "mistake": mistake, "error": None})
            if msg and not ok:
                hints.append(msg)
        sent, echoed = echo
        unchanged = _inputs_unchanged(sent, echoed)
        # Leaving the inputs alone earns credit only alongside some right output: returning
        # garbage without touching anything is not honest work.
        some_right = any(c["passed"] for c in checks[-len(prep.expected):])
        message = ("" if unchanged and some_right else
                   "not credited: no output of this case was right" if unchanged else
                   "your function modified an input array in place; work on copies")
        checks.append({"case": prep.case.label, "check": "inputs unchanged",
                       "passed": unchanged and some_right, "message": message})
        if not unchanged:
            hints.append(message)
    passed = sum(c["passed"] for c in checks)
    total = len(checks)
    points = float(assignment.points[fname])
    score = round(points * passed / total, 4) if total else 0.0
    # One hint per mistake (catalogued mistakes first), not one per output, with the number of
    # cases it showed up in; "unexplained": points lost that no catalogued mistake explains.
    n_cases = len(assignment.prepared[fname])
    order, mistakes = diagnose.summarize_hints(checks, n_cases)
    unexplained = sum(1 for c in checks if not c["passed"] and not c.get("mistake")
                      and c["check"] != "inputs unchanged")
    return {"score": score, "max_score": points, "passed": passed, "total": total,
            "status": "passed" if passed == total else ("partial" if passed else "failed"),
            "hints": order[:6], "checks": checks, "mistakes": mistakes,
            "unexplained": unexplained,
            "visible_tests": f"test_{fname} cell: {spec.visible}",
            "hidden_tests": _hidden_summary(assignment, fname)}


def _hidden_summary(assignment: Assignment, fname: str) -> str:
    preps = assignment.prepared[fname]
    labels = ", ".join(p.case.label for p in preps)
    outs = ", ".join(preps[0].expected) if preps else ""
    return (f"{len(preps)} cases ({labels}); in each, every output ({outs}) compared with the "
            "reference implementation, and the inputs checked to be left unchanged")


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
                continue
            results[fname] = grade_function(session, assignment, fname)
            results[fname]["found_in"] = program.found.get(fname, "")
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
    }


def _missing(assignment: Assignment, fname: str) -> dict:
    n = sum(len(p.expected) + 1 for p in assignment.prepared[fname])
    return {"score": 0.0, "max_score": float(assignment.points[fname]), "passed": 0, "total": n,
            "status": "missing", "found_in": "",
            "hints": [f"no definition of {fname} was found in the notebook's code cells"],
            "checks": [], "visible_tests": f"test_{fname} cell",
            "hidden_tests": _hidden_summary(assignment, fname)}


def grade(notebook_path: str | Path, assignment: str, *, manifest: str | Path | None = None,
          limits: Limits | None = None) -> dict:
    """Grade one notebook statelessly; returns a JSON-serialisable dict (see README)."""
    a = get_assignment(assignment, manifest)            # references + hidden tests first
    z = get_zygote([Path(notebook_path).resolve().parent])
    result = grade_notebook(notebook_path, a, z, limits)
    json.dumps(result)          # guarantee: serialisable
    return result

