"""The reader's experience of the built book in Chromium, at a laptop (1366x900) and a phone
(390x844) size: every page, both widths.

* no console error, no page that scrolls sideways, no code block that needs a scroll bar;
* axe-core (pinned in package.json, injected here, never shipped): zero serious and zero critical
  violations, with every demo in its first state and again after each control moved to its last
  value;
* every demo fits its column: no control, readout, bar or figure reaches past the demo's right
  edge, and no demo box scrolls;
* the sidebar toggles work under http:// and file://: the visible "Toggle primary sidebar" button
  collapses and restores the sidebar on a wide screen and opens it as a dialog on a phone (and the
  dialog closes again); the "On this page" outline is shown on a wide screen and opens from its
  button on a phone;
* a full-page screenshot of every page at both widths goes to test-artifacts/screenshots/
  (a CI artifact).
"""

from __future__ import annotations

import pytest
from book_site import HTML, PAGES, SCREENSHOTS, VIEWPORTS, BookPage, run_axe, unavailable

pytestmark = pytest.mark.browser

_PAGES = [p for p in PAGES if not p.redirect] or [None]
_DEMO_PAGES = [p for p in PAGES if p.has_widget_state] or [None]
_CASES = [(p, v) for p in _PAGES for v in VIEWPORTS]


def _ids(cases):
    return [f"{p.path if p else 'no-built-book'}@{v}" for p, v in cases]


def _need(page: BookPage | None) -> BookPage:
    if page is None:
        unavailable("the built book has no such page")
    return page


_JS_OVERFLOW = """() => {
  const doc = document.documentElement;
  const wide = [];
  if (doc.scrollWidth > doc.clientWidth + 1) {
    for (const el of document.querySelectorAll('article *')) {
      const r = el.getBoundingClientRect();
      if (r.width && r.right > doc.clientWidth + 1 && getComputedStyle(el).position !== 'fixed') {
        wide.push(`${el.tagName.toLowerCase()}.${el.className}`.slice(0, 80) + ` right=${Math.round(r.right)}`);
        if (wide.length > 5) break;
      }
    }
  }
  return {scroll: doc.scrollWidth, client: doc.clientWidth, wide};
}"""

# A demo is the outermost widget box of a cell output. Everything visible inside it must lie
# within its box (nothing cut off), and no box inside may scroll sideways.
_JS_DEMO_FIT = """() => {
  const demos = Array.from(document.querySelectorAll('.cell_output .widget-subarea > .jupyter-widgets'));
  return demos.map((demo, k) => {
    const box = demo.getBoundingClientRect();
    const out = [];
    for (const el of demo.querySelectorAll('*')) {
      if (el.closest('svg') && el.tagName.toLowerCase() !== 'svg') continue;  // the <svg> clips its content
      const r = el.getBoundingClientRect();
      if (!r.width || !r.height || getComputedStyle(el).visibility === 'hidden') continue;
      if (el.closest('.widget-stack > :not(.lm-mod-hidden)') === null && el.closest('.widget-stack')) continue;
      if (r.right > box.right + 1.5 || r.left < box.left - 1.5) {
        out.push(`${el.tagName.toLowerCase()}.${String(el.className.baseVal ?? el.className).slice(0, 40)}`
                 + ` [${Math.round(r.left)}, ${Math.round(r.right)}]`
                 + ` outside [${Math.round(box.left)}, ${Math.round(box.right)}]`);
      }
      if (el.scrollWidth > el.clientWidth + 1 && ['auto', 'scroll'].includes(getComputedStyle(el).overflowX)) {
        out.push(`${el.tagName.toLowerCase()}.${String(el.className).slice(0, 40)} scrolls sideways`);
      }
      if (out.length > 6) break;
    }
    return {demo: k, width: Math.round(box.width), problems: out};
  });
}"""

_JS_MOVE_ALL_CONTROLS = """async () => {
  const sleep = ms => new Promise(r => setTimeout(r, ms));
  let moved = 0;
  for (const handle of document.querySelectorAll('.cell_output [role="slider"]')) {
    handle.focus();
    handle.dispatchEvent(new KeyboardEvent('keydown', {key: 'End', bubbles: true}));
    moved++;
    await sleep(400);
  }
  for (const group of document.querySelectorAll('.cell_output .widget-toggle-buttons')) {
    const buttons = group.querySelectorAll('button');
    if (buttons.length) { buttons[buttons.length - 1].click(); moved++; }
    await sleep(400);
  }
  await sleep(400);
  return moved;
}"""


def _open(offline, page: BookPage, viewport: str):
    context, tab, visit = offline.new_page(viewport=VIEWPORTS[viewport])
    tab.goto(offline.url(page.path), wait_until="load")
    if page.has_widget_state:
        tab.wait_for_selector(".cell_output .widget-subarea .jupyter-widgets", timeout=20000)
    tab.wait_for_timeout(400)  # the book's script labels widgets after they render
    return context, tab, visit


