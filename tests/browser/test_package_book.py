"""The offline archive of the built book, and the check that finds remote loads in a site.

The archive tests need the built book (``make book``); the checker's tests build small sites of
their own in a temporary folder.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path, PurePosixPath

import pytest
from book_site import HTML, unavailable

from scripts.package_book import FOLDER, REQUIRED, package
from scripts.vendor_assets import ASSETS, css_remote_urls, find_external_loads

# -- the checker ------------------------------------------------------------------------------

PAGE = """<!DOCTYPE html><html><head>
<link rel="stylesheet" href="{css}">
<link rel="canonical" href="https://example.org/book/">
<script src="{js}"></script>
<style>/* @import url('https://fonts.example.com/a.css'); */ .x {{ background: url({bg}); }}</style>
</head><body>
<a href="https://github.com/example/repo">a link is not a load</a>
<img src="{img}" srcset="{img} 1x, {img2} 2x">
<div style="background-image: url('{bg2}')"></div>
</body></html>"""

LOCAL = {"css": "_static/a.css", "js": "_static/a.js", "bg": "x.png", "img": "_images/a.png",
         "img2": "_images/a@2x.png", "bg2": "y.png"}


def _site(tmp_path: Path, **remote: str) -> Path:
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text(PAGE.format(**{**LOCAL, **remote}))
    return site


def test_checker_accepts_a_local_site_and_ignores_links_and_comments(tmp_path):
    assert find_external_loads(_site(tmp_path)) == {}


@pytest.mark.parametrize("slot, url", [
    ("js", "https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js"),
    ("css", "http://example.com/style.css"),
    ("img", "//cdn.example.com/a.png"),  # protocol-relative is remote too
    ("img2", "https://example.com/a@2x.png"),  # second srcset candidate
    ("bg", "https://example.com/bg.png"),  # inline <style>
    ("bg2", "https://example.com/bg2.png"),  # style attribute
])
def test_checker_finds_each_kind_of_remote_load(tmp_path, slot, url):
    found = find_external_loads(_site(tmp_path, **{slot: url}))
    assert list(found) == ["index.html"]
    assert any(url in hit for hit in found["index.html"]), found


def test_checker_reads_stylesheets():
    css = "/* url(https://commented.example/x.woff) */ @font-face { src: url('https://f.example/a.woff2'); }" \
          ' @import "https://f.example/b.css"; .a { background: url(../img/local.png) }'
    assert css_remote_urls(css) == ["https://f.example/a.woff2", "https://f.example/b.css"]


def test_package_refuses_an_incomplete_or_remote_site(tmp_path):
    site = _site(tmp_path)
    with pytest.raises(FileNotFoundError, match="_vendor/mathjax"):
        package(site, tmp_path / "a.zip")
    for rel in REQUIRED:
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        if not (site / rel).exists():
            (site / rel).write_text("x")
    out = package(site, tmp_path / "a.zip")
    assert f"{FOLDER}/_vendor/html-manager/embed.js" in zipfile.ZipFile(out).namelist()
    (site / "search.html").write_text('<script src="https://unpkg.com/x.js"></script>')
    with pytest.raises(ValueError, match="unpkg.com"):
        package(site, tmp_path / "b.zip")


# -- the archive of the real build --------------------------------------------------------------


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    if not (HTML / "index.html").is_file():
        unavailable(f"the book is not built: {HTML / 'index.html'} is missing (run `make book`)")
    return package(HTML, tmp_path_factory.mktemp("zip") / "rnn-course-book.zip")


_SCRIPT_SRC = re.compile(r"""<script[^>]*\ssrc=["']([^"']+)["']""", re.IGNORECASE)


@pytest.mark.book
def test_archive_holds_the_site_and_its_vendored_assets(archive):
    with zipfile.ZipFile(archive) as zf:
        names = set(zf.namelist())
        assert f"{FOLDER}/README.txt" in names
        for rel in REQUIRED:
            assert f"{FOLDER}/{rel}" in names, f"{rel} is not in the archive"
        for asset in ASSETS:  # every vendored package, with its version record
            assert any(n.startswith(f"{FOLDER}/_vendor/{asset.dest}/") for n in names)
        assert f"{FOLDER}/_vendor/VERSIONS.json" in names
        # the widget embedder's icon fonts sit beside it (webpack loads them relative to embed.js)
        assert any(n.startswith(f"{FOLDER}/_vendor/html-manager/") and n.endswith(".woff2") for n in names)
        pages = [n for n in names if n.endswith(".html") and n.split("/")[1] not in ("_vendor", "_static")]
        assert f"{FOLDER}/index.html" in pages and len(pages) >= 3
        missing, remote = [], []
        for name in pages:
            html = zf.read(name).decode("utf-8", errors="replace")
            for src in _SCRIPT_SRC.findall(html):
                if re.match(r"^\s*(https?:)?//", src, re.IGNORECASE):
                    remote.append(f"{name}: {src}")
                    continue
                target = PurePosixPath(name).parent / src.split("?")[0].split("#")[0]
                resolved = PurePosixPath(*_normalise(target.parts))
                if str(resolved) not in names:
                    missing.append(f"{name}: {src}")
    assert remote == [], f"pages in the archive load scripts from other hosts: {remote}"
    assert missing == [], f"pages in the archive load scripts that are not in it: {missing}"


def _normalise(parts: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    for part in parts:
        if part == "..":
            out.pop()
        elif part != ".":
            out.append(part)
    return out


@pytest.mark.book
def test_archive_is_reproducible_and_has_no_remote_loads(archive, tmp_path):
    again = package(HTML, tmp_path / "again.zip")
    assert again.read_bytes() == archive.read_bytes(), "packaging the same build twice gave different zips"
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(tmp_path / "x")
    assert find_external_loads(tmp_path / "x" / FOLDER) == {}
