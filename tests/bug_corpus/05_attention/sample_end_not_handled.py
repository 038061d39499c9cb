"""Bug: keeps writing after <END>."""
# function: captioning_sample
# mistake: end_not_handled
# ruff: noqa  (student code: np, sigmoid and the other helpers come from earlier notebook cells)


def captioning_sample(params, feats, start_idx=1, end_idx=2, null_idx=0, max_length=16):
    """Greedy decoding with attention: at each step feed back the most likely word.

    Inputs:
    - params: the parameter dict described in the module docstring
    - feats: image feature grids, shape (N, L, D)
    - start_idx, end_idx, null_idx: the <START>, <END> and <NULL> tokens
    - max_length: number of words to generate

    Returns:
    - captions: generated words, shape (N, max_length); a caption's <END> is kept and every
      position after it is null_idx
    - alphas: attention weights used for each generated word, shape (N, max_length, L)
      (zero after <END>)
    """
    dims = _check_params('captioning_sample', params, feats)
    if max_length < 1:
        raise ValueError(f'captioning_sample: max_length must be at least 1, got {max_length}')
    p = params
    N, L = (dims['N'], dims['L'])
    h = feats.mean(axis=1) @ p['W_init'] + p['b_init']
    c = np.zeros_like(h)
    word = np.full(N, start_idx, dtype=np.int64)
    done = np.zeros(N, dtype=bool)
    captions = np.full((N, max_length), null_idx, dtype=np.int64)
    alphas = np.zeros((N, max_length, L))
    for t in range(max_length):
        ctx, alpha, _ = attention_forward(h, feats, p['Wa'], p['Ua'], p['ba'], p['va'])
        x = np.concatenate([p['W_embed'][word], ctx], axis=1)
        h, c, _ = lstm_step_forward(x, h, c, p['Wx'], p['Wh'], p['b'])
        word = np.argmax(h @ p['W_vocab'] + p['b_vocab'], axis=1)
        captions[~done, t] = word[~done]
        alphas[~done, t] = alpha[~done]
    return (captions, alphas)
