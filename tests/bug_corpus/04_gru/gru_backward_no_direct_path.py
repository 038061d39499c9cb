"""Bug: dprev_h misses dnext_h * z."""
# function: gru_backward
# mistake: gru_no_direct_path
# ruff: noqa  (student code: np, sigmoid and the other helpers come from earlier notebook cells)


def gru_backward(dh, cache):
    x, h0, Wx, Wh, h, saved = cache
    N, T, H = dh.shape
    dx = np.zeros_like(x); dWx = np.zeros_like(Wx); dWh = np.zeros_like(Wh)
    dbx = np.zeros(3 * H); dbh = np.zeros(3 * H)
    dprev_h = np.zeros_like(h0)
    for t in reversed(range(T)):
        r, z, n, hn = (saved[:, t, k * H:(k + 1) * H] for k in range(4))
        prev_h = h[:, t - 1] if t > 0 else h0
        dnext = dh[:, t] + dprev_h
        dan = dnext * (1 - z) * (1 - n ** 2)
        dar = dan * hn * r * (1 - r)
        daz = dnext * (prev_h - n) * z * (1 - z)
        dgx = np.hstack([dar, daz, dan])
        dgh = np.hstack([dar, daz, dan * r])
        dx[:, t] = dgx @ Wx.T
        dprev_h = 0 + dgh @ Wh.T
        dWx += x[:, t].T @ dgx
        dWh += prev_h.T @ dgh
        dbx += dgx.sum(axis=0)
        dbh += dgh.sum(axis=0)
    return dx, dprev_h, dWx, dWh, dbx, dbh
