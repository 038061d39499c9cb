"""Hidden tests of assignment 03_lstm: LSTM step and sequence, forward and backward."""

from __future__ import annotations

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


FUNCTIONS = {
    "lstm_step_forward": Func(S.lstm_step_forward, _step_args, ["next_h:N H", "next_c:N H", CACHE],
                              mistakes=[Mistake("lstm_gate_order", GATES, _step_fwd_gates)]),
    "lstm_step_backward": Func(
        S.lstm_step_backward, _step_args,
        ["dx:N D", "dprev_h:N H", "dprev_c:N H", "dWx:D 4H", "dWh:H 4H", "db:4H"],
        backward_of="lstm_step_forward", douts=lambda g, out: [g.x("N H"), g.x("N H")],
        mistakes=[Mistake("lstm_gate_order", GATES, _step_bwd_gates)]),
    "lstm_forward": Func(S.lstm_forward, _seq_args, ["h:N T H", CACHE],
                         mistakes=[Mistake("lstm_gate_order", GATES, _seq_fwd_gates)]),
    "lstm_backward": Func(
        S.lstm_backward, _seq_args, ["dx:N T D", "dh0:N H", "dWx:D 4H", "dWh:H 4H", "db:4H"],
        backward_of="lstm_forward", douts=lambda g, out: [g.x("N T H")], backward_in_time=True,
        mistakes=[Mistake("lstm_gate_order", GATES, _seq_bwd_gates)]),
}
