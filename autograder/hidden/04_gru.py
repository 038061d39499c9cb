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
    return 0.5 * (1.0 + np.tanh(0.5 * a))   # the logistic function, without overflow


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


def _parts(x, prev_h, Wx, Wh, bx, bh):
    H = prev_h.shape[1]
    gx, gh = x @ Wx + bx, prev_h @ Wh + bh
    ar, az = gx[:, :H] + gh[:, :H], gx[:, H:2 * H] + gh[:, H:2 * H]
    r, z = _sig(ar), _sig(az)
    hn = gh[:, 2 * H:]
    n = np.tanh(gx[:, 2 * H:] + r * hn)
    return r, z, n, hn, ar, az


def _bwd_core(dnext_h, prev_h, r, z, n, hn, ar, az, bug=""):
    """(dgx, dgh, direct path to prev_h) of one step, with a backward bug."""
    dn = dnext_h * (1.0 - z)
    dz = dnext_h * ((n - prev_h) if bug == "dz_sign" else (prev_h - n))
    dan = dn if bug == "no_tanh_derivative" else dn * (1.0 - n ** 2)
    sr, sz = (ar, az) if bug == "sigmoid_of_preactivation" else (r, z)
    dar = dan * hn * sr * (1.0 - sr)
    daz = dz * sz * (1.0 - sz)
    dgx = np.concatenate([dar, daz, dan], axis=1)
    dgh = np.concatenate([dar, daz, dan if bug == "reset_grad_missing" else dan * r], axis=1)
    return dgx, dgh, (0.0 * dnext_h if bug == "no_direct_path" else dnext_h * z)


def _step_bwd_bug(bug):
    def compute(args, douts):
        x, prev_h, Wx, Wh, bx, bh = args
        dgx, dgh, direct = _bwd_core(douts[0], prev_h, *_parts(*args), bug=bug)
        return {"dx": dgx @ Wx.T, "dprev_h": direct + dgh @ Wh.T, "dWx": x.T @ dgx,
                "dWh": prev_h.T @ dgh, "dbx": dgx.sum(0), "dbh": dgh.sum(0)}
    return compute


def _seq_bwd_bug(bug):
    def compute(args, douts):
        x, h0, Wx, Wh, bx, bh = args
        T = x.shape[1]
        steps, h = [], h0
        for t in range(T):
            parts = _parts(x[:, t], h, Wx, Wh, bx, bh)
            steps.append((h, parts))
            r, z, n = parts[:3]
            h = (1 - z) * n + z * h
        dh = douts[0]
        dprev = np.zeros_like(h0)
        dgx, dgh = [None] * T, [None] * T
        for t in (range(T) if bug == "loop_forward" else reversed(range(T))):
            prev_h, parts = steps[t]
            up = dh[:, t] + (0.0 if bug == "no_dprev_h" else dprev)
            dgx[t], dgh[t], direct = _bwd_core(up, prev_h, *parts, bug=bug)
            dprev = direct + dgh[t] @ Wh.T
        keep = [0] if bug == "overwrite" else range(T)
        out = {"dx": np.stack([d @ Wx.T for d in dgx], axis=1), "dh0": dprev,
               "dWx": sum(x[:, t].T @ dgx[t] for t in keep),
               "dWh": sum(steps[t][0].T @ dgh[t] for t in keep),
               "dbx": sum(dgx[t].sum(0) for t in keep), "dbh": sum(dgh[t].sum(0) for t in keep)}
        if bug == "overwrite":
            return {k: out[k] for k in ("dWx", "dWh", "dbx", "dbh")}
        return out
    return compute


def _n_sigmoid_step(x, h, Wx, Wh, bx, bh):
    H = h.shape[1]
    gx, gh = x @ Wx + bx, h @ Wh + bh
    r, z = _sig(gx[:, :H] + gh[:, :H]), _sig(gx[:, H:2 * H] + gh[:, H:2 * H])
    n = _sig(gx[:, 2 * H:] + r * gh[:, 2 * H:])
    return (1 - z) * n + z * h


def _n_sigmoid_seq(x, h0, Wx, Wh, bx, bh):
    h, out = h0, []
    for t in range(x.shape[1]):
        h = _n_sigmoid_step(x[:, t], h, Wx, Wh, bx, bh)
        out.append(h)
    return np.stack(out, axis=1)


N_SIG = "the candidate n uses a sigmoid: n = tanh(...); only r and z are sigmoids"
NO_DTANH = "the derivative of n = tanh(...) is missing: the factor (1 - n**2)"
SIG_A = ("the sigmoid derivative is taken of the pre-activation: for s = sigmoid(a) it is "
         "s * (1 - s), in terms of the gate value")
