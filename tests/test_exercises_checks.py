"""The visible tests' helpers (course_helpers.checks) and the public fixtures they read.

- the fixtures in course_helpers/fixtures are what scripts/make_public_fixtures.py makes from
  solutions/ (so a reference implementation passes every public case);
- a broken function gets one message naming *every* wrong output, each with a hint computed from
  what it returned (transposed, scaled, which time steps), and a first line short enough for
  `nbgrader validate`;
- checks.py is student-safe: it imports neither solutions nor autograder.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import solutions as S  # noqa: E402
from course_helpers import checks  # noqa: E402
from scripts import make_public_fixtures as mpf  # noqa: E402

SPECS = {s.name: s for s in mpf._specs()}


def test_fixtures_are_current():
    assert mpf.main(["--check"]) == 0, "run python -m scripts.make_public_fixtures"


def test_every_graded_function_with_a_fixture_is_in_the_manifest():
    import json
    manifest = json.loads((ROOT / "exercises" / "manifest.json").read_text())
    graded = {f for entry in manifest.values() for f in entry["functions"]}
    assert set(SPECS) <= graded
    # Every graded function has a public case except the two whose inputs are callables/containers.
    assert graded - set(SPECS) == {"clip_grad_norm", "tbptt_train"}


@pytest.mark.parametrize("name", sorted(SPECS))
def test_reference_passes_its_public_case(name, capsys):
    spec = SPECS[name]
    if spec.forward:
        checks.check_backward(name, getattr(S, spec.forward), getattr(S, name))
    elif name == "captioning_sample":
        checks.check_function(name, lambda p, f: S.captioning_sample(p, f, max_length=5))
    elif name == "rnn_backward_truncated":
        case = checks.load_case(name)
        a = case["args"]
        got = S.rnn_backward_truncated(a["dh"], (a["x"], a["h0"], a["Wx"], a["Wh"], a["h"]), a["k"])
        checks.check_outputs(name, dict(zip(case["expected"], got, strict=True)), case["expected"])
    else:
        checks.check_function(name, getattr(S, name))
    if name != "rnn_backward_truncated":
        assert "agrees" in capsys.readouterr().out


def _broken_rnn_backward(dh, cache):
    """Three bugs at once: dx scaled, dWh transposed, db missing the gradient carried back in time."""
    dx, dh0, dWx, dWh, db = S.rnn_backward(dh, cache)
    x, h0, Wx, Wh, h = cache
    return dx * 0.5, dh0, dWx, dWh.T, (dh * (1 - h ** 2)).sum(axis=(0, 1))


def test_every_wrong_output_is_named_with_its_hint():
    with pytest.raises(AssertionError) as info:
        checks.check_backward("rnn_backward", S.rnn_forward, _broken_rnn_backward)
    msg = str(info.value)
    first, *rest = msg.splitlines()
    assert len(first) <= checks.FIRST_LINE, first
    assert all(len(line) <= checks.DETAIL_WIDTH for line in rest), rest
    assert "dx scaled x0.5" in first and "dWh transposed" in first
    assert "3 of 5 outputs differ" in rest[0]
    details = "\n".join(rest)
    assert "- dx: the right numbers times 0.5" in details
    assert "- dWh: the right numbers, transposed" in details.replace("\n  ", " ")
    assert "- db:" in details
    assert "dh0" not in details and "dWx" not in details        # the right ones are not blamed


def test_time_steps_of_a_missing_carry_are_reported():
    def no_carry(dh, cache):
        x, h0, Wx, Wh, h = cache
        da = dh * (1 - h ** 2)                                   # the gradient from t + 1 is not added
        N, T, H = h.shape
        h_prev = np.concatenate([h0[:, None], h[:, :-1]], axis=1)
        return (da @ Wx.T, da[:, 0] @ Wh.T, x.reshape(N * T, -1).T @ da.reshape(N * T, H),
                h_prev.reshape(N * T, H).T @ da.reshape(N * T, H), da.sum(axis=(0, 1)))

    with pytest.raises(AssertionError) as info:
        checks.check_backward("rnn_backward", S.rnn_forward, no_carry)
    first, *rest = str(info.value).splitlines()
    T = checks.load_case("rnn_backward")["douts"][0].shape[1]
    # a catalogued mistake: its name on the first line, the time steps in the details
    assert first == "rnn_backward: the gradient from later steps is not added", first
    assert f"wrong at time steps t=0-{T - 2}" in " ".join(rest) and "right at the last steps" in " ".join(rest)


@pytest.mark.parametrize("got,want,hint", [
    (np.ones((3, 4)), np.ones((4, 3)), "transposed shape"),
    (np.zeros((2, 2)), np.eye(2), "all zeros"),
    (-np.arange(1.0, 5.0), np.arange(1.0, 5.0), "sign flipped"),
    (np.array([np.nan, 1.0]), np.array([1.0, 1.0]), "NaN/inf"),
    (np.ones(4), np.ones((3, 4)), "summed over N?"),
    (None, np.ones(3), "None"),
])
def test_diagnose_hints(got, want, hint):
    assert checks.diagnose(got, want)[0] == hint


def test_long_first_lines_are_cut_but_keep_the_hints():
    expected = {f"grad_{k}": np.ones(3) for k in range(12)}
    got = {k: 2 * v for k, v in expected.items()}
    with pytest.raises(AssertionError) as info:
        checks.check_outputs("a_function_with_a_long_name", got, expected)
    first = str(info.value).splitlines()[0]
    assert len(first) <= checks.FIRST_LINE and "scaled x2" in first and "more" in first


def test_checks_is_student_safe():
    tree = ast.parse((ROOT / "course_helpers" / "checks.py").read_text())
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert not imported & {"solutions", "autograder", "scripts"}, imported


def _lstm_step_forward_ifgo(x, prev_h, prev_c, Wx, Wh, b):
    """A realistic bug: the gate blocks read in PyTorch's order i, f, g, o."""
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b

    def sig(z):
        return 1 / (1 + np.exp(-z))

    i, f, g, o = sig(a[:, :H]), sig(a[:, H:2 * H]), np.tanh(a[:, 2 * H:3 * H]), sig(a[:, 3 * H:])
    next_c = f * prev_c + i * g
    return o * np.tanh(next_c), next_c, (x, prev_h, prev_c)


def test_a_common_mistake_is_named_on_the_first_line():
    """The fixture carries the catalogued mistakes' outputs on the public case; a student whose
    outputs are exactly one of them is told which mistake, on the line nbgrader validate keeps."""
    with pytest.raises(AssertionError) as err:
        checks.check_function("lstm_step_forward", _lstm_step_forward_ifgo)
    first, *rest = str(err.value).splitlines()
    assert first == "lstm_step_forward: gate blocks in the wrong order" and len(first) <= checks.FIRST_LINE
    assert "i, f, o, g" in " ".join(rest)


def test_a_backward_failure_points_at_the_students_forward():
    """check_backward builds the cache with the student's forward: say so when it fails."""
    def forward(*args):
        return S.lstm_step_forward(*args)

    def backward(dnext_h, dnext_c, cache):
        out = S.lstm_step_backward(dnext_h, dnext_c, cache)
        return (-out[0], *out[1:])

    with pytest.raises(AssertionError) as err:
        checks.check_backward("lstm_step_backward", forward, backward)
    assert "The cache came from your own lstm_step_forward" in str(err.value)
