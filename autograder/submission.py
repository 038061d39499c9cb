"""Which notebook of a submission folder to grade, and whether it needs a human look.

One rule for every entry point (``batch``, ``gradescope``):

1. never a file under ``.ipynb_checkpoints`` or any other hidden folder (name starting with ``.``),
   and never a hidden file;
2. the assignment's own notebook name (``01_rnn.ipynb``) if it is there;
3. otherwise the names closest to it (``My 01_rnn.ipynb``, ``01_rnn (1).ipynb``,
   ``rnn_homework.ipynb``): the name similarity of :mod:`difflib`, with a bonus for containing the
   expected stem, must reach :data:`CLOSE_ENOUGH`; if no name is close, every notebook stays a
   candidate;
4. when several candidates remain, the one that defines the most graded functions (an ``ast``
   scan of its code cells, nothing is executed); ties go to the closest name, then to the most
   recently modified file, then to the name.

The choice, the files left out and why are reported in :attr:`Choice.notes`, which the batch and
the Gradescope entry point copy into the result's notes, the feedback and results.json.
"""

from __future__ import annotations

import ast
import difflib
import json
from dataclasses import dataclass, field
from pathlib import Path

from autograder.notebook import read_cells

CLOSE_ENOUGH = 0.6


@dataclass
class Choice:
    """The notebook to grade (``None`` if the folder has none) and what was decided."""

    notebook: Path | None
    ignored: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def visible_notebooks(folder: str | Path) -> tuple[list[Path], list[Path]]:
    """(candidate notebooks, notebooks skipped because they sit in hidden folders or are hidden).

    Paths are sorted; symbolic links are skipped (they could point anywhere on the host)."""
    folder = Path(folder)
    found, hidden = [], []
    for path in sorted(folder.rglob("*.ipynb")):
        rel = path.relative_to(folder)
        if path.is_symlink() or not path.is_file():
            continue
        if any(part.startswith(".") for part in rel.parts):
            hidden.append(path)
        else:
            found.append(path)
    return found, hidden


def name_similarity(name: str, expected: str) -> float:
    """0..1 closeness of a notebook's file name to the expected one (case-insensitive stems)."""
    a, b = Path(name).stem.lower(), Path(expected).stem.lower()
    ratio = difflib.SequenceMatcher(None, a, b).ratio()
    if b and b in a:
        ratio = max(ratio, 0.75 + 0.25 * len(b) / len(a))
    return ratio


def defined_functions(path: str | Path, functions: list[str]) -> set[str]:
    """Which of ``functions`` the notebook defines at the top level of a code cell (ast scan),
    not counting the released stubs (a body of only ``raise NotImplementedError``/``pass``)."""
    try:
        cells, _ = read_cells(path)
    except OSError:
        return set()
    wanted, found = set(functions), set()
    for cell in cells:
        if cell.cell_type != "code" or not any(f in cell.source for f in wanted):
            continue
        try:
            tree = ast.parse(cell.source)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            # a cell with magics or a typo: look for the def lines themselves
            found |= {f for f in wanted if f"def {f}(" in cell.source}
            continue
        for node in tree.body:
            if (isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name in wanted
                    and not _is_stub(node)):
                found.add(node.name)
    return found


def _is_stub(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """The released stub: only a docstring, ``pass``, ``...`` or ``raise NotImplementedError``."""
    for stmt in node.body:
        if isinstance(stmt, ast.Pass):
            continue
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            continue
        if isinstance(stmt, ast.Raise) and stmt.exc is not None:
            exc = stmt.exc.func if isinstance(stmt.exc, ast.Call) else stmt.exc
            if isinstance(exc, ast.Name) and exc.id == "NotImplementedError":
                continue
        return False
    return True


def choose_notebook(folder: str | Path, expected: str, functions: list[str]) -> Choice:
    """Pick the notebook to grade in a submission folder (see the module docstring).

    ``expected`` is the assignment's notebook file name, ``functions`` the graded functions."""
    folder = Path(folder)
    found, hidden = visible_notebooks(folder)
    notes = []

    def rel(p: Path) -> str:
        return p.relative_to(folder).as_posix()

    if hidden:
        notes.append("ignored (in a hidden or checkpoint folder): " + ", ".join(rel(p) for p in hidden))
    if not found:
        if hidden:
            notes.append(f"no notebook to grade: only checkpoint/hidden copies; please submit {expected}")
        return Choice(None, hidden, notes)
    exact = [p for p in found if p.relative_to(folder).as_posix() == expected]
    if exact:
        chosen = exact[0]
        others = [p for p in found if p != chosen]
        if others:
            notes.append(f"graded {rel(chosen)} (the assignment's notebook); not graded: "
                         + ", ".join(rel(p) for p in others))
        return Choice(chosen, others + hidden, notes)
    sim = {p: name_similarity(p.name, expected) for p in found}
    close = [p for p in found if sim[p] >= CLOSE_ENOUGH]
    candidates = close or found
    if len(candidates) == 1:
        chosen = candidates[0]
        why = "the closest name" if close else "the only notebook"
    else:
        defs = {p: len(defined_functions(p, functions)) for p in candidates}

        def mtime(p: Path) -> float:
            try:
                return p.stat().st_mtime
            except OSError:
                return 0.0

        chosen = max(candidates, key=lambda p: (defs[p], sim[p], mtime(p), -len(str(p)), str(p)))
        why = (f"it defines {defs[chosen]} of the {len(functions)} graded functions; "
               + ", ".join(f"{rel(p)} defines {defs[p]}" for p in candidates if p != chosen))
    others = [p for p in found if p != chosen]
    notes.append(f"no {expected} in the submission; graded {rel(chosen)} ({why})"
                 + ("; not graded: " + ", ".join(rel(p) for p in others) if others else ""))
    return Choice(chosen, others + hidden, notes)


def review_reasons(path: str | Path) -> list[str]:
    """Why a notebook needs a human look although it was graded: it is not a valid notebook
    (not JSON, e.g. truncated; no list of cells), so its code was salvaged from the text.
    Empty when the file is a well-formed JSON notebook."""
    try:
        raw = Path(path).read_bytes()
    except OSError as e:
        return [f"the notebook could not be read: {e}"]
    try:
        nb = json.loads(raw.decode("utf-8", errors="strict"))
    except UnicodeDecodeError:
        return ["the notebook is not UTF-8 text: graded from what could be decoded"]
    except (json.JSONDecodeError, RecursionError, ValueError) as e:
        where = f" at byte {e.pos} of {len(raw)}" if isinstance(e, json.JSONDecodeError) else ""
        return [f"the notebook is not valid JSON{where} (truncated or damaged): graded from the "
                "code that could be salvaged; check it by hand"]
    if not isinstance(nb, dict) or not isinstance(nb.get("cells", nb.get("worksheets")), list):
        return ["the file has no list of cells: graded from the code that could be salvaged"]
    return []
