"""The claims of chapters 1 and 2 (and their appendices) held to their numbers.

Each test recomputes a number the book states, from the shipped artifacts or by running the page's
own code cells (extracted from the MyST source, so the test and the page cannot drift apart), and
checks the claim the prose makes about it. Nothing here compares with a hard-coded result: the
recorded values come from the training scripts' records, the rest from re-execution.
"""

from __future__ import annotations

import math
import re
import string
from pathlib import Path

import matplotlib
import numpy as np
import pytest
import torch

from course_helpers import char_kinds, interpret

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"


def _cells(page: str) -> list[str]:
    text = (BOOK / page).read_text()
    return re.findall(r"```\{code-cell\}[^\n]*\n(.*?)```", text, re.S)


def _run_cells(page: str, until: str | None = None, only: tuple[str, ...] | None = None) -> dict:
    """Execute the page's code cells in order, in one namespace, and return it.

    until: stop after the first cell containing this text. only: run the set-up cell (the first)
    and then only the cells containing one of these texts. Cells that import the widget demos are
    skipped (they precompute many frames and are tested in test_demos*.py).
    """
    import matplotlib.pyplot as plt
    import myst_nb

    ns: dict = {"__name__": "__page__", "_glued": {}}
    torch.set_num_threads(1)
    # myst_nb.glue formats through IPython's display machinery, which depends on whatever shell
    # other tests in this process created; here a glued value is only recorded.
    real_glue = myst_nb.glue
    myst_nb.glue = lambda name, value, display=True: ns["_glued"].__setitem__(name, value)
    try:
        return _exec_cells(page, ns, until, only, plt)
    finally:
        myst_nb.glue = real_glue


def _exec_cells(page: str, ns: dict, until, only, plt) -> dict:
    for i, src in enumerate(_cells(page)):
        body = "\n".join(line for line in src.splitlines() if not line.startswith(":tags:"))
        if "course_helpers.demos" in body:
            continue
        if only is not None and i > 0 and not any(s in body for s in only):
            continue
        exec(compile(body, page, "exec"), ns)  # noqa: S102 - the book's own code
        plt.close("all")
        if until is not None and until in body:
            return ns
    if until is not None:
        raise AssertionError(f"{page}: no code cell contains {until!r}")
    return ns


def _section(page: str, start: str, end: str) -> str:
    text = (BOOK / page).read_text()
    return text[text.index(start):text.index(end)]


# ---------------------------------------------------------------------------- notation


MY_PAGES = ["01_rnn.md", "02_bptt.md", "intro.md", "appendix_gradcheck.md"]


@pytest.mark.parametrize("page", MY_PAGES)
def test_pages_follow_the_notation_table(page: str) -> None:
    text = (BOOK / page).read_text()
    text = text.split("## Graded assignment")[0]          # that section belongs to another branch
    maths = " ".join(m for pair in re.findall(r"\$\$(.*?)\$\$|\$([^$\n]+)\$", text, re.S) for m in pair)
    assert not re.search(r"\\partial L\b", maths), f"{page}: the loss is \\mathcal{{L}}, not L"
    assert not re.search(r"(?<![\\\w])e\^\{", maths), f"{page}: write exp(...), e is the attention score"
    assert not re.search(r"\\prod_\{[^}]*\}\^\{[^}]*\}\s*\\Big\(\s*W", maths), f"{page}: ordered matrix products"
    assert not re.search(r"(?<![\\\w])h e_i|2h\}", maths), f"{page}: the finite-difference step is \\Delta"


def test_notation_table_resolves_every_listed_clash() -> None:
    text = (BOOK / "appendix_notation.md").read_text()
    rows = {m.group(1).strip(): m.group(0) for m in re.finditer(r"^\| (\$[^|]+\$) \|.*$", text, re.M)}
    # one meaning per symbol: the clashing pairs of the issue have distinct symbols
    for symbol in [r"$\mathcal{L}$", "$L$", "$r, z, n$", "$s_t$", "$E$", "$W_e$",
                   "$a_t$", r"$\phi_l$", r"$\Delta$", "$h_t$", "$g$"]:
        assert symbol in rows, f"notation table lacks a row for {symbol}"
    assert "never a gradient" in rows["$g$"]
    assert "later steps on the left" in text          # the order of products is stated


def test_output_bias_in_the_vanilla_rnn_equations() -> None:
    for page in ["01_rnn.md", "02_bptt.md"]:
        assert re.search(r"y_t &= W_\{hy\}\\?,? h_t \+ b_y", (BOOK / page).read_text()), page


def test_elman_is_cited_where_the_elman_network_appears() -> None:
    section = _section("01_rnn.md", "### The vanilla (Elman) RNN", "### A step by hand")
    assert "elman1990finding" in section


