"""Class insight: what the whole class got wrong, from the batch's journal.

    python -m autograder report --course exercises --assignment 01_rnn

reads ``<course>/hidden_grades/<assignment>/journal/*.json`` (written by ``batch``) and writes,
next to it, ``class_report.html`` (one self-contained page: inline SVG histograms drawn with
matplotlib, no script or style from another host, readable on a phone) and ``class_report.json``
(the same numbers, for a spreadsheet or a script).

What it reports:

- the score distribution of the assignment and of each graded function: histogram, mean, median,
  share of full marks, share of zero;
- per function, the catalogued mistakes (the hidden tests' ``Mistake`` entries, matched in the
  judge) ranked by how many students made them, with their hint text, and the share of students
  who lost points there with no catalogued mistake explaining it (the catalogue's blind spot);
- students whose code raised, timed out or hit a resource limit, and submissions flagged for
  manual review;
- the late policy: how many submissions were late and the penalty applied.

It reads only the journal: it never runs student code and never touches the gradebook.
"""

from __future__ import annotations

import io
import json
import statistics
from collections import Counter, defaultdict
from pathlib import Path

from tqdm import tqdm

#: error kinds recorded per check by the judge ("error" of a check dict)
ERROR_KINDS = ("exception", "timeout", "crash", "limit", "not_implemented")


class ReportError(ValueError):
    """The course folder has nothing to report on (no batch run, or an unreadable journal)."""


def load_journal(out_dir: Path, progress: bool = False) -> tuple[dict[str, dict], list[str]]:
    """student -> journal entry ({"digest", "result", ...}); and notes on unreadable entries.

    Raises ReportError when the journal folder does not exist (``batch`` has not run).
    """
    journal = out_dir / "journal"
    if not journal.is_dir():
        raise ReportError(f"no journal in {out_dir}: run `python -m autograder batch` first")
    entries, notes = {}, []
    paths = sorted(journal.glob("*.json"))
    for path in tqdm(paths, desc="reading journal", unit="student", disable=not progress):
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(entry, dict) or not isinstance(entry.get("result"), dict):
                raise ValueError("no result")
            entries[path.stem] = entry
        except (OSError, ValueError) as e:
            notes.append(f"{path.name}: unreadable journal entry ({type(e).__name__}); skipped")
    return entries, notes


def _stats(scores: list[float], max_score: float) -> dict:
    if not scores:
        return {"n": 0, "mean": None, "median": None, "full_share": None, "zero_share": None,
                "max_score": max_score}
    eps = 1e-9
    return {"n": len(scores), "mean": round(statistics.fmean(scores), 4),
            "median": round(statistics.median(scores), 4),
            "full_share": round(sum(s >= max_score - eps for s in scores) / len(scores), 4),
            "zero_share": round(sum(s <= eps for s in scores) / len(scores), 4),
            "max_score": max_score}


def _late(entry: dict) -> dict | None:
    late = entry.get("late") or entry["result"].get("late")
    return late if isinstance(late, dict) else None


