"""Latency of the demos' live updates: the compute behind one control change, per demo.

Usage: python bench/bench_demos.py [--updates 30]

For each demo in live mode we replay ``--updates`` control changes (cycling through every control
and through its live values, as a reader dragging sliders would) and time (fastest of ``--repeats``)
  * compute: ``compute(**params)`` with every compute-side cache cleared first (cold), and
  * update: compute + rendering the panels' HTML (what the live callback does in total).
Goal: compute under 50 ms per update on this machine. Also reported: the static form's frame
count and the size of its frames' HTML (the bulk of a page's widget state).

When a built book exists (``--html``, default ``_build/html``) the widget state embedded in each
chapter page is measured as well (limit: 2 MB per page).

Writes bench/results/demos.md and demos.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import ipywidgets as W  # noqa: E402
import torch  # noqa: E402
from _common import write_results  # noqa: E402
from tqdm import tqdm  # noqa: E402

from course_helpers.demos import DEMOS  # noqa: E402

GOAL_MS = 50.0
ROOT = Path(__file__).resolve().parent.parent
STATE_RE = re.compile(r'<script type="application/vnd\.jupyter\.widget-state\+json">(.*?)</script>', re.S)


def page_states(html_dir: Path) -> list[list]:
    """[page, widget-state kB, models, jslinks, demo views] for each chapter page of a built book."""
    rows = []
    for page in sorted((html_dir / "book").glob("0*.html")):
        html = page.read_text()
        m = STATE_RE.search(html)
        if not m:
            rows.append([page.stem, 0.0, 0, 0, 0])
            continue
        state = json.loads(m.group(1))["state"]
        links = sum(v["model_name"] == "LinkModel" for v in state.values())
        views = html.count('type="application/vnd.jupyter.widget-view+json"')
        rows.append([page.stem, round(len(m.group(1).encode()) / 1024, 1), len(state), links, views])
    return rows


def _param_sequence(demo, n: int) -> list[dict]:
    """n parameter settings, each one control change away from the previous one."""
    params = dict(demo.params)
    seq = []
    names = list(demo.controls)
    for i in range(n):
        name = names[i % len(names)]
        values = [v for _, v in demo.controls[name].options]
        params[name] = values[(values.index(params[name]) + 1 + i // len(names)) % len(values)]
        seq.append(dict(params))
    return seq


def _frames_bytes(demo) -> int:
    def walk(w):
        if isinstance(w, W.Stack):
            return sum(walk(c) for c in w.children)
        return len(w.value.encode())

    return sum(walk(o) for o in demo._outputs)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--updates", type=int, default=30)
    ap.add_argument("--repeats", type=int, default=3, help="timings per update; the fastest counts")
    ap.add_argument("--html", type=Path, default=ROOT / "_build" / "html", help="a built book")
    args = ap.parse_args()
    torch.set_num_threads(1)
    rows, raw = [], {}
    for name, make in tqdm(DEMOS.items(), desc="demos"):
        try:
            live = make(static=False)
        except (FileNotFoundError, ImportError) as err:  # a shipped artifact is missing
            rows.append([name, 0, "-", "-", "-", "-", "-", "-", f"not run: {err}"[:60]])
            continue
        compute_t, update_t, single_t = [], [], []
        for params in _param_sequence(live, args.updates):
            tries_c, tries_u = [], []
            for _ in range(args.repeats):
                for cache in live.caches:
                    cache.clear()
                t0 = time.perf_counter()
                res = live.compute(**params)
                t1 = time.perf_counter()
                for p in live.panels:
                    p.render(res)
                t2 = time.perf_counter()
                tries_c.append(1000 * (t1 - t0))
                tries_u.append(1000 * (t2 - t0))
            single_t.append(tries_c[0])
            compute_t.append(min(tries_c))  # the cost of the update, not of being preempted
            update_t.append(min(tries_u))
        t0 = time.perf_counter()
        static = make(static=True)
        build_s = time.perf_counter() - t0
        kb = _frames_bytes(static) / 1024
        med, mx = statistics.median(compute_t), max(compute_t)
        rows.append([name, args.updates, round(med, 2), round(mx, 2),
                     round(statistics.median(update_t), 2), round(max(update_t), 2),
                     static.frame_count(), round(kb, 1), "yes" if mx < GOAL_MS else "no"])
        raw[name] = {"compute_ms": compute_t, "update_ms": update_t, "compute_single_shot_ms": single_t,
                     "static_build_s": build_s}
    pages = page_states(args.html) if (args.html / "book").is_dir() else []
    page_table = ""
    if pages:
        page_table = ("\n\nWidget state embedded in each built chapter page (" + str(args.html) + "):\n\n"
                      "| page | widget state kB | models | jslinks | widget views |\n|---|---|---|---|---|\n"
                      + "\n".join("| " + " | ".join(str(c) for c in r) + " |" for r in pages))
    write_results(
        "demos", "Demo latency: the compute behind one live update",
        ["demo", "updates", "compute median ms", "compute max ms", "compute+render median ms",
         "compute+render max ms", "static frames", "static frames kB", f"max < {GOAL_MS:g} ms"],
        rows,
        notes=("compute = the demo's pure compute function with its caches cleared (cold; parts that "
               "no control changes stay cached: the cliff's loss surface, the LSTM demo's reference "
               "RNN); each update is timed --repeats times and the fastest counts, so the table shows "
               "the cost of the update rather than preemption by other processes on this shared "
               "2-core machine (single-shot times are in the JSON; load average at the start: "
               f"{os.getloadavg()[0]:.1f}); "
               "render = turning the result into the panels' SVG/HTML. One torch thread. "
               "'static frames kB' is the HTML of all precomputed frames, the bulk of the widget "
               "state the static form adds to a page.") + page_table,
        extra={"raw": raw, "goal_ms": GOAL_MS, "pages": pages})
    return 0


if __name__ == "__main__":
    sys.exit(main())
