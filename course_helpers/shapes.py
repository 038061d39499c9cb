"""A captioning data set made by code: coloured shapes on a 64x64 canvas, captions from a grammar.

Each image holds one to three shapes (circle, square, triangle) in distinct cells of a 4x4 layout
of 16x16-pixel cells (with a little jitter in position, size and colour) on a dark, noisy background. The caption
lists the objects in a canonical order (left to right; top to bottom within a column) and puts a
relation between each pair of neighbours: ``left of`` when they sit in different columns,
``above`` when they share a column::

    a red circle
    a red circle left of a blue square
    a green triangle above a yellow circle left of a purple square

The caption is a function of the image, so exact match is meaningful. Every caption token that
names a colour or a shape is linked to the object it describes (``word_object``), and each
object's pixel mask and box are kept, so we can check where an attention model looks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

NULL, START, END, UNK = 0, 1, 2, 3
COLORS: tuple[str, ...] = ("red", "green", "blue", "yellow", "purple")
SHAPES: tuple[str, ...] = ("circle", "square", "triangle")
VOCAB: list[str] = (["<NULL>", "<START>", "<END>", "<UNK>", "a", "left", "of", "above"]
                    + list(COLORS) + list(SHAPES))
WORD_TO_IDX: dict[str, int] = {w: i for i, w in enumerate(VOCAB)}

IMAGE_SIZE = 64
MAX_OBJECTS = 3
LAYOUT = 4                     # objects sit in distinct cells of a LAYOUT x LAYOUT layout
MAX_LEN = 16                   # caption length including <START> and <END>
_CHUNK = 500

_RGB = np.array([[215, 40, 40], [40, 185, 60], [50, 95, 235], [230, 205, 35], [165, 60, 205]],
                dtype=np.float64)

# The standard splits: (number of images, seed).
SPLITS: dict[str, tuple[int, int]] = {"train": (8000, 1), "val": (1000, 2), "test": (1000, 3)}


@dataclass
class ShapesData:
    """One split of the shapes captioning data (see the module docstring).

    - images: uint8 (N, 64, 64, 3)
    - captions: int64 (N, T): <START> words <END> <NULL>...
    - n_objects: int64 (N,)
    - colors, shapes: int64 (N, 3), index into COLORS / SHAPES, -1 where there is no object
    - boxes: int64 (N, 3, 4) as (x0, y0, x1, y1), x1 and y1 exclusive; -1 where no object
    - masks: bool (N, 3, 64, 64)
    - word_object: int64 (N, T): object (in caption order) named by each colour/shape token, else -1
    - texts: the N captions as strings
    """

    images: np.ndarray
    captions: np.ndarray
    n_objects: np.ndarray
    colors: np.ndarray
    shapes: np.ndarray
    boxes: np.ndarray
    masks: np.ndarray
    word_object: np.ndarray
    texts: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.images)


def encode_caption(words: Sequence[str], max_len: int = MAX_LEN) -> np.ndarray:
    """Words -> int64 (max_len,): <START>, the word ids (<UNK> if unknown), <END>, <NULL> padding."""
    if len(words) + 2 > max_len:
        raise ValueError(f"encode_caption: {len(words)} words do not fit in max_len={max_len} "
                         "(two places go to <START> and <END>)")
    ids = np.full(max_len, NULL, dtype=np.int64)
    ids[0] = START
    ids[1 : len(words) + 1] = [WORD_TO_IDX.get(w, UNK) for w in words]
    ids[len(words) + 1] = END
    return ids


def decode_captions(ids: np.ndarray | Sequence[int]) -> str | list[str]:
    """Int ids (T,) or (N, T) -> caption string(s); special tokens dropped, stops at <END>."""
    ids = np.asarray(ids)
    if ids.ndim == 2:
        return [decode_captions(row) for row in ids]  # type: ignore[misc]
    if ids.ndim != 1:
        raise ValueError(f"decode_captions: ids must be (T,) or (N, T), got shape {ids.shape}")
    words = []
    for i in ids:
        if i == END:
            break
        if i in (NULL, START):
            continue
        words.append(VOCAB[i] if 0 <= i < len(VOCAB) else "<UNK>")
    return " ".join(words)


def _shape_masks(kind: np.ndarray, cx: np.ndarray, cy: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Boolean masks (N, 64, 64) of one shape per image; kind, cx, cy, r are (N,)."""
    yy, xx = np.mgrid[0:IMAGE_SIZE, 0:IMAGE_SIZE].astype(np.float64) + 0.5  # pixel centres
    dx = xx[None] - cx[:, None, None]
    dy = yy[None] - cy[:, None, None]
    r = r[:, None, None]
    circle = dx**2 + dy**2 <= r**2
    half = 0.85 * r                       # a square of about the circle's area
    square = (np.abs(dx) <= half) & (np.abs(dy) <= half)
    # Upward triangle: apex at (cx, cy - r), base at cy + 0.8 r with half-width 1.05 r.
    height = 1.8 * r
    depth = dy + r                        # distance below the apex
    triangle = (depth >= 0) & (depth <= height) & (np.abs(dx) <= 1.05 * r * depth / height)
    k = kind[:, None, None]
    return np.where(k == 0, circle, np.where(k == 1, square, triangle))


