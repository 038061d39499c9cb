"""The numbers chapters 3-5 state in prose, re-measured from the code and the shipped artifacts.

Each test recomputes a figure the way the page does and checks (a) that it behaves as the prose
says and (b) that the number written in the prose is the recomputed one, rounded as printed.
"""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from course_helpers import artifacts as A
from course_helpers.evaluation import (
    attention_by_position,
    beam_search,
    caption_metrics,
    caption_scores,
    decode,
    gru_gradient_paths,
    lstm_gradient_paths,
    lstm_trace,
    noun_phrase_index,
    per_step_factor,
)
from course_helpers.models import NoAttentionCaptioner, UniformAttentionCaptioner
from course_helpers.shapes import VOCAB, WORD_TO_IDX, load_shapes
from course_helpers.tasks import adding_problem

BOOK = Path(__file__).resolve().parents[1] / "book"


def prose(chapter: str) -> str:
    """The chapter's markdown outside code cells, with line breaks folded to spaces."""
    text = (BOOK / chapter).read_text()
    text = re.sub(r"```\{code-cell\}.*?```", "", text, flags=re.S)
    return re.sub(r"\s+", " ", text)


def assert_states(text: str, phrase: str) -> None:
    assert phrase in text, f"the chapter should state {phrase!r}"


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


# ---------------------------------------------------------------------------- chapter 3


@pytest.fixture(scope="module")
def lstm_paths():
    return {b: lstm_gradient_paths(b) for b in (0.0, 3.0)}


def test_cell_path_term_is_the_whole_gradient_without_recurrent_weights():
    for fn in (lstm_gradient_paths, gru_gradient_paths):
        r = fn(3.0, T=40, recurrent=False)
        np.testing.assert_allclose(r["gate_path"], r["total"], rtol=1e-10)
        r = fn(3.0, T=40)
        assert np.abs(r["gate_path"] - r["total"]).max() > 1e-3     # with W_hh, other paths exist


def test_forget_gate_product_curve(lstm_paths):
    p0, p3 = lstm_paths[0.0], lstm_paths[3.0]
    # the product of forget gates decays at the rate of the mean gate
    assert abs(per_step_factor(p3["gate_product"]) - p3["mean_gate"]) < 0.01
    assert abs(per_step_factor(p0["gate_product"]) - p0["mean_gate"]) < 0.05
    # at bias +3 the whole gradient does not decay, the cell-path term does
    assert p3["total"][99] > 0.5 * p3["total"][10]
    assert p3["gate_path"][99] < 0.01 * p3["gate_path"][1]
    # at bias 0 the whole gradient decays more slowly than the cell-path term
    assert per_step_factor(p0["total"]) > per_step_factor(p0["gate_path"]) + 0.03
    text = prose("03_lstm.md")
    assert_states(text, f"The forget gates average about {p0['mean_gate']:.2f}")
    assert_states(text, f"by a factor of about {per_step_factor(p0['gate_path']):.2f} per step")
    assert_states(text, f"shrinks more slowly, by about {per_step_factor(p0['total']):.2f} per step")
    assert_states(text, f"The gates average about {p3['mean_gate']:.3f}")
    assert_states(text, f"decays as ${per_step_factor(p3['gate_product']):.3f}^k$")
    k100 = int(np.argmax(p3["gate_product"] < 0.01))
    assert_states(text, f"their mean product falls below 1/100 at $k = {k100}$")
    assert_states(text, f"it is {p3['total'][10]:.2f} at $k = 10$ and {p3['total'][99]:.2f} at $k = 99$")
    assert_states(text, f"(per-step factor {per_step_factor(p3['total']):.2f} over the first 30 steps)")


