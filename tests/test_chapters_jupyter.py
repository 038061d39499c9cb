"""The chapters as notebooks in JupyterLab (Jupytext).

* Opening and saving an unchanged chapter leaves ``git status`` clean: a jupytext read/write round
  trip gives the same bytes, and so does a save through Jupytext's contents manager (the one
  JupyterLab uses), also after the notebook took the kernelspec of the kernel JupyterLab starts.
* Every exercise solution is its own markdown cell, collapsed in JupyterLab
  (``jupyter.source_hidden``), and still a drop-down in the book.
* The repository's JupyterLab configuration makes Jupytext's notebook view the default viewer of
  Markdown files, with a factory name the installed Jupytext extension registers.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import jupytext
import pytest

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
NOTEBOOKS = sorted(p.name for p in BOOK.glob("*.md") if p.read_text(encoding="utf-8").startswith("---\njupytext:"))


def test_the_chapters_are_jupytext_notebooks():
    assert {"01_rnn.md", "02_bptt.md", "03_lstm.md", "04_gru.md", "05_attention.md"} <= set(NOTEBOOKS)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_jupytext_round_trip_is_byte_identical(name):
    text = (BOOK / name).read_text(encoding="utf-8")
    nb = jupytext.reads(text, fmt="md:myst")
    again = jupytext.writes(nb, fmt="md:myst")
    assert again == text, (f"{name} changes when jupytext writes it back; run "
                           f"`jupytext --to myst book/{name}` once and commit the result")


def _kernelspec() -> dict:
    from jupyter_client.kernelspec import KernelSpecManager

    spec = KernelSpecManager().get_kernel_spec("python3")
    return {"display_name": spec.display_name, "language": spec.language, "name": "python3"}


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_jupyterlab_save_of_an_unchanged_chapter_is_byte_identical(name, tmp_path):
    import asyncio

    # JupyterLab 4 (jupyter_server 2) uses Jupytext's asynchronous contents manager.
    from jupytext.async_contentsmanager import AsyncTextFileContentsManager

    shutil.copy(BOOK / name, tmp_path / name)
    cm = AsyncTextFileContentsManager(root_dir=str(tmp_path))

    async def open_and_save():
        model = await cm.get(name)
        assert model["type"] == "notebook", f"{name} does not open as a notebook"
        # JupyterLab records the kernel it starts in the notebook before saving it.
        model["content"]["metadata"]["kernelspec"] = _kernelspec()
        await cm.save(model, name)

    # A fresh event loop in its own thread: another test in the same process (Playwright's sync
    # API, nbclient) may have left a running loop in this one.
    import threading

    errors: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(open_and_save())
        except BaseException as e:  # noqa: BLE001 - re-raised in the test's thread
            errors.append(e)

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(60)
    if errors:
        raise errors[0]
    assert (tmp_path / name).read_bytes() == (BOOK / name).read_bytes(), f"saving {name} rewrote it"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_solutions_are_collapsed_in_jupyterlab(name):
    nb = jupytext.read(BOOK / name)
    solutions = [c for c in nb.cells if c.cell_type == "markdown" and "```{solution}" in c.source]
    n_directives = (BOOK / name).read_text(encoding="utf-8").count("```{solution}")
    assert len(solutions) == n_directives, f"{name}: a solution shares its cell with other text"
    for cell in solutions:
        assert cell.metadata.get("jupyter", {}).get("source_hidden") is True, (
            f"{name}: solution not collapsed: {cell.source[:60]!r}")
        assert re.fullmatch(r"(`{3,})\{solution\}[^\n]*\n(.*\n)*\1", cell.source.strip()), (
            f"{name}: the solution cell holds more than the solution: {cell.source[:80]!r}")
    exercises = [c for c in nb.cells if "```{exercise}" in c.source]
    assert all(not c.metadata.get("jupyter", {}).get("source_hidden") for c in exercises), (
        f"{name}: an exercise (not only its solution) is hidden")


def test_markdown_opens_as_a_jupytext_notebook_in_this_projects_jupyterlab():
    config = (ROOT / "jupyter_lab_config.py").read_text(encoding="utf-8")
    namespace: dict = {"__file__": str(ROOT / "jupyter_lab_config.py")}

    class _Section(dict):
        def __getattr__(self, key):
            return self.setdefault(key, _Section())

        def __setattr__(self, key, value):
            self[key] = value

    c = _Section()
    namespace["get_config"] = lambda: c
    exec(compile(config, "jupyter_lab_config.py", "exec"), namespace)
    settings_dir = Path(c["LabApp"]["app_settings_dir"])
    overrides = json.loads((settings_dir / "overrides.json").read_text(encoding="utf-8"))
    viewers = overrides["@jupyterlab/docmanager-extension:plugin"]["defaultViewers"]
    assert viewers["markdown"] == "Jupytext Notebook"
    # the factory name must be the one the installed Jupytext extension registers
    import sys

    ext = Path(sys.prefix) / "share" / "jupyter" / "labextensions" / "jupyterlab-jupytext" / "static"
    if not ext.is_dir():
        pytest.skip(f"the Jupytext JupyterLab extension is not installed in {sys.prefix}")
    assert any("Jupytext Notebook" in p.read_text(encoding="utf-8", errors="replace")
               for p in ext.glob("*.js")), "the Jupytext extension no longer registers 'Jupytext Notebook'"
