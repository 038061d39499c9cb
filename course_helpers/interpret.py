"""Searching a character RNN for interpretable hidden units (chapter 1).

Karpathy, Johnson and Fei-Fei ("Visualizing and Understanding Recurrent Networks", 2015) found
LSTM cells that track quotes, line length or nesting depth. This module makes that search a
measurement: compute an *indicator* of the text (a number per character that a reader can check),
run the model over the text, and rank the hidden units by the Pearson correlation of their
activation with the indicator.

Indicators (each returns a float array with one entry per character of ``text``):

- ``inside_quotes``: 1 inside a single- or double-quoted string on the current line (the quote
  characters themselves count as inside), else 0; an unclosed quote ends at the newline;
- ``inside_backticks``: 1 between a pair of backticks (reST ``code`` and ``:math:`...```), else 0;
- ``paren_depth``: the number of open ``(`` at that character (never below 0), across lines;
- ``column``: the position of the character in its line (0 for the first character).
"""

from __future__ import annotations

import html

import numpy as np


def _check_text(text: str, name: str) -> None:
    if not isinstance(text, str) or not text:
        raise ValueError(f"{name}: text must be a non-empty str")


def inside_quotes(text: str) -> np.ndarray:
    """1.0 for characters inside '...' or "..." on one line (quotes included), else 0.0."""
    _check_text(text, "inside_quotes")
    out, open_quote = np.zeros(len(text)), None
    for i, ch in enumerate(text):
        if ch == "\n":
            open_quote = None
        elif open_quote is None and ch in "'\"":
            open_quote = ch
            out[i] = 1.0
            continue
        elif ch == open_quote:
            out[i] = 1.0
            open_quote = None
            continue
        out[i] = 1.0 if open_quote is not None else 0.0
    return out


def inside_backticks(text: str) -> np.ndarray:
    """1.0 for characters between a pair of backticks (backticks included), else 0.0."""
    _check_text(text, "inside_backticks")
    out, inside = np.zeros(len(text)), False
    for i, ch in enumerate(text):
        if ch == "`":
            out[i] = 1.0
            inside = not inside
        else:
            out[i] = 1.0 if inside else 0.0
    return out


def paren_depth(text: str) -> np.ndarray:
    """Number of unclosed '(' at each character (the '(' itself counts), never negative."""
    _check_text(text, "paren_depth")
    out, depth = np.zeros(len(text)), 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        out[i] = depth
        if ch == ")":
            depth = max(depth - 1, 0)
    return out


def column(text: str) -> np.ndarray:
    """Position of each character in its line: 0, 1, 2, ... restarting after every newline."""
    _check_text(text, "column")
    out, col = np.zeros(len(text)), 0
    for i, ch in enumerate(text):
        out[i] = col
        col = 0 if ch == "\n" else col + 1
    return out


INDICATORS = {"inside quotes": inside_quotes, "inside backticks": inside_backticks,
              "parenthesis depth": paren_depth, "position in line": column}


def rank_units(states: np.ndarray, indicator: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rank hidden units by |Pearson correlation| with an indicator.

    Inputs: states (T, H) activations, indicator (T,). Returns (units, r): unit indices sorted from
    the largest |r| down, and r (H,), the signed correlation of every unit (0 for a constant unit).
    Raises ValueError if the shapes disagree or the indicator is constant (nothing to correlate).
    """
    states, indicator = np.asarray(states, dtype=np.float64), np.asarray(indicator, dtype=np.float64)
    if states.ndim != 2 or indicator.shape != (states.shape[0],):
        raise ValueError(f"rank_units: expected states (T, H) and indicator (T,), got {states.shape} "
                         f"and {indicator.shape}")
    ind = indicator - indicator.mean()
    if not np.any(ind):
        raise ValueError("rank_units: the indicator is constant over the text")
    cen = states - states.mean(axis=0)
    denom = np.sqrt((cen**2).sum(axis=0) * (ind**2).sum())
    r = np.divide(cen.T @ ind, denom, out=np.zeros(states.shape[1]), where=denom > 0)
    return np.argsort(-np.abs(r), kind="stable"), r


def activation_html(text: str, activation: np.ndarray, title: str = "") -> str:
    """Text coloured by one unit's activation in [-1, 1]: blue for negative, red for positive.

    Returns an HTML fragment (monospace, newlines kept) for IPython.display.HTML.
    """
    activation = np.asarray(activation, dtype=np.float64)
    if activation.shape != (len(text),):
        raise ValueError(f"activation_html: need one activation per character ({len(text)}), "
                         f"got shape {activation.shape}")
    spans = []
    for ch, a in zip(text, np.clip(activation, -1, 1), strict=True):
        strength = int(round(255 - 150 * abs(a)))        # pale at 0, a readable tint at |a| = 1
        colour = f"255,{strength},{strength}" if a > 0 else f"{strength},{strength},255"
        shown = "&#8629;\n" if ch == "\n" else html.escape(ch)
        spans.append(f'<span style="background-color:rgb({colour});color:#000">{shown}</span>')
    head = f"<div style='font-size:90%;margin:0.3em 0'><b>{html.escape(title)}</b></div>" if title else ""
    label = html.escape(title or "text coloured by a hidden unit's activation", quote=True)
    # Wrapped, never scrolled: long lines break anywhere, so the strip fits a phone's column.
    return (f"{head}<div role='group' aria-label='{label}' style='font-family:monospace;font-size:85%;"
            f"line-height:1.5;border:1px solid #ccc;padding:4px;white-space:pre-wrap;"
            f"overflow-wrap:anywhere;word-break:break-all'>{''.join(spans)}</div>")
