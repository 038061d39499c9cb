"""The demos' static form in the built book: embedded widget state, views and jslinks per page.

Needs ``_build/html`` (``make book``): skipped without it, except when CI=true, where a missing
build is a failure. For every chapter page that has demo cells in its source we check:

* the page embeds ``application/vnd.jupyter.widget-state+json`` and loads the widget manager;
* the embedded state holds each demo (found by its title) with its controls, nested Stacks of
  precomputed frames, and one ``LinkModel`` per Stack joining a control's ``index`` to that Stack's
  ``selected_index`` (the links that keep the page interactive without a kernel);
* each demo's widget has a view (``application/vnd.jupyter.widget-view+json``) on the page;
* the widget state is at most 2 MB per page.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from course_helpers.demos import TITLES

ROOT = Path(__file__).resolve().parent.parent
HTML = Path(os.environ.get("BOOK_HTML_DIR", ROOT / "_build" / "html"))  # override: another build
PAGES = {"hello_stepper": "01_rnn", "gradient_norms": "02_bptt", "cliff_clipping": "02_bptt",
         "lstm_gates": "03_lstm", "update_gate": "04_gru", "adding_curves": "04_gru",
         "attention_stepper": "05_attention"}
CALLS = {"hello_stepper": "hello_stepper(", "gradient_norms": "gradient_norms_demo(",
         "cliff_clipping": "cliff_clipping_demo(", "lstm_gates": "lstm_gates_demo(",
         "update_gate": "update_gate_demo(", "adding_curves": "adding_curves_demo(",
         "attention_stepper": "attention_stepper("}
MAX_STATE_BYTES = 2 * 1024 * 1024
CONTROL_MODELS = {"SelectionSliderModel", "ToggleButtonsModel", "DropdownModel"}

pytestmark = pytest.mark.book


def _require_build() -> None:
    if not (HTML / "index.html").exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("_build/html is missing: CI must build the book (make book) before testing")
        pytest.skip("no built book in _build/html (run make book)")


def _state(page: str) -> tuple[str, dict]:
    path = HTML / "book" / f"{page}.html"
    assert path.exists(), f"{path} is missing from the built book"
    html = path.read_text()
    m = re.search(r'<script type="application/vnd\.jupyter\.widget-state\+json">(.*?)</script>',
                  html, re.S)
    assert m, f"{page}.html has no embedded widget state"
    return html, json.loads(m.group(1))


def _demos_in_source(page: str) -> list[str]:
    src = (ROOT / "book" / f"{page}.md").read_text()
    return [n for n, p in PAGES.items() if p == page and f"<!-- demo: {n} -->" in src
            and f"import {CALLS[n][:-1]}" in src]


def _ref(v: str) -> str:
    return v.removeprefix("IPY_MODEL_")


def _descendants(state: dict, mid: str) -> set[str]:
    """Every model reachable from ``mid`` through ``children``."""
    seen, todo = set(), [mid]
    while todo:
        m = todo.pop()
        if m in seen or m not in state:
            continue
        seen.add(m)
        todo += [_ref(c) for c in state[m]["state"].get("children", [])]
    return seen


@pytest.mark.parametrize("name", list(PAGES))
def test_demo_is_interactive_in_the_built_page(name):
    _require_build()
    page = PAGES[name]
    if name not in _demos_in_source(page):
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"book/{page}.md has no cell for the {name} demo")
        pytest.skip(f"book/{page}.md has no cell for the {name} demo yet")
    html, state = _state(page)
    # the ipywidgets embedder (from a CDN by default, served by the book when vendored)
    assert re.search(r'<script[^>]*src="[^"]*/embed(-amd)?\.js"', html), f"{page}: no widget manager script"
    st = state["state"]
    boxes = [m for m, v in st.items() if v["model_name"] == "VBoxModel"
             and any(f"<b>{TITLES[name]}</b>" in st.get(_ref(c), {}).get("state", {}).get("value", "")
                     for c in v["state"]["children"][:1])]
    assert len(boxes) == 1, f"{page}: expected one widget titled {TITLES[name]!r}, found {len(boxes)}"
    box = boxes[0]
    views = re.findall(r'<script type="application/vnd\.jupyter\.widget-view\+json">(.*?)</script>',
                       html, re.S)
    assert box in {json.loads(v)["model_id"] for v in views}, f"{name}: no view of the demo on {page}"
    inside = _descendants(st, box)
    controls = {m for m in inside if st[m]["model_name"] in CONTROL_MODELS}
    stacks = {m for m in inside if st[m]["model_name"] == "StackModel"}
    assert controls and stacks, f"{name}: controls {len(controls)}, stacks {len(stacks)}"
    links = [v["state"] for v in st.values() if v["model_name"] == "LinkModel"
             and _ref(v["state"]["target"][0]) in stacks]
    assert len(links) == len(stacks), f"{name}: {len(stacks)} stacks but {len(links)} links"
    for link in links:
        (src, src_attr), (dst, dst_attr) = link["source"], link["target"]
        assert _ref(src) in controls and src_attr == "index" and dst_attr == "selected_index"
        n_options = len(st[_ref(src)]["state"]["_options_labels"])
        assert len(st[_ref(dst)]["state"]["children"]) == n_options, f"{name}: stack/control sizes"
    assert {_ref(link["source"][0]) for link in links} == controls, f"{name}: a control is not linked"
    frames = [m for m in inside if st[m]["model_name"] == "HTMLModel"
              and ("<svg" in st[m]["state"]["value"] or "<img" in st[m]["state"]["value"])]
    assert len(frames) >= len(stacks), f"{name}: too few precomputed frames"


@pytest.mark.parametrize("page", sorted(set(PAGES.values())))
def test_widget_state_per_page_is_at_most_2_mb(page):
    _require_build()
    if not _demos_in_source(page):
        pytest.skip(f"book/{page}.md has no demo cells yet")
    html, _ = _state(page)
    m = re.search(r'<script type="application/vnd\.jupyter\.widget-state\+json">(.*?)</script>',
                  html, re.S)
    size = len(m.group(1).encode())
    assert size <= MAX_STATE_BYTES, f"{page}: widget state {size / 1e6:.2f} MB > 2 MB"
