"""course_helpers.shapes: images, captions, and the object annotations attention is scored with."""

from __future__ import annotations

import numpy as np
import pytest

from course_helpers import shapes as S


@pytest.fixture(scope="module")
def data() -> S.ShapesData:
    return S.make_shapes_split(300, seed=11)


def test_vocabulary_special_tokens():
    assert (S.NULL, S.START, S.END, S.UNK) == (0, 1, 2, 3)
    assert S.VOCAB[:4] == ["<NULL>", "<START>", "<END>", "<UNK>"]
    assert all(S.WORD_TO_IDX[w] == i for i, w in enumerate(S.VOCAB))


def test_arrays_have_documented_shapes(data):
    N = 300
    assert data.images.shape == (N, 64, 64, 3) and data.images.dtype == np.uint8
    assert data.captions.shape == (N, S.MAX_LEN) and data.captions.dtype == np.int64
    assert data.masks.shape == (N, 3, 64, 64) and data.masks.dtype == bool
    assert data.boxes.shape == (N, 3, 4)
    assert data.word_object.shape == (N, S.MAX_LEN)
    assert len(data.texts) == N
    assert set(np.unique(data.n_objects)) == {1, 2, 3}


def test_captions_encode_the_texts(data):
    caps = data.captions
    assert np.all(caps[:, 0] == S.START)
    assert S.decode_captions(caps) == data.texts
    for row, text in zip(caps, data.texts, strict=True):
        n_words = len(text.split())
        assert row[n_words + 1] == S.END
        assert np.all(row[n_words + 2 :] == S.NULL)
        assert np.array_equal(row, S.encode_caption(text.split()))
    assert S.encode_caption(["a", "pink", "circle"])[2] == S.UNK
    with pytest.raises(ValueError, match="do not fit"):
        S.encode_caption(["a"] * 15)


def test_generation_is_seeded(data):
    again = S.make_shapes_split(300, seed=11)
    assert np.array_equal(again.images, data.images) and again.texts == data.texts
    other = S.make_shapes_split(300, seed=12)
    assert not np.array_equal(other.images, data.images)


def test_caption_words_match_the_drawn_objects(data):
    """Every colour/shape word names the object it is linked to, and that object has that colour."""
    palette = S._RGB
    for i in range(len(data)):
        words = ["<START>"] + data.texts[i].split()
        n = data.n_objects[i]
        assert words.count("a") == n
        for t, k in enumerate(data.word_object[i, : len(words)]):
            if words[t] in S.COLORS or words[t] in S.SHAPES:
                assert 0 <= k < n
                expected = (S.COLORS[data.colors[i, k]] if words[t] in S.COLORS
                            else S.SHAPES[data.shapes[i, k]])
                assert words[t] == expected
            else:
                assert k == -1
        for k in range(n):
            mask = data.masks[i, k]
            assert mask.sum() > 40
            mean_rgb = data.images[i][mask].mean(axis=0)
            nearest = np.argmin(((palette - mean_rgb) ** 2).sum(axis=1))
            assert nearest == data.colors[i, k]
            x0, y0, x1, y1 = data.boxes[i, k]
            ys, xs = np.nonzero(mask)
            assert (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1) == (x0, y0, x1, y1)
        for k in range(n, 3):
            assert not data.masks[i, k].any() and data.colors[i, k] == -1


def test_objects_are_disjoint_and_relations_hold(data):
    for i in range(len(data)):
        n = data.n_objects[i]
        masks = data.masks[i, :n]
        assert masks.sum(axis=0).max() <= 1, "objects overlap"
        centres = [((b[0] + b[2]) / 2, (b[1] + b[3]) / 2) for b in data.boxes[i, :n]]
        words = data.texts[i].split()
        rels = [w for w in words if w in ("left", "above")]
        assert len(rels) == n - 1
        for k, rel in enumerate(rels):
            (xa, ya), (xb, yb) = centres[k], centres[k + 1]
            if rel == "left":
                assert xa < xb
            else:
                assert ya < yb and abs(xa - xb) < 8


def test_object_cells_follow_the_masks(data):
    cells = S.object_cells(data, 4)
    assert cells.shape == (len(data), 3, 16)
    i, k = 0, 0
    rows, cols = np.nonzero(data.masks[i, k])
    expected = np.zeros(16, dtype=bool)
    expected[(rows // 16) * 4 + cols // 16] = True
    assert np.array_equal(cells[i, k], expected)
    # absent objects cover no cell; present ones at least one
    present = np.arange(3)[None] < data.n_objects[:, None]
    assert np.array_equal(cells.any(axis=2), present)
    with pytest.raises(ValueError, match="grid must divide"):
        S.object_cells(data, 5)


def test_caption_word_objects_parses_the_grammar(data):
    parsed = S.caption_word_objects(data.captions[:, 1:], data.n_objects)
    assert np.array_equal(parsed, data.word_object[:, 1:])
    # a hallucinated extra object is not linked to anything
    a, red, circle = (S.WORD_TO_IDX[w] for w in ("a", "red", "circle"))
    extra = np.array([[a, red, circle, a, red, circle, S.END]])
    assert S.caption_word_objects(extra, np.array([1])).tolist() == [[-1, 0, 0, -1, -1, -1, -1]]


def test_standard_splits_are_cached():
    with pytest.raises(ValueError, match="split must be one of"):
        S.load_shapes("dev")
    test = S.load_shapes("test")
    assert S.load_shapes("test") is test
    assert len(test) == S.SPLITS["test"][0]
