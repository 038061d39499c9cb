"""A chapter's demo cell is live in a Jupyter kernel and precomputed in the book, with no change
to the cell: the chapters call the demos without ``static=...``.

Chapter 4 (book/04_gru.md, read with jupytext) runs in a real kernel (nbclient), as a reader runs
it in JupyterLab; a last cell then moves the update-gate demo's slider the way the frontend does
(``widget.value = ...``) and reports what the panels show. The demo must be live (no precomputed
frames), its panels must change, and the new state must equal ``update_gate(z)`` computed here.
The same demo cell run with ``COURSE_DEMOS_STATIC=1`` (what scripts/build_book.py sets for the
book build) must give the static form instead.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import jupytext
import nbformat
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
CHAPTER = ROOT / "book" / "04_gru.md"
DEMO_CALL = "update_gate_demo("

PROBE = """
import json
from course_helpers.demos import Demo
demos = [v for v in Out.values() if isinstance(v, Demo)]
d = next(x for x in demos if "z" in x.controls)
before = d.panel_html()
w = d.controls["z"]
old = w.value
new = [v for _, v in w.options][-1] if w.value != [v for _, v in w.options][-1] else [v for _, v in w.options][0]
w.value = new                                   # what moving the slider in JupyterLab does
after = d.panel_html()
print("JSON:" + json.dumps({"static": d.static, "frames": d.frame_count(), "old": old, "new": new,
                            "changed": [a != b for a, b in zip(after, before)],
                            "h_new": d.result.h_new.tolist(), "z": d.params["z"]}))
"""


def _run(nb, env_static: str | None, monkeypatch) -> dict:
    from nbclient import NotebookClient

    if env_static is None:
        monkeypatch.delenv("COURSE_DEMOS_STATIC", raising=False)
    else:
        monkeypatch.setenv("COURSE_DEMOS_STATIC", env_static)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    nb.cells.append(nbformat.v4.new_code_cell(PROBE))
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(CHAPTER.parent)}}).execute()
    text = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.output_type == "stream")
    line = next(ln for ln in text.splitlines() if ln.startswith("JSON:"))
    return json.loads(line[5:])


def _demo_cell(nb) -> nbformat.NotebookNode:
    cells = [c for c in nb.cells if c.cell_type == "code" and DEMO_CALL in c.source]
    assert len(cells) == 1, f"{CHAPTER.name}: expected one cell calling {DEMO_CALL}"
    return cells[0]


def test_the_chapters_do_not_force_a_mode():
    for path in sorted((ROOT / "book").glob("*.md")):
        assert not re.search(r"\bstatic\s*=", path.read_text(encoding="utf-8")), (
            f"{path.name} passes static=...: the cell would not be live in Jupyter")


@pytest.mark.slow
def test_chapter_demo_is_live_in_a_kernel(monkeypatch):
    from course_helpers.demos.update_gate import update_gate

    nb = jupytext.read(CHAPTER)
    _demo_cell(nb)
    r = _run(nb, None, monkeypatch)
    assert r["static"] is False and r["frames"] == 0, f"the demo was not live in the kernel: {r}"
    assert r["z"] == r["new"] != r["old"]
    assert all(r["changed"]), f"moving z did not change every panel: {r['changed']}"
    np.testing.assert_allclose(r["h_new"], update_gate(r["new"]).h_new, rtol=1e-12)


def test_same_cell_is_static_under_the_book_build_setting(monkeypatch):
    nb = jupytext.read(CHAPTER)
    setup = [c for c in nb.cells if c.cell_type == "code" and "remove-cell" in c.metadata.get("tags", [])]
    nb.cells = setup[:1] + [_demo_cell(nb)]
    r = _run(nb, "1", monkeypatch)
    assert r["static"] is True and r["frames"] > 0, f"the demo was not precomputed: {r}"
    assert all(r["changed"]), "the static frames did not follow the control"
