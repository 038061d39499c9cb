"""Hidden tests of assignment 03_lstm: LSTM step and sequence, forward and backward."""

from __future__ import annotations

import numpy as np

import solutions as S
from autograder.specs import CACHE, Func, Gen, Mistake, recurrent_cases, swap_blocks

SEED = 190_447_263


CASES = recurrent_cases(SEED)


def _step_args(g: Gen) -> list:
    return [g.x("N D"), g.x("N H"), g.x("N H"), g.w("D 4H"), g.w("H 4H"), g.w("4H", 0.5)]


def _seq_args(g: Gen) -> list:
    return [g.x("N T D"), g.x("N H"), g.w("D 4H"), g.w("H 4H"), g.w("4H", 0.5)]


GATES = ("gate blocks in the wrong order: the columns of Wx, Wh and b are i, f, o, g "
         "(CS231n), not i, f, g, o (PyTorch)")


def _swap(args, first_weight):
    out = list(args)
    for k in range(first_weight, first_weight + 3):
        out[k] = swap_blocks(args[k], 4, 2, 3)
    return out


def _step_fwd_gates(args, douts):
    next_h, next_c, _ = S.lstm_step_forward(*_swap(args, 3))
    return {"next_h": next_h, "next_c": next_c}


def _step_bwd_gates(args, douts):
    _, _, cache = S.lstm_step_forward(*_swap(args, 3))
    dx, dh, dc, dWx, dWh, db = S.lstm_step_backward(*douts, cache)
    return {"dx": dx, "dprev_h": dh, "dprev_c": dc, "dWx": swap_blocks(dWx, 4, 2, 3),
            "dWh": swap_blocks(dWh, 4, 2, 3), "db": swap_blocks(db, 4, 2, 3)}


def _seq_fwd_gates(args, douts):
    return {"h": S.lstm_forward(*_swap(args, 2))[0]}


def _seq_bwd_gates(args, douts):
    _, cache = S.lstm_forward(*_swap(args, 2))
    dx, dh0, dWx, dWh, db = S.lstm_backward(*douts, cache)
    return {"dx": dx, "dh0": dh0, "dWx": swap_blocks(dWx, 4, 2, 3),
            "dWh": swap_blocks(dWh, 4, 2, 3), "db": swap_blocks(db, 4, 2, 3)}


# ---- more catalogued mistakes: one LSTM step with a named bug, on reference inputs ----------
def _sig(a):
    return 0.5 * (1.0 + np.tanh(0.5 * a))


def _fwd_parts(x, prev_h, prev_c, Wx, Wh, b, bug=""):
    """(a, i, f, o, g, next_c, next_h) of one step, with a forward bug."""
    a = x @ Wx + prev_h @ Wh + b
    H = prev_h.shape[1]
    i, f, o = _sig(a[:, :H]), _sig(a[:, H:2 * H]), _sig(a[:, 2 * H:3 * H])
    g = _sig(a[:, 3 * H:]) if bug == "g_sigmoid" else np.tanh(a[:, 3 * H:])
    next_c = f * prev_c + i * g
    next_h = o * (next_c if bug == "no_cell_tanh" else np.tanh(next_c))
    return a, i, f, o, g, next_c, next_h


def _bwd_core(dnext_h, dnext_c, prev_c, a, i, f, o, g, next_c, bug=""):
    """(da, dprev_c) of one step, with a backward bug."""
    H = prev_c.shape[1]
    tc = np.tanh(next_c)
    from_h = dnext_h * o * (1.0 if bug == "no_cell_tanh_derivative" else (1 - tc ** 2))
    dc = (0.0 if bug == "no_dnext_h_to_c" else from_h) + (0.0 if bug == "no_dnext_c" else dnext_c)
    di, df, do, dg = dc * g, dc * prev_c, dnext_h * tc, dc * i
    if bug == "sigmoid_of_preactivation":
        s_i, s_f, s_o = (a[:, k * H:(k + 1) * H] for k in range(3))
    else:
        s_i, s_f, s_o = i, f, o
    dg_a = dg if bug == "no_tanh_derivative" else dg * (1 - g ** 2)
    da = np.concatenate([di * s_i * (1 - s_i), df * s_f * (1 - s_f), do * s_o * (1 - s_o), dg_a],
                        axis=1)
    return da, (dc if bug == "dprev_c_missing_f" else dc * f)


