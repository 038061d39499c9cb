"""Hidden tests of assignment 02_bptt: gradient clipping and a truncated-BPTT training loop."""

from __future__ import annotations

import numpy as np

import solutions as S

try:
    from solutions import tbptt_train
except ImportError:             # older layout: not re-exported at the top level
    from solutions.tbptt import tbptt_train
from autograder.specs import Func, Gen, Mistake, standard_cases

SEED = 604_991_802


def _random_dims(rng: np.random.Generator) -> dict[str, int]:
    return {"N": int(rng.integers(1, 4)), "S": int(rng.integers(6, 14)), "T": int(rng.integers(2, 5)),
            "H": int(rng.integers(2, 6)), "V": int(rng.integers(3, 7)), "D": int(rng.integers(2, 5))}


CASES = standard_cases(SEED, _random_dims,
                       fixed={"N": 2, "S": 11, "T": 4, "H": 3, "V": 5, "D": 3},
                       edge={"N": 1, "S": 2, "T": 1, "H": 1, "V": 2, "D": 1}, saturate=8.0)

# A toy recurrent model that the worker and the judge both run: tbptt_train receives it as
# loss_fn. Plain numpy; it only needs to be deterministic and to use h.
FIXTURES = '''
import numpy as _np

def toy_rnn_loss(params, x, y, h):
    Wx, Wh = params["Wx"], params["Wh"]
    N, T = x.shape
    H = Wh.shape[0]
    hs, prev = [], h
    for t in range(T):
        prev = _np.tanh(Wx[x[:, t]] + prev @ Wh)
        hs.append(prev)
    target = _np.sin(_np.arange(1, H + 1)[None, None, :] * (y[:, :, None] + 1.0))
    loss = 0.0
    dWx, dWh = _np.zeros_like(Wx), _np.zeros_like(Wh)
    dnext = _np.zeros_like(h)
    for t in reversed(range(T)):
        diff = hs[t] - target[:, t]
        loss += 0.5 * float((diff ** 2).sum()) / N
        da = (diff / N + dnext) * (1 - hs[t] ** 2)
        hp = hs[t - 1] if t > 0 else h
        dWh += hp.T @ da
        _np.add.at(dWx, x[:, t], da)
        dnext = da @ Wh.T
    return loss, {"Wx": dWx, "Wh": dWh}, hs[-1]
'''
_ns: dict = {}
exec(compile(FIXTURES, "<fixtures>", "exec"), _ns)


class FixtureFn:
    """A function that exists in both processes: called here, sent by name to the worker."""

    def __init__(self, name: str):
        self.name = name
        self.fn = _ns[name]

    def __call__(self, *args):
        return self.fn(*args)


def _grads(g: Gen) -> list:
    return [g.x("N H"), g.x("H"), g.x("D H D")]


def _clip_args(g: Gen) -> list:
    grads = _grads(g)
    total = float(np.sqrt(sum((a ** 2).sum() for a in grads)))
    # Most cases clip; the edge case has a threshold above the norm (nothing may change).
    factor = 2.0 if "edge" in g.case.label else 0.3
    return [grads, total * factor]


def _clip_each(args, douts):
    grads, max_norm = args
    out = []
    for a in grads:
        n = float(np.sqrt((a ** 2).sum()))
        out.append(a * min(1.0, max_norm / (n + 1e-6)))
    return {f"clipped[{i}]": a for i, a in enumerate(out)}


def _clip_always(args, douts):
    grads, max_norm = args
    total = float(np.sqrt(sum((a ** 2).sum() for a in grads)))
    return {f"clipped[{i}]": a * (max_norm / total) for i, a in enumerate(grads)}


def _tbptt_args(g: Gen) -> list:
    V = g.dims["V"]
    params = {"Wx": g.w("V H"), "Wh": g.w("H H")}
    data = g.ints("N S", V)
    max_norm = None if "random case 1" in g.case.label else 0.5
    return [FixtureFn("toy_rnn_loss"), params, data, g.x("N H", 0.5), int(g.dims["T"]), 0.1,
            max_norm]


def _tbptt_no_carry(args, douts):
    loss_fn, params, data, h0, seq_len, lr, max_norm = args
    fresh = lambda p, x, y, h: loss_fn(p, x, y, h0)  # noqa: E731 - the state is reset each chunk
    p, losses, norms = tbptt_train(fresh, params, data, h0, seq_len, lr, max_norm)
    return {"losses": losses, "grad_norms": norms, **{f"params[{k}]": v for k, v in p.items()}}


def _tbptt_clipped_norms(args, douts):
    p, losses, norms = tbptt_train(*args)
    max_norm = args[-1]
    if max_norm is not None:
        norms = np.minimum(norms, max_norm)
    return {"grad_norms": norms}


