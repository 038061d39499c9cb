"""Bug: h reset to h0 for every chunk."""
# function: tbptt_train
# mistake: state_not_carried
# ruff: noqa  (student code: np, sigmoid and the other helpers come from earlier notebook cells)


def tbptt_train(loss_fn, params, data, h0, seq_len, learning_rate, max_norm=None):
    params = dict(params)
    N, S = data.shape
    losses, norms = [], []
    for start in range(0, S - 1, seq_len):
        end = min(start + seq_len, S - 1)
        loss, grads, h = loss_fn(params, data[:, start:end], data[:, start + 1:end + 1], h0)
        grads, norm = clip_grad_norm(grads, np.inf if max_norm is None else max_norm)
        params = {k: v - learning_rate * grads[k] for k, v in params.items()}
        losses.append(float(loss))
        norms.append(norm)
    return params, np.array(losses), np.array(norms)
