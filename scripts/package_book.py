"""Zip the built book into a downloadable archive that works offline.

Usage: python scripts/package_book.py [--html _build/html] [--out _build/rnn-course-book.zip]

Run ``make book`` first. The archive holds one folder, ``rnn-course-book/``, with the whole site
(MathJax and the widget embedder included, under ``_vendor/``) and a ``README.txt`` saying how
to open it. The zip is reproducible: the same build gives the same bytes (sorted entries, fixed
timestamps). The script refuses a site that is not self-contained: one without the vendored
assets, or with a page that would load anything from another host.
"""

from __future__ import annotations

import argparse
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from scripts.vendor_assets import find_external_loads  # noqa: E402

DEFAULT_HTML = ROOT / "_build" / "html"
DEFAULT_OUT = ROOT / "_build" / "rnn-course-book.zip"
FOLDER = "rnn-course-book"
# files the offline book cannot render without
REQUIRED = (
    "index.html",
    "search.html",
    "searchindex.js",
    "_vendor/mathjax/tex-mml-chtml.js",
    "_vendor/mathjax/output/chtml/fonts/woff-v2/MathJax_Main-Regular.woff",
    "_vendor/html-manager/embed.js",
)
SKIP = {".buildinfo", ".doctrees"}  # Sphinx bookkeeping, not part of the site
ZIP_TIME = (2026, 1, 1, 0, 0, 0)

README = """\
Recurrent Neural Networks, executable: the book, for reading offline
====================================================================

Everything the pages need is in this folder (equations are typeset by the bundled MathJax,
the interactive demos run on the bundled ipywidgets embedder): no network is used.

Best: serve the folder locally, then open the address in a browser.

    cd rnn-course-book
    python3 -m http.server --bind 127.0.0.1 8000
    # open http://127.0.0.1:8000/

Opening index.html directly (file://) also shows the pages, equations and demos, but
browsers restrict file:// pages (search results may come without their excerpts), so prefer
the local server.
"""


def package(html: Path = DEFAULT_HTML, out: Path = DEFAULT_OUT) -> Path:
    """Write the archive of the site in ``html`` to ``out`` and return ``out``."""
    missing = [rel for rel in REQUIRED if not (html / rel).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{html} is not a complete offline build (missing {', '.join(missing)}): run `make book`"
        )
    remote = find_external_loads(html)
    if remote:
        lines = [f"  {page}: {url}" for page, urls in remote.items() for url in urls]
        raise ValueError("the built book loads resources from other hosts:\n" + "\n".join(lines))

    files = sorted(p for p in html.rglob("*") if p.is_file() and not SKIP & set(p.relative_to(html).parts))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".zip.tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        readme = zipfile.ZipInfo(f"{FOLDER}/README.txt", date_time=ZIP_TIME)
        readme.external_attr = 0o644 << 16
        zf.writestr(readme, README, compress_type=zipfile.ZIP_DEFLATED)
        for path in files:
            info = zipfile.ZipInfo(f"{FOLDER}/{path.relative_to(html).as_posix()}", date_time=ZIP_TIME)
            info.external_attr = 0o644 << 16
            zf.writestr(info, path.read_bytes(), compress_type=zipfile.ZIP_DEFLATED)
    tmp.replace(out)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--html", type=Path, default=DEFAULT_HTML, help="the built site")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the archive to write")
    args = parser.parse_args()
    try:
        out = package(args.html, args.out)
    except (FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    with zipfile.ZipFile(out) as zf:
        n = len(zf.namelist())
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB, {n} files)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
