"""Bug: always rescales to max_norm."""
# function: clip_grad_norm
# mistake: clip_scales_up
# ruff: noqa  (student code: np, sigmoid and the other helpers come from earlier notebook cells)


def clip_grad_norm(grads, max_norm):
    items = list(grads.values()) if isinstance(grads, dict) else list(grads)
    total_norm = float(np.sqrt(sum(np.sum(g ** 2) for g in items)))
    clipped = [g * (max_norm / total_norm) for g in items]
    if isinstance(grads, dict):
        return dict(zip(grads.keys(), clipped)), total_norm
    return clipped, total_norm
