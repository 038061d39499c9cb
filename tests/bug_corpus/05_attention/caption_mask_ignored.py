"""Bug: <NULL> targets not masked."""
# function: captioning_loss
# mistake: mask_ignored
# ruff: noqa  (student code: np, sigmoid and the other helpers come from earlier notebook cells)


def captioning_loss(params, feats, captions, null_idx=0):
    """Training loss of the attention captioner and the gradient of every parameter.

    Inputs:
    - params: the parameter dict described in the module docstring
    - feats: image feature grids, shape (N, L, D)
    - captions: integer captions, shape (N, T + 1), starting with <START>; the model reads
      captions[:, :-1] and predicts captions[:, 1:], ignoring positions whose target is null_idx
    - null_idx: the padding token <NULL>

    Returns:
    - loss: temporal softmax loss, summed over time and averaged over the batch
    - grads: dict with the same keys and shapes as params
    """
    dims = _check_params('captioning_loss', params, feats)
    check_shapes('captioning_loss', captions=(captions, f"{dims['N']} T1"))
    check_indices('captioning_loss', 'captions', captions, dims['V'], 'the vocabulary')
    if captions.shape[1] < 2:
        raise ValueError('captioning_loss: captions must have at least 2 columns (<START> and a target)')
    p = params
    E = dims['E']
    cap_in, cap_out = (captions[:, :-1], captions[:, 1:])
    mask = cap_out != null_idx
    N, T = cap_in.shape
    mean_feats = feats.mean(axis=1)
    h = mean_feats @ p['W_init'] + p['b_init']
    c = np.zeros_like(h)
    emb, emb_cache = word_embedding_forward(cap_in, p['W_embed'])
    hs = np.empty((N, T, h.shape[1]))
    step_caches = []
    for t in range(T):
        ctx, _, att_cache = attention_forward(h, feats, p['Wa'], p['Ua'], p['ba'], p['va'])
        h, c, lstm_cache = lstm_step_forward(np.concatenate([emb[:, t], ctx], axis=1), h, c, p['Wx'], p['Wh'], p['b'])
        hs[:, t] = h
        step_caches.append((att_cache, lstm_cache))
    scores, aff_cache = temporal_affine_forward(hs, p['W_vocab'], p['b_vocab'])
    loss, dscores = temporal_softmax_loss(scores, cap_out, np.ones_like(mask))
    grads = {k: np.zeros_like(v, dtype=np.float64) for k, v in p.items()}
    dhs, grads['W_vocab'], grads['b_vocab'] = temporal_affine_backward(dscores, aff_cache)
    demb = np.empty_like(emb)
    dh, dc = (np.zeros_like(h), np.zeros_like(c))
    for t in reversed(range(T)):
        att_cache, lstm_cache = step_caches[t]
        dx, dh, dc, dWx, dWh, db = lstm_step_backward(dhs[:, t] + dh, dc, lstm_cache)
        grads['Wx'] += dWx
        grads['Wh'] += dWh
        grads['b'] += db
        demb[:, t] = dx[:, :E]
        dh_att, _, dWa, dUa, dba, dva = attention_backward(dx[:, E:], att_cache)
        dh += dh_att
        for k, g in zip(('Wa', 'Ua', 'ba', 'va'), (dWa, dUa, dba, dva), strict=True):
            grads[k] += g
    grads['W_embed'] = word_embedding_backward(demb, emb_cache)
    grads['W_init'] = mean_feats.T @ dh
    grads['b_init'] = dh.sum(axis=0)
    return (loss, grads)
