"""Bug: the probabilities are normalised over time (axis 1) instead of over the V scores."""
# function: temporal_softmax_loss
# mistake: softmax_wrong_axis
# ruff: noqa  (student code: np, sigmoid and the other helpers come from earlier notebook cells)


def temporal_softmax_loss(x, y, mask):
    N, T, V = x.shape
    probs = np.exp(x - np.max(x, axis=2, keepdims=True))
    probs /= np.sum(probs, axis=1, keepdims=True)
    probs = probs.reshape(N * T, V)
    y_flat, mask_flat = y.reshape(N * T), mask.reshape(N * T)
    loss = -np.sum(mask_flat * np.log(probs[np.arange(N * T), y_flat])) / N
    dx_flat = probs.copy()
    dx_flat[np.arange(N * T), y_flat] -= 1
    dx_flat /= N
    dx_flat *= mask_flat[:, None]
    return loss, dx_flat.reshape(N, T, V)
