"""Bug: z read from the first block, r from the second."""
# function: gru_step_forward
# mistake: gru_rz_swapped
# ruff: noqa  (student code: np, sigmoid and the other helpers come from earlier notebook cells)


def gru_step_forward(x, prev_h, Wx, Wh, bx, bh):
    H = prev_h.shape[1]
    gx = x @ Wx + bx
    gh = prev_h @ Wh + bh
    z = sigmoid(gx[:, :H] + gh[:, :H]); r = sigmoid(gx[:, H:2*H] + gh[:, H:2*H]); n = np.tanh(gx[:, 2*H:] + r * gh[:, 2*H:]); next_h = (1 - z) * n + z * prev_h
    return next_h, (x, prev_h, Wx, Wh, r, z, n, gh[:, 2 * H:])
