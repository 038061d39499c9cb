"""Find a student's functions in a notebook, however mangled the notebook is.

Grading never trusts cell ids or nbgrader metadata: students delete, duplicate, retype and
re-order cells, and editors strip or corrupt metadata. Instead we

1. read the cells' source text (valid JSON; failing that, salvage every ``"source"`` field);
2. parse each code cell with ``ast`` (IPython magics and shell lines become ``pass``);
3. keep, for every name a graded function needs, the *last* top-level statement that binds it
   (a notebook run top to bottom ends with the last definition), then follow the names that
   statement uses: helper functions, constants and imports. Nothing else runs: top-level
   experiments, prints, monkeypatches and IPython hooks are never executed.

Parsing happens in the judge (it never executes anything); the selected source is sent to the
isolated worker.
"""

from __future__ import annotations

import ast
import functools
import json
import re
import symtable
import threading
from dataclasses import dataclass, field
from pathlib import Path

MAX_NOTEBOOK_BYTES = 50 << 20


@dataclass
class Cell:
    index: int
    cell_type: str
    source: str


@dataclass
class Program:
    """The code the worker will execute, and what we learned while extracting it."""

    chunks: list[tuple[str, str]]          # (label such as "cell 7", source) in notebook order
    found: dict[str, str]                  # graded function -> where its definition was found
    missing: list[str]
    notes: list[str] = field(default_factory=list)
    # graded function -> why it is missing although the notebook defines it (a syntax error)
    problems: dict[str, str] = field(default_factory=dict)


def read_cells(path: str | Path) -> tuple[list[Cell], list[str]]:
    """Return the notebook's cells and notes about anything that had to be repaired."""
    raw = Path(path).read_bytes()[:MAX_NOTEBOOK_BYTES]
    text = raw.decode("utf-8", errors="replace")
    notes: list[str] = []
    try:
        nb = json.loads(text)
        cells = _cells_from_json(nb)
        if cells is not None:
            return cells, notes
        notes.append("the notebook has no list of cells; recovered the code from its text")
    except (json.JSONDecodeError, RecursionError, ValueError):
        notes.append("the notebook is not valid JSON; recovered the code from its text")
    return _salvage(text), notes


def _as_text(src) -> str:
    if isinstance(src, str):
        return src
    if isinstance(src, list):
        return "".join(s for s in src if isinstance(s, str))
    return ""


def _cells_from_json(nb) -> list[Cell] | None:
    if not isinstance(nb, dict):
        return None
    raw_cells = nb.get("cells")
    if raw_cells is None and isinstance(nb.get("worksheets"), list):   # nbformat 3
        raw_cells = [c for ws in nb["worksheets"] if isinstance(ws, dict)
                     for c in ws.get("cells", []) or []]
    if not isinstance(raw_cells, list):
        return None
    cells = []
    for i, c in enumerate(raw_cells):
        if not isinstance(c, dict):
            continue
        ctype = c.get("cell_type")
        ctype = ctype if isinstance(ctype, str) else "code"
        src = c.get("source", c.get("input", ""))
        cells.append(Cell(i, ctype, _as_text(src)))
    return cells


_SOURCE_KEY = re.compile(r'"(source|input)"\s*:\s*')
_TYPE_KEY = re.compile(r'"cell_type"\s*:\s*"(\w+)"')


def _salvage(text: str) -> list[Cell]:
    """Pull every decodable "source" value out of broken JSON, with the nearest cell_type."""
    decoder = json.JSONDecoder()
    cells = []
    for m in _SOURCE_KEY.finditer(text):
        try:
            value, _ = decoder.raw_decode(text, m.end())
        except (json.JSONDecodeError, RecursionError):
            continue
        types = _TYPE_KEY.findall(text, max(0, m.start() - 4000), m.start())
        cells.append(Cell(len(cells), types[-1] if types else "code", _as_text(value)))
    return cells


_MAGIC = re.compile(r"^(\s*)([%!].*|\S+\s*=\s*!.*)$")


# CPython 3.11's parser is not safe to call from several threads at once (it can raise
# "SystemError: AST constructor recursion depth mismatch"): one parse at a time.
_PARSE_LOCK = threading.RLock()