def test_adding_lstm_memory_unit():
    model = A.load_adding_model("lstm", 100)
    x, y = adding_problem(500, 100, seed=7)
    tr = lstm_trace(model, x)
    with torch.no_grad():
        np.testing.assert_allclose(tr["pred"], model(torch.from_numpy(x).float()).numpy(), atol=1e-4)
    rows = np.arange(len(x))
    first = x[:, :, 1].argmax(axis=1)
    second = 99 - x[:, ::-1, 1].argmax(axis=1)
    value = x[rows, first, 0]
    c_before = tr["c"][rows, second - 1]
    corr = np.array([np.corrcoef(c_before[:, u], value)[0, 1] for u in range(c_before.shape[1])])
    u = int(np.argmax(np.abs(corr)))
    steps = np.arange(100)[None]
    between = (steps > first[:, None]) & (steps < second[:, None])
    f_between = tr["f"][:, :, u][between].mean()
    i_marker = tr["i"][rows, first, u].mean()
    i_unmarked = tr["i"][:, :, u][x[:, :, 1] == 0].mean()
    assert abs(corr[u]) > 0.95 and f_between > 0.99 and i_marker > 10 * i_unmarked
    text = prose("03_lstm.md")
    assert_states(text, f"(about {i_unmarked:.2f} on average)")
    assert_states(text, f"opens at the first marker (about {i_marker:.2f})")
    assert_states(text, f"the forget gate stays at about {f_between:.3f}")


# ---------------------------------------------------------------------------- chapter 4


def test_gru_update_gate_highway():
    p3 = gru_gradient_paths(3.0)
    assert abs(per_step_factor(p3["gate_path"]) - p3["mean_gate"]) < 0.01
    assert abs(per_step_factor(p3["total"]) - per_step_factor(p3["gate_path"])) < 0.01
    text = prose("04_gru.md")
    assert_states(text, f"the gates average about {p3['mean_gate']:.3f}")
    assert_states(text, f"(per-step factor about {per_step_factor(p3['total']):.2f} for both)")
    assert_states(text, f"to {p3['total'][99]:.3g} at $k = 99$")


# ---------------------------------------------------------------------------- chapter 5


@pytest.fixture(scope="module")
def caption_test():
    return A.load_caption_test_set()


@pytest.fixture(scope="module")
def teacher_forced(caption_test):
    decoder = A.load_caption_decoder().double()
    with torch.no_grad():
        scores, alphas = decoder(torch.from_numpy(caption_test["feats"]),
                                 torch.from_numpy(caption_test["captions"][:, :-1]))
    return decoder, scores.numpy(), alphas.numpy()


def test_attention_by_position_matches_a_plain_loop():
    rng = np.random.default_rng(0)
    N, T, L, M = 4, 9, 6, 3
    alphas = rng.dirichlet(np.ones(L), size=(N, T))
    cells = rng.random((N, M, L)) < 0.3
    words = np.array([[WORD_TO_IDX[w] for w in "a red circle left of a blue square <END>".split()]] * N)
    word_object = np.where(np.isin(words, [WORD_TO_IDX[w] for w in ("red", "circle")]), 0,
                           np.where(np.isin(words, [WORD_TO_IDX[w] for w in ("blue", "square")]), 1, -1))
    out = attention_by_position(alphas, words, word_object, cells)
    for k in (0, 1):
        masses = [alphas[n, t][cells[n, k]].sum() for n in range(N) for t in range(T) if word_object[n, t] == k]
        assert out["named"][k] == pytest.approx(np.mean(masses))
    t_of = 4
    on_prev = np.mean([alphas[n, t_of][cells[n, 0]].sum() for n in range(N)])
    on_next = np.mean([alphas[n, t_of][cells[n, 1]].sum() for n in range(N)])
    assert out["relation"]["of"]["previous"] == pytest.approx(on_prev)
    assert out["relation"]["of"]["next"] == pytest.approx(on_next)
    assert noun_phrase_index(words)[0].tolist() == [0, 0, 0, 0, 0, 1, 1, 1, 1]