# ---------------------------------------------------------------------------- chapter 1


@pytest.mark.slow
def test_hello_numpy_and_torch_losses_are_of_the_same_weights() -> None:
    ns = _run_cells("01_rnn.md", until="numpy loss")
    assert abs(ns["loss_np"] - ns["final_loss"]) < 1e-9
    # and they are the loss *after* the last update: the last pre-update loss differs
    assert ns["final_loss"] < ns["losses"][-1]


@pytest.mark.parametrize("kind", char_kinds.KINDS)
def test_kind_models_reproduce_their_record_and_learn(kind: str) -> None:
    model = char_kinds.load_kind_model(kind)
    bpc = [char_kinds.bits_per_char(char_kinds.load_kind_model(kind, s)["params"], model["val_ids"])
           for s in model["steps"]]
    recorded = [model["meta"]["snapshot_bpc"][str(s)] for s in model["steps"]]
    np.testing.assert_allclose(bpc, recorded, rtol=1e-6)
    assert all(a > b for a, b in zip(bpc[:-1], bpc[1:], strict=True)), f"{kind}: bits/char must fall: {bpc}"
    assert bpc[-1] < model["meta"]["unigram_bpc"] - 1.0      # the page's "beats character frequencies"
    sample = char_kinds.sample(model["params"], model["chars"], "The", 50, 0.8, np.random.default_rng(0))
    assert len(sample) == 53 and set(sample) <= set(model["chars"])


@pytest.mark.parametrize("kind", char_kinds.KINDS)
def test_kind_corpus_is_ascii_text_of_its_kind(kind: str) -> None:
    text = char_kinds.kind_corpus(kind, max_chars=50_000)
    assert len(text) == 50_000 and set(text) <= set(string.printable) - set("\t\r\x0b\x0c")
    marker = {"prose": " the ", "code": "def ", "markup": ":math:`"}[kind]
    assert text.count(marker) > 20


def test_kind_corpus_rejects_an_unknown_kind() -> None:
    with pytest.raises(ValueError, match="prose"):
        char_kinds.kind_corpus("poetry")


