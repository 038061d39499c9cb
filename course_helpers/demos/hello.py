"""Chapter 1 demo: step a character-level RNN through "hello".

At step t the model reads character x_t of "hello", updates its hidden state

    h_t = tanh(x_t Wx + h_{t-1} Wh + b)      (x_t one-hot, so x_t Wx is a row of Wx)

and scores the next character, y_t = h_t Wy + by. Dividing the scores by a temperature tau before
the softmax sharpens (tau < 1) or flattens (tau > 1) the distribution; tau = 0 means argmax.
The sampled character uses one fixed uniform number u_t per step (inverse-CDF sampling), so moving
the temperature shows how the *same* random draw lands on different characters.

Models (``model=``):
  "shipped": the course's trained character RNN (``course_helpers.artifacts.load_char_model``),
             trained on Python standard-library docstrings;
  "hello":   the lecture's toy: vocabulary {h, e, l, o}, trained here in about a second with
             torch on the single word "hello" (seeded), so the sequence is learned by heart;
  "auto":    "shipped" when the artifact is present, else "hello".
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from course_helpers.demos import svg

WORD = "hello"
TOP_K = 8


@dataclass
class CharModel:
    """A vanilla character RNN: Wx (V,H), Wh (H,H), b (H,), Wy (H,V), by (V,), chars (V,)."""

    Wx: np.ndarray
    Wh: np.ndarray
    b: np.ndarray
    Wy: np.ndarray
    by: np.ndarray
    chars: list[str]
    name: str

    @property
    def stoi(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.chars)}


@lru_cache(maxsize=1)
def toy_hello_model(H: int = 8, steps: int = 40, seed: int = 0, lr: float = 0.01) -> CharModel:
    """Train a tiny tanh RNN on "hello" (inputs h,e,l,l -> targets e,l,l,o) with torch Adam.

    Few steps on purpose: the model gets the word right (argmax) without becoming so sure that
    the temperature has nothing left to reshape."""
    import torch

    chars = ["h", "e", "l", "o"]
    ids = torch.tensor([chars.index(c) for c in WORD])
    gen = torch.Generator().manual_seed(seed)
    V = len(chars)
    Wx = (torch.randn(V, H, generator=gen, dtype=torch.float64) * 0.5).requires_grad_()
    Wh = (torch.randn(H, H, generator=gen, dtype=torch.float64) * 0.3).requires_grad_()
    b = torch.zeros(H, dtype=torch.float64, requires_grad=True)
    Wy = (torch.randn(H, V, generator=gen, dtype=torch.float64) * 0.5).requires_grad_()
    by = torch.zeros(V, dtype=torch.float64, requires_grad=True)
    params = [Wx, Wh, b, Wy, by]
    opt = torch.optim.Adam(params, lr=lr)
    for _ in range(steps):
        h = torch.zeros(H, dtype=torch.float64)
        loss = 0.0
        for t in range(len(WORD) - 1):
            h = torch.tanh(Wx[ids[t]] + h @ Wh + b)
            loss = loss + torch.nn.functional.cross_entropy((h @ Wy + by)[None], ids[t + 1][None])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return CharModel(*(p.detach().numpy().copy() for p in params), chars=chars,
                     name=f"toy RNN (H={H}) trained here on 'hello' for {steps} Adam steps")


def load_model(model: str = "auto") -> CharModel:
    """The character model for the demo (see the module docstring)."""
    if model not in ("auto", "shipped", "hello"):
        raise ValueError(f"model must be 'auto', 'shipped' or 'hello', got {model!r}")
    if model in ("auto", "shipped"):
        try:
            from course_helpers.artifacts import load_char_model

            p = load_char_model("rnn")
            return CharModel(p["Wx"], p["Wh"], p["b"], p["Wy"], p["by"], list(p["vocab"].chars),
                             name=f"the course's character RNN (H={p['Wh'].shape[0]}, trained on "
                                  "Python docstrings)")
        except (ImportError, FileNotFoundError, OSError):
            if model == "shipped":
                raise
    return toy_hello_model()


def softmax_t(scores: np.ndarray, temperature: float) -> np.ndarray:
    """softmax(scores / temperature); temperature 0 puts all mass on the argmax."""
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    if temperature == 0:
        p = np.zeros_like(scores, dtype=float)
        p[np.argmax(scores)] = 1.0
        return p
    z = scores / temperature
    z = z - z.max()
    e = np.exp(z)
    return e / e.sum()


@dataclass
class HelloStep:
    """The model after reading WORD[:step+1]: hidden (H,), probs (V,) at the temperature,
    the sampled index (inverse CDF with the fixed u), the true next character (or None)."""

    step: int
    temperature: float
    char_in: str
    hidden: np.ndarray
    probs: np.ndarray
    u: float
    sampled: int
    target: str | None
    chars: list[str]


def hello_step(step: int, temperature: float = 1.0, model: CharModel | None = None,
               seed: int = 0) -> HelloStep:
    """Run the model over WORD[: step + 1] and look at its prediction for the next character."""
    if not 0 <= step < len(WORD):
        raise ValueError(f"step must be in 0..{len(WORD) - 1}, got {step}")
    m = model or load_model()
    stoi = m.stoi
    h = np.zeros(m.Wh.shape[0])
    for c in WORD[: step + 1]:
        h = np.tanh(m.Wx[stoi[c]] + h @ m.Wh + m.b)
    probs = softmax_t(h @ m.Wy + m.by, temperature)
    u = float(np.random.default_rng(seed).uniform(size=len(WORD))[step])
    sampled = int(min(np.searchsorted(np.cumsum(probs), u, side="right"), len(probs) - 1))
    target = WORD[step + 1] if step + 1 < len(WORD) else None
    return HelloStep(step, temperature, WORD[step], h, probs, u, sampled, target, m.chars)


def _show(c: str) -> str:
    return {" ": "␣", "\n": "↵", "\t": "⇥"}.get(c, c)


def render_state(res: HelloStep) -> str:
    """The input so far (current character highlighted) and the hidden state as a colour strip."""
    letters = "".join(
        f'<span style="display:inline-block;width:28px;text-align:center;font:bold 20px monospace;'
        f'border:2px solid {"#ff7f0e" if i == res.step else "#ccc"};margin:2px;'
        f'color:{"#000" if i <= res.step else "#707070"}">{c}</span>' for i, c in enumerate(WORD))
    H = res.hidden.size
    cols = min(H, 32)
    rows = -(-H // cols)
    grid = np.full(rows * cols, np.nan)
    grid[:H] = res.hidden
    rgb = svg.colormap(np.nan_to_num(grid, nan=0.0).reshape(rows, cols), -1, 1, "RdBu_r")
    cell = max(8, 320 // cols)
    img = (f'<img src="{svg.array_png(rgb)}" width="{cols * cell}" height="{rows * cell}" '
           f'style="image-rendering:pixelated;border:1px solid #999" '
           f'alt="hidden state h_{res.step} as {H} coloured cells, blue for -1 to red for +1">')
    return (f'<div style="font-family:sans-serif;font-size:12px">{letters}'
            f'<div>step t = {res.step}: read <b>{_show(res.char_in)}</b>; hidden state h_t '
            f'({H} units, blue −1 … red +1; |h| mean {np.abs(res.hidden).mean():.2f})</div>{img}</div>')


def render_output(res: HelloStep) -> str:
    """The top-k next-character probabilities with the sampled one highlighted."""
    order = np.argsort(-res.probs, kind="stable")[:TOP_K]
    labels = [_show(res.chars[i]) for i in order]
    values = [res.probs[i] for i in order]
    hl = int(np.flatnonzero(order == res.sampled)[0]) if res.sampled in order else None
    rest = max(0.0, 1.0 - float(np.sum(values)))
    tau = "argmax" if res.temperature == 0 else f"τ = {res.temperature:g}"
    chart = svg.bar_chart(labels + ["rest"], values + [rest], ymin=0, ymax=1, highlight=hl,
                          title=f"p(next char | 'hello'[:{res.step + 1}]), {tau}", width=420, height=160)
    truth = "" if res.target is None else f"; the word continues with <b>{res.target}</b>"
    box = ("display:inline-block;min-width:22px;text-align:center;font:bold 20px monospace;"
           "border:2px solid #ff7f0e;color:#a34f00;padding:0 4px")
    return (f'<div style="font-family:sans-serif;font-size:12px">{chart}<div>sample (inverse CDF at '
            f'u = {res.u:.2f}): <span style="{box}">{_show(res.chars[res.sampled])}</span>{truth}</div></div>')