def test_attention_mass_by_position(caption_test, teacher_forced):
    _, scores, alphas = teacher_forced
    words_out, objects_out = caption_test["captions"][:, 1:], caption_test["word_object"][:, 1:]
    r = attention_by_position(alphas, words_out, objects_out, caption_test["cells"])
    named = r["named"]
    assert named[0] > named[1] > named[2] > 0.3          # the slope the chapter describes
    right = scores.argmax(-1) == words_out
    acc = [right[objects_out == k].mean() for k in range(3)]
    assert acc[1] < acc[0] and acc[1] < acc[2]                # most wrong words: the second object
    of = r["relation"]["of"]
    assert of["previous"] > of["next"]
    text = prose("05_attention.md")
    assert_states(text, f"put about {named[0]:.2f} of their attention on it")
    assert_states(text, f"the share drops to about {named[1]:.2f}, for the third to about {named[2]:.2f}")
    assert_states(text, f"the first object are right {acc[0]:.3f} of the time and those of the third {acc[2]:.3f}")
    assert_states(text, f"but those of the second only {acc[1]:.3f}")
    assert_states(text, f"it puts about {of['previous']:.2f} of its mass on the object just named and about "
                        f"{of['next']:.2f} on the next one")


@pytest.fixture(scope="module")
def baselines():
    return A.load_caption_baselines()


def test_no_attention_vs_attention_table(caption_test, teacher_forced, baselines):
    test = load_shapes("test")
    recorded = baselines["meta"]["test_metrics"]
    measured = {}
    for kind in ("noattn", "uniform"):
        measured[kind] = caption_scores(baselines[kind].double(), caption_test["feats"], test)
        assert measured[kind]["exact_match"] == pytest.approx(recorded[kind]["exact_match"], abs=0.002)
        assert measured[kind]["bleu4"] == pytest.approx(recorded[kind]["bleu4"], abs=0.002)
    measured["attention"] = caption_scores(teacher_forced[0], caption_test["feats"], test)
    # what attention buys: learned attention beats both controls by a wide margin
    assert measured["attention"]["exact_match"] > max(measured["uniform"]["exact_match"],
                                                      measured["noattn"]["exact_match"]) + 0.1
    text = prose("05_attention.md")
    for kind, label in [("noattn", "without attention"), ("uniform", "with uniform attention"),
                        ("attention", "with learned attention")]:
        assert_states(text, f"{measured[kind]['exact_match']:.3f} {label}")


def test_baseline_models_reject_bad_features():
    model = NoAttentionCaptioner(len(VOCAB), 16, 8, 4, 4)
    with pytest.raises(ValueError, match=r"\(N, 16, 8\)"):
        model.init_state(torch.zeros(2, 15, 8))
    uniform = UniformAttentionCaptioner(len(VOCAB), 8, 4, 4, 4)
    context, alpha = uniform.attend(torch.zeros(2, 4), torch.arange(2 * 16 * 8.0).reshape(2, 16, 8))
    assert torch.allclose(alpha, torch.full((2, 16), 1 / 16))
    assert torch.allclose(context, torch.arange(2 * 16 * 8.0).reshape(2, 16, 8).mean(dim=1))


def _caption_logprob(model, feats, caps):
    """Teacher-forced log-probability of given captions (<END> included, <NULL> after it)."""
    from course_helpers.shapes import END, NULL, START
    f = torch.as_tensor(feats)
    inp = torch.cat([torch.full((len(caps), 1), START), torch.from_numpy(caps[:, :-1])], dim=1)
    inp = torch.where(inp == NULL, torch.full_like(inp, END), inp)
    with torch.no_grad():
        out = model(f, inp)
        scores = out[0] if isinstance(out, tuple) else out
        lp = torch.log_softmax(scores.double(), dim=-1).gather(2, torch.from_numpy(caps)[:, :, None])[:, :, 0]
    return (lp * torch.from_numpy(caps != NULL)).sum(dim=1).numpy()


def test_decoders(caption_test, teacher_forced):
    decoder = teacher_forced[0]
    feats = caption_test["feats"][:60]
    greedy, _ = decode(decoder, feats)
    sampled, _ = decode(decoder, feats)
    beam1, _ = beam_search(decoder, feats, beam_size=1)
    assert (beam1 == greedy).all() and (sampled == greedy).all()
    cold, _ = decode(decoder, feats, method="sample", temperature=1e-4, seed=3)
    assert (cold == greedy).all()                                      # tau -> 0 is greedy
    a, _ = decode(decoder, feats, method="sample", temperature=1.5, seed=1)
    b, _ = decode(decoder, feats, method="sample", temperature=1.5, seed=1)
    assert (a == b).all()
    beam3, logp3 = beam_search(decoder, feats, beam_size=3)
    np.testing.assert_allclose(_caption_logprob(decoder, feats, beam3), logp3, atol=1e-8)
    assert (logp3 >= _caption_logprob(decoder, feats, greedy) - 1e-9).mean() > 0.9
    with pytest.raises(ValueError, match="beam_size"):
        beam_search(decoder, feats, beam_size=0)
    with pytest.raises(ValueError, match="temperature"):
        decode(decoder, feats, method="sample", temperature=0.0)


