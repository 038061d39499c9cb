"""Which submissions' graded functions are suspiciously alike: a ranking for a person to read.

    python -m autograder similarity --course exercises --assignment 01_rnn

Fingerprinting is done by the ``copydetect`` library (MOSS-style winnowing of k-grams of the
tokenised code, with identifiers, function names and strings replaced by placeholders and
comments and whitespace dropped: Schleimer, Wilkerson and Aiken, "Winnowing: local algorithms for
document fingerprinting", SIGMOD 2003). This module only decides what is compared:

- only the graded functions' code and the helpers they use, as the grader extracts them
  (``autograder.notebook``): top-level experiments, prints and outputs are not compared;
- the code every student received is boilerplate: the fingerprints of the released notebook
  (the stubs, the docstrings, the given cells) are removed from every submission;
- fingerprints shared by a large part of the class (``--common``, default 25%) are the obvious
  structure of the solution (``next_h = np.tanh(x @ Wx + prev_h @ Wh + b)`` can only be written a
  few ways) and are ignored too, as MOSS's ``-m`` option does.

Pairs are ranked by the share of each submission's remaining fingerprinted code that the other
contains. The report shows each pair above ``--threshold`` side by side with the shared passages
highlighted. It is never a verdict: similar code has innocent explanations (a shared study group,
the same textbook), and a person must read the pair.
"""

from __future__ import annotations

import builtins
import hashlib
import io
import json
import keyword
import re
import tokenize
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

K = 25          # noise threshold: k-gram length in filtered characters
WINDOW = 4      # winnowing window (guarantee threshold K + WINDOW - 1)


@dataclass
class Document:
    """One submission's compared code."""

    student: str
    notebook: str
    code: str
    fp: object                      # copydetect.CodeFingerprint


def graded_code(notebook: str | Path, functions: list[str]) -> str:
    """The source of the graded functions and the helpers they use, in a canonical order.

    The graded functions come in the assignment's order, then the helpers sorted by their text,
    so that moving cells around changes nothing. Imports are left out (everyone writes
    ``import numpy as np``). Raises OSError when the notebook cannot be read.
    """
    from autograder.notebook import extract, read_cells

    cells, _ = read_cells(notebook)
    program = extract(cells, functions)
    parts = []
    for _label, text in program.chunks:
        body = text.strip("\n")
        if re.match(r"^\s*(import|from)\s", body) and "\n" not in body:
            continue
        m = re.match(r"\s*(?:@.*\n\s*)*(?:async\s+)?(?:def|class)\s+(\w+)", body)
        rank = functions.index(m.group(1)) if m and m.group(1) in functions else len(functions)
        parts.append((rank, body))
    parts.sort(key=lambda p: (p[0], p[1] if p[0] == len(functions) else ""))
    return "\n\n".join(body for _, body in parts) + "\n"


def release_code(course: Path, assignment: str, notebook_name: str) -> str:
    """All code the students were given: the released notebook's code cells.

    Uses ``<course>/release/<a>/<nb>`` when it exists, else the instructor notebook in
    ``source/`` with its solution regions removed, as ``nbgrader generate_assignment`` does.
    Returns "" when neither exists.
    """
    from autograder.notebook import read_cells

    for folder in ("release", "source"):
        path = course / folder / assignment / notebook_name
        if not path.exists():
            continue
        cells, _ = read_cells(path)
        code = []
        for cell in cells:
            if cell.cell_type != "code":
                continue
            src = cell.source
            if folder == "source":
                src = re.sub(r"### BEGIN SOLUTION.*?### END SOLUTION", "", src, flags=re.S)
                src = re.sub(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS", "", src, flags=re.S)
            code.append(src)
        return "\n\n".join(code)
    return ""


KEEP = frozenset(dir(builtins)) | {"np", "numpy", "math"}


def normalize(code: str, keep: frozenset[str] = KEEP) -> tuple[str, np.ndarray]:
    """Code as a name-free token string, and copydetect's offset table back to the original.

    Identifiers the student chose (variables, parameters, local helpers) become ``V``; what a
    renaming cannot change stays: keywords, operators, numbers, builtins, the ``np`` module and
    every attribute after a dot (``np.tanh``, ``.sum``, ``.T``), and the graded functions' names
    passed in ``keep``. Strings become ``S``; comments and whitespace are dropped. The table has
    copydetect's layout: rows [index in the normalised text, characters removed before it].
    Code that does not tokenize is compared as it is.
    """
    out: list[str] = []
    offsets = [[0, 0]]
    removed, length, pos = 0, 0, 0
    lines = code.splitlines(keepends=True)
    starts = [0]
    for ln in lines:
        starts.append(starts[-1] + len(ln))
    prev = None
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(code).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return code, np.array([])
    for tok in tokens:
        if tok.type in (tokenize.ENDMARKER,):
            break
        begin = starts[tok.start[0] - 1] + tok.start[1] if tok.start[0] - 1 < len(starts) else len(code)
        removed += begin - pos                       # whitespace and anything skipped
        pos = begin
        text = tok.string
        if tok.type in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
                        tokenize.DEDENT) or not text.strip():
            emit = ""
        elif tok.type == tokenize.NAME:
            after_dot = prev is not None and prev.string == "."
            emit = text if (after_dot or keyword.iskeyword(text) or text in keep) else "V"
        elif tok.type == tokenize.STRING:
            emit = "S"
        else:
            emit = text
        end = starts[tok.end[0] - 1] + tok.end[1] if tok.end[0] - 1 < len(starts) else len(code)
        if emit:
            offsets.append([length, removed])
            out.append(emit)
            length += len(emit)
            removed += (end - pos) - len(emit)
        else:
            removed += end - pos
        pos = end
        if tok.type not in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
                            tokenize.DEDENT):
            prev = tok
    return "".join(out), np.array(offsets)


