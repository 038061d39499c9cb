"""Fixtures for the end-to-end tests of the built book in headless Chromium (see book_site.py).

Without a built book or without Chromium these tests skip with the reason, except when the
environment says ``CI=true``: then a missing piece is a failure (CI must run them).
"""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from book_site import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    HTML,
    SCREENSHOTS,
    OfflineBrowser,
    QuietHandler,
    unavailable,
)


@pytest.fixture(scope="session")
def site_url() -> Iterator[str]:
    """Base URL (with trailing slash) of the built book served from 127.0.0.1."""
    if not (HTML / "index.html").is_file():
        unavailable(f"the book is not built: {HTML / 'index.html'} is missing (run `make book`)")
    handler = functools.partial(QuietHandler, directory=str(HTML))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="book-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium driven by Playwright."""
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        unavailable(f"Chromium not found at {CHROMIUM} (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the playwright package is not installed (pip install -r requirements.txt)")
    with sync_playwright() as pw:
        # Playwright gives every launch a fresh temporary --user-data-dir.
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="session")
def offline(browser, site_url) -> OfflineBrowser:
    """Opens pages of the served book in Chromium with no network beyond 127.0.0.1."""
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)  # screenshots of this run only
    SCREENSHOTS.mkdir(parents=True)
    return OfflineBrowser(browser, site_url)


# ---------------------------------------------------------------------------------------------
# A session report: pages checked and external requests seen (for the closing note)

_REPORT: dict[str, dict] = {}


@pytest.fixture(scope="session")
def report() -> Iterator[dict[str, dict]]:
    yield _REPORT
    if _REPORT:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        summary = {
            "site": str(HTML),
            "pages_checked": sorted(_REPORT),
            "external_requests": sum(len(r.get("external", [])) for r in _REPORT.values()),
            "screenshots": str(SCREENSHOTS),
            "pages": _REPORT,
        }
        (ARTIFACTS / "browser-report.json").write_text(json.dumps(summary, indent=2) + "\n")
