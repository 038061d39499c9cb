"""course_helpers.metrics against cases worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from course_helpers.metrics import attention_on_objects, bits_per_char, bleu4, exact_match, mse

REF = "a red circle left of a blue square"


def test_bleu4_hand_computed_one_sentence():
    # hypothesis differs in one word (green for blue); lengths equal, so no brevity penalty.
    # matches: 1-grams 7/8, 2-grams 5/7, 3-grams 4/6, 4-grams 3/5
    hyp = "a red circle left of a green square"
    expected = (7 / 8 * 5 / 7 * 4 / 6 * 3 / 5) ** 0.25
    assert expected == pytest.approx(1 / math.sqrt(2))
    assert bleu4([REF], [hyp]) == pytest.approx(expected, rel=1e-12)


def test_bleu4_clips_repeated_ngrams():
    # "red circle" appears twice in the hypothesis but once in the reference.
    # 1-grams: a 2, red 1 (of 2), circle 1 (of 2), left, of -> 6/8; 2-grams 5/7; 3-grams 4/6;
    # 4-grams 3/5
    hyp = "a red circle left of a red circle"
    expected = (6 / 8 * 5 / 7 * 4 / 6 * 3 / 5) ** 0.25
    assert bleu4([REF], [hyp]) == pytest.approx(expected, rel=1e-12)


def test_bleu4_brevity_penalty_and_corpus_pooling():
    short = "a red circle left of a"            # every n-gram matches, but 6 words for 8
    assert bleu4([REF], [short]) == pytest.approx(math.exp(1 - 8 / 6), rel=1e-12)
    # corpus BLEU pools the counts of both sentences before taking the precisions
    hyps = ["a red circle left of a green square", short]
    p = (13 / 14) * (10 / 12) * (8 / 10) * (6 / 8)
    expected = math.exp(1 - 16 / 14) * p**0.25
    assert bleu4([REF, REF], hyps) == pytest.approx(expected, rel=1e-12)


def test_bleu4_edge_cases():
    assert bleu4([REF], [REF]) == pytest.approx(1.0)
    assert bleu4([REF], ["a red circle"]) == 0.0            # no 4-gram at all
    # several references: the closest length and the best counts are used
    assert bleu4([[REF, "a red circle"]], ["a red circle"]) == 0.0
    assert bleu4([[REF.split(), "x y"]], [REF.split()]) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="references for"):
        bleu4([REF], [REF, REF])


def test_exact_match():
    assert exact_match([REF, "a red circle"], [REF, "a blue circle"]) == 0.5
    assert exact_match([REF.split()], [REF.split()]) == 1.0


def test_attention_on_objects_hand_case():
    L = 4
    alphas = np.array([[[0.7, 0.1, 0.1, 0.1], [0.25, 0.25, 0.25, 0.25], [0.0, 0.0, 0.5, 0.5]]])
    word_object = np.array([[0, -1, 1]])
    cells = np.zeros((1, 2, L), dtype=bool)
    cells[0, 0, 0] = True              # object 0 covers cell 0
    cells[0, 1, [1, 2]] = True         # object 1 covers cells 1 and 2
    # word 0 -> 0.7 on object 0; word 2 -> 0.0 + 0.5 on object 1; word 1 names nothing
    assert attention_on_objects(alphas, word_object, cells) == pytest.approx((0.7 + 0.5) / 2)
    with pytest.raises(ValueError, match="no word names an object"):
        attention_on_objects(alphas, np.full((1, 3), -1), cells)
    with pytest.raises(ValueError, match="cells must be"):
        attention_on_objects(alphas, word_object, cells[:, :, :3])


def test_bits_per_char_and_mse():
    assert bits_per_char(math.log(2)) == pytest.approx(1.0)
    assert bits_per_char(math.log(100)) == pytest.approx(math.log2(100))
    assert mse(np.array([1.0, 2.0]), np.array([1.0, 4.0])) == pytest.approx(2.0)
    with pytest.raises(ValueError, match="shape"):
        mse(np.zeros(2), np.zeros(3))