def _parse(source: str) -> ast.Module | None:
    with _PARSE_LOCK:
        return _parse_cached(source)


@functools.lru_cache(maxsize=4096)
def _parse_cached(source: str) -> ast.Module | None:
    """Parse a cell; IPython line magics and shell escapes are replaced by ``pass``."""
    if source.lstrip().startswith("%%"):
        return None
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError, SystemError):
        pass
    lines = [(_MAGIC.sub(r"\1pass", ln) if _MAGIC.match(ln) else ln) for ln in source.split("\n")]
    try:
        return ast.parse("\n".join(lines))
    except (SyntaxError, ValueError, RecursionError, MemoryError, SystemError):
        return None


def _bound_names(node: ast.stmt) -> list[str]:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return [node.name]
    if isinstance(node, ast.Import | ast.ImportFrom):
        return [(a.asname or a.name.split(".")[0]) for a in node.names if a.name != "*"]
    targets = []
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, ast.AnnAssign) and node.value is not None:
        targets = [node.target]
    names = []
    for t in targets:
        for n in ast.walk(t):
            if isinstance(n, ast.Name):
                names.append(n.id)
            elif not isinstance(n, ast.Tuple | ast.List | ast.Starred | ast.expr_context):
                return []   # x.attr = ..., x[i] = ...: a mutation, not a definition
    return names


def _segment(node: ast.stmt, source: str) -> tuple[int, str]:
    """(first line, text) of a statement including its decorators.

    A statement nested under a top-level ``if``/``try``/``with`` is dedented to column 0.
    """
    first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    lines = source.split("\n")[first - 1: node.end_lineno]
    indent = node.col_offset
    if indent:
        lines = [ln[indent:] if ln[:indent].strip() == "" else ln.lstrip() for ln in lines]
    return first, "\n".join(lines)


def _statements(body: list[ast.stmt]):
    """Top-level statements, and those nested under top-level if/try/with blocks, which run
    when the cell runs (the branch taken is not known: every branch is looked at, the last
    binding of a name wins)."""
    for node in body:
        if isinstance(node, ast.If | ast.With | ast.AsyncWith):
            yield from _statements(node.body)
            yield from _statements(getattr(node, "orelse", []))
        elif isinstance(node, ast.Try | getattr(ast, "TryStar", ast.Try)):
            yield from _statements(node.body)
            for h in node.handlers:
                yield from _statements(h.body)
            yield from _statements(node.orelse)
            yield from _statements(node.finalbody)
        else:
            yield node


_FENCE = re.compile(r"^\s*(```|~~~)")
_DEF = re.compile(r"^[ \t]*(?:async[ \t]+)?(?:def|class)[ \t]+(\w+)", re.MULTILINE)


def _text_cell_code(source: str) -> str:
    """The code of a Markdown/Raw cell: the fenced blocks if it has any (other lines blanked,
    so line numbers stay right), else the whole text."""
    lines = source.split("\n")
    if not any(_FENCE.match(ln) for ln in lines):
        return source
    out, inside = [], False
    for ln in lines:
        if _FENCE.match(ln):
            inside = not inside
            out.append("")
        else:
            out.append(ln if inside else "")
    return "\n".join(out)


def _syntax_error(source: str) -> tuple[int, str] | None:
    """(line, message) of the first syntax error of a cell (magics replaced by ``pass``)."""
    lines = [(_MAGIC.sub(r"\1pass", ln) if _MAGIC.match(ln) else ln) for ln in source.split("\n")]
    try:
        with _PARSE_LOCK:
            ast.parse("\n".join(lines))
    except SyntaxError as e:
        return int(e.lineno or 0), str(e.msg)
    except (ValueError, RecursionError, MemoryError, SystemError) as e:
        return 0, type(e).__name__
    return None


def _used_names(node: ast.stmt, source: str) -> set[str]:
    """Global names a statement reads. For a def, locals and parameters are not included."""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return set(_def_globals(_segment(node, source)[1]))
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _def_globals(text: str) -> frozenset[str]:
    with _PARSE_LOCK:
        return _def_globals_cached(text)


