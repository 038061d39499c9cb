"""Bug: next_h = o * next_c."""
# function: lstm_step_forward
# mistake: no_cell_tanh
# ruff: noqa  (student code: np, sigmoid and the other helpers come from earlier notebook cells)


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i = sigmoid(a[:, :H]); f = sigmoid(a[:, H:2*H]); o = sigmoid(a[:, 2*H:3*H]); g = np.tanh(a[:, 3*H:])
    next_c = f * prev_c + i * g
    next_h = o * next_c
    return next_h, next_c, (x, prev_h, prev_c, Wx, Wh, i, f, o, g, np.tanh(next_c))
