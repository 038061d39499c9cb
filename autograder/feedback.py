"""Per-student feedback as one self-contained HTML page, delivered through nbgrader.

    python -m autograder feedback --course exercises --assignment 01_rnn

reads each student's journaled hidden-test result (``hidden_grades/<a>/journal/<student>.json``,
written by ``batch``) and the gradebook, and writes ``feedback/<student>/<a>/<notebook>.html``
(nbgrader's feedback folder, ``CourseDirectory.feedback_directory``) together with the
submission's ``timestamp.txt`` and ``submission_secret.txt``: exactly the files
``nbgrader release_feedback`` looks for, so it hands the page to the student, who gets it with
``nbgrader fetch_feedback``. The page is named after the notebook the student submitted (the
name ``fetch_feedback`` hashes), so run it after ``batch``; it replaces the page
``nbgrader generate_feedback`` would write for that notebook and carries the same gradebook
information (every graded cell's score and the grader's comments) plus the hidden-test results,
hints and notes.

The page needs no network: inline CSS, no scripts, no web fonts, no CDN. Maths in hints
(``$...$``, LaTeX) is rendered as Unicode text by :func:`math_text`. Templating is Jinja2 with
autoescaping on, so nothing a student wrote (error messages, file names) can inject markup.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

import jinja2

from autograder import report

TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Feedback: {{ fb.assignment }} ({{ fb.student }})</title>
<style>
body{font-family:system-ui,sans-serif;max-width:62em;margin:2em auto;padding:0 1em;line-height:1.45}
table{border-collapse:collapse;width:100%}td,th{padding:.4em;vertical-align:top;text-align:left;
border-bottom:1px solid #ccc}.passed{background:#e6f4ea}.partial{background:#fff4e0}
.failed,.missing,.error{background:#fde8e8}.flag{border:2px solid #b00;padding:.6em;background:#fff0f0}
code{font-family:ui-monospace,monospace;overflow-wrap:anywhere}
.chain{color:#333;font-size:.95em}
@media (max-width:40em){table,tbody,tr,td,th{display:block;width:auto}tr:first-child{display:none}
tr{border-bottom:2px solid #999;margin-bottom:.6em}td{border:0;padding:.2em .4em}}
</style></head><body>
{% set penalty = (late.penalty or 0) if late else 0 %}
<h1>{{ fb.assignment }}: {{ "%g"|format(fb.score - penalty) }} / {{ "%g"|format(fb.max_score) }}</h1>
{% if penalty %}<p>Hidden tests {{ "%g"|format(fb.score) }} / {{ "%g"|format(fb.max_score) }}, minus a late
penalty of {{ "%g"|format(penalty) }}.</p>{% endif %}
<p>Student: <strong>{{ fb.student }}</strong>{% if fb.graded_file %} &middot; graded notebook:
<code>{{ fb.graded_file }}</code>{% endif %}</p>
{% if fb.ignored_files %}<p>Not graded: {% for f in fb.ignored_files -%}
<code>{{ f }}</code>{{ ", " if not loop.last }}{% endfor %}</p>{% endif %}
{% if late and late.penalty %}<p class="flag">Submitted {{ late.timestamp }} (UTC), after the due date
{{ late.due }}: late penalty {{ "%g"|format(late.penalty) }} point(s) ({{ late.method }}).</p>{% endif %}
{% if fb.needs_manual_review %}<p class="flag">Your notebook could not be read completely; an instructor
will check the grade by hand.</p>{% endif %}
<h2>Hidden tests</h2>
<p>{{ fb.about }}</p>
<table><tr><th>function</th><th>points</th><th>checks</th><th>what to look at</th></tr>
{% for name, r in fb.functions.items() %}<tr class="{{ r.status }}"><td><code>{{ name }}</code></td>
<td>{{ "%g"|format(r.score) }} / {{ "%g"|format(r.max_score) }}</td>
<td>{{ r.checks_passed }} / {{ r.checks_total }}</td>
<td><ul>{% for h in r.hints %}<li>{{ h|math }}</li>{% else %}<li>all checks passed</li>{% endfor %}</ul>
{% set chain = r.get("chain") %}{% if chain and chain.status != "passed" %}<p class="chain">
<strong>Your whole chain</strong> (with
your own functions that this one calls; information, no points): {{ chain.passed }} / {{ chain.total }}
checks.{% for h in chain.hints[:3] %} {{ h|math }}{{ "" if h.endswith(".") else "." }}{% endfor %}</p>{% endif %}
<details><summary>what was tested</summary><p>Visible: {{ r.visible_tests|math }}</p>
<p>Hidden: {{ r.hidden_tests|math }}</p></details></td></tr>
{% endfor %}</table>
{% if cells %}<h2>All graded cells (gradebook)</h2>
<table><tr><th>cell</th><th>points</th><th>comment</th></tr>
{% for c in cells %}<tr><td><code>{{ c.name }}</code></td>
<td>{% if c.score is none %}not graded yet{% else %}{{ "%g"|format(c.score) }}{% endif %}
 / {{ "%g"|format(c.max_score) }}</td>
<td>{{ c.comment or "" }}</td></tr>
{% endfor %}</table>{% endif %}
{% if fb.notes %}<h2>Notes</h2><ul>{% for n in fb.notes %}<li>{{ n|math }}</li>{% endfor %}</ul>{% endif %}
</body></html>
"""