def make_shapes_split(n: int, seed: int, max_len: int = MAX_LEN) -> ShapesData:
    """Generate n images with captions, deterministically from seed."""
    if n < 1:
        raise ValueError(f"make_shapes_split: n must be >= 1, got {n}")
    rng = np.random.default_rng(seed)
    n_obj = rng.integers(1, MAX_OBJECTS + 1, size=n)
    # Distinct layout cells: the first n_obj entries of a random permutation of the 16 cells.
    cells = np.argsort(rng.random((n, LAYOUT * LAYOUT)), axis=1)[:, :MAX_OBJECTS]
    colors = rng.integers(0, len(COLORS), size=(n, MAX_OBJECTS))
    shapes = rng.integers(0, len(SHAPES), size=(n, MAX_OBJECTS))
    radius = rng.uniform(5.0, 6.5, size=(n, MAX_OBJECTS))
    jitter = rng.uniform(-1.5, 1.5, size=(n, MAX_OBJECTS, 2))
    tint = rng.uniform(-20, 20, size=(n, MAX_OBJECTS, 3))
    background = rng.uniform(15, 45, size=n)

    present = np.arange(MAX_OBJECTS)[None, :] < n_obj[:, None]
    row, col = cells // LAYOUT, cells % LAYOUT
    # Canonical caption order: by column, then by row; absent objects go last.
    order_key = np.where(present, col * LAYOUT + row, 99)
    order = np.argsort(order_key, axis=1, kind="stable")
    take = np.take_along_axis
    row, col, colors, shapes, radius, present = (take(a, order, axis=1) for a in
                                                (row, col, colors, shapes, radius, present))
    jitter = take(jitter, order[:, :, None], axis=1)
    tint = take(tint, order[:, :, None], axis=1)
    colors = np.where(present, colors, -1)
    shapes = np.where(present, shapes, -1)

    step = IMAGE_SIZE / LAYOUT
    cx = (col + 0.5) * step + jitter[..., 0]
    cy = (row + 0.5) * step + jitter[..., 1]

    images = np.empty((n, IMAGE_SIZE, IMAGE_SIZE, 3), dtype=np.uint8)
    masks = np.zeros((n, MAX_OBJECTS, IMAGE_SIZE, IMAGE_SIZE), dtype=bool)
    rgb = _RGB[np.maximum(colors, 0)] + tint                       # (n, 3 objects, 3 channels)
    # Draw in fixed-size chunks to keep memory small; the noise is drawn chunk after chunk from
    # the same generator, so the result depends only on the seed.
    for lo in range(0, n, _CHUNK):
        sl = slice(lo, min(lo + _CHUNK, n))
        noise = rng.normal(0.0, 6.0, size=(sl.stop - lo, IMAGE_SIZE, IMAGE_SIZE, 3))
        img = background[sl, None, None, None] + noise
        for k in range(MAX_OBJECTS):
            m = _shape_masks(shapes[sl, k], cx[sl, k], cy[sl, k], radius[sl, k])
            m &= present[sl, k, None, None]
            masks[sl, k] = m
            img = np.where(m[..., None], rgb[sl, k, None, None, :] + 0.3 * noise, img)
        images[sl] = np.clip(np.rint(img), 0, 255).astype(np.uint8)

    boxes = np.full((n, MAX_OBJECTS, 4), -1, dtype=np.int64)
    any_y = masks.any(axis=3)             # (n, 3, 64): rows that hold the object
    any_x = masks.any(axis=2)
    has = any_x.any(axis=2)
    boxes[..., 0] = np.where(has, any_x.argmax(axis=2), -1)
    boxes[..., 1] = np.where(has, any_y.argmax(axis=2), -1)
    boxes[..., 2] = np.where(has, IMAGE_SIZE - any_x[..., ::-1].argmax(axis=2), -1)
    boxes[..., 3] = np.where(has, IMAGE_SIZE - any_y[..., ::-1].argmax(axis=2), -1)

    captions = np.full((n, max_len), NULL, dtype=np.int64)
    word_object = np.full((n, max_len), -1, dtype=np.int64)
    texts = []
    for i in range(n):
        words: list[str] = []
        owner: list[int] = []
        for k in range(n_obj[i]):
            if k > 0:
                rel = ["left", "of"] if col[i, k] != col[i, k - 1] else ["above"]
                words += rel
                owner += [-1] * len(rel)
            words += ["a", COLORS[colors[i, k]], SHAPES[shapes[i, k]]]
            owner += [-1, k, k]
        captions[i] = encode_caption(words, max_len)
        word_object[i, 1 : len(owner) + 1] = owner
        texts.append(" ".join(words))
    return ShapesData(images=images, captions=captions, n_objects=n_obj.astype(np.int64),
                      colors=colors, shapes=shapes, boxes=boxes, masks=masks,
                      word_object=word_object, texts=texts)


