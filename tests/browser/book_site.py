"""The built book as the browser tests see it: its pages, a local server, an offline browser.

Shared by tests/browser/conftest.py (fixtures) and the test modules. The book in ``_build/html``
(``make book``) is served by a thread on 127.0.0.1 (a free port) and opened in Debian's
``/usr/bin/chromium`` through Playwright (no ``playwright install``: the browser comes from apt).
Every request that would leave 127.0.0.1 is recorded and aborted, so a page that needs the
network fails its test instead of quietly using it.

Environment overrides: ``RNN_BOOK_HTML`` (another built site), ``CHROMIUM`` (browser binary).
"""


from __future__ import annotations

import http.server
import os
import re
import sys
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

HTML = Path(os.environ.get("RNN_BOOK_HTML", ROOT / "_build" / "html")).resolve()
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
IN_CI = os.environ.get("CI", "").lower() == "true"
# The two reader set-ups the suite checks: a laptop and a phone (CSS pixels).
VIEWPORTS = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}
# axe-core, pinned in package.json (devDependencies) and injected by the tests; never shipped.
AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"

# Flags from the probe of Debian's chromium (root, no GPU, no background traffic). The host
# resolver rule makes every name except 127.0.0.1 unresolvable: the book gets no network at all.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]

# Console messages that are errors in the console but not in the book. Keep this list short and
# say why each entry is harmless.
CONSOLE_ALLOW: list[re.Pattern] = [
    # Empty: every console error fails a test. (The duplicate sphinx-thebe inline script that
    # used to throw "Identifier 'THEBE_JS_URL' has already been declared" is dropped at build time
    # by scripts/sphinx_book_fixes.py.)
]


def unavailable(reason: str) -> None:
    """Skip locally, fail in CI: the browser suite must run there."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true, so the browser tests may not be skipped)", pytrace=False)
    pytest.skip(reason)


# ---------------------------------------------------------------------------------------------
# The built site: which pages exist and what they contain (read from the HTML, at collection)


class _PageScan(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.has_math = False
        self.has_widget_state = False
        self.widget_views = 0
        self.h1 = ""
        self.redirect = ""
        self._in_h1 = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if "math" in classes and tag in ("span", "div"):
            self.has_math = True
        if tag == "script" and a.get("type") == "application/vnd.jupyter.widget-state+json":
            self.has_widget_state = True
        if tag == "script" and a.get("type") == "application/vnd.jupyter.widget-view+json":
            self.widget_views += 1
        if tag == "h1" and not self.h1:
            self._in_h1 = True
        if tag == "meta" and (a.get("http-equiv") or "").lower() == "refresh":
            self.redirect = (a.get("content") or "").partition("url=")[2].strip()

    def handle_endtag(self, tag: str) -> None:
        if tag == "h1":
            self._in_h1 = False

    def handle_data(self, data: str) -> None:
        if self._in_h1:
            self.h1 += data


@dataclass
class BookPage:
    path: str  # relative to the site root, e.g. "book/intro.html"
    has_math: bool
    has_widget_state: bool
    widget_views: int
    title: str
    redirect: str = ""  # target of a <meta http-equiv="refresh"> (index.html -> the root chapter)

    @property
    def is_chapter(self) -> bool:
        """A content page (not the redirect, the search page or the generated index)."""
        return self.path not in ("index.html", "search.html", "genindex.html") and bool(self.title)

    @property
    def slug(self) -> str:
        return self.path.removesuffix(".html").replace("/", "__")


_SKIP_DIRS = {"_static", "_vendor", "_sources", "_images"}


def discover_pages(site: Path = HTML) -> list[BookPage]:
    """Every HTML page of the built site, in path order (empty when the book is not built)."""
    if not (site / "index.html").is_file():
        return []
    pages = []
    for path in sorted(site.rglob("*.html")):
        rel = path.relative_to(site)
        if rel.parts[0] in _SKIP_DIRS:
            continue
        scan = _PageScan()
        scan.feed(path.read_text(encoding="utf-8", errors="replace"))
        title = re.sub(r"\s+", " ", scan.h1).strip().rstrip("#").strip()
        pages.append(BookPage(rel.as_posix(), scan.has_math, scan.has_widget_state,
                              scan.widget_views, title, scan.redirect))
    return pages


PAGES = discover_pages()


# ---------------------------------------------------------------------------------------------
# Serving and browsing


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (stdlib signature)
        pass


@dataclass
class Visit:
    """What one browser context saw: requests, console errors, failures."""

    origin: str
    requests: list[str] = field(default_factory=list)
    external: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def unexpected_console(self) -> list[str]:
        msgs = self.console_errors + self.page_errors
        return [m for m in msgs if not any(p.search(m) for p in CONSOLE_ALLOW)]


class OfflineBrowser:
    """Opens pages in fresh contexts that may only talk to the book's own server."""

    def __init__(self, browser, site_url: str) -> None:
        self.browser = browser
        self.site_url = site_url
        self.origin = urlsplit(site_url).netloc

    def new_page(self, javascript: bool = True, viewport: dict | None = None):
        """A fresh context and page; ``javascript=False`` for checks of plain HTML (faster)."""
        context = self.browser.new_context(viewport=viewport or {"width": 1280, "height": 900},
                                           service_workers="block", java_script_enabled=javascript,
                                           is_mobile=bool(viewport and viewport["width"] < 600),
                                           has_touch=bool(viewport and viewport["width"] < 600))
        visit = Visit(origin=self.origin)

        def route(r):
            url = r.request.url
            if urlsplit(url).scheme in ("http", "https", "ws", "wss") and urlsplit(url).netloc != self.origin:
                visit.external.append(url)
                r.abort("blockedbyclient")
            else:
                r.continue_()

        context.route("**/*", route)
        page = context.new_page()
        page.on("request", lambda req: visit.requests.append(req.url))
        page.on("websocket", lambda ws: visit.external.append(ws.url)
                if urlsplit(ws.url).netloc != self.origin else None)
        page.on("console", lambda m: visit.console_errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: visit.page_errors.append(str(e)))
        page.on("requestfailed", lambda req: visit.failed.append(f"{req.url}: {req.failure}")
                if urlsplit(req.url).netloc == self.origin else None)
        page.on("response", lambda resp: visit.failed.append(f"{resp.url}: HTTP {resp.status}")
                if resp.status >= 400 else None)
        return context, page, visit

    def url(self, path: str) -> str:
        return self.site_url + path




def run_axe(page, context_selector: str | None = None) -> list[dict]:
    """axe-core's violations on the page as it is now (WCAG 2.x A/AA and best-practice rules).

    Returns a list of {id, impact, help, targets}. axe-core is read from node_modules (``npm
    install`` from package.json); a missing copy skips locally and fails in CI.
    """
    if not AXE_JS.is_file():
        unavailable(f"axe-core is not installed ({AXE_JS} missing; run `npm install`)")
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=AXE_JS.read_text(encoding="utf-8"))
    result = page.evaluate(
        """async (sel) => {
          const r = await axe.run(sel ? document.querySelector(sel) : document,
                                  {resultTypes: ['violations']});
          return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
              targets: v.nodes.slice(0, 5).map(n => n.target.join(' '))}));
        }""", context_selector)
    return result