def _step_fwd_bug(bug):
    def compute(args, douts):
        *_, next_c, next_h = _fwd_parts(*args, bug=bug)
        return {"next_h": next_h, "next_c": next_c}
    return compute


def _step_bwd_bug(bug):
    def compute(args, douts):
        x, prev_h, prev_c, Wx, Wh, b = args
        parts = _fwd_parts(*args)
        da, dprev_c = _bwd_core(douts[0], douts[1], prev_c, *parts[:6], bug=bug)
        return {"dx": da @ Wx.T, "dprev_h": da @ Wh.T, "dprev_c": dprev_c, "dWx": x.T @ da,
                "dWh": prev_h.T @ da, "db": da.sum(0)}
    return compute


def _seq_fwd_bug(bug):
    def compute(args, douts):
        x, h0, Wx, Wh, b = args
        h, c = h0, (h0 if bug == "c0_from_h0" else np.zeros_like(h0))
        hs = []
        for t in range(x.shape[1]):
            *_, c, h = _fwd_parts(x[:, t], h, c, Wx, Wh, b, bug=bug)
            hs.append(h)
        return {"h": np.stack(hs, axis=1)}
    return compute


def _seq_bwd_bug(bug):
    """BPTT on the reference forward values with one bug (see _bwd_core for step-level bugs)."""
    def compute(args, douts):
        x, h0, Wx, Wh, b = args
        N, T, _ = x.shape
        steps, h, c = [], h0, np.zeros_like(h0)
        for t in range(T):
            parts = _fwd_parts(x[:, t], h, c, Wx, Wh, b)
            steps.append((h, c, parts))
            c, h = parts[5], parts[6]
        dh = douts[0]
        dprev_h, dprev_c = np.zeros_like(h0), np.zeros_like(h0)
        da = [None] * T
        order = range(T) if bug == "loop_forward" else reversed(range(T))
        for t in order:
            prev_h, prev_c, parts = steps[t]
            up_h = dh[:, t] + (0.0 if bug == "no_dprev_h" else dprev_h)
            up_c = 0.0 * dprev_c if bug == "no_dprev_c" else dprev_c
            da[t], dprev_c = _bwd_core(up_h, up_c, prev_c, *parts[:6], bug=bug)
            dprev_h = da[t] @ Wh.T
        keep = [0] if bug == "overwrite" else range(T)
        dWx = sum(x[:, t].T @ da[t] for t in keep)
        dWh = sum(steps[t][0].T @ da[t] for t in keep)
        out = {"dx": np.stack([d @ Wx.T for d in da], axis=1), "dh0": dprev_h, "dWx": dWx,
               "dWh": dWh, "db": sum(da[t].sum(0) for t in keep)}
        if bug == "overwrite":
            return {k: out[k] for k in ("dWx", "dWh", "db")}
        return out
    return compute


G_SIG = "the candidate g uses a sigmoid: g = tanh(a_g); only i, f and o are sigmoids"
NO_CELL_TANH = "next_h = o * tanh(next_c): the tanh of the cell state is missing"
C0 = "c0 is taken from h0: the initial cell state is zero"
NO_DC = ("the dnext_c path is missing: the cell gradient is dnext_c + dnext_h * o * "
         "(1 - tanh(next_c)**2)")
NO_DH_C = ("the path from dnext_h to the cell is missing: next_h = o * tanh(next_c) also sends "
           "dnext_h * o * (1 - tanh(next_c)**2) to the cell")
NO_CELL_DTANH = "the derivative of tanh(next_c) is missing: the factor (1 - tanh(next_c)**2)"
SIG_A = ("the sigmoid derivative is taken of the pre-activation: for s = sigmoid(a) it is "
         "s * (1 - s), in terms of the gate value")
NO_G_DTANH = "the derivative of g = tanh(a_g) is missing: the factor (1 - g**2)"
NO_F = "dprev_c must be multiplied by the forget gate: dprev_c = dc * f"
NO_DPREV_C = ("dprev_c is not carried back through time: each step's cell gradient must include "
              "the dprev_c of step t + 1")
