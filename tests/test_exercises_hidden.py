"""Hidden tests of the functions added by the second edition of the assignments (issue 15).

rnn_backward_truncated (02_bptt): the reference scores full marks, a blank stub scores zero, and
each catalogued mistake (no truncation, one step too many, blocks instead of a sliding window)
loses points with its hint, and the other functions are not blamed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from autograder import Limits, grade
from autograder.synth import student_notebook

REPO = Path(__file__).resolve().parent.parent
MANIFEST = json.loads((REPO / "exercises" / "manifest.json").read_text())
BPTT = MANIFEST["02_bptt"]["functions"]
FAST = Limits(timeout_s=5.0, load_timeout_s=20.0)

FULL_BPTT = '''
def rnn_backward_truncated(dh, cache, k):
    x, h0, Wx, Wh, h = cache
    N, T, H = h.shape
    da = np.zeros_like(h)
    g = np.zeros_like(h0)
    for t in reversed(range(T)):
        da[:, t] = (dh[:, t] + g) * (1 - h[:, t] ** 2)
        g = da[:, t] @ Wh.T
    h_prev = np.concatenate([h0[:, None], h[:, :-1]], axis=1)
    fd = da.reshape(N * T, H)
    return da @ Wx.T, g, x.reshape(N * T, -1).T @ fd, h_prev.reshape(N * T, H).T @ fd, fd.sum(axis=0)
'''

ONE_TOO_MANY = '''
def rnn_backward_truncated(dh, cache, k):
    x, h0, Wx, Wh, h = cache
    N, T, H = h.shape
    k = k + 1
    da = np.zeros_like(h)
    dh0 = np.zeros_like(h0)
    for t in range(T):
        g = dh[:, t]
        for s in range(t, max(0, t - k + 1) - 1, -1):
            g = g * (1 - h[:, s] ** 2)
            da[:, s] += g
            g = g @ Wh.T
        if t - k + 1 <= 0:
            dh0 += g
    h_prev = np.concatenate([h0[:, None], h[:, :-1]], axis=1)
    fd = da.reshape(N * T, H)
    return da @ Wx.T, dh0, x.reshape(N * T, -1).T @ fd, h_prev.reshape(N * T, H).T @ fd, fd.sum(axis=0)
'''

BLANK = '''
def rnn_backward_truncated(dh, cache, k):
    raise NotImplementedError()
'''


def test_reference_gets_full_marks(tmp_path):
    nb = student_notebook(tmp_path / "ok.ipynb", BPTT)
    r = grade(nb, "02_bptt", limits=FAST)
    fr = r["functions"]["rnn_backward_truncated"]
    assert fr["score"] == fr["max_score"] == BPTT["rnn_backward_truncated"] > 0, fr["hints"]


@pytest.mark.parametrize("source,hint", [
    (FULL_BPTT, "not truncated"),
    (ONE_TOO_MANY, "k + 1 steps"),
    (BLANK, None),
])
def test_wrong_truncation_loses_points_with_its_hint(tmp_path, source, hint):
    nb = student_notebook(tmp_path / "w.ipynb", BPTT, overrides={"rnn_backward_truncated": source})
    r = grade(nb, "02_bptt", limits=FAST)
    fr = r["functions"]["rnn_backward_truncated"]
    assert fr["score"] < fr["max_score"]
    if hint is None:
        assert fr["score"] == 0
    else:
        assert any(hint in h for h in fr["hints"]), fr["hints"]
    # The other functions are not blamed for this one's mistake.
    for f, other in r["functions"].items():
        if f != "rnn_backward_truncated":
            assert not any("truncat" in h for h in other["hints"]), (f, other["hints"])


@pytest.mark.slow
def test_blank_release_scores_zero_under_the_hidden_tests(tmp_path):
    """Every released notebook, submitted unchanged, scores 0 with the autograder (not only nbgrader's)."""
    import shutil

    from scripts import make_exercises as mx

    shutil.copy(mx.EXERCISES / "nbgrader_config.py", tmp_path)
    shutil.copytree(mx.SOURCE, tmp_path / "source")
    mx.release(list(mx.ASSIGNMENTS), course_dir=tmp_path)
    for a in mx.ASSIGNMENTS:
        r = grade(tmp_path / "release" / a / f"{a}.ipynb", a, limits=FAST)
        assert r["max_score"] == sum(MANIFEST[a]["functions"].values()), a
        assert r["score"] == 0, (a, {f: v["score"] for f, v in r["functions"].items()})
