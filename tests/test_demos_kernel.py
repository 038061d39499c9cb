"""Run every demo in a real Jupyter kernel (nbclient), move each control from code, and check that
the output changed the way the compute function says.

For each demo and mode (live and static) the kernel builds the demo, displays it, then sets each
control in turn to another value. It reports, per change: the parameters, whether each panel's HTML
changed, whether it equals ``render(compute(**params))`` computed afresh in the kernel, and a JSON
summary of that fresh result. This process then recomputes the result with the same parameters
and compares the numbers, so the kernel and the compute function are checked against each other.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch

from course_helpers.demos import DEMOS
from course_helpers.demos.widget import summarize

torch.set_num_threads(1)
ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "course_helpers" / "artifacts"
NEEDS = {"adding_curves": ["adding_models.json"],
         "attention_stepper": ["captioner.npz", "captioner.json", "caption_test_feats.npz"]}
AVAILABLE = [n for n in DEMOS if all((ARTIFACTS / f).exists() for f in NEEDS.get(n, []))]

SETUP = """
import json, torch
torch.set_num_threads(1)
from IPython.display import display
from course_helpers.demos import DEMOS
from course_helpers.demos.widget import summarize

def drive(name, static):
    d = DEMOS[name](static=static)
    display(d)
    records = []
    for cname, w in d.controls.items():
        values = [v for _, v in w.options]
        new = len(values) - 1 if w.index != len(values) - 1 else 0
        before = d.panel_html()
        if static:
            w.index = new          # what the browser's slider does; the jslink moves the Stack
        else:
            w.value = values[new]  # a live change: the observer calls compute
        after = d.panel_html()
        fresh = d.compute(**d.params)
        expected = [p.render(fresh) for p in d.panels]
        records.append(dict(
            control=cname, params=dict(d.params), mode=d.static,
            depends=[cname in p.depends for p in d.panels],
            changed=[a != b for a, b in zip(after, before)],
            matches=[a == e for a, e in zip(after, expected)],
            result=summarize(fresh), n_frames=d.frame_count(), n_links=len(d.links)))
    print("JSON:" + json.dumps(records))
"""


@pytest.fixture(scope="module")
def kernel_records() -> dict[tuple[str, bool], list[dict]]:
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells.append(nbformat.v4.new_code_cell(SETUP))
    keys = []
    for name in AVAILABLE:
        for static in (False, True):
            nb.cells.append(nbformat.v4.new_code_cell(f"drive({name!r}, static={static})"))
            keys.append((name, static))
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(ROOT)}}).execute()
    out = {}
    for key, cell in zip(keys, nb.cells[1:], strict=False):
        text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        line = next(ln for ln in text.splitlines() if ln.startswith("JSON:"))
        views = [o for o in cell.outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
        assert views, f"{key}: the demo displayed no widget view"
        out[key] = json.loads(line[5:])
    # the kernel's widget state was recorded in the notebook, as the book build will do
    assert nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    return out


def _close(a, b, path="result"):
    if isinstance(a, dict):
        assert set(a) == set(b), path
        for k in a:
            _close(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list) and a and not isinstance(a[0], str):
        np.testing.assert_allclose(np.asarray(a, float), np.asarray(b, float), rtol=1e-6, atol=1e-9,
                                   err_msg=path)
    elif isinstance(a, float):
        assert a == pytest.approx(b, rel=1e-6, abs=1e-9), path
    else:
        assert a == b, path


@pytest.mark.slow
@pytest.mark.parametrize("static", [False, True], ids=["live", "static"])
@pytest.mark.parametrize("name", AVAILABLE)
def test_demo_follows_its_controls_in_a_kernel(kernel_records, name, static):
    records = kernel_records[(name, static)]
    here = DEMOS[name](static=False)  # this process's copy of the compute function
    assert [r["control"] for r in records] == list(here.controls)
    for r in records:
        assert r["mode"] is static
        # every panel shows exactly render(compute(params)) for the new parameters
        assert all(r["matches"]), f"{name}: control {r['control']}: panel differs from compute"
        # the panels that depend on the control changed, the others did not
        for dep, changed in zip(r["depends"], r["changed"], strict=False):
            assert changed == dep, f"{name}: control {r['control']}: depends={dep} changed={changed}"
        # and the numbers equal the compute function's, recomputed in this process
        _close(r["result"], summarize(here.compute(**r["params"])))
        if static:
            assert r["n_frames"] > 0 and r["n_links"] >= len(records)
        else:
            assert r["n_frames"] == 0 and r["n_links"] == 0


def test_every_demo_is_exercised():
    missing = [n for n in DEMOS if n not in AVAILABLE]
    import os

    if missing and os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"demos without their shipped artifacts: {missing}")
    if missing:
        pytest.skip(f"artifacts missing for {missing}")