def _serious(violations: list[dict]) -> list[str]:
    return [f"{v['id']} ({v['impact']}): {v['help']} at {v['targets']}"
            for v in violations if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize(("page", "viewport"), _CASES, ids=_ids(_CASES))
def test_page_reads_well(page, viewport, offline):
    page = _need(page)
    context, tab, visit = _open(offline, page, viewport)
    try:
        problems = []
        overflow = tab.evaluate(_JS_OVERFLOW)
        if overflow["scroll"] > overflow["client"] + 1:
            problems.append(f"scrolls sideways: {overflow['scroll']} px wide in {overflow['client']} px: "
                            f"{overflow['wide']}")
        wide_code = tab.evaluate("""() => Array.from(document.querySelectorAll('article pre'))
            .filter(p => p.scrollWidth > p.clientWidth + 1).map(p => p.textContent.slice(0, 60))""")
        problems += [f"code block scrolls sideways: {c!r}" for c in wide_code]
        problems += [f"axe: {v}" for v in _serious(run_axe(tab))]
        if page.has_widget_state:
            for demo in tab.evaluate(_JS_DEMO_FIT):
                problems += [f"demo {demo['demo']} ({demo['width']} px): {p}" for p in demo["problems"]]
        tab.screenshot(path=str(SCREENSHOTS / f"{page.slug}-{viewport}.png"), full_page=True)
        if page.has_widget_state:
            assert tab.evaluate(_JS_MOVE_ALL_CONTROLS) > 0, "no control to move"
            problems += [f"axe after moving the controls: {v}" for v in _serious(run_axe(tab))]
            for demo in tab.evaluate(_JS_DEMO_FIT):
                problems += [f"demo {demo['demo']} after moving the controls: {p}" for p in demo["problems"]]
        problems += [f"console: {m}" for m in visit.unexpected_console()]
        assert not problems, f"{page.path} at {viewport}:\n" + "\n".join(problems)
    finally:
        context.close()


@pytest.mark.parametrize("page", _DEMO_PAGES, ids=[p.path if p else "no-built-book" for p in _DEMO_PAGES])
def test_sliders_have_accessible_names(page, offline):
    page = _need(page)
    context, tab, _ = _open(offline, page, "phone")
    try:
        names = tab.evaluate("""() => Array.from(document.querySelectorAll('.cell_output [role="slider"]'))
                                 .map(h => h.getAttribute('aria-label') || '')""")
        assert names, f"{page.path}: no slider"
        assert all(n.strip() and n != "slider" for n in names), f"{page.path}: unnamed sliders {names}"
    finally:
        context.close()


def _check_toggles(tab, viewport: str) -> list[str]:
    problems = []
    primary = tab.locator("button.primary-toggle:visible")
    if primary.count() != 1:
        return [f"{primary.count()} visible primary toggles (expected 1)"]
    sidebar = tab.locator("#pst-primary-sidebar")
    if viewport == "desktop":
        nav_link = tab.locator("#pst-primary-sidebar nav a.reference").first
        if not nav_link.is_visible():
            problems.append("the primary sidebar is not shown on a wide screen")
        primary.click()
        tab.wait_for_timeout(500)
        if nav_link.is_visible() or "pst-sidebar-hidden" not in (sidebar.get_attribute("class") or ""):
            problems.append("the primary toggle did not collapse the sidebar")
        primary.click()
        tab.wait_for_timeout(500)
        if not nav_link.is_visible():
            problems.append("the primary toggle did not bring the sidebar back")
        if not tab.locator("#pst-secondary-sidebar .page-toc a").first.is_visible():
            problems.append("the page outline is not shown on a wide screen")
        return problems
    for kind, dialog_id, link in (("primary", "pst-primary-sidebar-modal", "nav a.reference"),
                                  ("secondary", "pst-secondary-sidebar-modal", ".page-toc a")):
        toggle = tab.locator(f"button.{kind}-toggle:visible")
        if toggle.count() != 1:
            problems.append(f"{toggle.count()} visible {kind} toggles on a phone (expected 1)")
            continue
        toggle.click()
        tab.wait_for_timeout(300)
        dialog = tab.locator(f"#{dialog_id}")
        if not tab.evaluate(f"() => document.getElementById('{dialog_id}').open"):
            problems.append(f"the {kind} toggle did not open its dialog")
            continue
        if not dialog.locator(link).first.is_visible():
            problems.append(f"the {kind} dialog opened without its links")
        dialog.get_by_role("button", name="Close").click()
        tab.wait_for_timeout(300)
        if tab.evaluate(f"() => document.getElementById('{dialog_id}').open"):
            problems.append(f"the {kind} dialog did not close")
        toggle.click()
        tab.wait_for_timeout(300)
        if not tab.evaluate(f"() => document.getElementById('{dialog_id}').open"):
            problems.append(f"the {kind} toggle did not open its dialog a second time")
        tab.keyboard.press("Escape")
        tab.wait_for_timeout(300)
    return problems


_TOGGLE_PAGE = "book/02_bptt.html"


@pytest.mark.parametrize("scheme", ["http", "file"])
@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_sidebar_toggles(scheme, viewport, offline, browser):
    if not (HTML / _TOGGLE_PAGE).is_file():
        unavailable(f"{_TOGGLE_PAGE} is not built")
    if scheme == "http":
        context, tab, visit = offline.new_page(viewport=VIEWPORTS[viewport])
        tab.goto(offline.url(_TOGGLE_PAGE), wait_until="load")
        errors = visit.unexpected_console
    else:
        vp = VIEWPORTS[viewport]
        context = browser.new_context(viewport=vp, is_mobile=vp["width"] < 600, has_touch=vp["width"] < 600)
        tab = context.new_page()
        seen: list[str] = []
        tab.on("pageerror", lambda e: seen.append(str(e)))
        tab.goto((HTML / _TOGGLE_PAGE).as_uri(), wait_until="load")
        errors = lambda: seen  # noqa: E731
    try:
        tab.wait_for_timeout(300)
        problems = _check_toggles(tab, viewport) + [f"console: {m}" for m in errors()]
        assert not problems, f"{_TOGGLE_PAGE} over {scheme}:// at {viewport}:\n" + "\n".join(problems)
    finally:
        context.close()