_SYMBOLS = {
    r"\odot": "⊙", r"\otimes": "⊗", r"\cdot": "·", r"\times": "×", r"\partial": "∂",
    r"\sigma": "σ", r"\alpha": "α", r"\beta": "β", r"\gamma": "γ", r"\delta": "δ",
    r"\epsilon": "ε", r"\eta": "η", r"\theta": "θ", r"\lambda": "λ", r"\mu": "μ",
    r"\nabla": "∇", r"\sum": "∑", r"\prod": "∏", r"\infty": "∞", r"\leq": "≤", r"\le": "≤",
    r"\geq": "≥", r"\ge": "≥", r"\neq": "≠", r"\approx": "≈", r"\to": "→",
    r"\rightarrow": "→", r"\in": "∈", r"\top": "ᵀ", r"\tanh": "tanh", r"\exp": "exp",
    r"\log": "log", r"\max": "max", r"\min": "min", r"\left": "", r"\right": "", r"\,": " ",
}
_SUP = str.maketrans("0123456789+-=()nTtiT", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿᵀᵗⁱᵀ")
_SUB = str.maketrans("0123456789+-=()aehijklmnoprstuvx", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ")


def _script(body: str, table: dict, mark: str) -> str:
    converted = body.translate(table)
    # every character must have a Unicode super/subscript form; otherwise keep ^{...} / _{...}
    if all(ord(c) > 127 for c in converted if not c.isspace()):
        return converted
    return f"{mark}({body})" if len(body) > 1 else f"{mark}{body}"


def _latex_to_text(tex: str) -> str:
    tex = re.sub(r"\\frac\{([^{}]*)\}\{([^{}]*)\}", r"(\1)/(\2)", tex)
    tex = re.sub(r"\\(?:mathbf|mathrm|text|operatorname)\{([^{}]*)\}", r"\1", tex)
    for cmd in sorted(_SYMBOLS, key=len, reverse=True):
        tex = re.sub(re.escape(cmd) + r"(?![A-Za-z])", _SYMBOLS[cmd], tex)
    tex = re.sub(r"\^\{([^{}]*)\}|\^(\w)", lambda m: _script(m.group(1) or m.group(2), _SUP, "^"), tex)
    tex = re.sub(r"_\{([^{}]*)\}|_(\w)", lambda m: _script(m.group(1) or m.group(2), _SUB, "_"), tex)
    return tex.replace("{", "").replace("}", "")


def math_text(text: str) -> str:
    """Render the LaTeX maths of a hint (``$...$`` or ``$$...$$``) as plain Unicode text:
    ``$h_t = \\tanh(W_x x_t)$`` -> ``hₜ = tanh(Wₓ xₜ)``, ``$1 - h^2$`` -> ``1 - h²``. Text
    outside dollar signs is unchanged. No network, no JavaScript: the page stays self-contained."""
    return re.sub(r"\$\$(.+?)\$\$|\$(.+?)\$", lambda m: _latex_to_text(m.group(1) or m.group(2)),
                  str(text))


@functools.lru_cache(maxsize=1)
def _template() -> jinja2.Template:
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=False, lstrip_blocks=False)
    env.filters["math"] = math_text
    return env.from_string(TEMPLATE)


def render_html(fb: dict, late: dict | None = None, cells: list[dict] | None = None) -> str:
    """The feedback page for ``fb`` (:func:`autograder.report.feedback_json`), with the late
    record (journal's ``late``) and the gradebook's graded cells (name, score, max_score,
    comment) when known. Every value is HTML-escaped."""
    return _template().render(fb=fb, late=late or {}, cells=cells or [])


def _gradebook_cells(gb, assignment: str, notebook: str, student: str) -> list[dict]:
    from nbgrader.api import MissingEntry

    try:
        nb = gb.find_submission_notebook(notebook, assignment, student)
    except MissingEntry:
        return []
    comments = {c.name: (c.manual_comment or c.auto_comment) for c in nb.comments}
    return [{"name": g.name, "score": g.score if (g.auto_score is not None
                                                  or g.manual_score is not None) else None,
             "max_score": g.max_score, "comment": comments.get(g.name)}
            for g in sorted(nb.grades, key=lambda g: g.name)]


def write_feedback(course: str | Path, assignment: str, *, out_dir: str | Path | None = None,
                   db_url: str | None = None, students: list[str] | None = None) -> dict:
    """Write every journaled student's page into nbgrader's feedback folder.

    Returns {student: path written}. Raises FileNotFoundError if the assignment has no journal
    (``batch`` has not run). A submission without ``timestamp.txt``/``submission_secret.txt``
    (not collected through nbgrader's exchange) gets its page, but ``release_feedback`` cannot
    hand it out: :func:`missing_exchange_files` lists those students."""
    from nbgrader.api import Gradebook

    from autograder import gradebook as ag_gradebook
    from autograder.late import load_policy

    course = Path(course).resolve()
    out = Path(out_dir).resolve() if out_dir else course / "hidden_grades" / assignment
    journal = out / "journal"
    if not journal.is_dir():
        raise FileNotFoundError(f"no journal at {journal}: run `python -m autograder batch "
                                f"--course {course} --assignment {assignment}` first")
    coursedir = load_policy(course).coursedir
    db_url = db_url or ag_gradebook.default_db_url(course)
    written = {}
    with Gradebook(db_url) as gb:
        for jpath in sorted(journal.glob("*.json")):
            student = jpath.stem
            if students and student not in students:
                continue
            entry = json.loads(jpath.read_text(encoding="utf-8"))
            result = entry["result"]
            nb_id = Path(result.get("graded_file") or Path(result["notebook"]).name).stem
            fb = report.feedback_json(result, student)
            gb_notebook = _gradebook_notebook(gb, assignment, nb_id)
            cells = _gradebook_cells(gb, assignment, gb_notebook, student) if gb_notebook else []
            dest = Path(coursedir.format_path(coursedir.feedback_directory, student, assignment))
            page = dest / f"{nb_id}.html"
            report.atomic_write(page, render_html(fb, entry.get("late"), cells))
            src = Path(coursedir.format_path(coursedir.submitted_directory, student, assignment))
            for name in ("timestamp.txt", "submission_secret.txt"):
                f = Path(result["notebook"]).parent / name
                f = f if f.is_file() else src / name
                if f.is_file():
                    report.atomic_write(dest / name, f.read_bytes())
            written[student] = str(page)
    return written


def missing_exchange_files(course: str | Path, assignment: str, students: list[str]) -> dict:
    """student -> the files ``nbgrader release_feedback`` needs next to the page but that are
    missing (the submission did not come through nbgrader's exchange)."""
    from autograder.late import load_policy

    coursedir = load_policy(course).coursedir
    out = {}
    for student in students:
        dest = Path(coursedir.format_path(coursedir.feedback_directory, student, assignment))
        missing = [n for n in ("timestamp.txt", "submission_secret.txt") if not (dest / n).is_file()]
        if missing:
            out[student] = missing
    return out


def _gradebook_notebook(gb, assignment: str, graded_stem: str) -> str | None:
    """The gradebook's notebook for this submission: the one named like the graded file, else
    the assignment's only (first) notebook."""
    from nbgrader.api import MissingEntry

    try:
        names = [nb.name for nb in gb.find_assignment(assignment).notebooks]
    except MissingEntry:
        return None
    if graded_stem in names:
        return graded_stem
    return names[0] if names else None
