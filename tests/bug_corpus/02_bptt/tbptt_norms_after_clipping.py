"""Bug: records the clipped norm."""
# function: tbptt_train
# mistake: norms_after_clipping
# ruff: noqa  (student code: np, sigmoid and the other helpers come from earlier notebook cells)


def tbptt_train(loss_fn, params, data, h0, seq_len, learning_rate, max_norm=None):
    params = dict(params)
    N, S = data.shape
    h = h0
    losses, norms = [], []
    for start in range(0, S - 1, seq_len):
        end = min(start + seq_len, S - 1)
        loss, grads, h = loss_fn(params, data[:, start:end], data[:, start + 1:end + 1], h)
        if max_norm is not None:
            grads, _ = clip_grad_norm(grads, max_norm)
        norm = float(np.sqrt(sum(np.sum(g ** 2) for g in grads.values())))
        params = {k: v - learning_rate * grads[k] for k, v in params.items()}
        losses.append(float(loss))
        norms.append(norm)
    return params, np.array(losses), np.array(norms)