def _stable_kgram_hashes(string: str, k: int) -> np.ndarray:
    """Hashes of every k-gram, the same in every process (64-bit BLAKE2b prefixes).

    copydetect hashes k-grams with Python's ``hash()``, which is salted per process
    (PYTHONHASHSEED), so two runs on the same class would rank pairs near a threshold differently;
    a ranking an instructor acts on must be reproducible.
    """
    n = len(string) - k + 1
    return np.array([int.from_bytes(hashlib.blake2b(string[i:i + k].encode(), digest_size=8).digest(),
                                    "little", signed=True) for i in range(max(0, n))], dtype=np.int64)


def _use_stable_hashes() -> None:
    import copydetect.utils

    copydetect.utils.hashed_kgrams = _stable_kgram_hashes


def _fingerprint(code: str, boilerplate=(), keep: frozenset[str] = KEEP) -> object:
    from copydetect import CodeFingerprint

    _use_stable_hashes()

    filtered, offsets = normalize(code, keep)
    fp = CodeFingerprint("submission.py", K, WINDOW, boilerplate=list(boilerplate),
                         fp=io.StringIO(filtered), filter=False)
    fp.raw_code, fp.offsets = code, offsets
    return fp


def build_documents(subs: dict[str, Path], functions: list[str], given: str,
                    progress: bool = False) -> tuple[list[Document], list[str]]:
    """Fingerprint every submission with the released code as boilerplate."""
    keep = KEEP | frozenset(functions)
    boiler = set(_fingerprint(given, keep=keep).hashes) if given.strip() else set()
    docs, notes = [], []
    for student, path in tqdm(sorted(subs.items()), desc="fingerprinting", unit="nb",
                              disable=not progress):
        try:
            code = graded_code(path, functions)
        except OSError as e:
            notes.append(f"{student}: could not read {path.name} ({e})")
            continue
        if not code.strip():
            notes.append(f"{student}: no graded function found; not compared")
            continue
        docs.append(Document(student, str(path), code, _fingerprint(code, boiler, keep)))
    return docs, notes