def summarize(entries: dict[str, dict]) -> dict:
    """The class-wide numbers (the JSON twin of the page). Pure: no files read or written."""
    if not entries:
        raise ReportError("the journal holds no graded submission")
    results = {s: e["result"] for s, e in entries.items()}
    first = next(iter(results.values()))
    assignment = first.get("assignment", "")
    max_total = float(first.get("max_score", 0.0))
    fnames: list[str] = []
    for r in results.values():
        for f in r.get("functions", {}):
            if f not in fnames:
                fnames.append(f)
    totals = [float(r.get("score", 0.0)) for r in results.values()]
    per_fn: dict[str, dict] = {}
    problems: dict[str, list[dict]] = {"errors": [], "manual_review": []}
    for f in fnames:
        scores, max_f = [], 0.0
        mistake_students: dict[str, set] = defaultdict(set)
        mistake_hint: dict[str, str] = {}
        lost, unexplained = 0, 0
        status = Counter()
        for student, r in results.items():
            fr = r.get("functions", {}).get(f)
            if fr is None:
                continue
            max_f = float(fr.get("max_score", max_f))
            score = float(fr.get("score", 0.0))
            scores.append(score)
            status[fr.get("status", "?")] += 1
            if score < max_f - 1e-9:
                lost += 1
                found = False
                for m in fr.get("mistakes") or []:
                    key = m.get("id") or m.get("hint", "?")
                    mistake_students[key].add(student)
                    mistake_hint.setdefault(key, m.get("hint", ""))
                    found = True
                if fr.get("unexplained", not found) and not found:
                    unexplained += 1
        ranked = sorted(mistake_students.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        per_fn[f] = dict(_stats(scores, max_f), statuses=dict(status), lost_points=lost,
                         mistakes=[{"id": k, "hint": mistake_hint[k], "students": len(v)}
                                   for k, v in ranked],
                         unexplained=unexplained,
                         unexplained_share=round(unexplained / lost, 4) if lost else 0.0)
    late_rows = []
    for student, entry in entries.items():
        r = entry["result"]
        kinds = Counter()
        for fr in r.get("functions", {}).values():
            for kind, n in (fr.get("errors") or {}).items():
                if n:
                    kinds[kind] += n
        if kinds:
            problems["errors"].append({"student": student, "kinds": dict(kinds),
                                       "score": r.get("score", 0.0)})
        review = r.get("needs_manual_review") or entry.get("needs_manual_review")
        if review:
            reasons = r.get("review_reasons") or entry.get("review_reasons") or []
            problems["manual_review"].append({"student": student, "reasons": list(reasons)})
        late = _late(entry)
        if late and float(late.get("penalty") or 0) > 0 or (late and late.get("late")):
            late_rows.append({"student": student, "timestamp": late.get("timestamp"),
                              "penalty": float(late.get("penalty") or 0.0),
                              "method": late.get("method")})
    error_kinds = Counter()
    for row in problems["errors"]:
        for k in row["kinds"]:
            error_kinds[k] += 1
    return {
        "assignment": assignment,
        "students": len(results),
        "total": _stats(totals, max_total),
        "totals": {s: float(r.get("score", 0.0)) for s, r in sorted(results.items())},
        "functions": per_fn,
        "errors": {"students": len(problems["errors"]), "by_kind": dict(error_kinds),
                   "rows": sorted(problems["errors"], key=lambda r: r["student"])},
        "manual_review": sorted(problems["manual_review"], key=lambda r: r["student"]),
        "late": {"students": len(late_rows),
                 "penalty_total": round(sum(r["penalty"] for r in late_rows), 4),
                 "rows": sorted(late_rows, key=lambda r: r["student"])},
    }


# ----------------------------------------------------------------------------- the page
def _histogram_svg(scores: list[float], max_score: float, title: str, wide: bool = False) -> str:
    """A histogram as an inline SVG string (matplotlib, Agg; text kept as text for screen readers)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    plt.rcParams["svg.fonttype"] = "none"
    fig, ax = plt.subplots(figsize=(4.2, 2.4) if wide else (3.2, 2.0), dpi=100)
    bins = min(20, max(4, int(max_score * 2) if max_score else 4))
    ax.hist(scores, bins=bins, range=(0, max(max_score, 1e-9)), color="#1f5fa8",
            edgecolor="white")
    ax.set_xlabel("points")
    ax.set_ylabel("students")
    ax.set_title(title, fontsize=10)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    plt.close(fig)
    svg = buf.getvalue()
    svg = svg[svg.index("<svg"):]
    # scale with the column: drop the fixed size, keep the viewBox
    import re

    svg = re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"', r'<svg\1', svg, count=1)
    return svg.replace("<svg", f'<svg role="img" aria-label="{_esc(title)}" '
                               'style="width:100%;height:auto"', 1)


def _esc(s) -> str:
    from markupsafe import escape

    return str(escape(str(s)))


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Class report: {{ s.assignment }}</title>
<style>
 body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:60rem;
      padding:0 1rem 3rem;color:#1b1b1b}
 h1{font-size:1.5rem} h2{font-size:1.25rem;margin-top:2rem;border-bottom:1px solid #ccc}
 h3{font-size:1.05rem;margin-bottom:.3rem}
 table{border-collapse:collapse;width:100%;font-size:.95rem} td,th{padding:.25rem .4rem;
 border-bottom:1px solid #ddd;text-align:left;vertical-align:top} th{background:#f2f2f2}
 .num{text-align:right;font-variant-numeric:tabular-nums} code{font-size:.9em;word-break:break-word}
 .grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(17rem,1fr));gap:1rem}
 .card{border:1px solid #ddd;border-radius:6px;padding:.5rem .8rem}
 .bar{background:#1f5fa8;height:.7rem;display:inline-block;vertical-align:middle}
 .blind{color:#8a3b00} .wrap{overflow-x:auto} summary{cursor:pointer;font-weight:600}
 figure{margin:0}
 @media (max-width:30em){.opt{display:none} td,th{padding:.2rem .25rem} body{font-size:15px}}
 input[type=search]{font-size:1rem;padding:.3rem;width:100%;max-width:20rem;box-sizing:border-box}
</style></head><body>
<h1>Class report: {{ s.assignment }}</h1>
<p>{{ s.students }} graded submissions. Scores are the hidden tests' points before any late
penalty (see "Late submissions"). Mean {{ fmt(s.total.mean) }} of {{ fmt(s.total.max_score) }}
points, median {{ fmt(s.total.median) }}; {{ pct(s.total.full_share) }} full marks,
{{ pct(s.total.zero_share) }} zero.</p>
<figure>{{ total_svg|safe }}<figcaption>Distribution of the assignment's total score.</figcaption></figure>

<h2>Where points were lost</h2>
<div class="wrap" tabindex="0" role="region" aria-label="points lost per function"><table>
<tr><th>function</th><th class="num">max</th><th class="num">mean</th><th class="num opt">median</th>
<th class="num">full</th><th class="num opt">zero</th><th class="num">lost</th>
<th class="num">not explained</th></tr>
{% for f, d in s.functions.items() %}
<tr><td><a href="#fn-{{ f }}"><code>{{ f }}</code></a></td><td class="num">{{ fmt(d.max_score) }}</td>
<td class="num">{{ fmt(d.mean) }}</td><td class="num opt">{{ fmt(d.median) }}</td>
<td class="num">{{ pct(d.full_share) }}</td><td class="num opt">{{ pct(d.zero_share) }}</td>
<td class="num">{{ d.lost_points }}</td><td class="num">{{ d.unexplained }}</td></tr>
{% endfor %}</table></div>

<h2>Common mistakes, per function</h2>
<p>Each mistake is one of the hidden tests' catalogued mistakes, recognised by the grader from the
values a function returned. "Not explained" counts students who lost points in a function where
no catalogued mistake matched: the catalogue's blind spot, worth reading by hand.</p>
<div class="grid">
{% for f, d in s.functions.items() %}
<section class="card" id="fn-{{ f }}"><h3><code>{{ f }}</code></h3>
{{ fn_svgs[f]|safe }}
<p>{{ d.lost_points }} of {{ d.n }} lost points.</p>
{% if d.mistakes %}<ol>{% for m in d.mistakes %}
<li><strong>{{ m.students }}</strong> student{{ '' if m.students == 1 else 's' }}
<span class="bar" style="width:{{ (100 * m.students / max(1, d.n))|round(1) }}%" aria-hidden="true"></span><br>
{{ m.hint }} <small>({{ m.id }})</small></li>{% endfor %}</ol>{% endif %}
{% if d.lost_points %}<p class="blind">Not explained by the catalogue: {{ d.unexplained }} of
{{ d.lost_points }} ({{ pct(d.unexplained_share) }}).</p>{% endif %}
</section>
{% endfor %}</div>

<h2>Errors, time-outs and limits</h2>
{% if s.errors.rows %}<p>{{ s.errors.students }} student{{ "" if s.errors.students == 1 else "s" }}
had at least one check that raised,
timed out, crashed or hit a limit ({% for k, n in s.errors.by_kind.items() %}{{ k }}: {{ n }}
{{- ", " if not loop.last }}{% endfor %}).</p>
<details><summary>List ({{ s.errors.rows|length }})</summary><div class="wrap"><table>
<tr><th>student</th><th>checks by kind</th><th class="num">score</th></tr>
{% for r in s.errors.rows %}<tr><td>{{ r.student }}</td>
<td>{% for k, n in r.kinds.items() %}{{ k }} {{ n }}{{ ", " if not loop.last }}{% endfor %}</td>
<td class="num">{{ fmt(r.score) }}</td></tr>{% endfor %}</table></div></details>
{% else %}<p>None.</p>{% endif %}

<h2>Flagged for manual review</h2>
{% if s.manual_review %}<ul>{% for r in s.manual_review %}
<li>{{ r.student }}: {{ r.reasons|join("; ") or "flagged" }}</li>{% endfor %}</ul>
{% else %}<p>None.</p>{% endif %}

<h2>Late submissions</h2>
{% if s.late.rows %}<p>{{ s.late.students }} late, {{ fmt(s.late.penalty_total) }} penalty points in all.</p>
<div class="wrap"><table><tr><th>student</th><th>submitted</th><th class="num">penalty</th><th>policy</th></tr>
{% for r in s.late.rows %}<tr><td>{{ r.student }}</td><td>{{ r.timestamp or "" }}</td>
<td class="num">{{ fmt(r.penalty) }}</td><td>{{ r.method or "" }}</td></tr>{% endfor %}</table></div>
{% else %}<p>None late.</p>{% endif %}

<h2>Every student</h2>
<details><summary>Scores of all {{ s.students }} students</summary>
<p><label>Filter by name <input type="search" id="flt" autocomplete="off"></label></p>
<div class="wrap"><table id="students"><tr><th>student</th><th class="num">score</th></tr>
{% for st, sc in s.totals.items() %}<tr><td>{{ st }}</td><td class="num">{{ fmt(sc) }}</td></tr>
{% endfor %}</table></div></details>
<script>
document.getElementById("flt").addEventListener("input", function (e) {
  var q = e.target.value.toLowerCase();
  document.querySelectorAll("#students tr").forEach(function (tr, i) {
    if (i) tr.hidden = q && tr.cells[0].textContent.toLowerCase().indexOf(q) < 0;
  });
});
</script>
</body></html>
"""


def render_html(summary: dict, entries: dict[str, dict]) -> str:
    """The self-contained page (inline SVG and CSS; one small inline script for the filter)."""
    import jinja2

    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    env.globals.update(max=max)

    def fmt(v):
        return "n/a" if v is None else f"{v:.4g}"

    def pct(v):
        return "n/a" if v is None else f"{100 * v:.0f}%"

    results = {s: e["result"] for s, e in entries.items()}
    total_svg = _histogram_svg(list(summary["totals"].values()), summary["total"]["max_score"],
                               "total score", wide=True)
    fn_svgs = {}
    for f, d in summary["functions"].items():
        scores = [float(r["functions"][f]["score"]) for r in results.values()
                  if f in r.get("functions", {})]
        fn_svgs[f] = _histogram_svg(scores, d["max_score"], f)
    return env.from_string(PAGE).render(s=summary, fmt=fmt, pct=pct, total_svg=total_svg,
                                        fn_svgs=fn_svgs)


def write_report(course: str | Path, assignment: str, out_dir: str | Path | None = None,
                 progress: bool = True) -> dict:
    """Write class_report.html and class_report.json next to the journal; returns the summary.

    Raises ReportError when there is nothing to report.
    """
    from autograder import report

    course = Path(course).resolve()
    out = Path(out_dir).resolve() if out_dir else course / "hidden_grades" / assignment
    entries, notes = load_journal(out, progress=progress)
    summary = summarize(entries)
    summary["notes"] = notes
    page = render_html(summary, entries)
    report.atomic_write(out / "class_report.json", json.dumps(summary, indent=1, ensure_ascii=False))
    report.atomic_write(out / "class_report.html", page)
    summary["html"] = str(out / "class_report.html")
    return summary
