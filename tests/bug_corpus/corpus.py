"""The bug corpus: realistic buggy submissions, one bug each, across the five assignments.

Each ``<assignment>/<bug_id>.py`` holds one buggy graded function, a one-line docstring saying
what is wrong, and two header comments: ``# function: <graded function>`` and
``# mistake: <catalogue id the feedback must name>``. A submission is the instructor's solution
notebook (``exercises/source/<a>/<a>.ipynb``) with that one definition replaced, so every other
function in it is right.

Used by ``tests/test_bug_corpus.py`` and ``bench/bench_bug_corpus.py``.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
SOURCE = REPO / "exercises" / "source"


@dataclass(frozen=True)
class Bug:
    assignment: str
    bug_id: str
    function: str
    mistake: str
    about: str
    source: str            # the buggy definition only

    @property
    def name(self) -> str:
        return f"{self.assignment}/{self.bug_id}"


def load() -> list[Bug]:
    """Every bug of the corpus, sorted by assignment and id. Raises ValueError on a bad file."""
    bugs = []
    for path in sorted(HERE.glob("0*/*.py")):
        text = path.read_text()
        meta = dict(re.findall(r"^# (function|mistake): (\S+)$", text, re.MULTILINE))
        if set(meta) != {"function", "mistake"}:
            raise ValueError(f"{path}: needs '# function:' and '# mistake:' header lines")
        tree = ast.parse(text)
        defs = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == meta["function"]]
        if len(defs) != 1:
            raise ValueError(f"{path}: must define {meta['function']} exactly once")
        lines = text.split("\n")
        src = "\n".join(lines[defs[0].lineno - 1: defs[0].end_lineno]) + "\n"
        bugs.append(Bug(path.parent.name, path.stem, meta["function"], meta["mistake"],
                        ast.get_docstring(tree) or "", src))
    return bugs


def build_notebook(bug: Bug, folder: Path) -> Path:
    """Write the instructor's notebook with ``bug.function`` replaced; returns its path."""
    src_nb = SOURCE / bug.assignment / f"{bug.assignment}.ipynb"
    nb = json.loads(src_nb.read_text())
    target = None
    for cell in nb["cells"]:
        if cell.get("cell_type") != "code":
            continue
        text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name == bug.function:
                target = (cell, text, node)
    if target is None:
        raise ValueError(f"{src_nb} defines no {bug.function}")
    cell, text, node = target
    lines = text.split("\n")
    first = min([node.lineno] + [d.lineno for d in node.decorator_list])
    new = lines[: first - 1] + bug.source.rstrip("\n").split("\n") + lines[node.end_lineno:]
    cell["source"] = "\n".join(new)
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"{bug.assignment}.ipynb"
    out.write_text(json.dumps(nb, indent=1))
    return out


def measure(bug: Bug, result: dict) -> dict:
    """The three figures for one graded submission: caught, isolated, hint on target."""
    funcs = result["functions"]
    fr = funcs[bug.function]
    charged = {f: round(r["max_score"] - r["score"], 4) for f, r in funcs.items()
               if f != bug.function and r["score"] < r["max_score"]}
    named = [m["id"] for m in fr.get("mistakes", [])]
    return {"bug": bug.name, "function": bug.function, "expected": bug.mistake,
            "caught": fr["score"] < fr["max_score"], "isolated": not charged,
            "on_target": bug.mistake in named, "named": named, "charged": charged,
            "score": fr["score"], "max_score": fr["max_score"], "hints": fr["hints"][:3]}
