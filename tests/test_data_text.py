"""course_helpers.text: the default corpus, the vocabulary, and batching for truncated BPTT."""

from __future__ import annotations

import numpy as np
import pytest

from course_helpers.text import (
    DEFAULT_CORPUS_MODULES,
    CharVocab,
    default_corpus,
    load_text,
    make_windows,
    tbptt_batches,
    train_val_split,
    unigram_bits_per_char,
)


@pytest.fixture(scope="module")
def corpus() -> str:
    return default_corpus()


def test_default_corpus_is_deterministic_and_large(corpus):
    assert corpus == default_corpus()
    assert len(corpus) > 200_000
    assert len(DEFAULT_CORPUS_MODULES) == len(set(DEFAULT_CORPUS_MODULES))
    # the chapter-1 example needs these characters
    assert set("hello") <= set(corpus)
    # it really is standard-library documentation
    import json

    assert json.__doc__.strip().splitlines()[0] in corpus


def test_default_corpus_max_chars(corpus):
    assert default_corpus(max_chars=1000) == corpus[:1000]
    with pytest.raises(ValueError, match="max_chars"):
        default_corpus(max_chars=0)


def test_vocab_roundtrip_and_errors(corpus):
    vocab = CharVocab.from_text(corpus)
    assert vocab.chars == "".join(sorted(set(corpus)))
    ids = vocab.encode(corpus[:5000])
    assert ids.dtype == np.int64 and ids.shape == (5000,)
    assert vocab.decode(ids) == corpus[:5000]
    assert vocab.decode(vocab.encode("hello")) == "hello"
    small = CharVocab.from_text("abc")
    with pytest.raises(ValueError, match="'z'"):
        small.encode("abz")
    with pytest.raises(ValueError, match="ids must lie"):
        small.decode([0, 3])
    with pytest.raises(ValueError, match="distinct"):
        CharVocab("aa")


def test_load_text(tmp_path):
    p = tmp_path / "t.txt"
    p.write_text("héllo wörld\n", encoding="utf-8")
    assert load_text(p) == "héllo wörld\n"
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\xff\xfe\x00abc")
    with pytest.raises(ValueError, match="not valid UTF-8"):
        load_text(bad)
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_text(tmp_path / "missing.txt")
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    with pytest.raises(ValueError, match="empty"):
        load_text(empty)


def test_train_val_split_is_contiguous():
    ids = np.arange(1000)
    train, val = train_val_split(ids, 0.1)
    assert len(train) == 900 and len(val) == 100
    assert np.array_equal(np.concatenate([train, val]), ids)
    with pytest.raises(ValueError, match="val_fraction"):
        train_val_split(ids, 1.5)


def test_make_windows_shift():
    ids = np.arange(23)
    x, y = make_windows(ids, 5)
    assert x.shape == y.shape == (4, 5)
    assert np.array_equal(y, x + 1)
    assert np.array_equal(x[1], np.arange(5, 10))
    with pytest.raises(ValueError, match="too few"):
        make_windows(np.arange(3), 5)


def test_tbptt_batches_continue_each_stream():
    ids = np.arange(1001)
    batches = list(tbptt_batches(ids, batch_size=4, seq_len=10))
    stream_len = 1000 // 4
    assert len(batches) == stream_len // 10
    for x, y in batches:
        assert x.shape == y.shape == (4, 10)
        assert np.array_equal(y, x + 1)
    # row n of batch k+1 starts right where row n of batch k stopped
    for (_, y0), (x1, _) in zip(batches[:-1], batches[1:], strict=True):
        assert np.array_equal(x1[:, 0], y0[:, -1])
    # the rows are consecutive stretches of the text
    assert np.array_equal(batches[0][0][:, 0], np.arange(4) * stream_len)


def test_unigram_baseline():
    V = 4
    uniform = np.tile(np.arange(V), 250)
    assert unigram_bits_per_char(uniform, uniform, V) == pytest.approx(2.0)
    skewed = np.array([0] * 90 + [1] * 10)
    # add-one smoothing: p(0) = 91/102, p(1) = 11/102
    expected = -(0.9 * np.log2(91 / 102) + 0.1 * np.log2(11 / 102))
    assert unigram_bits_per_char(skewed, skewed, 2) == pytest.approx(expected)
