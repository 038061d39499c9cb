"""Synthetic submissions for tests and benchmarks: notebooks built from the references.

``student_notebook(assignment, overrides)`` writes an nbgrader-style notebook whose cells define
every graded function with the reference body (annotations stripped), plus the helpers they
call. ``overrides`` replaces a function's source (a wrong variant) or adds raw cells, so tests
can build correct, partly wrong, broken and hostile submissions without hand-written files.
"""

from __future__ import annotations

import ast
import inspect
import json
import textwrap
import types
from pathlib import Path

import solutions

MUTATIONS = {
    # name: (function, old text, new text) on the ast.unparse()d reference source
    "rnn_step_no_tanh": ("rnn_step_backward", "da = dnext_h * (1.0 - next_h ** 2)",
                         "da = dnext_h"),
    "rnn_step_dWh_T": ("rnn_step_backward", "prev_h.T @ da,", "(prev_h.T @ da).T,"),
    "rnn_no_accumulate": ("rnn_backward", "(dh[:, t] + dprev_h) *", "dh[:, t] *"),
    "softmax_no_mask": ("temporal_softmax_loss", "m = mask.astype(x.dtype)",
                        "m = np.ones_like(mask, dtype=x.dtype)"),
    "embedding_overwrite": ("word_embedding_backward", "np.add.at(dW, x, dout)", "dW[x] = dout"),
    "lstm_gate_order": ("_gates",
                        "sigmoid(a[:, 2 * H:3 * H]), np.tanh(a[:, 3 * H:]))",
                        "sigmoid(a[:, 3 * H:]), np.tanh(a[:, 2 * H:3 * H]))"),
    "gru_swap_rz": ("_step", "r = sigmoid(gx[:, :H] + gh[:, :H])\n    z = sigmoid(gx[:, H:2 * H] + gh[:, H:2 * H])",
                    "z = sigmoid(gx[:, :H] + gh[:, :H])\n    r = sigmoid(gx[:, H:2 * H] + gh[:, H:2 * H])"),
    "affine_db_sign": ("temporal_affine_backward", "db = dout.sum(axis=(0, 1))",
                       "db = -dout.sum(axis=(0, 1))"),
}


def _strip_annotations(tree: ast.AST) -> None:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            node.returns = None
            for a in node.args.args + node.args.kwonlyargs + node.args.posonlyargs:
                a.annotation = None
            if node.args.vararg:
                node.args.vararg.annotation = None
            if node.args.kwarg:
                node.args.kwarg.annotation = None


def clean_source(fn: types.FunctionType) -> str:
    tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    _strip_annotations(tree)
    return ast.unparse(tree)


def _collect(names: list[str]) -> dict[str, str]:
    """Source of each named reference function and, first, of every helper it uses."""
    out: dict[str, str] = {}

    def visit(name: str, env: dict) -> None:
        if name in out:
            return
        obj = env.get(name)
        if isinstance(obj, types.FunctionType) and obj.__module__.startswith(("solutions",
                                                                             "course_helpers")):
            src = clean_source(obj)
            out[name] = ""                       # mark first: recursion guard
            tree = ast.parse(src)
            for n in ast.walk(tree):
                if isinstance(n, ast.Name) and n.id != name:
                    visit(n.id, obj.__globals__)
            out.pop(name)
            out[name] = src
        elif isinstance(obj, dict | str | int | float | tuple) and not name.startswith("__"):
            text = f"{name} = {obj!r}"
            try:
                if ast.literal_eval(text.split(" = ", 1)[1]) == obj:
                    out[name] = text
            except (ValueError, SyntaxError):
                pass

    for n in names:
        visit(n, vars(solutions) | {n: getattr(solutions, n, None) or _extra(n)})
    return out


def _extra(name: str):
    if name == "tbptt_train":
        from solutions.tbptt import tbptt_train

        return tbptt_train
    return None


def _cell(source: str, cell_type: str = "code", nbgrader: dict | None = None,
          cell_id: str | None = None) -> dict:
    cell = {"cell_type": cell_type, "metadata": {}, "source": source}
    if cell_id:
        cell["id"] = cell_id
    if nbgrader:
        cell["metadata"]["nbgrader"] = dict(nbgrader, schema_version=3)
    if cell_type == "code":
        cell["execution_count"] = None
        cell["outputs"] = []
    return cell


def function_sources(functions: list[str], mutations: list[str] = ()) -> dict[str, str]:
    sources = _collect(functions)
    for m in mutations:
        fname, old, new = MUTATIONS[m]
        if old not in sources[fname]:
            raise ValueError(f"mutation {m}: {old!r} not in {fname}")
        sources[fname] = sources[fname].replace(old, new)
    return sources


def student_notebook(path: str | Path, functions: dict[str, float], *,
                     mutations: list[str] = (), overrides: dict[str, str] | None = None,
                     extra_cells: list[str] = (), drop: list[str] = ()) -> Path:
    """Write a submission: an imports cell, helper cells, and per graded function an impl cell
    and a test cell with nbgrader metadata. ``overrides`` maps a function to replacement source;
    ``extra_cells`` are appended code cells; ``drop`` omits functions."""
    sources = function_sources(list(functions), mutations)
    sources.update(overrides or {})
    cells = [_cell("import numpy as np\nfrom collections.abc import Mapping, Callable\n",
                   cell_id="imports")]
    for name, src in sources.items():
        if name in drop:
            continue
        if name in functions:
            cells.append(_cell(src, nbgrader={"grade": False, "grade_id": f"impl_{name}",
                                              "locked": False, "solution": True, "task": False},
                               cell_id=f"impl-{name}"))
            cells.append(_cell(f"# Tests for {name}\nassert callable({name})\n",
                               nbgrader={"grade": True, "grade_id": f"test_{name}",
                                         "locked": True, "points": functions[name],
                                         "solution": False, "task": False},
                               cell_id=f"test-{name}"))
        else:
            cells.append(_cell(src, cell_id=f"given-{name}"))
    for k, src in enumerate(extra_cells):
        cells.append(_cell(src, cell_id=f"extra-{k}"))
    nb = {"cells": cells, "metadata": {"kernelspec": {"name": "python3", "language": "python",
                                                      "display_name": "Python 3"},
                                       "language_info": {"name": "python"}},
          "nbformat": 4, "nbformat_minor": 5}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb, indent=1))
    return path
