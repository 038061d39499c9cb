"""The bug corpus (tests/bug_corpus): every bug is caught, costs only its own function, and the
feedback names the mistake (its catalogue id)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from autograder import Limits, grade

_spec = importlib.util.spec_from_file_location(
    "bug_corpus", Path(__file__).resolve().parent / "bug_corpus" / "corpus.py")
corpus = importlib.util.module_from_spec(_spec)
sys.modules["bug_corpus"] = corpus
_spec.loader.exec_module(corpus)

BUGS = corpus.load()
FAST = Limits(timeout_s=3.0, load_timeout_s=10.0)


def test_corpus_covers_every_assignment_with_at_least_30_bugs():
    assert len(BUGS) >= 30
    assert {b.assignment for b in BUGS} == {"01_rnn", "02_bptt", "03_lstm", "04_gru", "05_attention"}
    assert len({b.name for b in BUGS}) == len(BUGS)


@pytest.mark.slow
@pytest.mark.parametrize("bug", BUGS, ids=[b.name for b in BUGS])
def test_bug_is_caught_isolated_and_named(tmp_path, bug):
    nb = corpus.build_notebook(bug, tmp_path / bug.bug_id)
    m = corpus.measure(bug, grade(nb, bug.assignment, limits=FAST))
    assert m["caught"], m
    assert m["isolated"], m
    assert m["on_target"], m
