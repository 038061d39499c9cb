"""Fetch the browser assets the book serves itself, and check a built book loads nothing remote.

Usage: python scripts/vendor_assets.py [--out _build/html/_vendor] [--check _build/html]

By default Jupyter Book 1 pages load MathJax and the ipywidgets embedder from CDNs, so a reader
without a network sees raw TeX and no widgets. This script makes the book self-contained:

1. ``npm install --no-audit --no-fund`` from the committed ``package.json`` and
   ``package-lock.json`` (skipped when ``node_modules`` already holds the locked versions, so an
   offline rebuild works once the packages were fetched);
2. copy what the pages need into ``_build/html/_vendor/`` (outside ``_static/``: Jupyter Book 1
   injects every js/css file found in ``_static`` into every page):

   - ``_vendor/mathjax/``: MathJax 3 (``tex-mml-chtml.js``, the component Sphinx loads by
     default), with the TeX extensions, CHTML fonts and accessibility parts it loads on demand;
   - ``_vendor/html-manager/``: ``@jupyter-widgets/html-manager``'s standalone embedder
     (``embed.js``, widget protocol 2, i.e. ipywidgets 8) and the icon fonts it references, plus
     ``mathjax3-compat.js`` (ours, see ``MATHJAX3_WIDGET_COMPAT``).

``_config.yml`` points Sphinx (``mathjax_path``) and myst-nb (``nb_ipywidgets_js``) at these
paths. ``find_external_loads`` scans a built site for anything the browser would fetch from
another host (scripts, styles, images, fonts, frames, CSS ``url()``/``@import``); the book build
fails when it finds one.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = ROOT / "node_modules"
DEFAULT_OUT = ROOT / "_build" / "html" / "_vendor"


@dataclass(frozen=True)
class Asset:
    """One npm package and the parts of it the built book serves."""

    package: str  # npm name, pinned in package.json
    source: str  # folder inside the package to copy from
    dest: str  # folder inside _vendor/
    include: tuple[str, ...]  # glob patterns relative to source
    licenses: tuple[str, ...]  # files (relative to the package root) copied beside the assets


ASSETS = (
    Asset(
        package="mathjax",
        source="es5",
        dest="mathjax",
        include=(
            "tex-mml-chtml.js",  # the component Sphinx's mathjax extension loads
            "input/tex/extensions/**/*",  # \require{...} and autoloaded TeX packages
            "input/mml/**/*",
            "output/chtml/fonts/woff-v2/*",  # CHTML fonts, fetched relative to the script
            "a11y/*",  # the menu's accessibility options load these on demand
            "ui/*",
            "sre/**/*",  # speech rule engine, used by the a11y explorer
        ),
        licenses=("LICENSE",),
    ),
    Asset(
        package="@jupyter-widgets/html-manager",
        source="dist",
        dest="html-manager",
        # embed.js is the standalone embedder (no require.js); webpack resolves its fonts
        # relative to the script's own URL.
        include=("embed.js", "embed.js.LICENSE.txt", "*.woff2", "*.woff", "*.ttf", "*.eot", "*.svg"),
        licenses=(),
    ),
)


# Our own small script, served beside the widget embedder and loaded before it (see _config.yml).
# ipywidgets 8's widget base (@jupyter-widgets/base `typeset`) still calls the MathJax 2 API,
# MathJax.Hub.Queue(["Typeset", MathJax.Hub, element]), whenever window.MathJax exists; the book
# loads MathJax 3, which has no Hub, so every widget with a description would throw. This gives
# MathJax 3 a Hub that typesets the element the version 3 way.
MATHJAX3_WIDGET_COMPAT = """\
/* MathJax 2 `Hub.Queue` for ipywidgets 8 on a MathJax 3 page (written by scripts/vendor_assets.py). */
(function () {
  function install() {
    var mj = window.MathJax;
    if (!mj || !mj.version || mj.Hub) return;  // not loaded yet, or already a Hub
    mj.Hub = {
      Queue: function () {
        Array.prototype.forEach.call(arguments, function (job) {
          if (!Array.isArray(job) || job[0] !== "Typeset" || !job[2]) return;
          var ready = (mj.startup && mj.startup.promise) || Promise.resolve();
          ready.then(function () { return mj.typesetPromise([job[2]]); })
               .catch(function (err) { console.warn("MathJax could not typeset a widget:", err); });
        });
      },
    };
  }
  install();
  document.addEventListener("DOMContentLoaded", install);  // MathJax is loaded with defer
  window.addEventListener("load", install);  // registered before the embedder's own load handler
})();
"""
COMPAT_FILE = "html-manager/mathjax3-compat.js"


def _lock_digest() -> str:
    return hashlib.sha256((ROOT / "package-lock.json").read_bytes()).hexdigest()


def _installed_version(package: str) -> str | None:
    manifest = NODE_MODULES / package / "package.json"
    if not manifest.is_file():
        return None
    return json.loads(manifest.read_text())["version"]


def _locked_versions() -> dict[str, str]:
    lock = json.loads((ROOT / "package-lock.json").read_text())
    packages = lock.get("packages", {})
    return {a.package: packages[f"node_modules/{a.package}"]["version"] for a in ASSETS}


def npm_install() -> dict[str, str]:
    """Install the locked packages into node_modules if needed; return {package: version}."""
    for name in ("package.json", "package-lock.json"):
        if not (ROOT / name).is_file():
            raise FileNotFoundError(f"{name} is missing from {ROOT}: it pins the book's browser assets")
    locked = _locked_versions()
    stamp = NODE_MODULES / ".rnn-course-lock.sha256"
    up_to_date = (
        stamp.is_file()
        and stamp.read_text().strip() == _lock_digest()
        and all(_installed_version(p) == v for p, v in locked.items())
    )
    if not up_to_date:
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError(
                "npm is not installed: the book build fetches MathJax and the widget embedder "
                "from the npm registry (install Node.js 18+ with npm)"
            )
        cmd = [npm, "install", "--no-audit", "--no-fund", "--ignore-scripts"]  # no install hooks needed
        print("+", " ".join(cmd), flush=True)
        subprocess.run(cmd, cwd=ROOT, check=True)
        for package, version in locked.items():
            got = _installed_version(package)
            if got != version:
                raise RuntimeError(f"npm installed {package} {got}, but package-lock.json pins {version}")
        stamp.write_text(_lock_digest() + "\n")
    return locked


def copy_assets(out: Path = DEFAULT_OUT) -> list[Path]:
    """Copy the selected files of every asset package into ``out``; return the files written."""
    written: list[Path] = []
    versions = {}
    if out.exists():
        if any(out.iterdir()) and not (out / "VERSIONS.json").is_file():
            raise FileExistsError(f"{out} is not empty and was not written by this script; not touching it")
        shutil.rmtree(out)  # no stale files from an older version or layout
    for asset in ASSETS:
        pkg_root = NODE_MODULES / asset.package
        src_root = pkg_root / asset.source
        dest_root = out / asset.dest
        files = sorted({p for pat in asset.include for p in src_root.glob(pat) if p.is_file()})
        if not files:
            raise FileNotFoundError(f"nothing matched {asset.include} in {src_root}")
        for src in files:
            dst = dest_root / src.relative_to(src_root)
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
            written.append(dst)
        for lic in asset.licenses:
            shutil.copy2(pkg_root / lic, dest_root / lic)
            written.append(dest_root / lic)
        manifest = json.loads((pkg_root / "package.json").read_text())
        versions[asset.package] = {
            "version": manifest["version"],
            "license": manifest.get("license"),
            "homepage": manifest.get("homepage"),
            "served_from": f"_vendor/{asset.dest}/",
        }
    out.mkdir(parents=True, exist_ok=True)
    (out / COMPAT_FILE).write_text(MATHJAX3_WIDGET_COMPAT)
    written.append(out / COMPAT_FILE)
    (out / "VERSIONS.json").write_text(json.dumps(versions, indent=2) + "\n")
    written.append(out / "VERSIONS.json")
    return written


# ---------------------------------------------------------------------------------------------
# Checking a built site for remote loads

# attributes whose URL the browser fetches when the page loads (links in <a href> do not count)
_LOAD_ATTRS = {
    "script": ("src",),
    "img": ("src", "srcset"),
    "iframe": ("src",),
    "frame": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "source": ("src", "srcset"),
    "track": ("src",),
    "video": ("src", "poster"),
    "audio": ("src",),
    "input": ("src",),
    "image": ("href", "xlink:href"),  # svg
    "use": ("href", "xlink:href"),  # svg
}
# <link rel=...> values that make the browser fetch the href
_LINK_LOAD_RELS = {"stylesheet", "icon", "shortcut", "apple-touch-icon", "preload", "prefetch",
                   "modulepreload", "manifest", "mask-icon", "dns-prefetch", "preconnect"}
_REMOTE = re.compile(r"^\s*(?:https?:)?//", re.IGNORECASE)
_CSS_URL = re.compile(r"""(?:url\(\s*['"]?|@import\s+['"])\s*((?:https?:)?//[^'")\s]+)""", re.IGNORECASE)
# CSS comments may mention URLs that are never fetched
_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)


def css_remote_urls(css: str) -> list[str]:
    """Remote URLs a stylesheet would fetch (``url(...)`` and ``@import``), ignoring comments."""
    return _CSS_URL.findall(_CSS_COMMENT.sub("", css))


class _LoadFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.remote: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): (v or "") for k, v in attrs}
        urls: list[str] = []
        if tag == "link":
            rels = set(a.get("rel", "").lower().split())
            if rels & _LINK_LOAD_RELS:
                urls.append(a.get("href", ""))
        for attr in _LOAD_ATTRS.get(tag, ()):
            value = a.get(attr, "")
            if attr == "srcset":  # "url 2x, url 1x"
                urls.extend(part.strip().split(" ")[0] for part in value.split(","))
            else:
                urls.append(value)
        self.remote.extend(f"<{tag}> {u}" for u in urls if _REMOTE.match(u))
        if "style" in a:
            self.remote.extend(f"style attribute: {u}" for u in css_remote_urls(a["style"]))
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.remote.extend(f"<style>: {u}" for u in css_remote_urls(data))


def find_external_loads(site: Path) -> dict[str, list[str]]:
    """Map each file of a built site (relative path) to the remote URLs it would make a browser load.

    HTML pages are parsed for tags that fetch (script, link rel=stylesheet/icon/preload, img,
    iframe, media, object) and inline CSS; stylesheets are checked for ``url()`` and ``@import``.
    Plain hyperlinks (``<a href>``) are not loads and are ignored. An empty dict means the site is
    self-contained as far as its markup goes (scripts that fetch at run time are caught by the
    browser tests).
    """
    found: dict[str, list[str]] = {}
    for path in sorted(site.rglob("*")):
        if path.suffix == ".html":
            parser = _LoadFinder()
            parser.feed(path.read_text(encoding="utf-8", errors="replace"))
            hits = parser.remote
        elif path.suffix == ".css":
            hits = [f"css: {u}" for u in css_remote_urls(path.read_text(encoding="utf-8", errors="replace"))]
        else:
            continue
        if hits:
            found[path.relative_to(site).as_posix()] = hits
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to copy the assets")
    parser.add_argument("--check", type=Path, metavar="SITE", help="only scan a built site for remote loads")
    args = parser.parse_args()
    if args.check:
        found = find_external_loads(args.check)
        for page, urls in found.items():
            for u in urls:
                print(f"{page}: {u}")
        print(f"{sum(map(len, found.values()))} remote load(s) in {len(found)} file(s)")
        return 1 if found else 0
    versions = npm_install()
    files = copy_assets(args.out)
    print(f"vendored {', '.join(f'{p} {v}' for p, v in versions.items())}: "
          f"{len(files)} files into {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
