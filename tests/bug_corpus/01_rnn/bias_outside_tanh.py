"""Bug: b added after the tanh."""
# function: rnn_step_forward
# mistake: bias_outside_tanh
# ruff: noqa  (student code: np, sigmoid and the other helpers come from earlier notebook cells)


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    next_h = np.tanh(x.dot(Wx) + prev_h.dot(Wh)) + b
    cache = (x, prev_h, Wx, Wh, next_h)
    return next_h, cache
