"""A generated class for tests and benchmarks of the class report and the similarity ranking.

Every student writes the nine graded functions of ``01_rnn`` in their own way: each function is a
template with several independent choice points (matrix products with ``@`` or ``np.dot``, a loop
or a vectorised sum, intermediate variables or not, the order of independent statements, names,
comments), drawn from the student's own random stream, so two independent students share the
obvious structure of the maths but rarely a long run of identical code. On top of that:

- ``bugs``: planted, realistic mistakes (one function each), to check the mistake ranking;
- ``copies``: near-copies of another student's notebook, with variables renamed, the cells of the
  helpers and functions reordered and the comments changed, to check the similarity ranking.

``make_class(course, n, bugs, copies, seed)`` writes nbgrader's ``submitted/<student>/01_rnn/``
layout and returns what was planted.
"""

from __future__ import annotations

import io
import json
import random
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

FUNCTIONS = ["rnn_step_forward", "rnn_step_backward", "rnn_forward", "rnn_backward",
             "word_embedding_forward", "word_embedding_backward", "temporal_affine_forward",
             "temporal_affine_backward", "temporal_softmax_loss"]

#: planted mistakes: id -> (function, what the student wrote wrong)
BUGS = {
    "step_backward_no_tanh_derivative": "rnn_step_backward",
    "rnn_backward_not_accumulated": "rnn_backward",
    "embedding_backward_overwrites": "word_embedding_backward",
    "softmax_loss_mask_ignored": "temporal_softmax_loss",
    "affine_backward_odd_offset": "temporal_affine_backward",   # no catalogued mistake explains it
}


def _mm(r: random.Random, a: str, b: str) -> str:
    return r.choice([f"{a} @ {b}", f"np.dot({a}, {b})", f"{a}.dot({b})"])


def _T(r: random.Random, a: str) -> str:
    return r.choice([f"{a}.T", f"{a}.transpose()", f"np.transpose({a})"])


def _comment(r: random.Random, text: str) -> str:
    return r.choice(["", f"  # {text}", f"  # {text.lower()}", "  # TODO tidy"])


def step_forward(r, bug):
    pre = r.choice(["a", "z", "pre", "act"])
    out = r.choice(["next_h", "h_next", "hn"])
    terms = [_mm(r, "x", "Wx"), _mm(r, "prev_h", "Wh"), "b"]
    r.shuffle(terms)
    if r.random() < 0.5:
        body = (f"    {pre} = {' + '.join(terms)}{_comment(r, 'affine')}\n"
                f"    {out} = np.tanh({pre})\n")
    else:
        body = f"    {out} = np.tanh({' + '.join(terms)})\n"
    cache = r.choice([f"(x, prev_h, Wx, Wh, {out})", f"x, prev_h, Wx, Wh, {out}"])
    ret = r.choice([f"    cache = {cache}\n    return {out}, cache\n",
                    f"    return {out}, ({cache.strip('()')})\n"])
    return f"def rnn_step_forward(x, prev_h, Wx, Wh, b):\n{body}{ret}"


def step_backward(r, bug):
    da = r.choice(["da", "dtanh", "draw", "g"])
    names = r.choice([("x", "prev_h", "Wx", "Wh", "next_h"), ("x", "h_prev", "Wx", "Wh", "h"),
                      ("xt", "hp", "W_x", "W_h", "hn")])
    x, hp, wx, wh, hn = names
    deriv = r.choice([f"(1 - {hn} ** 2)", f"(1.0 - {hn} * {hn})", f"(1 - np.square({hn}))"])
    first = f"    {da} = dnext_h * {deriv}\n" if bug != "step_backward_no_tanh_derivative" \
        else f"    {da} = dnext_h{_comment(r, 'upstream')}\n"
    grads = [f"    dx = {_mm(r, da, _T(r, wx))}\n", f"    dprev_h = {_mm(r, da, _T(r, wh))}\n",
             f"    dWx = {_mm(r, _T(r, x), da)}\n", f"    dWh = {_mm(r, _T(r, hp), da)}\n",
             "    db = " + r.choice([f"{da}.sum(axis=0)", f"np.sum({da}, axis=0)", f"{da}.sum(0)"]) + "\n"]
    r.shuffle(grads)
    unpack = f"    {x}, {hp}, {wx}, {wh}, {hn} = cache\n"
    return (f"def rnn_step_backward(dnext_h, cache):\n{unpack}{first}{''.join(grads)}"
            "    return dx, dprev_h, dWx, dWh, db\n")


