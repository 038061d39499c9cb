"""Character-level text: a default corpus that needs no download, a vocabulary, and batches.

The default corpus is the docstrings of a fixed list of Python standard-library modules, read
from the Python that runs this code. That text is part of CPython and is distributed under the
Python Software Foundation License (PSF-2.0). It is English prose mixed with a little code, which
is a fine playground for a character-level language model.

Typical use::

    text = default_corpus()
    vocab = CharVocab.from_text(text)
    ids = vocab.encode(text)                      # (len(text),) int64
    train_ids, val_ids = train_val_split(ids)
    for x, y in tbptt_batches(train_ids, batch_size=32, seq_len=64):
        ...                                       # x, y: (N, T) int64, y is x shifted by one
"""

from __future__ import annotations

import importlib
import inspect
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

# A fixed list, in a fixed order, so the corpus is the same on every run of the same Python.
# Modules with side effects on import (this, antigravity, tkinter, turtle...) are left out.
DEFAULT_CORPUS_MODULES: tuple[str, ...] = (
    "abc", "argparse", "ast", "base64", "bisect", "calendar", "cmd", "codecs", "collections",
    "colorsys", "configparser", "contextlib", "copy", "csv", "dataclasses", "datetime",
    "decimal", "difflib", "doctest", "email.message", "enum", "fnmatch", "fractions",
    "functools", "getopt", "gettext", "glob", "gzip", "hashlib", "heapq", "hmac", "html",
    "http.client", "inspect", "io", "ipaddress", "itertools", "json", "logging", "mailbox",
    "math", "mimetypes", "numbers", "operator", "optparse", "os", "pathlib", "pickle",
    "pprint", "queue", "random", "re", "sched", "secrets", "shlex", "shutil", "socket",
    "statistics", "string", "struct", "subprocess", "tarfile", "tempfile", "textwrap",
    "threading", "timeit", "tokenize", "traceback", "typing", "unittest", "urllib.parse",
    "uuid", "warnings", "weakref", "zipfile",
)


def _docstrings_of(module_name: str) -> list[str]:
    """Docstrings of a module, its public functions and classes, and their public methods."""
    module = importlib.import_module(module_name)
    docs: list[str] = []

    def add(obj: object) -> None:
        doc = inspect.getdoc(obj)
        if doc and doc not in seen:
            seen.add(doc)
            docs.append(doc)

    seen: set[str] = set()
    add(module)
    for name in sorted(vars(module)):
        if name.startswith("_"):
            continue
        obj = vars(module)[name]
        # Keep only objects defined in this module, so re-exports are not counted twice.
        if getattr(obj, "__module__", None) != module.__name__:
            continue
        if inspect.isclass(obj):
            add(obj)
            for attr in sorted(vars(obj)):
                if not attr.startswith("_"):
                    member = vars(obj)[attr]
                    if callable(member):
                        add(member)
        elif callable(obj):
            add(obj)
    return docs


def default_corpus(max_chars: int | None = None) -> str:
    """Return the default training text: docstrings of Python standard-library modules.

    Inputs:
    - max_chars: keep only the first max_chars characters (None keeps everything, ~0.5 MB).

    Returns the text as one string; sections are separated by blank lines. Licence: the
    docstrings are part of CPython, under the Python Software Foundation License (PSF-2.0).
    The text depends on the Python version, and a library that patches a standard-library
    function when imported (PyTorch patches one in `inspect`) can change a few lines, so the
    shipped character models keep their own validation text.
    """
    parts: list[str] = []
    with warnings.catch_warnings():
        # reading some attributes (typing.io, ...) warns about deprecation: not our concern here
        warnings.simplefilter("ignore")
        for name in DEFAULT_CORPUS_MODULES:
            try:
                parts.extend(_docstrings_of(name))
            except ImportError:  # a trimmed-down Python may lack a module: skip it
                continue
    text = "\n\n".join(parts) + "\n"
    if max_chars is not None:
        if max_chars <= 0:
            raise ValueError(f"max_chars must be positive, got {max_chars}")
        text = text[:max_chars]
    return text


