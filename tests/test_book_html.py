"""Checks of the built book in _build/html (run `make book` or `python scripts/build_book.py` first).

Every chapter page must exist, hold figures whose files exist, hold equations, show no error output,
have check-your-understanding exercises with drop-down solutions and a graded-assignment section,
and its citations must resolve to entries of the bibliography page.

Without a built book these tests are skipped with the reason, except under CI (env CI=true), where
a missing book is a failure: CI builds the book before it runs the tests.
"""

from __future__ import annotations

import os
import re
from html import unescape
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# BOOK_HTML points the tests at another build (for example a copy built by bench/bench_build.py).
HTML = Path(os.environ.get("BOOK_HTML", ROOT / "_build" / "html"))

CHAPTERS = {
    "01_rnn": {"min_figures": 5, "assignment": "01_rnn"},
    "02_bptt": {"min_figures": 4, "assignment": "02_bptt"},
    "03_lstm": {"min_figures": 4, "assignment": "03_lstm"},
    "04_gru": {"min_figures": 3, "assignment": "04_gru"},
    "05_attention": {"min_figures": 2, "assignment": "05_attention"},
}
OTHER_PAGES = ["intro", "appendix_gradcheck", "appendix_notation", "bibliography"]
# Surnames of the primary sources the bibliography must list (first authors).
PRIMARY_SOURCES = ["Hochreiter", "Bengio", "Pascanu", "Cho", "Chung", "Xu", "Karpathy", "Olah", "Li"]

pytestmark = pytest.mark.book


def _require_book() -> None:
    if (HTML / "book" / "01_rnn.html").is_file():
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"the book is not built ({HTML} has no book/01_rnn.html); CI must build it first")
    pytest.skip(f"the book is not built in {HTML}: run `make book` (python scripts/build_book.py)")


def _page(name: str) -> str:
    _require_book()
    path = HTML / "book" / f"{name}.html"
    assert path.is_file(), f"{path} is missing from the built book"
    return path.read_text(encoding="utf-8")


def _main(html: str) -> str:
    """The article body of a page (without the navigation sidebars)."""
    m = re.search(r'<article class="bd-article"[^>]*>(.*)</article>', html, re.S)
    assert m, "page has no <article class=bd-article>: the theme changed?"
    return m.group(1)


def _text(fragment: str) -> str:
    return unescape(re.sub(r"<[^>]+>", " ", fragment))


@pytest.mark.parametrize("name", OTHER_PAGES)
def test_other_pages_exist(name: str) -> None:
    assert len(_text(_main(_page(name)))) > 500, f"{name}.html is nearly empty"


@pytest.mark.parametrize("name", sorted(CHAPTERS))
def test_chapter_has_figures_that_exist(name: str) -> None:
    body = _main(_page(name))
    outputs = re.findall(r'<div class="cell_output docutils container">(.*?)</div>\s*</div>', body, re.S)
    srcs = [s for out in outputs for s in re.findall(r'<img[^>]*\bsrc="([^"]+)"', out)]
    assert len(srcs) >= CHAPTERS[name]["min_figures"], (
        f"{name}: {len(srcs)} figures in cell outputs, expected at least {CHAPTERS[name]['min_figures']}")
    for src in srcs:
        if src.startswith("data:"):
            continue
        target = (HTML / "book" / src).resolve()
        assert target.is_file(), f"{name}: figure {src} does not exist in the built book"
        assert target.stat().st_size > 2000, f"{name}: figure {src} is suspiciously small"


@pytest.mark.parametrize("name", sorted(CHAPTERS))
def test_chapter_has_equations(name: str) -> None:
    body = _main(_page(name))
    display = body.count('<div class="math notranslate nohighlight">')
    inline = body.count('<span class="math notranslate nohighlight">')
    assert display >= 3, f"{name}: only {display} display equations"
    assert inline >= 10, f"{name}: only {inline} inline equations"


@pytest.mark.parametrize("name", sorted(CHAPTERS) + ["appendix_gradcheck"])
def test_chapter_has_no_error_output(name: str) -> None:
    body = _main(_page(name))
    for marker in ['class="output error', 'class="output traceback', 'class="output stderr',
                   "Traceback (most recent call last)", "CellExecutionError"]:
        assert marker not in body, f"{name}: the executed page shows an error ({marker!r})"
    # Executed outputs are there at all (a page that silently skipped execution has none).
    assert body.count('<div class="cell_output docutils container">') >= 2, f"{name}: no executed outputs"


