"""Bug: db with the wrong sign."""
# function: temporal_affine_backward
# mistake: sign_error
# ruff: noqa  (student code: np, sigmoid and the other helpers come from earlier notebook cells)


def temporal_affine_backward(dout, cache):
    x, w = cache
    N, T, D = x.shape
    M = w.shape[1]
    dx = dout.reshape(N * T, M).dot(w.T).reshape(N, T, D)
    dw = dout.reshape(N * T, M).T.dot(x.reshape(N * T, D)).T
    db = -dout.sum(axis=(0, 1))
    return dx, dw, db
