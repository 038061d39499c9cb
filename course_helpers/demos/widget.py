"""The thin widget layer shared by every demo: one demo, two modes.

A demo is a pure ``compute(**params) -> result`` function, a list of controls, and panels that turn
a result into HTML (``render(result) -> str``, SVG inside). ``Demo`` wires them up in one of two modes:

* **live** (a Jupyter kernel with a frontend): moving a control calls ``compute`` in Python and
  re-renders the panels;
* **static** (the built book, no kernel): every frame on a small grid of control values is
  precomputed, each panel becomes nested ``ipywidgets.Stack`` widgets (one level per control the
  panel depends on), and each level's ``selected_index`` is ``jslink``-ed to its control's
  ``index``. The links run in the browser, so the page stays interactive without Python.

Several controls make a cartesian product of frames. Two things keep it small: each control has a
coarse ``static`` grid, and each panel lists only the controls it depends on (a panel that
depends on ``step`` alone gets 5 frames, not 5 x the temperature grid).
"""

from __future__ import annotations

import html
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import ipywidgets as W

__all__ = ["Control", "Panel", "Demo", "resolve_static", "summarize"]


def _label(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


@dataclass
class Control:
    """One control of a demo.

    ``live``: the values a live control offers; ``static``: the coarse grid precomputed for the
    static page (must contain ``default``). ``kind``: "slider", "toggle" or "dropdown".
    ``fmt``: how a value is shown on the control.
    """

    name: str
    description: str
    live: Sequence[Any]
    static: Sequence[Any]
    default: Any
    kind: str = "slider"
    fmt: Callable[[Any], str] = _label

    def __post_init__(self) -> None:
        if self.kind not in ("slider", "toggle", "dropdown"):
            raise ValueError(f"Control {self.name!r}: kind must be slider/toggle/dropdown, got {self.kind!r}")
        for grid in ("live", "static"):
            if self.default not in list(getattr(self, grid)):
                raise ValueError(f"Control {self.name!r}: default {self.default!r} is not in its {grid} grid")

    def make_widget(self, static: bool) -> W.Widget:
        """A selection widget (it has both ``value`` and ``index``, so ``jslink`` can use ``index``)."""
        values = list(self.static if static else self.live)
        options = [(self.fmt(v), v) for v in values]
        common = dict(options=options, value=self.default, description=self.description,
                      style={"description_width": "initial"})
        if self.kind == "slider":
            # At most 420 px, less in a narrow column (a phone): the readout must stay visible.
            return W.SelectionSlider(continuous_update=True, layout=W.Layout(width="100%", max_width="420px"),
                                     **common)
        if self.kind == "toggle":
            return W.ToggleButtons(**common)
        return W.Dropdown(**common)


@dataclass
class Panel:
    """A piece of output: ``render(result) -> html``, depending only on the controls ``depends``."""

    render: Callable[[Any], str]
    depends: Sequence[str]


def resolve_static(static: bool | None) -> bool:
    """Decide the mode: an explicit argument wins, then env ``COURSE_DEMOS_STATIC``, then:
    live inside a Jupyter kernel (a ZMQ shell), static anywhere else.

    A kernel cannot tell whether a browser is attached: the book build (myst-nb) runs a kernel with
    no frontend, so ``scripts/build_book.py`` sets ``COURSE_DEMOS_STATIC=1`` for it. The chapters'
    cells pass no ``static`` argument: the same cell is live when a reader runs it in JupyterLab
    and precomputed in the built HTML.
    """
    if static is not None:
        return bool(static)
    env = os.environ.get("COURSE_DEMOS_STATIC", "").strip().lower()
    if env:
        return env not in ("0", "false", "no")
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipywidgets
        return True
    shell = get_ipython()
    return not (shell is not None and type(shell).__name__ == "ZMQInteractiveShell")


@dataclass
class Demo:
    """A demo wired to its controls. Display it (it is the last expression of a cell) or use
    ``.widget``.

    Attributes useful from code and tests:
        controls: dict name -> control widget (change ``.value`` or ``.index`` to drive the demo)
        params:   dict name -> current value
        result:   the current ``compute(**params)`` result
        static:   the mode
        panel_html(): the HTML each panel currently shows
        links:    the ``jslink`` objects (static mode)
    """

    title: str
    controls_spec: Sequence[Control]
    compute: Callable[..., Any]
    panels: Sequence[Panel]
    static: bool | None = None
    note: str = ""
    controls: dict[str, W.Widget] = field(default_factory=dict, init=False)
    params: dict[str, Any] = field(default_factory=dict, init=False)
    links: list[Any] = field(default_factory=list, init=False)
    n_frames: int = field(default=0, init=False)
    caches: list[dict] = field(default_factory=list)  # compute-side caches (cleared by benchmarks)

    def __post_init__(self) -> None:
        self.static = resolve_static(self.static)
        names = [c.name for c in self.controls_spec]
        for p in self.panels:
            unknown = set(p.depends) - set(names)
            if unknown:
                raise ValueError(f"panel depends on unknown controls {sorted(unknown)}; have {names}")
        self.params = {c.name: c.default for c in self.controls_spec}
        self.controls = {c.name: c.make_widget(self.static) for c in self.controls_spec}
        self._cache: dict[tuple, Any] = {}
        # frames share one Layout and one style model: fewer models in the page's widget state
        self._layout = W.Layout()
        self._style = W.widgets.widget_string.HTMLStyle()
        self._mirrors: dict[str, list[W.Stack]] = {}
        if self.static:
            self._outputs = [self._build_static(p) for p in self.panels]
            for name, w in self.controls.items():
                # Python-side mirror of the jslinks, so a kernel (and the tests) sees the same frame
                w.observe(lambda ch, n=name: self._on_static_change(n, ch), names="index")
        else:
            self._outputs = [W.HTML(layout=self._layout, style=self._style) for _ in self.panels]
            for name, w in self.controls.items():
                w.observe(lambda ch, n=name: self._on_live_change(n, ch), names="value")
            self._refresh_live()
        header = [W.HTML(f"<b>{self.title}</b>" + (f"<br><small>{self.note}</small>" if self.note else ""))]
        mode = "precomputed frames, works without a kernel" if self.static else "live: computed in Python"
        footer = [W.HTML(f'<small style="color:#595959">{mode}</small>')]
        panels = W.HBox(self._outputs, layout=W.Layout(flex_flow="row wrap", align_items="flex-start"))
        self.widget = W.VBox(header + list(self.controls.values()) + [panels] + footer)

    # ----- computing -------------------------------------------------------------------------
    def _compute(self, params: dict[str, Any]) -> Any:
        key = tuple(params[c.name] for c in self.controls_spec)
        if key not in self._cache:
            self._cache[key] = self.compute(**params)
        return self._cache[key]

    @property
    def result(self) -> Any:
        """``compute(**params)`` at the current control values."""
        return self._compute(self.params)

    # ----- live mode ---------------------------------------------------------------------------
    def _on_live_change(self, name: str, change: dict) -> None:
        self.params[name] = change["new"]
        self._refresh_live()

    def _refresh_live(self) -> None:
        self._cache.clear()  # live mode keeps only the current result
        try:
            res = self.result
            shown = [p.render(res) for p in self.panels]
        except Exception as err:  # a callback's error would vanish into the log: show it
            shown = [f'<pre style="color:#b00">{html.escape(repr(err))}</pre>'] + [""] * (len(self.panels) - 1)
        for out, value in zip(self._outputs, shown, strict=True):
            out.value = value

    # ----- static mode -------------------------------------------------------------------------
    def _build_static(self, panel: Panel) -> W.Widget:
        """Nested Stacks over the controls this panel depends on, each level jslink-ed."""
        specs = [c for c in self.controls_spec if c.name in panel.depends]

        def build(level: int, fixed: dict[str, Any]) -> W.Widget:
            if level == len(specs):
                self.n_frames += 1
                res = self._compute({**self.params, **fixed})
                return W.HTML(panel.render(res), layout=self._layout, style=self._style)
            spec = specs[level]
            grid = list(spec.static)
            children = [build(level + 1, {**fixed, spec.name: v}) for v in grid]
            stack = W.Stack(children, selected_index=grid.index(spec.default), layout=self._layout)
            self.links.append(W.jslink((self.controls[spec.name], "index"), (stack, "selected_index")))
            self._mirrors.setdefault(spec.name, []).append(stack)
            return stack

        return build(0, {})

    def _on_static_change(self, name: str, change: dict) -> None:
        idx = change["new"]
        self.params[name] = list(next(c for c in self.controls_spec if c.name == name).static)[idx]
        for stack in self._mirrors.get(name, []):
            stack.selected_index = idx

    # ----- output --------------------------------------------------------------------------------
    def panel_html(self) -> list[str]:
        """The HTML each panel shows now (static: follow the selected stack children)."""
        shown = []
        for out in self._outputs:
            while isinstance(out, W.Stack):
                out = out.children[out.selected_index]
            shown.append(out.value)
        return shown

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    def frame_count(self) -> int:
        """Number of precomputed frames (static) or 0 (live)."""
        return self.n_frames



def summarize(result: Any, max_size: int = 4096) -> Any:
    """A JSON-able view of a compute result (dataclass fields, arrays as lists; big arrays and
    objects that are not data are left out). Used to compare results across processes."""
    import dataclasses

    import numpy as np

    if dataclasses.is_dataclass(result):
        return {f.name: summarize(getattr(result, f.name), max_size) for f in dataclasses.fields(result)
                if not f.name.startswith("_")}
    if isinstance(result, dict):
        return {str(k): summarize(v, max_size) for k, v in result.items()}
    if isinstance(result, (list, tuple)):
        return [summarize(v, max_size) for v in result]
    if isinstance(result, np.ndarray):
        return result.tolist() if result.size <= max_size else None
    if isinstance(result, (np.floating, np.integer)):
        return result.item()
    if result is None or isinstance(result, (str, int, float, bool)):
        return result
    return None