DZ_SIGN = ("the gradient of z has the wrong sign: next_h = (1 - z) * n + z * prev_h gives "
           "dz = dnext_h * (prev_h - n)")
NO_DIRECT = ("the direct path to prev_h is missing: next_h contains z * prev_h, so dprev_h "
             "includes dnext_h * z")
RESET_GRAD = ("the reset gate is missing from the gradient of Wh_n: the candidate uses "
              "r * (prev_h Wh_n + bh_n)")
NO_DPREV_H = ("the gradient from later steps is not added: dh[:, t] must include the dprev_h that "
              "step t + 1 sends back")
LOOP_FWD = ("the backward loop runs forward in time: walk t = T-1 down to 0, so that the gradient "
            "of step t + 1 is known when step t is processed")
OVERWRITE = ("the weight gradients keep one step only (dWx = ... instead of dWx += ... inside the "
             "time loop): the shared weights sum the gradients of all steps")
GRADS = ["dWx:D 3H", "dWh:H 3H", "dbx:3H", "dbh:3H"]

FUNCTIONS = {
    "gru_step_forward": Func(
        S.gru_step_forward, _step_args, ["next_h:N H", CACHE], extreme=True,
        mistakes=[Mistake("n_sigmoid", N_SIG, lambda a, d: {"next_h": _n_sigmoid_step(*a)}),
                  Mistake("gru_rz_swapped", RZ, lambda a, d: {"next_h": S.gru_step_forward(*_swap(a, 2))[0]}),
                  Mistake("gru_reset_before_matmul", CHO, lambda a, d: {"next_h": _step(*a, "cho")}),
                  Mistake("gru_z_swapped", INTERP, lambda a, d: {"next_h": _step(*a, "interp")})]),
    "gru_step_backward": Func(
        S.gru_step_backward, _step_args, ["dx:N D", "dprev_h:N H", *GRADS],
        backward_of="gru_step_forward", douts=lambda g, out: [g.x("N H")],
        mistakes=[Mistake("gru_rz_swapped", RZ, _step_bwd_rz),
                  Mistake("no_tanh_derivative", NO_DTANH, _step_bwd_bug("no_tanh_derivative")),
                  Mistake("sigmoid_derivative_of_preactivation", SIG_A,
                          _step_bwd_bug("sigmoid_of_preactivation")),
                  Mistake("gru_z_swapped", DZ_SIGN, _step_bwd_bug("dz_sign")),
                  Mistake("gru_no_direct_path", NO_DIRECT, _step_bwd_bug("no_direct_path")),
                  Mistake("gru_reset_grad_missing", RESET_GRAD, _step_bwd_bug("reset_grad_missing"))]),
    "gru_forward": Func(
        S.gru_forward, _seq_args, ["h:N T H", CACHE], extreme=True,
        mistakes=[Mistake("n_sigmoid", N_SIG, lambda a, d: {"h": _n_sigmoid_seq(*a)}),
                  Mistake("gru_rz_swapped", RZ, lambda a, d: {"h": S.gru_forward(*_swap(a, 2))[0]}),
                  Mistake("gru_reset_before_matmul", CHO, lambda a, d: {"h": _seq(*a, "cho")}),
                  Mistake("gru_z_swapped", INTERP, lambda a, d: {"h": _seq(*a, "interp")})]),
    "gru_backward": Func(
        S.gru_backward, _seq_args, ["dx:N T D", "dh0:N H", *GRADS],
        backward_of="gru_forward", douts=lambda g, out: [g.x("N T H")], backward_in_time=True,
        mistakes=[Mistake("gru_rz_swapped", RZ, _seq_bwd_rz),
                  Mistake("no_dprev_h_through_time", NO_DPREV_H, _seq_bwd_bug("no_dprev_h")),
                  Mistake("backward_loop_forward_in_time", LOOP_FWD, _seq_bwd_bug("loop_forward")),
                  Mistake("grads_overwritten_in_loop", OVERWRITE, _seq_bwd_bug("overwrite")),
                  Mistake("no_tanh_derivative", NO_DTANH, _seq_bwd_bug("no_tanh_derivative")),
                  Mistake("sigmoid_derivative_of_preactivation", SIG_A,
                          _seq_bwd_bug("sigmoid_of_preactivation")),
                  Mistake("gru_z_swapped", DZ_SIGN, _seq_bwd_bug("dz_sign")),
                  Mistake("gru_no_direct_path", NO_DIRECT, _seq_bwd_bug("no_direct_path"))]),
    # Not graded in the current manifest (forward only, Cho et al. form).
    "gru_step_forward_cho": Func(
        S.gru_step_forward_cho,
        lambda g: [g.x("N D"), g.x("N H"), g.w("D 3H"), g.w("H 3H"), g.w("3H", 0.5)],
        ["next_h:N H"]),
}