def test_beam_search_finds_the_most_likely_caption_on_a_tiny_model():
    torch.manual_seed(0)
    model = NoAttentionCaptioner(len(VOCAB), 2, 3, 8, 4).double()
    with torch.no_grad():
        model.b_vocab += torch.randn(len(VOCAB), dtype=torch.float64) * 3
        model.b_vocab[0] = -50.0                     # <NULL> is padding, never a word worth writing
    feats = torch.randn(3, 2, 3, dtype=torch.float64)
    T = 3
    caps, logp = beam_search(model, feats, beam_size=len(VOCAB) ** 2, max_length=T)
    from course_helpers.shapes import END, NULL
    seqs = []
    for seq in itertools.product(range(1, len(VOCAB)), repeat=T):       # every caption of length <= T
        seq = list(seq)
        if END in seq:
            seq = seq[: seq.index(END) + 1] + [NULL] * (T - seq.index(END) - 1)
        seqs.append(seq)
    seqs = np.unique(np.array(seqs), axis=0)
    best = [_caption_logprob(model, feats[i : i + 1].expand(len(seqs), -1, -1), seqs).max() for i in range(3)]
    np.testing.assert_allclose(logp, best, atol=1e-9)
    for i in range(3):                                                  # and it returns that caption
        assert _caption_logprob(model, feats[i : i + 1], caps[i : i + 1])[0] == pytest.approx(best[i])


def test_overlap_control(caption_test):
    control = A.load_captioner_overlap("image")
    test = load_shapes("test")
    with torch.no_grad():
        feats = control["encoder"](test.images).double()
    m = caption_metrics(control["captioner"].double(), feats, test)
    rec = control["meta"]["test_metrics"]
    for key in ("exact_match", "bleu4", "attention_teacher_forced", "attention_greedy"):
        assert m[key] == pytest.approx(rec[key], abs=0.003), key
    text = prose("05_attention.md")
    assert_states(text, f"match {m['exact_match']:.3f} against")
    assert_states(text, f"falls from {A.load_results()['captioner']['metrics']['attention_teacher_forced']:.3f} "
                        f"to {m['attention_teacher_forced']:.3f}")
    with torch.no_grad():
        _, alphas = control["captioner"].double()(feats, torch.from_numpy(test.captions[:, :-1]))
    r = attention_by_position(alphas.numpy(), test.captions[:, 1:], test.word_object[:, 1:],
                              caption_test["cells"])
    assert r["named"][1] < 0.05 and r["named"][2] < 0.05                  # "practically zero"
    assert_states(text, f"(teacher-forced), {r['named'][0]:.3f} for the first object")
    shipped = json.loads((A.ARTIFACTS_DIR / "results.json").read_text())
    assert "captioner_overlap_image" in shipped and "captioner_baselines" in shipped


def test_overlap_control_with_cell_labels(caption_test):
    control = A.load_captioner_overlap("cells")
    test = load_shapes("test")
    with torch.no_grad():
        feats = control["encoder"](test.images).double()
    m = caption_metrics(control["captioner"].double(), feats, test)
    rec = control["meta"]["test_metrics"]
    for key in ("exact_match", "bleu4", "attention_teacher_forced"):
        assert m[key] == pytest.approx(rec[key], abs=0.003), key
    assert m["attention_teacher_forced"] < 0.01                       # "practically no attention"
    text = prose("05_attention.md")
    assert_states(text, f"(exact match {m['exact_match']:.3f})")
    with pytest.raises(ValueError, match="labels"):
        A.load_captioner_overlap("pixels")
