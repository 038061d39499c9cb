"""Hidden tests of assignment 04_gru: GRU (torch.nn.GRU form) step and sequence."""

from __future__ import annotations

import numpy as np

import solutions as S
from autograder.specs import CACHE, Func, Gen, Mistake, recurrent_cases, swap_blocks

SEED = 552_018_377


CASES = recurrent_cases(SEED)


def _step_args(g: Gen) -> list:
    return [g.x("N D"), g.x("N H"), g.w("D 3H"), g.w("H 3H"), g.w("3H", 0.5), g.w("3H", 0.5)]


def _seq_args(g: Gen) -> list:
    return [g.x("N T D"), g.x("N H"), g.w("D 3H"), g.w("H 3H"), g.w("3H", 0.5), g.w("3H", 0.5)]


RZ = "the r and z blocks are swapped: the columns of Wx, Wh, bx and bh are r, z, n"
CHO = ("the reset gate must scale (prev_h Wh_n + bh_n), as in torch.nn.GRU; this is the Cho et al. "
       "form r * prev_h")
INTERP = "the update gate interpolates the wrong way round: h' = (1 - z) * n + z * prev_h"


def _swap(args, first):
    out = list(args)
    for k in range(first, first + 4):
        out[k] = swap_blocks(args[k], 3, 0, 1)
    return out


def _sig(a):
    return 1 / (1 + np.exp(-a))


def _step(x, h, Wx, Wh, bx, bh, form):
    H = h.shape[1]
    gx, gh = x @ Wx + bx, h @ Wh + bh
    r, z = _sig(gx[:, :H] + gh[:, :H]), _sig(gx[:, H:2 * H] + gh[:, H:2 * H])
    if form == "cho":
        n = np.tanh(gx[:, 2 * H:] + (r * h) @ Wh[:, 2 * H:] + bh[2 * H:])
    else:
        n = np.tanh(gx[:, 2 * H:] + r * gh[:, 2 * H:])
    return z * n + (1 - z) * h if form == "interp" else (1 - z) * n + z * h


def _seq(x, h0, Wx, Wh, bx, bh, form):
    h, out = h0, []
    for t in range(x.shape[1]):
        h = _step(x[:, t], h, Wx, Wh, bx, bh, form)
        out.append(h)
    return np.stack(out, axis=1)


def _step_bwd_rz(args, douts):
    _, cache = S.gru_step_forward(*_swap(args, 2))
    dx, dh, dWx, dWh, dbx, dbh = S.gru_step_backward(*douts, cache)
    sw = lambda a: swap_blocks(a, 3, 0, 1)  # noqa: E731
    return {"dx": dx, "dprev_h": dh, "dWx": sw(dWx), "dWh": sw(dWh), "dbx": sw(dbx), "dbh": sw(dbh)}


def _seq_bwd_rz(args, douts):
    _, cache = S.gru_forward(*_swap(args, 2))
    dx, dh0, dWx, dWh, dbx, dbh = S.gru_backward(*douts, cache)
    sw = lambda a: swap_blocks(a, 3, 0, 1)  # noqa: E731
    return {"dx": dx, "dh0": dh0, "dWx": sw(dWx), "dWh": sw(dWh), "dbx": sw(dbx), "dbh": sw(dbh)}


GRADS = ["dWx:D 3H", "dWh:H 3H", "dbx:3H", "dbh:3H"]

FUNCTIONS = {
    "gru_step_forward": Func(
        S.gru_step_forward, _step_args, ["next_h:N H", CACHE],
        mistakes=[Mistake("gru_rz_swapped", RZ, lambda a, d: {"next_h": S.gru_step_forward(*_swap(a, 2))[0]}),
                  Mistake("gru_reset_before_matmul", CHO, lambda a, d: {"next_h": _step(*a, "cho")}),
                  Mistake("gru_z_swapped", INTERP, lambda a, d: {"next_h": _step(*a, "interp")})]),
    "gru_step_backward": Func(
        S.gru_step_backward, _step_args, ["dx:N D", "dprev_h:N H", *GRADS],
        backward_of="gru_step_forward", douts=lambda g, out: [g.x("N H")],
        mistakes=[Mistake("gru_rz_swapped", RZ, _step_bwd_rz)]),
    "gru_forward": Func(
        S.gru_forward, _seq_args, ["h:N T H", CACHE],
        mistakes=[Mistake("gru_rz_swapped", RZ, lambda a, d: {"h": S.gru_forward(*_swap(a, 2))[0]}),
                  Mistake("gru_reset_before_matmul", CHO, lambda a, d: {"h": _seq(*a, "cho")}),
                  Mistake("gru_z_swapped", INTERP, lambda a, d: {"h": _seq(*a, "interp")})]),
    "gru_backward": Func(
        S.gru_backward, _seq_args, ["dx:N T D", "dh0:N H", *GRADS],
        backward_of="gru_forward", douts=lambda g, out: [g.x("N T H")], backward_in_time=True,
        mistakes=[Mistake("gru_rz_swapped", RZ, _seq_bwd_rz)]),
    # Not graded in the current manifest (forward only, Cho et al. form).
    "gru_step_forward_cho": Func(
        S.gru_step_forward_cho,
        lambda g: [g.x("N D"), g.x("N H"), g.w("D 3H"), g.w("H 3H"), g.w("3H", 0.5)],
        ["next_h:N H"]),
}
