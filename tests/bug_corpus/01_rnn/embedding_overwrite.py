"""Bug: dW[x] = dout."""
# function: word_embedding_backward
# mistake: embedding_overwrite
# ruff: noqa  (student code: np, sigmoid and the other helpers come from earlier notebook cells)


def word_embedding_backward(dout, cache):
    x, W_shape = cache
    dW = np.zeros(W_shape)
    dW[x] = dout
    return dW
