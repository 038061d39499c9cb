"""A small Sphinx extension of the course book: its own CSS/JS, and one duplicate script dropped.

Listed in ``_config.yml`` (``sphinx.extra_extensions``). It

* adds ``book/_static`` to the static path and puts ``course-book.css`` and ``course-book.js`` on
  every page (responsive demos and code, contrast, working sidebar toggles, accessible names; see
  the comments in those files);
* gives each notebook figure the alt text that ``course_helpers.figures.install_alt_text`` wrote
  into its PNG (myst-nb 1.4 would use the image's file name as its alt text);
* removes repeated inline ``<script>`` bodies from each page. Sphinx 7.4 registers the inline
  configuration script sphinx-thebe adds at ``env-before-read-docs`` both with the builder and in
  its registry, so every page declared ``const THEBE_JS_URL`` twice and the second copy threw
  ``Identifier 'THEBE_JS_URL' has already been declared``.
"""

from __future__ import annotations

from pathlib import Path

STATIC = Path(__file__).resolve().parent.parent / "book" / "_static"
CSS_FILES = ("course-book.css",)
JS_FILES = ("course-book.js",)


def _static_path(app, config) -> None:
    if str(STATIC) not in config.html_static_path:
        config.html_static_path.append(str(STATIC))


def _dedupe_inline_scripts(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set[str] = set()
    kept = []
    for js in scripts:
        body = getattr(js, "attributes", {}).get("body") if getattr(js, "filename", "") in ("", None) else None
        if body:
            if body in seen:
                continue
            seen.add(body)
        kept.append(js)
    scripts[:] = kept


def _png_description(path: Path) -> str:
    """The ``Description`` text chunk of a PNG file ('' if it has none or is not a PNG)."""
    try:
        from PIL import Image

        with Image.open(path) as img:
            return str(img.info.get("Description", "")) if img.format == "PNG" else ""
    except (OSError, ValueError):
        return ""


def _figure_alt_text(app, doctree, docname) -> None:
    from docutils import nodes

    for node in doctree.findall(nodes.image):
        uri = node.get("uri", "")
        alt = node.get("alt")
        if not uri.endswith(".png") or (alt and alt != uri and not uri.endswith(alt.lstrip("./"))):
            continue
        # Sphinx has resolved the file by now: candidates["*"] is relative to the source root.
        rel = node.get("candidates", {}).get("*")
        path = Path(app.srcdir) / rel if rel else Path(app.env.relfn2path(uri, docname)[1])
        description = _png_description(path)
        if description:
            node["alt"] = description


def setup(app):
    app.connect("config-inited", _static_path)
    for name in CSS_FILES:
        app.add_css_file(name)
    for name in JS_FILES:
        app.add_js_file(name, defer="defer")
    app.connect("html-page-context", _dedupe_inline_scripts, priority=900)
    app.connect("doctree-resolved", _figure_alt_text)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
