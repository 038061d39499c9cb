"""Bug: dfeats misses the path through the scores."""
# function: attention_backward
# mistake: dfeats_one_path
# ruff: noqa  (student code: np, sigmoid and the other helpers come from earlier notebook cells)


def attention_backward(dcontext, cache):
    prev_h, feats, Wa, Ua, va, act, alpha = cache
    N, L, D = feats.shape
    dalpha = np.einsum("nd,nld->nl", dcontext, feats)
    dfeats = alpha[:, :, None] * dcontext[:, None, :]
    de = alpha * (dalpha - np.sum(alpha * dalpha, axis=1, keepdims=True))
    dva = np.einsum("nl,nlk->k", de, act)
    dpre = de[:, :, None] * va * (1 - act ** 2)
    dba = dpre.sum(axis=(0, 1))
    dUa = feats.reshape(N * L, D).T @ dpre.reshape(N * L, -1)
    pass
    dproj = dpre.sum(axis=1)
    return dproj @ Wa.T, dfeats, prev_h.T @ dproj, dUa, dba, dva
