"""Measure the built book as a reader's browser sees it: per page and viewport, the load time,
the bytes transferred, axe-core violations by impact, sideways overflow and console errors.

Usage: python tests/browser/measure.py LABEL   (writes test-artifacts/measure-LABEL.json, prints a table)

The book in _build/html is served from 127.0.0.1 and opened in Debian's Chromium (see
book_site.py). axe-core comes from node_modules (package.json pins it; `npm install` fetches it)
and is injected into each page after it loaded; the book itself never ships it.
"""

from __future__ import annotations

import functools
import http.server
import json
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from book_site import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, HTML, PAGES, VIEWPORTS, OfflineBrowser, QuietHandler, run_axe  # noqa: E402

_JS_TIMING = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const res = performance.getEntriesByType('resource');
  const bytes = (nav ? nav.transferSize || nav.encodedBodySize : 0) +
      res.reduce((s, r) => s + (r.transferSize || r.encodedBodySize || 0), 0);
  return {load_ms: nav ? Math.round(nav.loadEventEnd - nav.startTime) : null, bytes, requests: res.length + 1,
          overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth};
}"""


def measure(label: str) -> dict:
    from playwright.sync_api import sync_playwright

    handler = functools.partial(QuietHandler, directory=str(HTML))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    site = f"http://127.0.0.1:{server.server_address[1]}/"
    rows = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        offline = OfflineBrowser(browser, site)
        for page in PAGES:
            if page.redirect:
                continue
            for vname, viewport in VIEWPORTS.items():
                context, tab, visit = offline.new_page(viewport=viewport)
                tab.goto(offline.url(page.path), wait_until="load")
                tab.wait_for_timeout(300)
                timing = tab.evaluate(_JS_TIMING)
                axe = run_axe(tab)
                counts = {}
                for v in axe:
                    counts[v["impact"]] = counts.get(v["impact"], 0) + 1
                rows[f"{page.path}@{vname}"] = {
                    **timing, "violations": counts,
                    "rules": sorted({f"{v['id']}({v['impact']})" for v in axe}),
                    "console_errors": visit.console_errors + visit.page_errors,
                }
                context.close()
        browser.close()
    server.shutdown()
    return rows


def main() -> int:
    label = sys.argv[1] if len(sys.argv) > 1 else "now"
    rows = measure(label)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"measure-{label}.json").write_text(json.dumps(rows, indent=1) + "\n")
    print(f"{'page@viewport':42} {'load ms':>8} {'KiB':>7} {'req':>4} {'overflow':>8}  serious crit  console")
    for key, r in rows.items():
        v = r["violations"]
        print(f"{key:42} {r['load_ms']:>8} {r['bytes'] / 1024:>7.0f} {r['requests']:>4} {r['overflow']:>8}  "
              f"{v.get('serious', 0):>7} {v.get('critical', 0):>4}  {len(r['console_errors'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
