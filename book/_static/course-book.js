/* The course book's own script (added to every page by scripts/sphinx_book_fixes.py).
 *
 * 1. Sidebar toggles. sphinx-book-theme 1.3.0 puts a second pair of `.primary-toggle` /
 *    `.secondary-toggle` buttons in the article header (the visible ones), but
 *    pydata-sphinx-theme 0.17.1 and sphinx-book-theme wire only the first of each, which sits in
 *    the header the book theme hides. Every other toggle forwards its click to the wired one, so
 *    all buttons behave the same: wide screens collapse/expand the sidebar, narrow screens open
 *    the sidebar as a dialog (closed by its backdrop, Escape, or the toggle again).
 * 2. Accessibility repairs of theme markup that axe-core flags (names that do not contain the
 *    visible text, the bibliography's list roles) and accessible names for the demos' sliders,
 *    which ipywidgets renders asynchronously (a MutationObserver labels them as they appear).
 */
(function () {
  "use strict";

  function wireToggles() {
    [["primary-toggle", "pst-primary-sidebar-modal"], ["secondary-toggle", "pst-secondary-sidebar-modal"]]
      .forEach(function (pair) {
        var buttons = Array.prototype.slice.call(document.querySelectorAll("." + pair[0]));
        var dialog = document.getElementById(pair[1]);
        if (buttons.length === 0) return;
        var wired = buttons[0];
        buttons.forEach(function (button) {
          button.setAttribute("aria-controls", pair[1]);
          if (button === wired) return;
          button.addEventListener("click", function (event) {
            event.preventDefault();
            event.stopPropagation();
            if (dialog && dialog.open) { dialog.close(); return; }
            wired.click();
          });
        });
        if (dialog) {
          // A close button inside the dialog, so that a touch reader need not find the backdrop.
          var close = document.createElement("button");
          close.type = "button";
          close.className = "btn btn-sm course-dialog-close";
          close.textContent = "Close";
          close.setAttribute("aria-label", "Close");
          close.addEventListener("click", function () { dialog.close(); });
          dialog.addEventListener("close", function () {
            if (close.parentNode) close.parentNode.removeChild(close);
          });
          var observer = new MutationObserver(function () {
            if (dialog.open && !dialog.contains(close)) dialog.insertBefore(close, dialog.firstChild);
          });
          observer.observe(dialog, {attributes: true, attributeFilter: ["open"]});
        }
      });
  }

  function repairThemeMarkup() {
    // The name of a control must contain its visible text (WCAG 2.5.3): let the text name it.
    document.querySelectorAll(".search-button-field[aria-label]").forEach(function (b) {
      b.removeAttribute("aria-label");
    });
    document.querySelectorAll("details > summary[aria-label]").forEach(function (s) {
      s.removeAttribute("aria-label");
    });
    // The colour-mode button's icons carry titles ("Light", "Dark", ...) that count as its visible
    // text (also after Font Awesome turned them into <svg><title>): the button's name says it all.
    document.querySelectorAll(".theme-switch-button i[title], .theme-switch-button svg").forEach(function (i) {
      i.removeAttribute("title");
      i.setAttribute("aria-hidden", "true");
      var title = i.querySelector && i.querySelector("title");
      if (title) title.parentNode.removeChild(title);
    });
    document.querySelectorAll("a.nav-link[aria-label], a.reference[aria-label]").forEach(function (a) {
      var text = a.textContent.trim();
      var label = a.getAttribute("aria-label");
      if (text && label.toLowerCase().indexOf(text.toLowerCase()) === -1) a.removeAttribute("aria-label");
    });
    // sphinxcontrib-bibtex: role="list" whose children are deprecated doc-biblioentry entries.
    document.querySelectorAll('[role="list"].citation-list > [role="doc-biblioentry"]').forEach(function (e) {
      e.setAttribute("role", "listitem");
    });
  }

  function labelWidgets(root) {
    (root || document).querySelectorAll('[role="slider"]:not([aria-label])').forEach(function (handle) {
      var box = handle.closest(".widget-slider, .widget-hslider, .widget-vslider, .jupyter-widgets");
      var label = box && box.querySelector(".widget-label");
      var text = label && label.textContent.trim();
      handle.setAttribute("aria-label", text || "slider");
    });
    (root || document).querySelectorAll(".widget-toggle-buttons:not([role])").forEach(function (group) {
      var label = group.querySelector(".widget-label");
      group.setAttribute("role", "group");
      if (label && label.textContent.trim()) group.setAttribute("aria-label", label.textContent.trim());
    });
    // Boxes that scroll sideways (a wide equation or table on a phone, a demo box) must be
    // reachable from the keyboard.
    (root || document).querySelectorAll(
        '.cell_output .widget-box, mjx-container[display="true"], .pst-scrollable-table-container'
    ).forEach(function (box) {
      if (box.scrollWidth > box.clientWidth + 1 && !box.hasAttribute("tabindex")) box.setAttribute("tabindex", "0");
    });
  }

  function start() {
    wireToggles();
    repairThemeMarkup();
    labelWidgets();
    var pending = false;
    new MutationObserver(function () {
      if (pending) return;
      pending = true;
      window.requestAnimationFrame(function () { pending = false; repairThemeMarkup(); labelWidgets(); });
    }).observe(document.body, {childList: true, subtree: true});
    window.addEventListener("resize", function () { labelWidgets(); });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
