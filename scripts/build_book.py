"""Build the book strictly into _build/html, self-contained for offline reading.

Usage: python scripts/build_book.py [--clean]

Steps:

1. fetch MathJax and the ipywidgets embedder from the npm registry (pinned by package.json and
   package-lock.json; skipped when node_modules already holds them; see scripts/vendor_assets.py);
2. drop the notebook cache if solutions/ or course_helpers/ (code or shipped artifacts) changed
   since the last build, since jupyter-cache only notices edits to the chapters themselves;
3. ``jupyter-book build . -n -W --keep-going`` with ``COURSE_DEMOS_STATIC=1`` (the demos embed
   precomputed frames; the same cells run live in Jupyter): a cell that raises, a broken reference or any
   Sphinx warning fails the build. Notebook outputs are cached in _build/.jupyter_cache, so a
   rebuild after a prose-only edit re-executes nothing;
4. copy the fetched assets into _build/html/_vendor/, where _config.yml points the pages;
5. scan every built page and stylesheet for anything a browser would load from another host;
   one such reference fails the build (the book must render with no network).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "_build" / "html"

sys.path.insert(0, str(ROOT))
from scripts.vendor_assets import copy_assets, find_external_loads, npm_install  # noqa: E402

# The chapters import these; jupyter-cache only notices edits to a chapter's own code cells, so a
# change here (a retrained model, a fixed demo) would otherwise leave stale outputs in the book.
CODE_THE_CHAPTERS_RUN = ("solutions", "course_helpers")
STAMP = ROOT / "_build" / ".code-stamp"


def code_fingerprint() -> str:
    """Hash of every file the chapters import or load (sources and shipped artifacts)."""
    h = hashlib.sha256()
    for top in CODE_THE_CHAPTERS_RUN:
        for path in sorted((ROOT / top).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                h.update(str(path.relative_to(ROOT)).encode())
                h.update(path.read_bytes())
    return h.hexdigest()


def clear_stale_cache() -> tuple[bool, str]:
    """Drop the notebook cache when the code or artifacts the chapters use have changed.

    Returns (stale, fingerprint). When stale, Sphinx must re-read every page (--all), since it
    would otherwise skip the unchanged sources and never ask for their notebooks to run again.
    The fingerprint is recorded only after a build succeeds.
    """
    fingerprint = code_fingerprint()
    cache = ROOT / "_build" / ".jupyter_cache"
    stale = not STAMP.exists() or STAMP.read_text() != fingerprint
    if stale and (ROOT / "_build" / "html").exists():
        print("solutions/ or course_helpers/ changed since the last build: re-executing every chapter",
              flush=True)
    if stale:
        shutil.rmtree(cache, ignore_errors=True)
    return stale, fingerprint


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clean", action="store_true", help="delete _build first (re-executes every notebook)")
    args = parser.parse_args()
    if args.clean:
        shutil.rmtree(ROOT / "_build", ignore_errors=True)

    reread_all, fingerprint = clear_stale_cache()
    versions = npm_install()  # first, so that a missing npm fails fast
    # Copied after Sphinx has written the pages, and absent while it does: Sphinx appends a
    # ?v=<checksum> to assets it finds in the output, so the script tags would depend on whether
    # an earlier build left them there. Without it every build writes the same plain paths.
    shutil.rmtree(HTML / "_vendor", ignore_errors=True)

    jb = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(jb), "build", str(ROOT), "--builder", "html", "-n", "-W", "--keep-going"]
    if reread_all:
        cmd.append("--all")
    print("+", " ".join(cmd), flush=True)
    # The demos read this: precomputed frames in the built HTML (the build's kernel has no browser),
    # live Python when a reader runs the same cell in Jupyter (see course_helpers/demos/widget.py).
    env = {**os.environ, "COURSE_DEMOS_STATIC": "1"}
    # The book's own Sphinx extension (scripts/sphinx_book_fixes.py) is imported from the repository.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    rc = subprocess.call(cmd, cwd=ROOT, env=env)
    if rc != 0:
        return rc
    STAMP.write_text(fingerprint)

    files = copy_assets(HTML / "_vendor")
    print(f"vendored {', '.join(f'{p} {v}' for p, v in versions.items())} "
          f"({len(files)} files) into {HTML / '_vendor'}", flush=True)

    # GitHub Pages runs Jekyll on branch deployments, which drops folders starting with "_".
    (HTML / ".nojekyll").touch()

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
