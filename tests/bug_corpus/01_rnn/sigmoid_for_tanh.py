"""Bug: a logistic sigmoid instead of tanh."""
# function: rnn_step_forward
# mistake: sigmoid_for_tanh
# ruff: noqa  (student code: np, sigmoid and the other helpers come from earlier notebook cells)


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    a = x @ Wx + prev_h @ Wh + b
    next_h = 1.0 / (1.0 + np.exp(-a))
    cache = (x, prev_h, Wx, Wh, next_h)
    return next_h, cache
