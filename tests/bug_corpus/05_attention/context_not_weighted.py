"""Bug: context = mean of the features."""
# function: attention_forward
# mistake: context_not_weighted
# ruff: noqa  (student code: np, sigmoid and the other helpers come from earlier notebook cells)


def attention_forward(prev_h, feats, Wa, Ua, ba, va):
    act = np.tanh((prev_h @ Wa)[:, None, :] + feats @ Ua + ba)
    e = act @ va
    alpha = np.exp(e - e.max(axis=1, keepdims=True)); alpha = alpha / alpha.sum(axis=1, keepdims=True); context = feats.mean(axis=1)
    return context, alpha, (prev_h, feats, Wa, Ua, va, act, alpha)
