"""Bug: for t in range(T) in BPTT."""
# function: rnn_backward
# mistake: backward_loop_forward_in_time
# ruff: noqa  (student code: np, sigmoid and the other helpers come from earlier notebook cells)


def rnn_backward(dh, cache):
    x, h0, Wx, Wh, h = cache
    N, T, H = dh.shape
    dx = np.zeros_like(x); dWx = np.zeros_like(Wx); dWh = np.zeros_like(Wh); db = np.zeros(H)
    dprev_h = np.zeros_like(h0)
    for t in range(T):
        prev_h = h[:, t - 1] if t > 0 else h0
        da = (dh[:, t] + dprev_h) * (1 - h[:, t] ** 2)
        dx[:, t] = da @ Wx.T
        dprev_h = da @ Wh.T
        dWx += x[:, t].T @ da
        dWh += prev_h.T @ da
        db += da.sum(axis=0)
    return dx, dprev_h, dWx, dWh, db
