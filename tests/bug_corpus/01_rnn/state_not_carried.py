"""Bug: every step starts from h0."""
# function: rnn_forward
# mistake: state_not_carried
# ruff: noqa  (student code: np, sigmoid and the other helpers come from earlier notebook cells)


def rnn_forward(x, h0, Wx, Wh, b):
    N, T, D = x.shape
    H = h0.shape[1]
    h = np.zeros((N, T, H))
    for t in range(T):
        h[:, t, :] = np.tanh(x[:, t, :] @ Wx + h0 @ Wh + b)
    return h, (x, h0, Wx, Wh, h)
