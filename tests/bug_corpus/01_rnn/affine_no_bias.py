"""Bug: b forgotten."""
# function: temporal_affine_forward
# mistake: affine_no_bias
# ruff: noqa  (student code: np, sigmoid and the other helpers come from earlier notebook cells)


def temporal_affine_forward(x, w, b):
    N, T, D = x.shape
    M = w.shape[1]
    out = x.reshape(N * T, D).dot(w).reshape(N, T, M)
    cache = (x, w)
    return out, cache
