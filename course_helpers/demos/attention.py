"""Chapter 5 demo: step through a generated caption and see where the model looks for each word.

The trained captioner (shipped in ``course_helpers/artifacts``) reads the encoder's 4x4 grid of
feature vectors of a test image and generates a caption greedily. For word t it computes
attention weights alpha_t over the L = 16 grid cells (a softmax), and feeds the context
sum_l alpha_t,l feats_l to the LSTM. The demo shows alpha_t over the image: bright cells got
attention, dark cells did not.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from course_helpers.demos import svg

GRID = 4


@dataclass
class CaptionData:
    """A few test images with what the model needs to caption them."""

    index: np.ndarray  # (n,) positions in the test split
    images: np.ndarray  # uint8 (n, 64, 64, 3)
    feats: np.ndarray  # float64 (n, L, D)
    truth: list[str]  # the reference captions
    vocab: list[str]
    captioner: Any  # AttentionCaptioner (torch, eval mode)
    lengths: np.ndarray = field(default=None)  # (n,) generated tokens incl. <END>
    note: str = ""
    _cache: dict = field(default_factory=dict)


def pick_images(n_objects: np.ndarray, n: int) -> np.ndarray:
    """The first test images with 3, 2 and 1 objects in turn (so the set shows every grammar case)."""
    order = []
    for k in range(n):
        want = 3 - k % 3
        cand = [i for i in np.flatnonzero(n_objects == want) if i not in order]
        if cand:
            order.append(int(cand[0]))
    return np.array(order[:n])


def load(n_images: int = 6) -> CaptionData:
    """Load the shipped captioner and ``n_images`` test images, and caption them once."""
    from course_helpers.artifacts import load_caption_decoder, load_caption_test_set

    test = load_caption_test_set()  # the encoder's features are precomputed: no CNN needed here
    captioner = load_caption_decoder()
    idx = np.sort(pick_images(np.asarray(test["n_objects"]), n_images))  # toggles in test-set order
    data = CaptionData(idx, test["images"][idx], test["feats"][idx],
                       [test["texts"][i] for i in idx], list(test["vocab"]), captioner)
    data.lengths = np.array([len(generate(data, i)[0]) for i in range(len(idx))])
    data.note = ("The course's trained captioner on images of the test split (never seen in "
                 "training); greedy decoding. Brighter cells got more attention.")
    return data


def generate(data: CaptionData, image: int, use_cache: bool = True) -> tuple[list[str], np.ndarray]:
    """Greedy caption of one image: (tokens up to and including <END>, alphas (len, L))."""
    if use_cache and image in data._cache:
        return data._cache[image]
    import torch

    with torch.no_grad():
        feats = torch.as_tensor(data.feats[image:image + 1], dtype=torch.float32)
        caps, alphas = data.captioner.sample(feats)
    ids = caps[0].tolist()
    n = ids.index(2) + 1 if 2 in ids else len(ids)  # 2 = <END>
    out = ([data.vocab[i] for i in ids[:n]], alphas[0, :n].double().numpy())
    data._cache[image] = out
    return out


@dataclass
class AttentionStep:
    """Word ``word`` of the caption of image ``image``: tokens, the current token and its
    attention map ``alpha`` (GRID, GRID) (sums to 1)."""

    image: int
    word: int
    tokens: list[str]
    alpha: np.ndarray
    pixels: np.ndarray
    truth: str
    test_index: int
    requested: int = -1  # the word the control asked for (may lie past the caption's end)


def attention_step(data: CaptionData, image: int, word: int) -> AttentionStep:
    """The attention map used to produce word ``word`` (clamped to the caption's length)."""
    if not 0 <= image < len(data.index):
        raise ValueError(f"image must be in 0..{len(data.index) - 1}, got {image}")
    tokens, alphas = generate(data, image)
    w = min(max(word, 0), len(tokens) - 1)
    return AttentionStep(image, w, tokens, alphas[w].reshape(GRID, GRID), data.images[image],
                         data.truth[image], int(data.index[image]), int(word))


_IMG: dict[int, str] = {}


def _jpeg(pixels: np.ndarray) -> str:
    """A small JPEG data URI (the images have noisy backgrounds: JPEG is ~3x smaller than PNG)."""
    from PIL import Image

    key = hash(pixels.tobytes())
    if key not in _IMG:
        buf = io.BytesIO()
        Image.fromarray(pixels).save(buf, format="JPEG", quality=85)
        _IMG[key] = "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
    return _IMG[key]


def render(res: AttentionStep, size: int = 256) -> str:
    """The image with the attention of the current word over it, and the caption so far."""
    cell = size / GRID
    peak = float(res.alpha.max()) or 1.0
    rects = []
    for r in range(GRID):
        for c in range(GRID):
            a = float(res.alpha[r, c])
            shade = 0.8 * (1.0 - a / peak)  # dark where the model does not look
            rects.append(f'<rect x="{c * cell:.0f}" y="{r * cell:.0f}" width="{cell:.0f}" '
                         f'height="{cell:.0f}" fill="black" fill-opacity="{shade:.2f}" '
                         f'stroke="#888" stroke-width="0.5"/>'
                         f'<text x="{c * cell + 4:.0f}" y="{r * cell + 14:.0f}" fill="white" '
                         f'font-size="10">{a:.2f}</text>')
    r_peak, c_peak = np.unravel_index(int(np.argmax(res.alpha)), res.alpha.shape)
    alt = (f"Test image {res.test_index} under a {GRID} by {GRID} grid of attention weights for the word "
           f"{res.tokens[res.word]!r}; the brightest cell, row {r_peak + 1} column {c_peak + 1}, has "
           f"weight {peak:.2f}.")
    img = (svg.svg_open(size, size, alt)
           + f'<image href="{_jpeg(res.pixels)}" width="{size}" height="{size}" '
           f'style="image-rendering:pixelated"/>{"".join(rects)}</svg>')
    words = " ".join(
        f'<span style="padding:1px 3px;{"background:#a34f00;color:white;" if i == res.word else ""}'
        f'{"color:#707070;" if i > res.word else ""}">{t.replace("<", "&lt;").replace(">", "&gt;")}</span>'
        for i, t in enumerate(res.tokens))
    position = f"word {res.word + 1} of {len(res.tokens)}"
    if 0 <= res.requested != res.word:  # the slider goes as far as the longest caption of the set
        position = (f"slider at word {res.requested + 1}, but this caption has {len(res.tokens)} tokens: "
                    f"showing its last, word {res.word + 1} of {len(res.tokens)}")
    text = (f'<div style="font-family:sans-serif;font-size:14px;max-width:300px">'
            f'<p>test image #{res.test_index}</p><p>generated: {words}</p>'
            f'<p style="color:#555;font-size:12px">reference: {res.truth}</p>'
            f'<p style="font-size:12px">{position}: attention peak '
            f'{peak:.2f} (uniform would be {1 / GRID ** 2:.3f})</p></div>')
    return svg.html_row(img, text)