def test_numpy_stacked_rnn_matches_torch() -> None:
    """char_kinds.rnn_states (what the page uses) against torch.nn.RNN with two layers."""
    model = char_kinds.load_kind_model("prose_2layer")
    p = model["params"]
    V, H = p["Wx0"].shape
    rnn = torch.nn.RNN(V, H, num_layers=2, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        for layer in range(2):
            getattr(rnn, f"weight_ih_l{layer}").copy_(torch.from_numpy(p[f"Wx{layer}"].T))
            getattr(rnn, f"weight_hh_l{layer}").copy_(torch.from_numpy(p[f"Wh{layer}"].T))
            getattr(rnn, f"bias_ih_l{layer}").copy_(torch.from_numpy(p[f"b{layer}"]))
            getattr(rnn, f"bias_hh_l{layer}").zero_()
    ids = model["val_ids"][:300].reshape(3, 100)
    states, scores = char_kinds.rnn_states(p, ids)
    out, _ = rnn(torch.nn.functional.one_hot(torch.from_numpy(ids), V).double())
    np.testing.assert_allclose(states[1], out.detach().numpy(), atol=1e-10)
    np.testing.assert_allclose(scores, states[1] @ p["Wy"] + p["by"])


def test_multilayer_comparison_is_on_the_same_text_and_matches_the_record() -> None:
    one = char_kinds.load_kind_model("prose")
    for name in ["prose_2layer", "prose_2layer_small"]:
        model = char_kinds.load_kind_model(name)
        assert np.array_equal(model["val_ids"], one["val_ids"])
        assert char_kinds.num_layers(model["params"]) == 2
        bpc = char_kinds.bits_per_char(model["params"], model["val_ids"])
        assert bpc == pytest.approx(model["meta"]["val_bpc"], rel=1e-6)
    small = char_kinds.load_kind_model("prose_2layer_small")["params"]
    n_one, n_small = (sum(v.size for v in p.values()) for p in (one["params"], small))
    assert abs(n_small - n_one) / n_one < 0.02               # "about the same number of parameters"


def test_indicators_on_text_a_reader_can_check() -> None:
    text = 'f("a(b)", x)\n  y'
    np.testing.assert_array_equal(interpret.inside_quotes(text), [0, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(interpret.paren_depth(text), [0, 1, 1, 1, 2, 2, 2, 1, 1, 1, 1, 1, 0, 0, 0, 0])
    np.testing.assert_array_equal(interpret.column(text), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0, 1, 2])
    np.testing.assert_array_equal(interpret.inside_backticks("a `b` c"), [0, 0, 1, 1, 1, 0, 0])
    with pytest.raises(ValueError, match="non-empty"):
        interpret.column("")


def test_rank_units_finds_a_planted_unit() -> None:
    rng = np.random.default_rng(0)
    indicator = (rng.random(500) > 0.7).astype(float)
    states = rng.standard_normal((500, 8))
    states[:, 5] = -indicator + 0.1 * rng.standard_normal(500)
    units, r = interpret.rank_units(states, indicator)
    assert units[0] == 5 and r[5] < -0.9
    with pytest.raises(ValueError, match="constant"):
        interpret.rank_units(states, np.ones(500))


@pytest.mark.slow
def test_interpretable_cell_claim() -> None:
    """The page's headline: a unit of a trained model tracks an indicator far better than any unit
    of the early snapshot (the control), and at least a few text-indicator pairs gain > 0.1."""
    ns = _run_cells("01_rnn.md", only=("kinds = {kind:", "from myst_nb import glue", "search_chars =",
                                       'glue("n_pairs_gain"'), until='glue("n_pairs_gain"')
    found = ns["found"]
    gains = {key: abs(v[1]) - v[2] for key, v in found.items()}
    best = max(gains, key=gains.get)
    assert (ns["best_kind"], ns["best_name"]) == best
    assert abs(found[best][1]) > 0.4 and gains[best] > 0.25
    assert sum(g > 0.1 for g in gains.values()) >= 3


# ---------------------------------------------------------------------------- chapter 2


@pytest.fixture(scope="module")
def ch2_clipping() -> dict:
    return _run_cells("02_bptt.md", until="updates clipped:")


@pytest.mark.slow
def test_clipping_is_rare_with_clipping_and_sgd_diverges_without(ch2_clipping) -> None:
    ns = ch2_clipping
    gamma, V = ns["gamma"], ns["V"]
    assert "torch.optim.SGD(params, lr=lr)" in _section("02_bptt.md", "def train_char_tbptt", "lr, gamma =")
    clipped_share = np.mean(ns["norms"] > gamma)
    assert 0 < clipped_share < 0.05                                   # rare spikes, clipped
    assert np.mean(ns["losses"][-20:]) < math.log(V) - 1.5            # the clipped run learns
    no_clip_losses, _ = ns["train_char_tbptt"](ns["lr"], max_norm=None, seed=0)
    assert np.mean(no_clip_losses[-20:]) > math.log(V)                # the unclipped one diverges


def test_truncated_gradient_approaches_the_full_one(ch2_clipping) -> None:
    ns = _run_cells("02_bptt.md", only=("def recurrent_gradient",))
    cos = dict(zip(ns["truncations"], ns["cosine"], strict=True))
    diff = dict(zip(ns["truncations"], ns["rel_diff"], strict=True))
    full_len = len(ns["xc"])
    assert cos[full_len] == pytest.approx(1.0) and diff[full_len] == pytest.approx(0.0, abs=1e-12)
    assert cos[1] < cos[5] < cos[25] < 1.0                            # bias shrinks with S
    assert diff[1] > diff[5] > diff[25] > 0.0


@pytest.mark.slow
def test_delay_longer_than_truncation_is_not_learned() -> None:
    ns = _run_cells("02_bptt.md", only=("def train_delay",))
    acc = {s: a[-20:].mean() for s, a in ns["delay_acc"].items()}
    assert acc[20] > 0.95
    assert acc[5] < 0.6 and acc[10] < 0.6


def test_rms_estimate_of_the_gradient_norm(ch2_clipping) -> None:
    """Exercise ex-bptt-estimate: (sigma * rms tanh')^k predicts the measured norm within an order of
    magnitude over 50 steps; the mean of tanh' does not."""
    ns = ch2_clipping
    for sigma in [1.1, 1.5]:
        norms, tanh_prime = ns["gradient_norms"](sigma, "tanh", T=60, return_tanh_prime=True)
        last = tanh_prime[-50:]
        measured = np.log10(norms[50])
        pred_rms = 50 * np.log10(sigma * np.sqrt(np.mean(last**2)))
        pred_mean = 50 * np.log10(sigma * np.mean(last))
        assert abs(pred_rms - measured) < 1.0
        assert abs(pred_mean - measured) > abs(pred_rms - measured) + 1.0


def test_scalar_truncation_fraction() -> None:
    ns = _run_cells("02_bptt.md", only=("def gradient_norms", "def scalar_truncated_gradient"))
    ratio = ns["scalar_truncated_gradient"](0.9, 10) / ns["scalar_truncated_gradient"](0.9, 200)
    assert ratio == pytest.approx((1 - 0.9**10) / (1 - 0.9**200), rel=1e-9)
