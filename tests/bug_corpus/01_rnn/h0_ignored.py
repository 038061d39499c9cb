"""Bug: starts from zeros instead of h0."""
# function: rnn_forward
# mistake: h0_ignored
# ruff: noqa  (student code: np, sigmoid and the other helpers come from earlier notebook cells)


def rnn_forward(x, h0, Wx, Wh, b):
    N, T, D = x.shape
    H = h0.shape[1]
    h = np.zeros((N, T, H))
    prev_h = np.zeros((N, H))
    for t in range(T):
        prev_h = np.tanh(x[:, t, :] @ Wx + prev_h @ Wh + b)
        h[:, t, :] = prev_h
    return h, (x, h0, Wx, Wh, h)