@functools.lru_cache(maxsize=4096)
def _def_globals_cached(text: str) -> frozenset[str]:
    try:
        table = symtable.symtable(text, "<cell>", "exec")
        names: set[str] = set()
        stack = list(table.get_children())
        while stack:
            t = stack.pop()
            stack.extend(t.get_children())
            for sym in t.get_symbols():
                if sym.is_global() or (sym.is_referenced() and not sym.is_local()
                                       and not sym.is_free() and not sym.is_parameter()):
                    names.add(sym.get_name())
        # decorators, default values and annotations are evaluated at definition time
        for sym in table.get_symbols():
            if sym.is_referenced():
                names.add(sym.get_name())
        return frozenset(names)
    except (SyntaxError, RecursionError, ValueError, SystemError):
        pass
    tree = ast.parse(text)
    return frozenset(n.id for n in ast.walk(tree) if isinstance(n, ast.Name))


def extract(cells: list[Cell], functions: list[str]) -> Program:
    """Select the statements that define ``functions`` and everything they use."""
    notes: list[str] = []
    # (order, cell index, statement, source text) for every candidate top-level statement
    bindings: dict[str, tuple[int, int, ast.stmt, str]] = {}
    star_imports: list[tuple[int, int, ast.stmt, str]] = []
    order = 0
    unparsable = 0
    code_cells = [c for c in cells if c.cell_type == "code"]
    other_cells = [Cell(c.index, c.cell_type, _text_cell_code(c.source)) for c in cells
                   if c.cell_type in ("raw", "markdown")]
    raw_bindings: dict[str, tuple[int, int, ast.stmt, str]] = {}
    broken: dict[str, tuple[int, int, str]] = {}    # name -> (cell, line, message)
    cell_types = {c.index: c.cell_type for c in cells}
    for group, target in ((code_cells, bindings), (other_cells, raw_bindings)):
        for cell in group:
            tree = _parse(cell.source)
            if tree is None:
                if cell.cell_type == "code" and cell.source.strip():
                    unparsable += 1
                    line, msg = _syntax_error(cell.source) or (0, "invalid syntax")
                    notes.append(f"cell {cell.index} has a syntax error at line {line} ({msg}) "
                                 "and was skipped, as Python would skip it")
                    for name in _DEF.findall(cell.source):
                        broken[name] = (cell.index, line, msg)
                continue
            for node in _statements(tree.body):
                order += 1
                if isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names):
                    if target is bindings:
                        star_imports.append((order, cell.index, node, cell.source))
                    continue
                for name in _bound_names(node):
                    target[name] = (order, cell.index, node, cell.source)
    found: dict[str, str] = {}
    problems: dict[str, str] = {}
    for f in functions:
        if f not in bindings and f in raw_bindings:
            bindings[f] = raw_bindings[f]
            kind = {"raw": "Raw", "markdown": "Markdown"}.get(cell_types.get(raw_bindings[f][1]), "text")
            notes.append(f"{f} was found in a {kind} cell (cell {raw_bindings[f][1]}): its cell type "
                         "was changed, so Jupyter would not run it; graded anyway")
        if f not in bindings and f in broken:
            cell_i, line, msg = broken[f]
            problems[f] = (f"{f} is defined in cell {cell_i}, but that cell has a syntax error at "
                           f"line {line}: {msg}")

    selected: dict[int, tuple[int, ast.stmt, str]] = {}
    todo = [f for f in functions if f in bindings]
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen or name not in bindings:
            continue
        seen.add(name)
        order_, cell_index, node, src = bindings[name]
        if order_ not in selected:
            selected[order_] = (cell_index, node, src)
            todo.extend(_used_names(node, src) - seen)
    for f in functions:
        if f in bindings:
            found[f] = f"cell {bindings[f][1]}"
    for order_, cell_index, node, src in star_imports:
        selected[order_] = (cell_index, node, src)

    chunks = []
    for order_ in sorted(selected):
        cell_index, node, src = selected[order_]
        first, text = _segment(node, src)
        # Keep line numbers right in tracebacks by padding with blank lines.
        chunks.append((f"cell {cell_index}", "\n" * (first - 1) + text + "\n"))
    missing = [f for f in functions if f not in bindings]
    return Program(chunks, found, missing, notes, problems)


def load_program(path: str | Path, functions: list[str]) -> Program:
    cells, notes = read_cells(path)
    program = extract(cells, functions)
    program.notes = notes + program.notes
    return program
