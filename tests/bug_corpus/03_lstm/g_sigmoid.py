"""Bug: all four blocks through a sigmoid."""
# function: lstm_step_forward
# mistake: g_sigmoid
# ruff: noqa  (student code: np, sigmoid and the other helpers come from earlier notebook cells)


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    s = sigmoid(a); i, f, o, g = s[:, :H], s[:, H:2*H], s[:, 2*H:3*H], s[:, 3*H:]
    next_c = f * prev_c + i * g
    next_h = o * np.tanh(next_c)
    return next_h, next_c, (x, prev_h, prev_c, Wx, Wh, i, f, o, g, np.tanh(next_c))
