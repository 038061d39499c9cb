"""Bug: Cho et al. form r * prev_h before Wh_n."""
# function: gru_step_forward
# mistake: gru_reset_before_matmul
# ruff: noqa  (student code: np, sigmoid and the other helpers come from earlier notebook cells)


def gru_step_forward(x, prev_h, Wx, Wh, bx, bh):
    H = prev_h.shape[1]
    gx = x @ Wx + bx
    gh = prev_h @ Wh + bh
    r = sigmoid(gx[:, :H] + gh[:, :H]); z = sigmoid(gx[:, H:2*H] + gh[:, H:2*H]); n = np.tanh(gx[:, 2*H:] + (r * prev_h) @ Wh[:, 2*H:] + bh[2*H:]); next_h = (1 - z) * n + z * prev_h
    return next_h, (x, prev_h, Wx, Wh, r, z, n, gh[:, 2 * H:])
