"""Bug: next_h = z * n + (1 - z) * prev_h."""
# function: gru_forward
# mistake: gru_z_swapped
# ruff: noqa  (student code: np, sigmoid and the other helpers come from earlier notebook cells)


def gru_forward(x, h0, Wx, Wh, bx, bh):
    N, T, D = x.shape
    H = h0.shape[1]
    h = np.zeros((N, T, H))
    saved = np.zeros((N, T, 4 * H))
    prev_h = h0
    for t in range(T):
        gx = x[:, t] @ Wx + bx
        gh = prev_h @ Wh + bh
        r = sigmoid(gx[:, :H] + gh[:, :H])
        z = sigmoid(gx[:, H:2 * H] + gh[:, H:2 * H])
        n = np.tanh(gx[:, 2 * H:] + r * gh[:, 2 * H:])
        prev_h = z * n + (1 - z) * prev_h
        h[:, t] = prev_h
        saved[:, t] = np.hstack([r, z, n, gh[:, 2 * H:]])
    return h, (x, h0, Wx, Wh, h, saved)