def seq_forward(r, bug):
    hs = r.choice(["h", "hs", "H_all"])
    cur = r.choice(["prev_h", "h_t", "state", "cur"])
    shape = r.choice(["N, T, _ = x.shape\n    H = h0.shape[1]\n", "N, T, D = x.shape\n    H = Wh.shape[0]\n"])
    alloc = r.choice([f"{hs} = np.zeros((N, T, H))\n", f"{hs} = np.empty((N, T, H))\n"])
    if r.random() < 0.5:
        loop = (f"    for t in range(T):\n        {cur}, _ = rnn_step_forward(x[:, t, :], {cur}, Wx, Wh, b)\n"
                f"        {hs}[:, t, :] = {cur}\n")
    else:
        loop = (f"    for t in range(T):\n        out = rnn_step_forward(x[:, t], {cur}, Wx, Wh, b)\n"
                f"        {cur} = out[0]{_comment(r, 'new state')}\n        {hs}[:, t] = {cur}\n")
    return (f"def rnn_forward(x, h0, Wx, Wh, b):\n    {shape}    {alloc}    {cur} = h0\n{loop}"
            f"    return {hs}, (x, h0, Wx, Wh, {hs})\n")


def seq_backward(r, bug):
    carry = r.choice(["dprev", "dh_next", "carry", "dh_rec"])
    acc = "+="
    init = r.choice(["np.zeros_like(Wx)", "np.zeros(Wx.shape)"])
    hprev = r.choice(["h0 if t == 0 else h[:, t - 1]", "h[:, t - 1] if t > 0 else h0"])
    up = r.choice([f"dh[:, t] + {carry}", f"{carry} + dh[:, t, :]"])
    if bug == "rnn_backward_not_accumulated":
        up = r.choice(["dh[:, t]", "dh[:, t, :]"])
    lines = [
        "def rnn_backward(dh, cache):",
        "    x, h0, Wx, Wh, h = cache",
        "    N, T, D = x.shape",
        f"    dx = {r.choice(['np.zeros_like(x)', 'np.zeros((N, T, D))'])}",
        f"    dWx = {init}",
        f"    dWh = {r.choice(['np.zeros_like(Wh)', 'np.zeros(Wh.shape)'])}",
        f"    db = {r.choice(['np.zeros_like(b0)', 'np.zeros(Wh.shape[0])']).replace('b0', 'Wh[0]')}",
        f"    {carry} = np.zeros_like(h0)",
        f"    for t in {r.choice(['reversed(range(T))', 'range(T - 1, -1, -1)'])}:",
        f"        prev = {hprev}",
        f"        step = rnn_step_backward({up}, (x[:, t], prev, Wx, Wh, h[:, t]))",
        f"        dx[:, t], {carry}, gWx, gWh, gb = step",
        f"        dWx {acc} gWx",
        f"        dWh {acc} gWh",
        f"        db {acc} gb",
        f"    return dx, {carry}, dWx, dWh, db",
    ]
    return "\n".join(lines) + "\n"


def emb_forward(r, bug):
    body = r.choice(["    out = W[x]\n", "    out = np.take(W, x, axis=0)\n", "    out = W[x, :]\n"])
    return f"def word_embedding_forward(x, W):\n{body}    cache = (x, W.shape)\n    return out, cache\n" \
        if r.random() < 0.5 else f"def word_embedding_forward(x, W):\n{body}    return out, (x, W.shape)\n"


def emb_backward(r, bug):
    head = "def word_embedding_backward(dout, cache):\n    x, W_shape = cache\n"
    alloc = r.choice(["    dW = np.zeros(W_shape)\n", "    dW = np.zeros(W_shape, dtype=dout.dtype)\n"])
    if bug == "embedding_backward_overwrites":
        body = r.choice(["    dW[x] = dout\n", "    dW[x.ravel()] = dout.reshape(-1, dout.shape[-1])\n"])
    else:
        body = r.choice(["    np.add.at(dW, x, dout)\n",
                         "    N, T = x.shape\n    for n in range(N):\n        for t in range(T):\n"
                         "            dW[x[n, t]] += dout[n, t]\n",
                         "    np.add.at(dW, x.reshape(-1), dout.reshape(-1, dout.shape[2]))\n"])
    return head + alloc + body + "    return dW\n"