def rank_pairs(docs: list[Document], common: float = 0.25, min_shared: int = 3,
               min_share: float = 0.2, progress: bool = False) -> tuple[list[dict], int]:
    """Rank pairs by shared fingerprints; returns (pairs, number of common hashes ignored).

    Candidate pairs come from counting every pair's shared distinctive fingerprints in one
    matrix product; only pairs sharing at least ``min_shared`` of them, and at least ``min_share``
    of the smaller document's, are compared in full (copydetect's ``compare_files``), so 1,000
    submissions do not cost half a million full comparisons. A fingerprint present in more than ``common`` of the
    submissions (and in at least 3) is treated as the obvious structure and ignored.
    """
    from copydetect.detector import compare_files

    n = len(docs)
    owners: dict[int, list[int]] = defaultdict(list)
    for i, d in enumerate(docs):
        for h in d.fp.hashes:
            owners[h].append(i)
    limit = max(3, int(common * n))
    obvious = {h for h, who in owners.items() if len(who) > limit}
    if obvious:
        for d in docs:
            kept = d.fp.hashes - obvious
            if kept != d.fp.hashes:
                d.fp.hashes = kept
                d.fp.hash_idx = {h: v for h, v in d.fp.hash_idx.items() if h in kept}
                from copydetect.utils import get_token_coverage

                d.fp.token_coverage = get_token_coverage(d.fp.hash_idx, d.fp.k,
                                                         len(d.fp.filtered_code))
    # Shared distinctive fingerprints of every pair at once: a documents x fingerprints 0/1
    # matrix B (only fingerprints held by 2 or more documents) and C = B B^T, in column chunks.
    multi = [h for h, who in owners.items() if h not in obvious and len(who) >= 2]
    counts = np.zeros((n, n), dtype=np.float32)
    for start in range(0, len(multi), 4096):
        chunk = multi[start:start + 4096]
        B = np.zeros((n, len(chunk)), dtype=np.float32)
        for c, h in enumerate(chunk):
            B[owners[h], c] = 1.0
        counts += B @ B.T
    sizes = np.array([max(1, len(d.fp.hashes)) for d in docs], dtype=np.float32)
    smaller = np.minimum(sizes[:, None], sizes[None, :])
    iu, ju = np.nonzero(np.triu((counts >= min_shared) & (counts >= min_share * smaller), k=1))
    shared = {(int(i), int(j)): int(counts[i, j]) for i, j in zip(iu, ju, strict=True)}
    pairs = []
    for (i, j), count in tqdm(sorted(shared.items()), desc="comparing", unit="pair",
                              disable=not progress):
        if count < min_shared:
            continue
        a, b = docs[i], docs[j]
        tokens, (sim_a, sim_b), (sl_a, sl_b) = compare_files(a.fp, b.fp)
        if not tokens:
            continue
        pairs.append({"a": a.student, "b": b.student, "similarity": round(float(min(sim_a, sim_b)), 4),
                      "share_a": round(float(sim_a), 4), "share_b": round(float(sim_b), 4),
                      "shared_tokens": int(tokens), "_slices": (sl_a, sl_b), "_docs": (i, j)})
    pairs.sort(key=lambda p: (-p["similarity"], -p["shared_tokens"], p["a"], p["b"]))
    return pairs, len(obvious)


