"""Every shipped artifact loads, follows the documented conventions, and reproduces its recorded metric.

Nothing is trained here: each test evaluates the shipped weights on the stored (or seeded)
evaluation set and compares with results.json, written by the training script.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import solutions
from course_helpers import artifacts as A
from course_helpers.evaluation import (
    adding_eval_mse,
    caption_metrics,
    char_bits_per_char,
)
from course_helpers.models import AttentionCaptioner
from course_helpers.shapes import VOCAB, load_shapes
from course_helpers.tasks import ADDING_BASELINE_MSE, adding_problem


@pytest.fixture(scope="module")
def results() -> dict:
    return A.load_results()


def test_results_files(results):
    assert set(results) >= {"captioner", "char", "adding"}
    md = A.RESULTS_MD.read_text()
    for rec in results.values():
        assert rec["title"] in md and rec["command"].startswith("python scripts/train_")
        for name in rec["files"]:
            assert (A.ARTIFACTS_DIR / name).is_file(), name


def test_shipped_files_are_small():
    total = sum(p.stat().st_size for p in A.ARTIFACTS_DIR.iterdir() if p.is_file())
    assert total < 6 * 2**20, f"artifacts take {total / 2**20:.1f} MiB"


def test_missing_artifact_names_its_script():
    with pytest.raises(FileNotFoundError, match="scripts/train_char.py"):
        A.artifact_path("char_gru.npz")


# ---------------------------------------------------------------------------- character models


@pytest.mark.parametrize("kind", A.CHAR_KINDS)
def test_char_model_reproduces_validation_bpc(kind, results):
    p = A.load_char_model(kind)
    V, H = p["vocab"].size, p["Wh"].shape[0]
    gates = 1 if kind == "rnn" else 4
    assert p["Wx"].shape == (V, gates * H) and p["Wh"].shape == (H, gates * H)
    assert p["b"].shape == (gates * H,) and p["Wy"].shape == (H, V) and p["by"].shape == (V,)
    val_ids = p["vocab"].encode(p["val_text"])
    bpc = char_bits_per_char(A.load_char_torch(kind), val_ids)
    recorded = results["char"]["metrics"][f"{kind}_val_bpc"]
    assert bpc == pytest.approx(recorded, abs=1e-4)
    assert bpc < results["char"]["metrics"]["unigram_bpc"] - 1.0


@pytest.mark.parametrize("kind", A.CHAR_KINDS)
def test_char_numpy_params_follow_the_solutions_convention(kind):
    """One-hot inputs through solutions.rnn_forward / lstm_forward give the torch model's scores."""
    p = A.load_char_model(kind)
    vocab = p["vocab"]
    ids = vocab.encode("hello world")[None]
    x = np.eye(vocab.size)[ids]                                        # (1, T, V) one-hot
    h0 = np.zeros((1, p["Wh"].shape[0]))
    forward = solutions.rnn_forward if kind == "rnn" else solutions.lstm_forward
    h, _ = forward(x, h0, p["Wx"], p["Wh"], p["b"])
    scores_np = h @ p["Wy"] + p["by"]
    model = A.load_char_torch(kind).double()
    with torch.no_grad():
        scores_t, _ = model(torch.from_numpy(ids))
    assert np.allclose(scores_np, scores_t.numpy(), atol=1e-8)


def test_char_curves():
    curves = A.load_char_curves()
    for kind in A.CHAR_KINDS:
        c = curves[kind]
        assert len(c["step"]) == len(c["train_bpc"]) == len(c["val_bpc"]) > 5
        assert c["val_bpc"][-1] < c["val_bpc"][0]
    assert curves["unigram_bpc"] > 4.0


# ---------------------------------------------------------------------------- adding problem


@pytest.mark.parametrize("T", A.ADDING_LENGTHS)
@pytest.mark.parametrize("kind", A.ADDING_KINDS)
def test_adding_model_reproduces_test_mse(kind, T, results):
    value = adding_eval_mse(A.load_adding_model(kind, T), T)
    assert value == pytest.approx(results["adding"]["metrics"][f"{kind}_T{T}"], rel=1e-4)