def aff_forward(r, bug):
    if r.random() < 0.5:
        return ("def temporal_affine_forward(x, w, b):\n    N, T, D = x.shape\n"
                f"    out = ({_mm(r, 'x.reshape(N * T, D)', 'w')}).reshape(N, T, -1) + b\n"
                "    return out, (x, w)\n")
    return f"def temporal_affine_forward(x, w, b):\n    out = {_mm(r, 'x', 'w')} + b\n    return out, (x, w)\n"


def aff_backward(r, bug):
    dx = _mm(r, "dout", _T(r, "w"))
    if bug == "affine_backward_odd_offset":
        dx = f"{dx} + 0.01"
    lines = ["def temporal_affine_backward(dout, cache):", "    x, w = cache", "    N, T, D = x.shape"]
    grads = [f"    dx = {dx}",
             "    dw = " + r.choice([_mm(r, _T(r, "x.reshape(N * T, D)"), "dout.reshape(N * T, -1)"),
                                     "np.einsum('ntd,ntm->dm', x, dout)"]),
             "    db = " + r.choice(["dout.sum(axis=(0, 1))", "np.sum(dout, axis=(0, 1))",
                                     "dout.reshape(N * T, -1).sum(0)"])]
    r.shuffle(grads)
    return "\n".join(lines + grads + ["    return dx, dw, db"]) + "\n"


def softmax_loss(r, bug):
    m = r.choice(["m", "msk", "mask_f"])
    mask_line = f"    {m} = mask.astype(float)" if bug != "softmax_loss_mask_ignored" \
        else f"    {m} = np.ones(mask.shape)"
    shift = r.choice(["x - x.max(axis=2, keepdims=True)", "x - np.max(x, axis=-1, keepdims=True)"])
    if r.random() < 0.5:
        body = [f"    s = {shift}",
                "    p = np.exp(s)",
                "    p /= p.sum(axis=2, keepdims=True)",
                "    nll = -np.log(p[np.arange(N)[:, None], np.arange(T)[None, :], y])",
                f"    loss = np.sum(nll * {m}) / N",
                "    dx = p.copy()",
                "    dx[np.arange(N)[:, None], np.arange(T)[None, :], y] -= 1",
                f"    dx *= {m}[:, :, None] / N"]
    else:
        body = ["    V = x.shape[2]",
                f"    flat = ({shift}).reshape(N * T, V)",
                "    logp = flat - np.log(np.exp(flat).sum(axis=1, keepdims=True))",
                "    yf = y.reshape(N * T)",
                f"    mf = {m}.reshape(N * T)",
                "    loss = -(mf * logp[np.arange(N * T), yf]).sum() / N",
                "    dflat = np.exp(logp)",
                "    dflat[np.arange(N * T), yf] -= 1",
                "    dflat *= mf[:, None] / N",
                "    dx = dflat.reshape(N, T, V)"]
    return "\n".join(["def temporal_softmax_loss(x, y, mask):", "    N, T = y.shape", mask_line] + body
                     + ["    return loss, dx"]) + "\n"


TEMPLATES = {"rnn_step_forward": step_forward, "rnn_step_backward": step_backward,
             "rnn_forward": seq_forward, "rnn_backward": seq_backward,
             "word_embedding_forward": emb_forward, "word_embedding_backward": emb_backward,
             "temporal_affine_forward": aff_forward, "temporal_affine_backward": aff_backward,
             "temporal_softmax_loss": softmax_loss}


def student_sources(seed: int, bug: str | None = None) -> dict[str, str]:
    """One student's nine functions (source text), with the planted ``bug`` if any."""
    r = random.Random(seed)
    return {f: TEMPLATES[f](r, bug) for f in FUNCTIONS}


def near_copy(sources: dict[str, str], seed: int) -> dict[str, str]:
    """A disguised copy: local names renamed and comments changed, the layout kept as it was.

    (The writer of the notebook also reorders the cells; see :func:`make_class`.)
    """
    r = random.Random(seed)
    keep = set(FUNCTIONS) | {"np", "range", "reversed", "float", "x", "cache", "dout", "dh",
                             "mask", "y", "b", "W", "w", "h0", "prev_h", "dnext_h", "Wx", "Wh"}
    out = {}
    for f, src in sources.items():
        lines = src.split("\n")
        names: dict[str, str] = {}
        edits = []          # (row, col_start, col_end, new text)
        prev = None
        for tok in tokenize.generate_tokens(io.StringIO(src).readline):
            if (tok.type == tokenize.NAME and tok.string not in keep and not _keyword(tok.string)
                    and not (prev is not None and prev.string == ".")):
                names.setdefault(tok.string, f"{tok.string}{r.choice(['_v', '_tmp', '2', '_'])}")
                edits.append((tok.start[0] - 1, tok.start[1], tok.end[1], names[tok.string]))
            elif tok.type == tokenize.COMMENT:
                edits.append((tok.start[0] - 1, tok.start[1], tok.end[1],
                              r.choice(["# my version", "# checked", "#"])))
            if tok.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT):
                prev = tok
        for row, a, b, new in sorted(edits, reverse=True):
            lines[row] = lines[row][:a] + new + lines[row][b:]
        head, *body = lines
        out[f] = "\n".join([head, f"    {r.choice(['# my solution', '# vectorised', '# lecture 10'])}", *body])
    return out


