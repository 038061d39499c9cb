"""Bug: for t in range(T)."""
# function: lstm_backward
# mistake: backward_loop_forward_in_time
# ruff: noqa  (student code: np, sigmoid and the other helpers come from earlier notebook cells)


def lstm_backward(dh, cache):
    x, h0, Wx, Wh, h, c, gates = cache
    N, T, H = dh.shape
    D = x.shape[2]
    dx = np.zeros((N, T, D)); dWx = np.zeros_like(Wx); dWh = np.zeros_like(Wh); db = np.zeros(4 * H)
    dprev_h = np.zeros((N, H)); dprev_c = np.zeros((N, H))
    for t in range(T):
        i, f, o, g = (gates[:, t, k * H:(k + 1) * H] for k in range(4))
        prev_c = c[:, t - 1] if t > 0 else np.zeros((N, H))
        prev_h = h[:, t - 1] if t > 0 else h0
        tanh_c = np.tanh(c[:, t])
        dnext_h = dh[:, t] + dprev_h
        dc = dprev_c + dnext_h * o * (1 - tanh_c ** 2)
        da = np.hstack([dc * g * i * (1 - i), dc * prev_c * f * (1 - f),
                        dnext_h * tanh_c * o * (1 - o), dc * i * (1 - g ** 2)])
        dx[:, t] = da @ Wx.T
        dprev_h = da @ Wh.T
        dprev_c = dc * f
        dWx += x[:, t].T @ da
        dWh += prev_h.T @ da
        db += da.sum(axis=0)
    return dx, dprev_h, dWx, dWh, db
