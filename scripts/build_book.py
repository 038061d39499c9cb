"""Build the book strictly into _build/html, self-contained for offline reading.

Usage: python scripts/build_book.py [--clean]

Three steps:

1. fetch MathJax and the ipywidgets embedder from the npm registry (pinned by package.json and
   package-lock.json; skipped when node_modules already holds them) and copy them into
   _build/html/_vendor/ (see scripts/vendor_assets.py);
2. ``jupyter-book build . -n -W --keep-going``: a cell that raises, a broken reference or any
   Sphinx warning fails the build. Notebook outputs are cached in _build/.jupyter_cache, so a
   rebuild after a prose-only edit re-executes nothing;
3. scan every built page and stylesheet for anything a browser would load from another host;
   one such reference fails the build (the book must render with no network).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "_build" / "html"

sys.path.insert(0, str(ROOT))
from scripts.vendor_assets import copy_assets, find_external_loads, npm_install  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clean", action="store_true", help="delete _build first (re-executes every notebook)")
    args = parser.parse_args()
    if args.clean:
        shutil.rmtree(ROOT / "_build", ignore_errors=True)

    # Before Sphinx runs, so that it finds the files and adds cache-busting ?v= checksums.
    versions = npm_install()
    files = copy_assets(HTML / "_vendor")
    print(f"vendored {', '.join(f'{p} {v}' for p, v in versions.items())} "
          f"({len(files)} files) into {HTML / '_vendor'}", flush=True)

    jb = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(jb), "build", str(ROOT), "--builder", "html", "-n", "-W", "--keep-going"]
    print("+", " ".join(cmd), flush=True)
    rc = subprocess.call(cmd, cwd=ROOT)
    if rc != 0:
        return rc

    remote = find_external_loads(HTML)
    if remote:
        print("error: the built book loads resources from other hosts, so it breaks offline:",
              file=sys.stderr)
        for page, urls in remote.items():
            for url in urls:
                print(f"  {page}: {url}", file=sys.stderr)
        print("Vendor the resource (scripts/vendor_assets.py) or remove it.", file=sys.stderr)
        return 1
    print(f"offline check: no remote loads in {HTML}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