def _highlight(code: str, slices) -> str:
    from copydetect.utils import highlight_overlap

    if len(slices) == 0 or np.asarray(slices).size == 0:
        from markupsafe import escape

        return str(escape(code))
    # only the shared passages with a few lines around them (the rest is "...")
    out, _ = highlight_overlap(code, np.asarray(slices), "<mark>", "</mark>", truncate=4, escape_html=True)
    return out


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Similarity ranking: {{ assignment }}</title>
<style>
 body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:80rem;
      padding:0 1rem 3rem;color:#1b1b1b}
 h1{font-size:1.5rem} h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ccc}
 table{border-collapse:collapse} td,th{padding:.25rem .5rem;border-bottom:1px solid #ddd;text-align:left}
 .num{text-align:right;font-variant-numeric:tabular-nums}
 .pair{display:grid;grid-template-columns:repeat(auto-fit,minmax(18rem,1fr));gap:.8rem}
 pre{background:#f7f7f7;border:1px solid #ddd;padding:.5rem;overflow-x:auto;font-size:.8rem;
     white-space:pre-wrap;word-break:break-word}
 mark{background:#ffd84d;color:#000} .note{background:#eef4fb;border-left:4px solid #1f5fa8;padding:.5rem .8rem}
</style></head><body>
<h1>Similarity ranking: {{ assignment }}</h1>
<p class="note">A ranking for a person to read, never a verdict. Only the graded functions (and
the helpers they use) were compared, with names, strings, comments and whitespace normalised; the
released code and {{ obvious }} fingerprints shared by more than {{ (100 * common)|round|int }}% of
the class (the obvious structure of a solution) were ignored. Fingerprinting: copydetect
(winnowing, k = {{ k }}).</p>
<p>{{ n_docs }} submissions compared; {{ pairs|length }} pairs share distinctive code;
{{ shown|length }} at or above {{ (100 * threshold)|round|int }}% are shown below.</p>
<table><tr><th>#</th><th>pair</th><th class="num">similarity</th><th class="num">of A</th><th class="num">of B</th></tr>
{% for p in pairs[:top] %}<tr><td>{{ loop.index }}</td>
<td>{% if p in shown %}<a href="#p{{ loop.index }}">{{ p.a }} &amp; {{ p.b }}</a>
{%- else %}{{ p.a }} &amp; {{ p.b }}{% endif %}</td>
<td class="num">{{ pct(p.similarity) }}</td><td class="num">{{ pct(p.share_a) }}</td>
<td class="num">{{ pct(p.share_b) }}</td></tr>
{% endfor %}</table>
{% for p in shown %}
<h2 id="p{{ loop.index }}">{{ loop.index }}. {{ p.a }} &amp; {{ p.b }}: {{ pct(p.similarity) }}</h2>
<div class="pair"><div><h3>{{ p.a }}</h3><pre>{{ p.html_a|safe }}</pre></div>
<div><h3>{{ p.b }}</h3><pre>{{ p.html_b|safe }}</pre></div></div>
{% endfor %}
</body></html>
"""


def run_similarity(course: str | Path, assignment: str, *, out_dir: str | Path | None = None,
                   manifest: str | Path | None = None, threshold: float = 0.7,
                   common: float = 0.25, top: int = 50, progress: bool = True) -> dict:
    """Rank every pair of submissions; write similarity.html and similarity.json; return the JSON.

    Submissions are the notebooks the batch graded (its journal), else nbgrader's
    ``submitted/<student>/<assignment>/`` folders. Raises ValueError when there are fewer than
    two submissions.
    """
    import jinja2

    from autograder import report
    from autograder.judge import get_assignment

    course = Path(course).resolve()
    out = Path(out_dir).resolve() if out_dir else course / "hidden_grades" / assignment
    if manifest is None and (course / "manifest.json").exists():
        manifest = course / "manifest.json"
    a = get_assignment(assignment, manifest)
    functions = list(a.points)
    subs = _submissions(course, assignment, a.notebook, out)
    if len(subs) < 2:
        raise ValueError(f"{assignment}: fewer than two submissions to compare in {course}")
    given = release_code(course, assignment, a.notebook)
    docs, notes = build_documents(subs, functions, given, progress=progress)
    pairs, n_obvious = rank_pairs(docs, common=common, progress=progress)
    shown = [p for p in pairs if p["similarity"] >= threshold][:top]
    for p in shown:
        i, j = p["_docs"]
        p["html_a"] = _highlight(docs[i].code, p["_slices"][0])
        p["html_b"] = _highlight(docs[j].code, p["_slices"][1])
    env = jinja2.Environment(autoescape=True)
    page = env.from_string(PAGE).render(
        assignment=assignment, pairs=pairs, shown=shown, top=top, threshold=threshold,
        common=common, obvious=n_obvious, k=K, n_docs=len(docs),
        pct=lambda v: f"{100 * v:.0f}%")
    public = [{k: v for k, v in p.items() if not k.startswith("_") and not k.startswith("html")}
              for p in pairs]
    summary = {"assignment": assignment, "submissions": len(docs), "pairs": public[:max(top, 200)],
               "pairs_total": len(pairs), "threshold": threshold, "common": common,
               "obvious_fingerprints_ignored": n_obvious, "k": K, "window": WINDOW,
               "release_code_used": bool(given.strip()), "notes": notes,
               "library": "copydetect"}
    report.atomic_write(out / "similarity.json", json.dumps(summary, indent=1, ensure_ascii=False))
    report.atomic_write(out / "similarity.html", page)
    summary["html"] = str(out / "similarity.html")
    return summary


def _submissions(course: Path, assignment: str, notebook: str, out: Path) -> dict[str, Path]:
    journal = out / "journal"
    subs: dict[str, Path] = {}
    if journal.is_dir():
        for path in sorted(journal.glob("*.json")):
            try:
                nb = Path(json.loads(path.read_text(encoding="utf-8"))["result"]["notebook"])
            except (OSError, ValueError, KeyError, TypeError):
                continue
            if nb.exists():
                subs[path.stem] = nb
    if subs:
        return subs
    from autograder.batch import find_submissions

    return {student: choice.notebook for student, choice in
            find_submissions(course, assignment, notebook).items() if choice.notebook is not None}
