"""Bug: c0 = h0."""
# function: lstm_forward
# mistake: c0_from_h0
# ruff: noqa  (student code: np, sigmoid and the other helpers come from earlier notebook cells)


def lstm_forward(x, h0, Wx, Wh, b):
    N, T, D = x.shape
    H = h0.shape[1]
    h = np.zeros((N, T, H))
    c = np.zeros((N, T, H))
    gates = np.zeros((N, T, 4 * H))
    prev_h, prev_c = h0, h0
    for t in range(T):
        a = x[:, t] @ Wx + prev_h @ Wh + b
        i, f, o, g = sigmoid(a[:, :H]), sigmoid(a[:, H:2*H]), sigmoid(a[:, 2*H:3*H]), np.tanh(a[:, 3*H:])
        prev_c = f * prev_c + i * g
        prev_h = o * np.tanh(prev_c)
        h[:, t], c[:, t] = prev_h, prev_c
        gates[:, t] = np.hstack([i, f, o, g])
    return h, (x, h0, Wx, Wh, h, c, gates)
