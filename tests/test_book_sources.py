"""Checks of the book's sources that need no build: the table of contents, the chapters' notebook
headers, the demo markers the widget demos hang on, the bibliography keys, and the rule that the
book never prints the source of a graded backward pass."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"

CHAPTERS = ["01_rnn", "02_bptt", "03_lstm", "04_gru", "05_attention"]
DEMOS = {
    "01_rnn": ["hello_stepper"],
    "02_bptt": ["gradient_norms", "cliff_clipping"],
    "03_lstm": ["lstm_gates"],
    "04_gru": ["adding_curves", "update_gate"],
    "05_attention": ["attention_stepper"],
}
REQUIRED_BIB_KEYS = [
    "hochreiter1997lstm", "bengio1994learning", "pascanu2013difficulty", "cho2014learning",
    "chung2014empirical", "xu2015show", "karpathy2015", "olah2015", "cs231n2017lecture10",
]
GRADED_BACKWARDS = [
    "rnn_step_backward", "rnn_backward", "word_embedding_backward", "temporal_affine_backward",
    "lstm_step_backward", "lstm_backward", "gru_step_backward", "gru_backward", "attention_backward",
    "captioning_loss", "clip_grad_norm",
]


def _toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [ch["file"] for ch in part["chapters"]]
    return files


def _code_cells(text: str) -> list[str]:
    return re.findall(r"```\{code-cell\}[^\n]*\n(.*?)```", text, re.S)


def test_toc_lists_every_page_and_they_exist() -> None:
    files = _toc_files()
    for chapter in CHAPTERS + ["appendix_gradcheck", "appendix_notation", "bibliography"]:
        assert f"book/{chapter}" in files, f"_toc.yml does not list book/{chapter}"
    for f in files:
        assert (ROOT / f"{f}.md").is_file(), f"_toc.yml lists {f} but {f}.md does not exist"
    if (BOOK / "student-guide.md").is_file():
        assert "book/student-guide" in files, "book/student-guide.md exists but is not in _toc.yml"


@pytest.mark.parametrize("chapter", CHAPTERS + ["appendix_gradcheck"])
def test_chapter_is_a_myst_notebook(chapter: str) -> None:
    text = (BOOK / f"{chapter}.md").read_text()
    header = yaml.safe_load(text.split("---", 2)[1])
    assert header["jupytext"]["text_representation"]["format_name"] == "myst"
    assert header["kernelspec"]["name"] == "python3"
    assert len(_code_cells(text)) >= 3, f"{chapter} has almost no code to execute"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_demo_markers_present(chapter: str) -> None:
    lines = (BOOK / f"{chapter}.md").read_text().splitlines()
    for demo in DEMOS[chapter]:
        assert f"<!-- demo: {demo} -->" in lines, f"{chapter}: marker line for demo {demo!r} missing"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_no_graded_backward_source_is_printed(chapter: str) -> None:
    """Backward passes that the assignments grade are derived in maths, never shown as code."""
    for cell in _code_cells((BOOK / f"{chapter}.md").read_text()):
        assert "getsource" not in cell and "??" not in cell, f"{chapter} prints source code"
        for name in GRADED_BACKWARDS:
            assert not re.search(rf"def\s+{name}\b", cell), f"{chapter} defines {name} in the page"


def test_bibliography_has_primary_sources_and_every_citation_resolves() -> None:
    bib = (BOOK / "references.bib").read_text()
    keys = set(re.findall(r"@\w+\{([^,]+),", bib))
    missing = [k for k in REQUIRED_BIB_KEYS if k not in keys]
    assert not missing, f"references.bib lacks {missing}"
    for page in BOOK.glob("*.md"):
        for group in re.findall(r"\{cite(?::\w+)?\}`([^`]+)`", page.read_text()):
            for key in group.split(","):
                assert key.strip() in keys, f"{page.name} cites unknown key {key.strip()!r}"