def _keyword(s: str) -> bool:
    import keyword

    return keyword.iskeyword(s) or s in {"True", "False", "None", "axis", "keepdims", "dtype"}


def notebook(sources: dict[str, str], order: list[str] | None = None, note: str = "") -> dict:
    """An nbgrader-style notebook (imports, then one solution cell and one test cell per function)."""
    order = order or list(sources)
    cells = [{"cell_type": "code", "metadata": {}, "source": "import numpy as np\n",
              "outputs": [], "execution_count": None}]
    if note:
        cells.append({"cell_type": "markdown", "metadata": {}, "source": note})
    for f in order:
        cells.append({"cell_type": "code", "outputs": [], "execution_count": None, "source": sources[f],
                      "metadata": {"nbgrader": {"grade": False, "grade_id": f"impl_{f}", "locked": False,
                                                "solution": True, "task": False, "schema_version": 3}}})
    return {"cells": cells, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                        "language": "python"}},
            "nbformat": 4, "nbformat_minor": 5}


@dataclass
class Planted:
    """What ``make_class`` planted: student -> bug id, and (original, copy) pairs."""

    bugs: dict[str, str] = field(default_factory=dict)
    copies: list[tuple[str, str]] = field(default_factory=list)
    students: list[str] = field(default_factory=list)


def make_class(course: str | Path, n: int, bugs: dict[str, int], copies: int = 3,
               seed: int = 0, assignment: str = "01_rnn") -> Planted:
    """Write ``n`` submissions into ``course/submitted/<student>/<assignment>/<assignment>.ipynb``.

    ``bugs`` maps a bug id of :data:`BUGS` to how many students make it (each buggy student makes
    one); ``copies`` of the correct students' notebooks are near-copies of another student's.
    Raises ValueError when the counts do not fit in ``n``.
    """
    if sum(bugs.values()) + 2 * copies > n:
        raise ValueError(f"{sum(bugs.values())} buggy + {2 * copies} copy students do not fit in {n}")
    unknown = set(bugs) - set(BUGS)
    if unknown:
        raise ValueError(f"unknown bug ids {sorted(unknown)}; known: {sorted(BUGS)}")
    course = Path(course)
    r = random.Random(seed)
    planted = Planted()
    plan: list[str | None] = [b for b, k in bugs.items() for _ in range(k)]
    plan += [None] * (n - len(plan) - copies)
    r.shuffle(plan)
    names = [f"s{k:04d}" for k in range(n)]
    correct = [names[i] for i, b in enumerate(plan) if b is None]
    originals = correct[:copies]
    written: dict[str, dict[str, str]] = {}
    for i, bug in enumerate(plan):
        src = student_sources(seed * 100_003 + i, bug)
        written[names[i]] = src
        if bug:
            planted.bugs[names[i]] = bug
        order = list(FUNCTIONS)
        _write(course, names[i], assignment, notebook(src, order))
    for k, orig in enumerate(originals):
        student = names[len(plan) + k]
        copy = near_copy(written[orig], seed + 7 * k + 1)
        order = list(FUNCTIONS)
        r.shuffle(order)
        _write(course, student, assignment, notebook(copy, order, note="My own work."))
        planted.copies.append((orig, student))
    planted.students = names
    return planted


def _write(course: Path, student: str, assignment: str, nb: dict) -> None:
    d = course / "submitted" / student / assignment
    d.mkdir(parents=True, exist_ok=True)
    (d / f"{assignment}.ipynb").write_text(json.dumps(nb, indent=1), encoding="utf-8")


def check_sources_compile() -> None:
    """Raise SyntaxError if any template renders invalid Python (used by the tests)."""
    for seed in range(50):
        for bug in [None, *BUGS]:
            for f, src in student_sources(seed, bug).items():
                compile(src, f, "exec")
            for f, src in near_copy(student_sources(seed, bug), seed).items():
                compile(src, f, "exec")

