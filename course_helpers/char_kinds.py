"""Three kinds of text, and small character models trained on each (min-char-rnn, chapter 1).

The texts need no download; each is read from software this course already depends on:

- ``"prose"``: the Python language reference's topic pages (``pydoc_data.topics``, part of
  CPython, PSF-2.0 licence): English paragraphs about the language;
- ``"code"``: the Python source of a fixed list of standard-library modules (PSF-2.0);
- ``"markup"``: the docstrings of PyTorch's ``torch.nn``, ``torch.nn.functional``, ``torch.optim``
  and ``torch.distributions`` that contain maths: reStructuredText with inline LaTeX such as
  ``:math:`h_t = \\tanh(x_t W_{ih}^T + b_{ih})``` (BSD-3-Clause licence).

Every text is reduced to printable ASCII plus newline (tabs become four spaces, other characters
are dropped), so a vocabulary has at most 96 characters. The exact text depends on the installed
versions, so the shipped models store their own vocabulary and validation text.

The shipped models (``course_helpers/artifacts/char_kinds_<name>.npz``, made by
``scripts/train_char_kinds.py`` and ``scripts/train_multilayer.py``) are
vanilla tanh RNNs, possibly stacked, stored in the course's row convention: for layer ``l``
``Wx{l}`` (D_l, H), ``Wh{l}`` (H, H), ``b{l}`` (H,), then ``Wy`` (H, V), ``by`` (V,). The
functions below run them with numpy only.
"""

from __future__ import annotations

import importlib
import inspect
import json
import math
import string
import warnings
from pathlib import Path

import numpy as np

KINDS: tuple[str, ...] = ("prose", "code", "markup")

CODE_MODULES: tuple[str, ...] = (
    "argparse", "bisect", "calendar", "configparser", "contextlib", "copy", "csv", "dataclasses",
    "difflib", "enum", "fnmatch", "fractions", "functools", "getopt", "glob", "heapq", "json.decoder",
    "json.encoder", "locale", "numbers", "operator", "optparse", "pprint", "queue", "random",
    "sched", "shlex", "shutil", "statistics", "string", "tempfile", "textwrap", "tokenize",
    "traceback", "types", "weakref",
)

_ALLOWED = set(string.printable) - set("\t\r\x0b\x0c")


def clean_ascii(text: str) -> str:
    """Keep printable ASCII and newlines; tabs become four spaces, everything else is dropped."""
    text = text.replace("\t", "    ").replace("\r\n", "\n")
    return "".join(ch for ch in text if ch in _ALLOWED)


def _prose() -> str:
    from pydoc_data import topics

    return "\n\n".join(topics.topics[k].strip() for k in sorted(topics.topics)) + "\n"


def _code() -> str:
    parts = []
    for name in CODE_MODULES:
        try:
            parts.append(inspect.getsource(importlib.import_module(name)))
        except (ImportError, OSError, TypeError):  # a trimmed-down Python: skip the module
            continue
    return "\n\n".join(parts)


def _markup() -> str:
    import torch
    import torch.distributions
    import torch.nn.functional
    import torch.optim

    docs, seen = [], set()
    for mod in (torch.nn, torch.nn.functional, torch.optim, torch.distributions):
        for name in sorted(dir(mod)):
            if name.startswith("_"):
                continue
            obj = getattr(mod, name)
            if not (inspect.isclass(obj) or callable(obj)):
                continue
            doc = inspect.getdoc(obj)
            if doc and doc not in seen and ":math:" in doc:
                seen.add(doc)
                docs.append(doc)
    return "\n\n".join(docs) + "\n"


