"""Bug: dn not multiplied by 1 - n**2."""
# function: gru_step_backward
# mistake: no_tanh_derivative
# ruff: noqa  (student code: np, sigmoid and the other helpers come from earlier notebook cells)


def gru_step_backward(dnext_h, cache):
    x, prev_h, Wx, Wh, r, z, n, hn = cache
    dn = dnext_h * (1 - z)
    dz = dnext_h * (prev_h - n)
    dan = dn
    dar = dan * hn * r * (1 - r)
    daz = dz * z * (1 - z)
    dgx = np.hstack([dar, daz, dan])
    dgh = np.hstack([dar, daz, dan * r])
    dprev_h = dnext_h * z + dgh @ Wh.T
    return dgx @ Wx.T, dprev_h, x.T @ dgx, prev_h.T @ dgh, dgx.sum(axis=0), dgh.sum(axis=0)
