"""Bug: exp(e) without subtracting the max."""
# function: attention_forward
# mistake: numerically_unstable
# ruff: noqa  (student code: np, sigmoid and the other helpers come from earlier notebook cells)


def attention_forward(prev_h, feats, Wa, Ua, ba, va):
    act = np.tanh((prev_h @ Wa)[:, None, :] + feats @ Ua + ba)
    e = act @ va
    alpha = np.exp(e); alpha = alpha / alpha.sum(axis=1, keepdims=True); context = np.einsum('nl,nld->nd', alpha, feats)
    return context, alpha, (prev_h, feats, Wa, Ua, va, act, alpha)
