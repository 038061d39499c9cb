"""The built book renders fully offline in headless Chromium.

For every page of ``_build/html``: no request leaves 127.0.0.1, no console error (beyond the
documented allow-list in book_site.py), every image decodes, every equation is typeset by the
vendored MathJax (``mjx-container``, no ``mjx-merror``), every embedded widget view renders. On
every page with widget state, moving a control changes the visible output (the static demos are
interactive without a kernel). The search page finds each chapter by a word of its title, and the
next/previous links walk the chapters in table-of-contents order. Screenshots of every page go
to ``test-artifacts/screenshots/``.

Pages are discovered from the built site, so chapters and demos added later are checked too.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import urldefrag, urljoin, urlsplit

import pytest
from book_site import PAGES, SCREENSHOTS, BookPage, unavailable

try:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
except ImportError:  # the browser fixture reports the missing package
    PlaywrightTimeout = TimeoutError

pytestmark = pytest.mark.browser

# None stands in for "no built book": the test then reports that through site_url (skip or fail).
_ALL = PAGES or [None]
_CHAPTERS = [p for p in PAGES if p.is_chapter] or [None]
_DEMOS = [p for p in PAGES if p.has_widget_state] or [None]


def _ids(pages):
    return [p.path if p else "no-built-book" for p in pages]


def _need(page: BookPage | None, what: str) -> BookPage:
    if page is None:
        unavailable(f"no {what} in the built book")
    return page


# JavaScript run in the page -----------------------------------------------------------------

_JS_MATH_STATUS = """() => {
  const math = Array.from(document.querySelectorAll('span.math, div.math'));
  return {
    total: math.length,
    untypeset: math.filter(m => !m.querySelector('mjx-container')).map(m => m.textContent.slice(0, 80)),
    errors: Array.from(document.querySelectorAll('mjx-merror')).map(e => e.textContent.slice(0, 80)),
    containers: document.querySelectorAll('mjx-container').length,
  };
}"""

_JS_WIDGETS_RENDERED = """() => {
  const views = Array.from(document.querySelectorAll(
      'script[type="application/vnd.jupyter.widget-view+json"]'));
  return views.length > 0 && views.every(v => {
    const area = v.previousElementSibling;
    return area && area.classList.contains('widget-subarea') && area.querySelector('.jupyter-widgets');
  });
}"""

_JS_IMAGES = """async () => {
  const imgs = Array.from(document.images);
  imgs.forEach(img => { img.loading = 'eager'; });
  await Promise.all(imgs.map(img => img.complete ? null :
      new Promise(done => { img.addEventListener('load', done); img.addEventListener('error', done); })));
  return imgs.map(img => ({src: img.currentSrc.slice(0, 120), width: img.naturalWidth}));
}"""

# Controls a reader can move, and the widgets that hold them.
_CONTROL = [
    ".widget-slider", ".widget-dropdown", ".widget-toggle-buttons", ".widget-radio",
    ".widget-checkbox", ".widget-play", ".widget-text", ".widget-select", ".widget-button",
    ".widget-toggle-button", ".widget-hslider", ".widget-vslider", ".lm-TabBar",
    ".jupyter-widget-Collapse-header",
]

# A fingerprint of what a widget area shows outside its controls: visible text, images, drawings.
_JS_OUTPUT_SIGNATURE = """([area, controlSel]) => {
  const parts = [];
  const visible = e => e.getClientRects().length > 0 && getComputedStyle(e).visibility !== 'hidden';
  const walker = document.createTreeWalker(area, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT);
  for (let n = walker.currentNode; n; n = walker.nextNode()) {
    const el = n.nodeType === Node.TEXT_NODE ? n.parentElement : n;
    if (!el || el.closest(controlSel) || !visible(el)) continue;
    if (n.nodeType === Node.TEXT_NODE) { if (n.textContent.trim()) parts.push(n.textContent.trim()); }
    else if (el.tagName === 'IMG') parts.push('img:' + el.currentSrc.length + ':' + el.currentSrc.slice(-200));
    else if (el.tagName === 'CANVAS') parts.push('canvas:' + el.toDataURL().slice(-200));
    else if (el.tagName.toLowerCase() === 'svg' && !el.closest('svg *')) parts.push('svg:' + el.outerHTML.length);
  }
  return parts.join('|');
}"""


_JS_MARK_CONTROLS = """(area, [controlSel, tag]) => {
  const outer = Array.from(area.querySelectorAll(controlSel))
      .filter(el => !el.parentElement.closest(controlSel) || !area.contains(el.parentElement.closest(controlSel)));
  outer.forEach((el, j) => el.setAttribute('data-e2e-control', `${tag}-${j}`));
  return outer.length;
}"""


def _screenshot_name(page: BookPage, suffix: str = "") -> str:
    return f"{page.slug}{suffix}.png"


# Per page -----------------------------------------------------------------------------------


@pytest.mark.parametrize("page", _ALL, ids=_ids(_ALL))
def test_page_renders_offline(page: BookPage | None, offline, report):
    page = _need(page, "pages")
    context, tab, visit = offline.new_page()
    problems = []  # waits that timed out, reported after the more telling checks below
    math = None
    try:
        tab.goto(offline.url(page.path), wait_until="load")
        if page.redirect:
            tab.wait_for_url(urljoin(offline.url(page.path), page.redirect), wait_until="load")
        if page.has_math:
            try:
                tab.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise",
                                      timeout=15_000)
                tab.evaluate("() => MathJax.startup.promise")
                math = tab.evaluate(_JS_MATH_STATUS)
            except PlaywrightTimeout:
                problems.append("MathJax never started (is _vendor/mathjax served?)")
        if page.has_widget_state:
            try:
                tab.wait_for_function(_JS_WIDGETS_RENDERED, timeout=30_000)
            except PlaywrightTimeout:
                problems.append("the widget views never rendered (is _vendor/html-manager served?)")
        images = tab.evaluate(_JS_IMAGES)
        tab.wait_for_load_state("networkidle")
        widget_errors = tab.locator(".jupyter-widgets-error-widget").count()
        widget_views = tab.locator(".widget-subarea > .jupyter-widgets").count()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(SCREENSHOTS / _screenshot_name(page)), full_page=True)
    finally:
        context.close()

    report[page.path] = {
        "requests": len(visit.requests),
        "external": visit.external,
        "console_errors_allowed": [m for m in visit.console_errors + visit.page_errors
                                   if m not in visit.unexpected_console()],
        "images": len(images),
        "equations": math["total"] if math else 0,
        "widget_views": widget_views,
        "screenshot": _screenshot_name(page),
    }
    assert visit.external == [], f"{page.path} tried to load from other hosts: {visit.external}"
    assert visit.failed == [], f"{page.path} has failing local requests: {visit.failed}"
    assert visit.unexpected_console() == [], f"{page.path} console errors: {visit.unexpected_console()}"
    assert problems == [], f"{page.path}: {problems}"
    broken = [i["src"] for i in images if i["width"] == 0]
    assert broken == [], f"{page.path}: images that did not load: {broken}"
    if page.has_math:
        assert math["total"] > 0 and math["containers"] > 0, f"{page.path}: MathJax typeset nothing"
        assert math["untypeset"] == [], f"{page.path}: equations left as TeX: {math['untypeset']}"
        assert math["errors"] == [], f"{page.path}: TeX errors: {math['errors']}"
    if page.has_widget_state:
        assert widget_views == page.widget_views, (
            f"{page.path}: {widget_views} of {page.widget_views} widget views rendered")
        assert widget_errors == 0, f"{page.path}: {widget_errors} widget(s) failed to render"


# Demo pages: controls drive the output without a kernel ------------------------------------


def _move(tab, control) -> bool:
    """Move one control to a different value, the way a reader would. False if it has no other value."""
    cls = control.get_attribute("class") or ""
    if "widget-slider" in cls or "widget-hslider" in cls or "widget-vslider" in cls:
        handle = control.locator(".noUi-handle").first
        before = handle.get_attribute("aria-valuenow")
        handle.focus()
        at_max = handle.get_attribute("aria-valuenow") == handle.get_attribute("aria-valuemax")
        handle.press("PageDown" if at_max else "PageUp")  # noUiSlider: a large step
        if handle.get_attribute("aria-valuenow") == before:
            handle.press("ArrowLeft" if at_max else "ArrowRight")
        return handle.get_attribute("aria-valuenow") != before
    if "widget-dropdown" in cls or "widget-select" in cls:
        select = control.locator("select").first
        n = select.locator("option").count()
        if n < 2:
            return False
        current = select.evaluate("s => s.selectedIndex")
        select.select_option(index=(max(current, 0) + 1) % n)
        return True
    if "widget-toggle-buttons" in cls:
        other = control.locator("button:not(.mod-active)").first
        if other.count() == 0:
            return False
        other.click()
        return True
    if "widget-radio" in cls:
        other = control.locator("input:not(:checked)").first
        if other.count() == 0:
            return False
        other.check()
        return True
    if "widget-checkbox" in cls:
        control.locator("input").first.click()
        return True
    if "widget-text" in cls:
        box = control.locator("input").first
        value = box.input_value()
        try:
            box.fill(str(float(value) + 1).removesuffix(".0"))
        except ValueError:
            box.fill(value + "x")
        box.press("Enter")
        return True
    if "lm-TabBar" in cls:
        other = control.locator(".lm-TabBar-tab:not(.lm-mod-current)").first
        if other.count() == 0:
            return False
        other.click()
        return True
    if "widget-play" in cls or "widget-button" in cls or "widget-toggle-button" in cls \
            or "Collapse-header" in cls:
        (control.locator("button").first if "widget-play" in cls else control).click()
        return True
    return False


@pytest.mark.parametrize("page", _DEMOS, ids=_ids(_DEMOS))
def test_demo_controls_change_output(page: BookPage | None, offline, report):
    page = _need(page, "demo pages (pages with widget state)")
    context, tab, visit = offline.new_page()
    control_sel = ", ".join(_CONTROL)
    results = []
    try:
        tab.goto(offline.url(page.path), wait_until="load")
        tab.wait_for_function(_JS_WIDGETS_RENDERED, timeout=30_000)
        areas = tab.locator(".widget-subarea")
        for i in range(areas.count()):
            area = areas.nth(i)
            # outermost controls only (the buttons inside a ToggleButtons are one control)
            n = area.evaluate(_JS_MARK_CONTROLS, [control_sel, i])
            controls = area.locator(f'[data-e2e-control^="{i}-"]')
            if n == 0:
                continue
            area.scroll_into_view_if_needed()
            area.screenshot(path=str(SCREENSHOTS / _screenshot_name(page, f"--demo{i}-before")))
            # Move every control in turn: each must change what the demo shows (a slider that
            # moves while the plot stays frozen is the failure this test exists for). Plain
            # buttons are only recorded: without a kernel they have nothing to call.
            effects = {}
            for j in range(n):
                control = controls.nth(j)
                if not control.is_visible():
                    continue
                label = f"{j}:" + " ".join(
                    c for c in (control.get_attribute("class") or "").split() if c.startswith("widget-"))
                before = tab.evaluate(_JS_OUTPUT_SIGNATURE, [area.element_handle(), control_sel])
                if not _move(tab, control):
                    effects[label] = "could not be moved"
                    continue
                try:
                    tab.wait_for_function(
                        f"([area, sel, before]) => ({_JS_OUTPUT_SIGNATURE})([area, sel]) !== before",
                        arg=[area.element_handle(), control_sel, before], timeout=3_000)
                    effects[label] = "output changed"
                except PlaywrightTimeout:
                    effects[label] = "output unchanged"
            area.screenshot(path=str(SCREENSHOTS / _screenshot_name(page, f"--demo{i}-after")))
            results.append({"area": i, "controls": effects, "frozen": [
                c for c, e in effects.items() if e != "output changed" and "widget-button" not in c]})
    finally:
        context.close()

    report.setdefault(page.path, {})["demos"] = results
    assert results, f"{page.path} has widget state but no control a reader can move"
    frozen = {f"demo {r['area']}": r["frozen"] for r in results if r["frozen"]}
    assert frozen == {}, f"{page.path}: controls that do not change the output: {frozen}; all: {results}"
    assert visit.external == [], f"{page.path} tried to load from other hosts: {visit.external}"
    assert visit.unexpected_console() == [], f"{page.path} console errors: {visit.unexpected_console()}"


# Search and navigation ----------------------------------------------------------------------

_STOP = {"with", "from", "that", "this", "into", "your", "what", "over", "their", "through"}


def _query_word(title: str) -> str:
    words = [w for w in re.findall(r"[A-Za-z]{4,}", title) if w.lower() not in _STOP]
    return max(words, key=len) if words else ""


@pytest.mark.parametrize("page", _CHAPTERS, ids=_ids(_CHAPTERS))
def test_search_finds_chapter(page: BookPage | None, offline):
    page = _need(page, "chapters")
    word = _query_word(page.title)
    if not word:
        pytest.skip(f"{page.path}: its title {page.title!r} has no word to search for")
    context, tab, visit = offline.new_page()
    try:
        search_url = offline.url(f"search.html?q={word}")
        tab.goto(search_url, wait_until="load")
        tab.wait_for_function(
            "() => { const s = document.querySelector('#search-results .search-summary');"
            " return s && s.textContent.trim().length > 0; }", timeout=20_000)
        hrefs = tab.eval_on_selector_all("#search-results ul.search li a", "as => as.map(a => a.getAttribute('href'))")
    finally:
        context.close()
    found = {urlsplit(urldefrag(urljoin(search_url, h)).url).path.lstrip("/") for h in hrefs}
    assert page.path in found, f"searching {word!r} did not find {page.path}; results: {sorted(found)}"
    assert visit.external == [], f"the search page loaded from other hosts: {visit.external}"


def test_next_and_previous_links_walk_the_toc(offline):
    if not PAGES:
        unavailable("the book is not built")
    # The links are plain HTML: scripts off, so each hop does not wait for MathJax and widgets
    # (the per-page test covers those) and the walk stays fast.
    context, tab, visit = offline.new_page(javascript=False)
    walked = []
    try:
        tab.goto(offline.url("index.html"), wait_until="load")  # redirects to the root chapter
        tab.wait_for_selector("nav.bd-docs-nav")

        def here() -> str:
            return urldefrag(tab.url).url

        # expected order: the sidebar table of contents (the root page first)
        toc = tab.eval_on_selector_all(
            "nav.bd-docs-nav a.reference.internal", "as => as.map(a => a.href)")
        expected = [here()]
        for url in (urldefrag(u).url for u in toc):
            if url not in expected:
                expected.append(url)
        walked.append(here())
        for i in range(1, len(expected)):
            prev_href = urldefrag(urljoin(here(), tab.get_attribute("a.right-next", "href"))).url
            assert prev_href == expected[i], f"next link on {here()} points to {prev_href}, TOC says {expected[i]}"
            with tab.expect_navigation(wait_until="domcontentloaded"):
                tab.click("a.right-next")
            assert here() == expected[i]
            back = urldefrag(urljoin(here(), tab.get_attribute("a.left-prev", "href"))).url
            assert back == expected[i - 1], f"previous link on {here()} points to {back}"
            walked.append(here())
        assert tab.locator("a.right-next").count() == 0, f"the last chapter {here()} has a next link"
        if len(expected) > 1:  # and the previous link really navigates back
            with tab.expect_navigation(wait_until="domcontentloaded"):
                tab.click("a.left-prev")
            assert here() == expected[-2]
    finally:
        context.close()
    assert walked == expected
    assert visit.external == [], f"navigation loaded from other hosts: {visit.external}"
    assert visit.unexpected_console() == [], f"console errors: {visit.unexpected_console()}"


def test_screenshot_of_every_chapter_was_saved(report):
    """Runs after the per-page tests (file order): each chapter left a non-empty screenshot."""
    chapters = [p for p in PAGES if p.is_chapter]
    if not chapters:
        unavailable("the book is not built")
    if not all("screenshot" in report.get(p.path, {}) for p in chapters):
        pytest.skip("the per-page tests did not run in this session (deselected)")
    missing = [p.path for p in chapters
               if not (SCREENSHOTS / _screenshot_name(p)).is_file()
               or (SCREENSHOTS / _screenshot_name(p)).stat().st_size == 0]
    assert missing == [], f"no screenshot for: {missing}"
    digests = {hashlib.sha256((SCREENSHOTS / _screenshot_name(p)).read_bytes()).hexdigest() for p in chapters}
    assert len(digests) == len(chapters), "two chapters produced identical screenshots"