_CACHE: dict[str, ShapesData] = {}


def load_shapes(split: str) -> ShapesData:
    """The standard split "train" (8000 images), "val" (1000) or "test" (1000), cached."""
    if split not in SPLITS:
        raise ValueError(f"load_shapes: split must be one of {sorted(SPLITS)}, got {split!r}")
    if split not in _CACHE:
        n, seed = SPLITS[split]
        _CACHE[split] = make_shapes_split(n, seed)
    return _CACHE[split]


def object_cells(data: ShapesData, grid: int = 4) -> np.ndarray:
    """Which cells of a grid x grid feature map each object's mask touches.

    Returns bool (N, 3, grid*grid); cells are row-major, matching feats.reshape(N, L, D) of a
    (N, D, grid, grid) feature map. Absent objects have no cells.
    """
    if IMAGE_SIZE % grid:
        raise ValueError(f"object_cells: grid must divide {IMAGE_SIZE}, got {grid}")
    s = IMAGE_SIZE // grid
    n = data.masks.shape[0]
    m = data.masks.reshape(n, MAX_OBJECTS, grid, s, grid, s)
    return m.any(axis=(3, 5)).reshape(n, MAX_OBJECTS, grid * grid)


def caption_word_objects(captions: np.ndarray, n_objects: np.ndarray) -> np.ndarray:
    """For generated captions, the object each colour/shape word names (by the grammar).

    The k-th "a" opens the k-th noun phrase, which names the k-th object in caption order; its
    colour and shape words get index k. Words of a phrase beyond n_objects (a hallucinated
    object) and all other words get -1.

    Inputs: captions (N, T) int (with or without a leading <START>), n_objects (N,).
    Returns int64 (N, T).
    """
    captions = np.asarray(captions)
    out = np.full(captions.shape, -1, dtype=np.int64)
    named = {WORD_TO_IDX[w] for w in COLORS + SHAPES}
    a_idx = WORD_TO_IDX["a"]
    for i, row in enumerate(captions):
        k = -1
        for t, w in enumerate(row):
            if w == END:
                break
            if w == a_idx:
                k += 1
            elif w in named and 0 <= k < n_objects[i]:
                out[i, t] = k
    return out


def cell_labels(data: ShapesData, grid: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Per grid cell, the colour and shape of the object whose box centre lies in it.

    Returns two int64 arrays of shape (N, grid*grid) (row-major cells): 0 means no object,
    c + 1 means COLORS[c] (resp. SHAPES[c]). Used to pre-train the image encoder.
    """
    n = len(data)
    s = IMAGE_SIZE / grid
    colors = np.zeros((n, grid * grid), dtype=np.int64)
    shapes = np.zeros((n, grid * grid), dtype=np.int64)
    for k in range(MAX_OBJECTS):
        present = np.nonzero(data.colors[:, k] >= 0)[0]
        b = data.boxes[present, k]
        cx = np.clip(((b[:, 0] + b[:, 2]) / 2 // s).astype(int), 0, grid - 1)
        cy = np.clip(((b[:, 1] + b[:, 3]) / 2 // s).astype(int), 0, grid - 1)
        cell = cy * grid + cx
        colors[present, cell] = data.colors[present, k] + 1
        shapes[present, cell] = data.shapes[present, k] + 1
    return colors, shapes