NO_DPREV_H = ("the gradient from later steps is not added: dh[:, t] must include the dprev_h that "
              "step t + 1 sends back")
LOOP_FWD = ("the backward loop runs forward in time: walk t = T-1 down to 0, so that the gradients "
            "of step t + 1 are known when step t is processed")
OVERWRITE = ("the weight gradients keep one step only (dWx = ... instead of dWx += ... inside the "
             "time loop): the shared weights sum the gradients of all steps")

FUNCTIONS = {
    "lstm_step_forward": Func(
        S.lstm_step_forward, _step_args, ["next_h:N H", "next_c:N H", CACHE], extreme=True,
        mistakes=[Mistake("lstm_gate_order", GATES, _step_fwd_gates),
                  Mistake("g_sigmoid", G_SIG, _step_fwd_bug("g_sigmoid")),
                  Mistake("no_cell_tanh", NO_CELL_TANH, _step_fwd_bug("no_cell_tanh"))]),
    "lstm_step_backward": Func(
        S.lstm_step_backward, _step_args,
        ["dx:N D", "dprev_h:N H", "dprev_c:N H", "dWx:D 4H", "dWh:H 4H", "db:4H"],
        backward_of="lstm_step_forward", douts=lambda g, out: [g.x("N H"), g.x("N H")],
        mistakes=[Mistake("lstm_gate_order", GATES, _step_bwd_gates),
                  Mistake("no_dnext_c", NO_DC, _step_bwd_bug("no_dnext_c")),
                  Mistake("no_dnext_h_to_c", NO_DH_C, _step_bwd_bug("no_dnext_h_to_c")),
                  Mistake("no_cell_tanh_derivative", NO_CELL_DTANH,
                          _step_bwd_bug("no_cell_tanh_derivative")),
                  Mistake("sigmoid_derivative_of_preactivation", SIG_A,
                          _step_bwd_bug("sigmoid_of_preactivation")),
                  Mistake("no_tanh_derivative", NO_G_DTANH, _step_bwd_bug("no_tanh_derivative")),
                  Mistake("dprev_c_missing_f", NO_F, _step_bwd_bug("dprev_c_missing_f"))]),
    "lstm_forward": Func(
        S.lstm_forward, _seq_args, ["h:N T H", CACHE], extreme=True,
        mistakes=[Mistake("lstm_gate_order", GATES, _seq_fwd_gates),
                  Mistake("c0_from_h0", C0, _seq_fwd_bug("c0_from_h0")),
                  Mistake("g_sigmoid", G_SIG, _seq_fwd_bug("g_sigmoid")),
                  Mistake("no_cell_tanh", NO_CELL_TANH, _seq_fwd_bug("no_cell_tanh"))]),
    "lstm_backward": Func(
        S.lstm_backward, _seq_args, ["dx:N T D", "dh0:N H", "dWx:D 4H", "dWh:H 4H", "db:4H"],
        backward_of="lstm_forward", douts=lambda g, out: [g.x("N T H")], backward_in_time=True,
        mistakes=[Mistake("lstm_gate_order", GATES, _seq_bwd_gates),
                  Mistake("no_dprev_c_through_time", NO_DPREV_C, _seq_bwd_bug("no_dprev_c")),
                  Mistake("no_dprev_h_through_time", NO_DPREV_H, _seq_bwd_bug("no_dprev_h")),
                  Mistake("backward_loop_forward_in_time", LOOP_FWD, _seq_bwd_bug("loop_forward")),
                  Mistake("grads_overwritten_in_loop", OVERWRITE, _seq_bwd_bug("overwrite")),
                  Mistake("no_dnext_h_to_c", NO_DH_C, _seq_bwd_bug("no_dnext_h_to_c")),
                  Mistake("sigmoid_derivative_of_preactivation", SIG_A,
                          _seq_bwd_bug("sigmoid_of_preactivation")),
                  Mistake("no_tanh_derivative", NO_G_DTANH, _seq_bwd_bug("no_tanh_derivative"))]),
}