@pytest.mark.parametrize("kind", A.ADDING_KINDS)
def test_adding_numpy_params_follow_the_solutions_convention(kind):
    p = A.adding_numpy_params(kind, 10)
    x, _ = adding_problem(7, 10, seed=5)
    h0 = np.zeros((7, p["Wh"].shape[0]))
    if kind == "rnn":
        h, _ = solutions.rnn_forward(x, h0, p["Wx"], p["Wh"], p["b"])
    elif kind == "lstm":
        h, _ = solutions.lstm_forward(x, h0, p["Wx"], p["Wh"], p["b"])
    else:
        h, _ = solutions.gru_forward(x, h0, p["Wx"], p["Wh"], p["bx"], p["bh"])
    pred_np = h[:, -1] @ p["w_out"] + p["b_out"]
    model = A.load_adding_model(kind, 10).double()
    with torch.no_grad():
        pred_t = model(torch.from_numpy(x)).numpy()
    assert np.allclose(pred_np, pred_t, atol=1e-8)


def test_adding_long_range_results(results):
    """The gated models solve T=100; record what the vanilla RNN does rather than assume it."""
    m = results["adding"]["metrics"]
    assert m["baseline"] == pytest.approx(ADDING_BASELINE_MSE)
    assert m["lstm_T100"] < 0.01 and m["gru_T100"] < 0.01
    assert m["rnn_T10"] < 0.05      # at T=10 the vanilla RNN learns the task too
    curves = A.load_adding_curves()
    assert curves["baseline"] == pytest.approx(ADDING_BASELINE_MSE)
    for T in A.ADDING_LENGTHS:
        for kind in A.ADDING_KINDS:
            c = curves[f"T={T}"][kind]
            assert len(c["step"]) == len(c["mse"]) >= 1


# ---------------------------------------------------------------------------- captioning


@pytest.fixture(scope="module")
def test_set() -> dict:
    return A.load_caption_test_set()


def test_caption_test_set_shapes(test_set):
    N = len(test_set["texts"])
    assert test_set["feats"].shape[:2] == (N, 16) and test_set["feats"].dtype == np.float64
    assert test_set["captions"].shape == (N, 16)
    assert test_set["cells"].shape == (N, 3, 16)
    assert test_set["vocab"] == VOCAB


def test_shipped_features_are_the_encoders(test_set):
    encoder, _ = A.load_captioner()
    with torch.no_grad():
        feats = encoder(test_set["images"][:200]).double().numpy()
    # stored as float16: agree to float16 precision
    assert np.allclose(feats, test_set["feats"][:200], rtol=2e-3, atol=2e-3)


def test_captioner_reproduces_recorded_metrics(test_set, results):
    params = A.captioner_numpy_params()
    cfg = A._json("captioner.json")["config"]
    model = AttentionCaptioner(cfg["vocab_size"], cfg["feat_dim"], cfg["hidden_dim"],
                               cfg["embed_dim"], cfg["attn_dim"]).double()
    model.load_numpy_params(params)
    rec = results["captioner"]["metrics"]
    m = caption_metrics(model, test_set["feats"], load_shapes("test"),
                        majority=A._json("captioner.json")["majority_caption"])
    for key in ("exact_match", "bleu4", "attention_teacher_forced", "attention_greedy",
                "majority_exact_match", "majority_bleu4", "loss"):
        assert m[key] == pytest.approx(rec[key], abs=1e-6), key
    # well above captioning every image with the most frequent caption, and attention on target
    assert m["exact_match"] > m["majority_exact_match"] + 0.5
    assert m["bleu4"] > m["majority_bleu4"] + 0.5
    assert m["attention_teacher_forced"] >= 0.6
    assert m["attention_uniform"] < 0.15