FUNCTIONS = {
    "clip_grad_norm": Func(
        S.clip_grad_norm, _clip_args, ["clipped:list", "total_norm:"], time_axis=False,
        mistakes=[Mistake("clip_each_array", "each array was clipped by its own norm: the norm is global, over all "
                          "gradients together", _clip_each),
                  Mistake("clip_scales_up", "gradients whose norm is below max_norm must stay "
                          "unchanged: scale by min(1, max_norm / norm)", _clip_always)],
        visible="a list of arrays compared with torch.nn.utils.clip_grad_norm_"),
    "tbptt_train": Func(
        tbptt_train, _tbptt_args, ["params:dict", "losses:", "grad_norms:"], time_axis=False,
        fixtures=FIXTURES,
        mistakes=[Mistake("state_not_carried", "the hidden state is not carried from one chunk to the next",
                          _tbptt_no_carry),
                  Mistake("norms_after_clipping", "grad_norms must be the norms before clipping",
                          _tbptt_clipped_norms)],
        visible="chunking, carried state, SGD steps and clipping with a recording loss_fn"),
    # Not graded in the current manifest; ready if an assignment lists them.
    "softmax_with_temperature": Func(
        S.softmax_with_temperature,
        lambda g: [g.x("N V", 3.0), {"fixed case": 1.0}.get(g.case.label, 0.5)],
        ["probs:N V"], time_axis=False,
        mistakes=[Mistake("no_max_shift", "not numerically stable: subtract the largest logit before exp",
                          lambda a, d: {"probs": _naive_softmax(*a)})]),
    "sample_with_temperature": Func(
        S.sample_with_temperature,
        lambda g: [g.x("N V", 3.0), 0.0, {"$rng": 0}],
        ["idx:N"], time_axis=False,
        visible="temperature 0 gives the argmax; samples follow the softmax"),
}


def _naive_softmax(logits, temperature):
    with np.errstate(all="ignore"):
        e = np.exp(logits / temperature)
        return e / e.sum(axis=-1, keepdims=True)



# --- rnn_backward_truncated (issue 15): the k-step truncated gradient -------------------------
# A self-contained block: the arguments are the forward's values packed as rnn_forward's cache
# (x, h0, Wx, Wh, h), built here by the reference, so the student's assignment-1 code is not needed.
from solutions.rnn import rnn_backward as _rnn_backward  # noqa: E402
from solutions.rnn import rnn_forward as _rnn_forward  # noqa: E402
from solutions.tbptt import rnn_backward_truncated as _rnn_backward_truncated  # noqa: E402


def _truncation_k(g: Gen) -> int:
    """k for a case: half the length (at least 1); one random case keeps more than T steps."""
    T = int(g.dims["T"])
    return T + 1 if "random case 2" in g.case.label else max(1, T // 2)


def _truncated_args(g: Gen) -> list:
    # The assignment's saturating scale (8, for clipping) would make every tanh' about 0 and the
    # truncated dh0 exactly 0, a value an all-zeros answer matches; 3 saturates without that.
    s = 3.0 / g.case.scale if "saturating" in g.case.label else 1.0
    x, h0 = g.x("N T D", s), g.x("N H", s)
    Wx, Wh, b = g.w("D H", s), g.w("H H", s), g.w("H", 0.5 * s)
    h, cache = _rnn_forward(x, h0, Wx, Wh, b)
    return [g.x("N T H"), tuple(cache), _truncation_k(g)]


_TRUNC_OUT = ("dx", "dh0", "dWx", "dWh", "db")


def _truncated_with(k_of):
    def compute(args, douts):
        dh, cache, k = args
        return dict(zip(_TRUNC_OUT, _rnn_backward_truncated(dh, tuple(cache), k_of(k, dh.shape[1])), strict=True))
    return compute


def _truncated_full(args, douts):
    dh, cache, k = args
    return dict(zip(_TRUNC_OUT, _rnn_backward(dh, tuple(cache)), strict=True))


def _truncated_chunked(args, douts):
    """Cut the sequence into blocks of k steps and run full BPTT inside each block."""
    dh, cache, k = args
    x, h0, Wx, Wh, h = cache
    outs = [np.zeros_like(x), np.zeros_like(h0), np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(Wh.shape[0])]
    T = dh.shape[1]
    for start in range(0, T, k):
        end = min(start + k, T)
        prev = h0 if start == 0 else h[:, start - 1]
        dx, dprev, dWx, dWh, db = _rnn_backward(dh[:, start:end], (x[:, start:end], prev, Wx, Wh, h[:, start:end]))
        outs[0][:, start:end] = dx
        if start == 0:
            outs[1] = dprev
        outs[2], outs[3], outs[4] = outs[2] + dWx, outs[3] + dWh, outs[4] + db
    return dict(zip(_TRUNC_OUT, outs, strict=True))


FUNCTIONS["rnn_backward_truncated"] = Func(
    _rnn_backward_truncated, _truncated_args, ["dx:N T D", "dh0:N H", "dWx:D H", "dWh:H H", "db:H"],
    backward_in_time=True,
    mistakes=[
        Mistake("truncated_no_truncation", "the gradient was not truncated: this is full BPTT. Each "
                "dh[:, t] may travel back at most k steps (to step t - k + 1)", _truncated_full),
        Mistake("truncated_one_step_too_many", "off by one: the gradient went back k + 1 steps. From "
                "step t it reaches steps t, t-1, ..., t-k+1 (k steps, counting t itself)",
                _truncated_with(lambda k, T: k + 1)),
        Mistake("truncated_one_step_too_few", "off by one: the gradient went back only k - 1 steps. From "
                "step t it reaches steps t, t-1, ..., t-k+1 (k steps, counting t itself)",
                _truncated_with(lambda k, T: max(1, k - 1))),
        Mistake("truncated_chunked", "the sequence was cut into blocks of k steps (the gradient stops "
                "at block borders): k-step truncation is a sliding window, k steps back from every t",
                _truncated_chunked),
    ],
    visible="k >= T against full BPTT, k = 1 by hand, and a public fixture for k = 2")
