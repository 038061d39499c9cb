"""The PyTorch AttentionCaptioner and the numpy reference captioner compute the same thing.

The torch model is what we train; `numpy_params()` exports it under the names of the numpy
model. If the two disagreed, the shipped weights would be useless to the exercises, so we check
the loss, every gradient and greedy decoding, in float64, on random and on trained weights.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import solutions
from course_helpers.models import AttentionCaptioner, ShapesEncoder
from course_helpers.shapes import END, NULL, START, VOCAB, make_shapes_split

TOL = 1e-8


def rel(a: np.ndarray | float, b: np.ndarray | float) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


@pytest.fixture(scope="module")
def small_batch():
    torch.manual_seed(0)
    data = make_shapes_split(12, seed=21)
    encoder = ShapesEncoder(feat_dim=16).double()
    with torch.no_grad():
        feats = encoder(data.images)
    captioner = AttentionCaptioner(len(VOCAB), feat_dim=16, hidden_dim=24, embed_dim=8,
                                   attn_dim=10).double()
    # random, non-zero biases so that every parameter matters
    with torch.no_grad():
        for p in captioner.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return captioner, feats, data


def test_exported_names_and_shapes(small_batch):
    captioner, feats, _ = small_batch
    p = captioner.numpy_params()
    V, D, H, E, K = len(VOCAB), 16, 24, 8, 10
    expected = {"W_init": (D, H), "b_init": (H,), "W_embed": (V, E), "Wa": (H, K), "Ua": (D, K),
                "ba": (K,), "va": (K,), "Wx": (E + D, 4 * H), "Wh": (H, 4 * H), "b": (4 * H,),
                "W_vocab": (H, V), "b_vocab": (V,)}
    assert {k: v.shape for k, v in p.items()} == expected
    assert all(v.dtype == np.float64 for v in p.values())


def test_loss_and_gradients_match_numpy(small_batch):
    captioner, feats, data = small_batch
    captions = torch.from_numpy(data.captions)
    captioner.zero_grad()
    loss = captioner.loss(feats, captions)
    loss.backward()
    loss_np, grads_np = solutions.captioning_loss(captioner.numpy_params(), feats.numpy(),
                                                  data.captions, null_idx=NULL)
    assert rel(loss.item(), loss_np) < TOL
    for name in AttentionCaptioner.PARAM_NAMES:
        g = getattr(captioner, name).grad.numpy()
        assert rel(g, grads_np[name]) < 1e-7, name


def test_greedy_sampling_matches_numpy(small_batch):
    captioner, feats, _ = small_batch
    caps_t, alphas_t = captioner.sample(feats, max_length=16)
    caps_np, alphas_np = solutions.captioning_sample(captioner.numpy_params(), feats.numpy(),
                                                     start_idx=START, end_idx=END,
                                                     null_idx=NULL, max_length=16)
    assert np.array_equal(caps_t.numpy(), caps_np)
    assert np.allclose(alphas_t.numpy(), alphas_np, atol=1e-12)


def test_load_numpy_params_roundtrip(small_batch):
    captioner, _, _ = small_batch
    p = captioner.numpy_params()
    other = AttentionCaptioner(len(VOCAB), 16, 24, 8, 10).double().load_numpy_params(p)
    q = other.numpy_params()
    assert all(np.array_equal(p[k], q[k]) for k in p)
    bad = dict(p, Wa=np.zeros((3, 3)))
    with pytest.raises(ValueError, match="Wa must have shape"):
        other.load_numpy_params(bad)


def test_trained_captioner_matches_numpy():
    """The shipped weights: numpy loss equals torch's, and numpy reproduces the greedy captions."""
    from course_helpers.artifacts import captioner_numpy_params, load_caption_test_set

    params = captioner_numpy_params()
    test = load_caption_test_set()
    feats, captions = test["feats"][:100], test["captions"][:100]
    model = AttentionCaptioner(len(VOCAB), params["Ua"].shape[0], params["Wh"].shape[0],
                               params["W_embed"].shape[1], params["Ua"].shape[1]).double()
    model.load_numpy_params(params)
    f = torch.from_numpy(feats)
    with torch.no_grad():
        loss_t = model.loss(f, torch.from_numpy(captions)).item()
        caps_t, alphas_t = model.sample(f)
    loss_np, _ = solutions.captioning_loss(params, feats, captions)
    assert rel(loss_t, loss_np) < TOL
    caps_np, alphas_np = solutions.captioning_sample(params, feats)
    assert np.array_equal(caps_t.numpy(), caps_np)
    assert np.allclose(alphas_t.numpy(), alphas_np, atol=1e-10)