def load_text(path: str | Path) -> str:
    """Read a UTF-8 text file, with a clear error if it is missing, empty or not UTF-8."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"load_text: no such file: {path}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(f"load_text: {path} is not valid UTF-8 ({err.reason} at byte "
                         f"{err.start})") from err
    if not text:
        raise ValueError(f"load_text: {path} is empty")
    return text


class CharVocab:
    """A character vocabulary: character <-> integer id.

    Attributes:
    - chars: the characters in id order (a str)
    - size: V, the number of characters
    - stoi: dict char -> id;  itos: list id -> char
    """

    def __init__(self, chars: str):
        if not chars:
            raise ValueError("CharVocab: chars must not be empty")
        if len(set(chars)) != len(chars):
            raise ValueError("CharVocab: chars must be distinct")
        self.chars = chars
        self.itos = list(chars)
        self.stoi = {c: i for i, c in enumerate(chars)}
        self.size = len(chars)

    @classmethod
    def from_text(cls, text: str) -> CharVocab:
        """Vocabulary of the distinct characters of text, sorted (so it is deterministic)."""
        if not text:
            raise ValueError("CharVocab.from_text: text is empty")
        return cls("".join(sorted(set(text))))

    def encode(self, text: str) -> np.ndarray:
        """Text -> int64 array of shape (len(text),)."""
        try:
            return np.fromiter((self.stoi[c] for c in text), dtype=np.int64, count=len(text))
        except KeyError as err:
            raise ValueError(f"CharVocab.encode: character {err.args[0]!r} is not in the "
                             "vocabulary") from None

    def decode(self, ids: Sequence[int] | np.ndarray) -> str:
        """Int ids -> text."""
        ids = np.asarray(ids).reshape(-1)
        if ids.size and (ids.min() < 0 or ids.max() >= self.size):
            raise ValueError(f"CharVocab.decode: ids must lie in [0, {self.size}), "
                             f"got range [{ids.min()}, {ids.max()}]")
        return "".join(self.itos[i] for i in ids)

    def __len__(self) -> int:
        return self.size

    def __repr__(self) -> str:
        return f"CharVocab(size={self.size})"


def train_val_split(ids: np.ndarray, val_fraction: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Split a 1-D id array into a training part and the last val_fraction as validation.

    The split is contiguous (not shuffled): characters of the validation text never occur in the
    middle of a training window, so validation measures generalisation to unseen text.
    """
    ids = np.asarray(ids)
    if ids.ndim != 1:
        raise ValueError(f"train_val_split: ids must be 1-D, got shape {ids.shape}")
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"train_val_split: val_fraction must be in (0, 1), got {val_fraction}")
    n_val = max(2, int(round(len(ids) * val_fraction)))
    if n_val >= len(ids) - 1:
        raise ValueError(f"train_val_split: {len(ids)} ids are too few to split")
    return ids[:-n_val], ids[-n_val:]


def make_windows(ids: np.ndarray, seq_len: int) -> tuple[np.ndarray, np.ndarray]:
    """Cut a 1-D id array into non-overlapping windows for next-character prediction.

    Returns x, y of shape (N, T) with T = seq_len and N = (len(ids) - 1) // T;
    y[n, t] = ids[n*T + t + 1], the character that follows x[n, t].
    """
    ids = np.asarray(ids)
    if ids.ndim != 1:
        raise ValueError(f"make_windows: ids must be 1-D, got shape {ids.shape}")
    if seq_len < 1:
        raise ValueError(f"make_windows: seq_len must be >= 1, got {seq_len}")
    n = (len(ids) - 1) // seq_len
    if n == 0:
        raise ValueError(f"make_windows: {len(ids)} ids are too few for seq_len={seq_len}")
    x = ids[: n * seq_len].reshape(n, seq_len)
    y = ids[1 : n * seq_len + 1].reshape(n, seq_len)
    return x, y


def tbptt_batches(ids: np.ndarray, batch_size: int,
                  seq_len: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Batches for truncated backpropagation through time.

    The text is cut into batch_size equal streams (row n is the n-th stretch of the text).
    Batch k holds characters [k*T, (k+1)*T) of every stream, so row n of batch k+1 continues
    row n of batch k: carry the hidden state over and detach it between batches.

    Yields x, y of shape (N, T) = (batch_size, seq_len), int64; y is x shifted by one.
    """
    ids = np.asarray(ids)
    if ids.ndim != 1:
        raise ValueError(f"tbptt_batches: ids must be 1-D, got shape {ids.shape}")
    if batch_size < 1 or seq_len < 1:
        raise ValueError("tbptt_batches: batch_size and seq_len must be >= 1")
    stream_len = (len(ids) - 1) // batch_size
    n_batches = stream_len // seq_len
    if n_batches == 0:
        raise ValueError(f"tbptt_batches: {len(ids)} ids are too few for batch_size={batch_size}"
                         f" and seq_len={seq_len}")
    inputs = ids[: batch_size * stream_len].reshape(batch_size, stream_len)
    targets = ids[1 : batch_size * stream_len + 1].reshape(batch_size, stream_len)
    for k in range(n_batches):
        sl = slice(k * seq_len, (k + 1) * seq_len)
        yield inputs[:, sl], targets[:, sl]


def unigram_bits_per_char(train_ids: np.ndarray, val_ids: np.ndarray, vocab_size: int) -> float:
    """Bits per character on val_ids of the unigram model fitted on train_ids.

    The unigram model ignores context: p(c) = (count(c) + 1) / (len(train) + V) (add-one
    smoothing, so an unseen character does not cost infinitely many bits). A character model
    that learned anything about context must beat this number.
    """
    counts = np.bincount(np.asarray(train_ids), minlength=vocab_size).astype(np.float64) + 1.0
    p = counts / counts.sum()
    return float(-np.mean(np.log2(p[np.asarray(val_ids)])))
