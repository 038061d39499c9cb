"""Bug: each gradient clipped by its own norm."""
# function: clip_grad_norm
# mistake: clip_each_array
# ruff: noqa  (student code: np, sigmoid and the other helpers come from earlier notebook cells)


def clip_grad_norm(grads, max_norm):
    items = list(grads.values()) if isinstance(grads, dict) else list(grads)
    total_norm = float(np.sqrt(sum(np.sum(g ** 2) for g in items)))
    clipped = []
    for g in items:
        n = np.sqrt(np.sum(g ** 2))
        clipped.append(g * min(1.0, max_norm / (n + 1e-6)))
    if isinstance(grads, dict):
        return dict(zip(grads.keys(), clipped)), total_norm
    return clipped, total_norm
