"""Bug: da = dnext_h."""
# function: rnn_step_backward
# mistake: no_tanh_derivative
# ruff: noqa  (student code: np, sigmoid and the other helpers come from earlier notebook cells)


def rnn_step_backward(dnext_h, cache):
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h
    dx = da @ Wx.T
    dprev_h = da @ Wh.T
    dWx = x.T @ da
    dWh = prev_h.T @ da
    db = np.sum(da, axis=0)
    return dx, dprev_h, dWx, dWh, db