def kind_corpus(kind: str, max_chars: int | None = 400_000) -> str:
    """The text of one kind ("prose", "code" or "markup"), cleaned to ASCII.

    max_chars keeps the first max_chars characters (None keeps all). Raises ValueError for an
    unknown kind, naming the known ones.
    """
    makers = {"prose": _prose, "code": _code, "markup": _markup}
    if kind not in makers:
        raise ValueError(f"kind_corpus: kind must be one of {KINDS}, got {kind!r}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        text = clean_ascii(makers[kind]())
    return text if max_chars is None else text[:max_chars]


# ---------------------------------------------------------------------------- numpy model


def num_layers(params: dict[str, np.ndarray]) -> int:
    """Number of stacked layers in a parameter dict (keys Wx0, Wx1, ...)."""
    n = 0
    while f"Wx{n}" in params:
        n += 1
    if n == 0:
        raise ValueError("params hold no layer: expected keys Wx0, Wh0, b0, ..., Wy, by")
    return n


def rnn_states(params: dict[str, np.ndarray], ids: np.ndarray,
               h0: list[np.ndarray] | None = None) -> tuple[list[np.ndarray], np.ndarray]:
    """Run a (stacked) tanh RNN over character ids.

    Inputs: ids (N, T) int; h0 a list of (N, H) initial states per layer (zeros if None).
    Returns (states, scores): states[l] (N, T, H) for every layer l, scores (N, T, V) read out
    from the top layer. Layer l computes h_t = tanh(x_t Wx{l} + h_{t-1} Wh{l} + b{l}), with
    x_t the one-hot character for layer 0 and the state of layer l-1 above that.
    """
    ids = np.asarray(ids)
    if ids.ndim != 2:
        raise ValueError(f"rnn_states: ids must be (N, T), got shape {ids.shape}")
    n_layers = num_layers(params)
    N, T = ids.shape
    inp = np.asarray(params["Wx0"], dtype=np.float64)[ids]          # one-hot @ Wx0 = a row lookup
    states = []
    for layer in range(n_layers):
        Wh = np.asarray(params[f"Wh{layer}"], dtype=np.float64)
        b = np.asarray(params[f"b{layer}"], dtype=np.float64)
        if layer > 0:
            inp = states[-1] @ np.asarray(params[f"Wx{layer}"], dtype=np.float64)
        h = np.zeros((N, Wh.shape[0])) if h0 is None else np.asarray(h0[layer], dtype=np.float64)
        out = np.empty((N, T, Wh.shape[0]))
        for t in range(T):
            h = np.tanh(inp[:, t] + h @ Wh + b)
            out[:, t] = h
        states.append(out)
    scores = states[-1] @ np.asarray(params["Wy"], dtype=np.float64) + np.asarray(params["by"], dtype=np.float64)
    return states, scores


def bits_per_char(params: dict[str, np.ndarray], ids: np.ndarray, window: int = 100) -> float:
    """Cross-entropy in bits per character of ids, read in windows of `window` from zero states.

    Each window predicts its characters 2..window from the ones before (the same protocol as
    course_helpers.evaluation.char_bits_per_char).
    """
    ids = np.asarray(ids)
    n = (len(ids) - 1) // window
    if n < 1:
        raise ValueError(f"bits_per_char: {len(ids)} ids are too few for windows of {window}")
    x = ids[: n * window].reshape(n, window)
    y = ids[1 : n * window + 1].reshape(n, window)
    _, scores = rnn_states(params, x)
    scores = scores - scores.max(axis=-1, keepdims=True)
    logp = scores - np.log(np.exp(scores).sum(axis=-1, keepdims=True))
    nll = -np.take_along_axis(logp, y[..., None], axis=-1).mean()
    return float(nll / math.log(2.0))


def sample(params: dict[str, np.ndarray], chars: str, prefix: str, n: int, temperature: float,
           rng: np.random.Generator) -> str:
    """Warm the states up on prefix, then sample n characters with softmax temperature."""
    if temperature <= 0:
        raise ValueError(f"sample: temperature must be positive, got {temperature}")
    stoi = {c: i for i, c in enumerate(chars)}
    unknown = sorted(set(prefix) - set(stoi))
    if unknown:
        raise ValueError(f"sample: prefix has characters outside the vocabulary: {unknown}")
    ids = np.array([[stoi[c] for c in prefix]])
    states, scores = rnn_states(params, ids)
    h = [s[:, -1] for s in states]
    out = []
    for _ in range(n):
        y = scores[0, -1] / temperature
        p = np.exp(y - y.max())
        idx = int(rng.choice(len(chars), p=p / p.sum()))
        out.append(chars[idx])
        states, scores = rnn_states(params, np.array([[idx]]), h0=h)
        h = [s[:, -1] for s in states]
    return prefix + "".join(out)


# ---------------------------------------------------------------------------- shipped files


def _artifacts_dir() -> Path:
    return Path(__file__).resolve().parent / "artifacts"


def load_kind_model(name: str, step: int | None = None) -> dict:
    """A shipped character model, as a dict.

    name: a kind of text ("prose", "code", "markup"; made by scripts/train_char_kinds.py) or a
    multilayer variant ("prose_2layer", "prose_2layer_small"; made by scripts/train_multilayer.py).
    The file is course_helpers/artifacts/char_kinds_<name>.npz.

    Keys: "params" (the weights of the snapshot at `step`; None = the final one, float16 on disk,
    float64 here), "chars" (the vocabulary, a str), "val_ids" (int64 array: held-out text), "steps"
    (the snapshot steps), "meta" (the training record: command, seed, bits/char, timing).
    Raises FileNotFoundError naming the script to run, ValueError for a step without a snapshot.
    """
    path = _artifacts_dir() / f"char_kinds_{name}.npz"
    if not path.exists():
        script = "scripts/train_multilayer.py" if "layer" in name else "scripts/train_char_kinds.py"
        raise FileNotFoundError(f"{path.name} is missing from {path.parent}; run {script} to make it")
    with np.load(path, allow_pickle=False) as f:
        data = {k: f[k] for k in f.files}
    steps = [int(s) for s in data["steps"]]
    step = steps[-1] if step is None else int(step)
    if step not in steps:
        raise ValueError(f"load_kind_model: no snapshot at step {step} for {name!r}; have {steps}")
    prefix = f"s{step}_"
    params = {k[len(prefix):]: v.astype(np.float64) for k, v in data.items() if k.startswith(prefix)}
    return {"params": params, "chars": str(data["chars"]), "val_ids": data["val_ids"].astype(np.int64),
            "steps": steps, "meta": json.loads(str(data["meta"]))}


def decode(chars: str, ids: np.ndarray) -> str:
    """Character ids -> text."""
    return "".join(chars[int(i)] for i in np.asarray(ids).ravel())