@pytest.mark.parametrize("name", sorted(CHAPTERS))
def test_chapter_has_exercises_and_assignment(name: str) -> None:
    body = _main(_page(name))
    exercises = re.findall(r'<div class="exercise admonition" id="([^"]+)"', body)
    solutions = re.findall(r'<div class="solution dropdown admonition"', body)
    assert len(exercises) >= 3, f"{name}: {len(exercises)} exercises, expected at least 3"
    assert len(solutions) == len(exercises), (
        f"{name}: {len(solutions)} drop-down solutions for {len(exercises)} exercises")
    text = _text(body)
    assert "Graded assignment" in text, f"{name}: no graded-assignment section"
    a = CHAPTERS[name]["assignment"]
    assert f"exercises/release/{a}/{a}.ipynb" in text, f"{name}: the student notebook's path is missing"


# An instructor notebook (exercises/source/<assignment>/...) holds the solutions: a reader's page
# may neither link to one nor name one by its path. Student notebooks live in exercises/release/.
_INSTRUCTOR = re.compile(r"exercises/source/(0[1-9]_[A-Za-z0-9_]+)(/[^\s\"'<>`]*)?")


def _built_pages() -> list[Path]:
    _require_book()
    return sorted(p for p in HTML.rglob("*.html") if not {"_static", "_vendor", "_sources"} & set(p.parts))


def test_no_page_points_readers_at_an_instructor_notebook() -> None:
    offenders = []
    for page in _built_pages():
        html = page.read_text(encoding="utf-8")
        for href in re.findall(r'(?:href|src)="([^"]*)"', html):
            if "exercises/source" in href:
                offenders.append(f"{page.relative_to(HTML)} links to {href}")
        for m in _INSTRUCTOR.finditer(unescape(re.sub(r"<[^>]+>", "", html))):
            offenders.append(f"{page.relative_to(HTML)} names {m.group(0)}")
    assert not offenders, "pages point readers at a notebook with the solutions:\n" + "\n".join(offenders)


def test_the_instructor_notebook_check_catches_a_path() -> None:
    """The pattern above finds the path the chapters used to print (and leaves student paths alone)."""
    assert _INSTRUCTOR.search("see exercises/source/01_rnn/01_rnn.ipynb, 21 points")
    assert not _INSTRUCTOR.search("see exercises/release/01_rnn/01_rnn.ipynb, 21 points")


def test_bibliography_lists_primary_sources() -> None:
    text = _text(_main(_page("bibliography")))
    for surname in PRIMARY_SOURCES:
        assert surname in text, f"bibliography page does not list {surname}"
    for year in ["1994", "1997", "2013", "2014", "2015", "2017"]:
        assert year in text


@pytest.mark.parametrize("name", sorted(CHAPTERS) + ["intro"])
def test_citations_resolve(name: str) -> None:
    body = _main(_page(name))
    bib_ids = set(re.findall(r'\bid="([^"]+)"', _page("bibliography")))
    links = re.findall(r'href="bibliography\.html#([^"]+)"', body)
    assert links, f"{name}: cites nothing"
    missing = sorted({anchor for anchor in links if anchor not in bib_ids})
    assert not missing, f"{name}: citations point to anchors missing from bibliography.html: {missing}"
    assert "??" not in _text(body), f"{name}: an unresolved reference renders as ??"


@pytest.mark.parametrize("name", sorted(CHAPTERS) + ["appendix_gradcheck"])
def test_every_figure_says_what_it_shows(name: str) -> None:
    """Each image has an alt text that describes it (not its file name): for notebook figures it
    comes from course_helpers.figures.describe_figure via scripts/sphinx_book_fixes.py."""
    body = _main(_page(name))
    imgs = re.findall(r"<img\b[^>]*>", body)
    assert imgs, f"{name}: no figures"
    for tag in imgs:
        alt = re.search(r'\balt="([^"]*)"', tag)
        text = unescape(alt.group(1)) if alt else ""
        assert len(text.split()) >= 3 and not re.search(r"\.(png|jpe?g|svg)$", text), (
            f"{name}: an image without a description: alt={text[:80]!r}")
