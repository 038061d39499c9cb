"""PyTorch models for the course: character models, long-range regressors, and attention captioning.

Every model can hand its weights over as numpy arrays in the conventions of the course's numpy
layers (CS231n style): ``x @ Wx`` with Wx of shape (D, H), LSTM gate blocks ordered i, f, o, g,
GRU in ``torch.nn.GRU`` form (blocks r, z, n with two biases). PyTorch stores LSTM gates as
i, f, g, o and weights transposed, so ``numpy_params`` reorders and transposes.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .shapes import COLORS, END, NULL, SHAPES, START

_KINDS = ("rnn", "lstm", "gru")


def _to_np(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy().astype(np.float64)


def _lstm_torch_to_course(w: torch.Tensor, H: int) -> torch.Tensor:
    """Reorder the gate blocks of a (4H, ...) torch LSTM tensor from i,f,g,o to i,f,o,g."""
    i, f, g, o = w[:H], w[H : 2 * H], w[2 * H : 3 * H], w[3 * H :]
    return torch.cat([i, f, o, g], dim=0)


def _lstm_course_to_torch(w: torch.Tensor, H: int) -> torch.Tensor:
    """Reorder gate blocks from i,f,o,g (course) to i,f,g,o (torch)."""
    i, f, o, g = w[:H], w[H : 2 * H], w[2 * H : 3 * H], w[3 * H :]
    return torch.cat([i, f, g, o], dim=0)


def _recurrent_to_numpy(cell: nn.RNNBase, kind: str) -> dict[str, np.ndarray]:
    """Weights of a one-layer torch RNN/LSTM/GRU in the course's numpy convention."""
    W_ih, W_hh = cell.weight_ih_l0, cell.weight_hh_l0
    b_ih, b_hh = cell.bias_ih_l0, cell.bias_hh_l0
    H = cell.hidden_size
    if kind == "rnn":
        return {"Wx": _to_np(W_ih.T), "Wh": _to_np(W_hh.T), "b": _to_np(b_ih + b_hh)}
    if kind == "lstm":
        return {"Wx": _to_np(_lstm_torch_to_course(W_ih, H).T),
                "Wh": _to_np(_lstm_torch_to_course(W_hh, H).T),
                "b": _to_np(_lstm_torch_to_course(b_ih + b_hh, H))}
    return {"Wx": _to_np(W_ih.T), "Wh": _to_np(W_hh.T), "bx": _to_np(b_ih), "bh": _to_np(b_hh)}


@torch.no_grad()
def _recurrent_from_numpy(cell: nn.RNNBase, kind: str, p: dict[str, np.ndarray]) -> None:
    """Inverse of _recurrent_to_numpy (for RNN and LSTM the summed bias goes to bias_ih)."""
    dtype = cell.weight_ih_l0.dtype
    names = ("Wx", "Wh", "bx", "bh") if kind == "gru" else ("Wx", "Wh", "b")
    t = {k: torch.as_tensor(np.asarray(p[k]), dtype=dtype) for k in names}
    H = cell.hidden_size
    if kind == "gru":
        cell.weight_ih_l0.copy_(t["Wx"].T)
        cell.weight_hh_l0.copy_(t["Wh"].T)
        cell.bias_ih_l0.copy_(t["bx"])
        cell.bias_hh_l0.copy_(t["bh"])
        return
    Wx, Wh, b = t["Wx"].T, t["Wh"].T, t["b"]
    if kind == "lstm":
        Wx, Wh, b = (_lstm_course_to_torch(w, H) for w in (Wx, Wh, b))
    cell.weight_ih_l0.copy_(Wx)
    cell.weight_hh_l0.copy_(Wh)
    cell.bias_ih_l0.copy_(b)
    cell.bias_hh_l0.zero_()


def _make_cell(kind: str, input_size: int, hidden_size: int) -> nn.RNNBase:
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {_KINDS}, got {kind!r}")
    if kind == "rnn":
        return nn.RNN(input_size, hidden_size, nonlinearity="tanh", batch_first=True)
    if kind == "lstm":
        return nn.LSTM(input_size, hidden_size, batch_first=True)
    return nn.GRU(input_size, hidden_size, batch_first=True)


class CharRNN(nn.Module):
    """Character language model: one-hot input -> tanh RNN or LSTM -> affine scores.

    h_t = tanh(x_t Wx + h_{t-1} Wh + b)  (or the LSTM update),  y_t = h_t Wy + by.
    """

    def __init__(self, vocab_size: int, hidden_size: int = 128, kind: str = "rnn"):
        super().__init__()
        if kind not in ("rnn", "lstm"):
            raise ValueError(f"CharRNN: kind must be 'rnn' or 'lstm', got {kind!r}")
        self.kind, self.vocab_size, self.hidden_size = kind, vocab_size, hidden_size
        self.rnn = _make_cell(kind, vocab_size, hidden_size)
        self.out = nn.Linear(hidden_size, vocab_size)

    def forward(self, x: torch.Tensor, state=None):
        """x: int (N, T) -> scores (N, T, V) and the final state (h, or (h, c) for LSTM)."""
        onehot = F.one_hot(x, self.vocab_size).to(self.out.weight.dtype)
        h, state = self.rnn(onehot, state)
        return self.out(h), state

    def numpy_params(self) -> dict[str, np.ndarray]:
        """float64 Wx (V,H), Wh (H,H), b (H,), Wy (H,V), by (V,) (LSTM: 4H blocks i,f,o,g)."""
        p = _recurrent_to_numpy(self.rnn, self.kind)
        p["Wy"] = _to_np(self.out.weight.T)
        p["by"] = _to_np(self.out.bias)
        return p

    @torch.no_grad()
    def load_numpy_params(self, p: dict[str, np.ndarray]) -> CharRNN:
        _recurrent_from_numpy(self.rnn, self.kind, p)
        self.out.weight.copy_(torch.as_tensor(np.asarray(p["Wy"]).T))
        self.out.bias.copy_(torch.as_tensor(np.asarray(p["by"])))
        return self


class SequenceRegressor(nn.Module):
    """Read a sequence with an RNN, LSTM or GRU and predict one number from the last hidden state."""

    def __init__(self, kind: str = "lstm", input_size: int = 2, hidden_size: int = 64):
        super().__init__()
        self.kind, self.hidden_size = kind, hidden_size
        self.rnn = _make_cell(kind, input_size, hidden_size)
        self.head = nn.Linear(hidden_size, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, T, D) -> predictions (N,)."""
        h, _ = self.rnn(x)
        return self.head(h[:, -1]).squeeze(-1)

    def numpy_params(self) -> dict[str, np.ndarray]:
        """Recurrent weights in the course convention plus w_out (H,), b_out ()."""
        p = _recurrent_to_numpy(self.rnn, self.kind)
        p["w_out"] = _to_np(self.head.weight[0])
        p["b_out"] = _to_np(self.head.bias[0])
        return p

    @torch.no_grad()
    def load_numpy_params(self, p: dict[str, np.ndarray]) -> SequenceRegressor:
        _recurrent_from_numpy(self.rnn, self.kind, p)
        self.head.weight.copy_(torch.as_tensor(np.asarray(p["w_out"]))[None])
        self.head.bias.copy_(torch.as_tensor(np.asarray(p["b_out"])).reshape(1))
        return self


def images_to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 (N, 64, 64, 3) -> float32 (N, 3, 64, 64) in [0, 1]."""
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"images must have shape (N, H, W, 3), got {images.shape}")
    return torch.from_numpy(images).permute(0, 3, 1, 2).float().div_(255.0)


class ShapesEncoder(nn.Module):
    """A small CNN: (N, 3, 64, 64) images -> a 4x4 grid of feature vectors (N, L=16, D).

    Every layer is a 2x2 convolution with stride 2 (then a 1x1 one), so each of the 16 cells is
    computed from its own 16x16 patch of the image and nothing else: a feature vector describes
    one region, and attention weights point at image regions. The last 8 of the D dimensions say
    where the cell is (one-hot column, then one-hot row), so the decoder can tell left from right.

    It is trained first on its own (``cell_logits``: say, for every cell, which colour and which
    shape lies there, or none), the way captioning models start from a CNN trained for
    classification; the captioner is then trained on its frozen features.
    """

    grid = 4

    def __init__(self, feat_dim: int = 64, n_colors: int = len(COLORS),
                 n_shapes: int = len(SHAPES)):
        super().__init__()
        if feat_dim < 9:
            raise ValueError(f"ShapesEncoder: feat_dim must be >= 9, got {feat_dim}")
        self.feat_dim = feat_dim
        self.n_colors, self.n_shapes = n_colors, n_shapes
        self.net = nn.Sequential(
            nn.Conv2d(3, 32, 2, stride=2), nn.ReLU(),        # 64 -> 32
            nn.Conv2d(32, 48, 2, stride=2), nn.ReLU(),       # 32 -> 16
            nn.Conv2d(48, 64, 2, stride=2), nn.ReLU(),       # 16 -> 8
            nn.Conv2d(64, 96, 2, stride=2), nn.ReLU(),       # 8 -> 4
            nn.Conv2d(96, feat_dim - 2 * self.grid, 1), nn.ReLU(),
        )
        # Pre-training head: per cell, colour (n_colors + "none") and shape (n_shapes + "none").
        self.cell_head = nn.Linear(feat_dim, n_colors + 1 + n_shapes + 1)

    def forward(self, images: torch.Tensor | np.ndarray) -> torch.Tensor:
        """images: uint8 numpy (N, 64, 64, 3) or float tensor (N, 3, 64, 64) -> (N, 16, D)."""
        if isinstance(images, np.ndarray):
            images = images_to_tensor(images)
        images = images.to(self.net[0].weight.dtype)
        f = self.net(images).flatten(2).transpose(1, 2)        # (N, 16, D-8), cells row-major
        g = self.grid
        cell = torch.arange(g * g)
        # where each cell is: one-hot column (4 dims) and one-hot row (4 dims)
        where = torch.cat([F.one_hot(cell % g, g), F.one_hot(cell // g, g)], dim=1).to(f.dtype)
        return torch.cat([f, where.expand(f.shape[0], -1, -1)], dim=2)

    def cell_logits(self, feats: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """feats (N, L, D) -> colour scores (N, L, n_colors+1), shape scores (N, L, n_shapes+1);
        class 0 means "no object in this cell"."""
        out = self.cell_head(feats)
        return out[..., : self.n_colors + 1], out[..., self.n_colors + 1 :]


class _NamedNumpyParams:
    """numpy_params / load_numpy_params for a model whose weights are the attributes listed in
    ``PARAM_NAMES`` (the names of the numpy captioning model)."""

    PARAM_NAMES: tuple[str, ...] = ()

    def numpy_params(self) -> dict[str, np.ndarray]:
        """The weights as float64 numpy arrays, named as in the numpy captioning model."""
        return {name: _to_np(getattr(self, name)) for name in self.PARAM_NAMES}

    @torch.no_grad()
    def load_numpy_params(self, p: dict[str, np.ndarray]):
        """Copy ``p[name]`` into every weight; raises ValueError naming a weight of another shape."""
        for name in self.PARAM_NAMES:
            target = getattr(self, name)
            value = torch.as_tensor(np.asarray(p[name]), dtype=target.dtype)
            if value.shape != target.shape:
                raise ValueError(f"load_numpy_params: {name} must have shape "
                                 f"{tuple(target.shape)}, got {tuple(value.shape)}")
            target.copy_(value)
        return self


class AttentionCaptioner(_NamedNumpyParams, nn.Module):
    """LSTM caption decoder with additive (Bahdanau / Xu et al. 2015) attention.

    The parameters carry the names and shapes of the course's numpy captioning model, and the
    maths is the same step by step:

        h_0 = mean_l(feats) W_init + b_init,  c_0 = 0
        e_t = tanh(h_{t-1} Wa + feats Ua + ba) va        (N, L)
        alpha_t = softmax_L(e_t),  context_t = sum_l alpha_{t,l} feats_l
        x_t = [W_embed[w_t], context_t]
        a = x_t Wx + h_{t-1} Wh + b, split into gates i, f, o, g
        c_t = sigmoid(f) * c_{t-1} + sigmoid(i) * tanh(g),  h_t = sigmoid(o) * tanh(c_t)
        scores_t = h_t W_vocab + b_vocab
    """

    PARAM_NAMES = ("W_init", "b_init", "W_embed", "Wa", "Ua", "ba", "va",
                   "Wx", "Wh", "b", "W_vocab", "b_vocab")

    def __init__(self, vocab_size: int, feat_dim: int = 64, hidden_dim: int = 128,
                 embed_dim: int = 32, attn_dim: int = 64):
        super().__init__()
        V, D, H, E, K = vocab_size, feat_dim, hidden_dim, embed_dim, attn_dim
        self.sizes = {"V": V, "D": D, "H": H, "E": E, "K": K}

        def param(*shape: int, scale: float | None = None) -> nn.Parameter:
            if scale is None:  # biases
                return nn.Parameter(torch.zeros(*shape))
            return nn.Parameter(torch.randn(*shape) * scale)

        self.W_init = param(D, H, scale=D**-0.5)
        self.b_init = param(H)
        self.W_embed = param(V, E, scale=0.1)
        self.Wa = param(H, K, scale=H**-0.5)
        self.Ua = param(D, K, scale=D**-0.5)
        self.ba = param(K)
        self.va = param(K, scale=K**-0.5)
        self.Wx = param(E + D, 4 * H, scale=(E + D) ** -0.5)
        self.Wh = param(H, 4 * H, scale=H**-0.5)
        self.b = param(4 * H)
        with torch.no_grad():
            self.b[H : 2 * H] = 1.0   # forget gate bias 1: remember by default early in training
        self.W_vocab = param(H, V, scale=H**-0.5)
        self.b_vocab = param(V)

    def init_state(self, feats: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = feats.mean(dim=1) @ self.W_init + self.b_init
        return h, torch.zeros_like(h)

    def attend(self, prev_h: torch.Tensor, feats: torch.Tensor,
               feats_proj: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """prev_h (N,H), feats (N,L,D) -> context (N,D), alpha (N,L)."""
        if feats_proj is None:
            feats_proj = feats @ self.Ua
        e = torch.tanh((prev_h @ self.Wa)[:, None, :] + feats_proj + self.ba) @ self.va
        alpha = torch.softmax(e, dim=1)
        context = (alpha[:, :, None] * feats).sum(dim=1)
        return context, alpha

    def step(self, word: torch.Tensor, h: torch.Tensor, c: torch.Tensor, feats: torch.Tensor,
             feats_proj: torch.Tensor):
        """One decoder step: word (N,) int -> scores (N,V), h, c, alpha (N,L)."""
        context, alpha = self.attend(h, feats, feats_proj)
        x = torch.cat([self.W_embed[word], context], dim=1)
        a = x @ self.Wx + h @ self.Wh + self.b
        H = h.shape[1]
        i = torch.sigmoid(a[:, :H])
        f = torch.sigmoid(a[:, H : 2 * H])
        o = torch.sigmoid(a[:, 2 * H : 3 * H])
        g = torch.tanh(a[:, 3 * H :])
        c = f * c + i * g
        h = o * torch.tanh(c)
        return h @ self.W_vocab + self.b_vocab, h, c, alpha

    def forward(self, feats: torch.Tensor, captions_in: torch.Tensor):
        """Teacher forcing: feats (N,L,D), captions_in (N,T) -> scores (N,T,V), alphas (N,T,L)."""
        h, c = self.init_state(feats)
        feats_proj = feats @ self.Ua
        scores, alphas = [], []
        for t in range(captions_in.shape[1]):
            s, h, c, alpha = self.step(captions_in[:, t], h, c, feats, feats_proj)
            scores.append(s)
            alphas.append(alpha)
        return torch.stack(scores, dim=1), torch.stack(alphas, dim=1)

    def loss(self, feats: torch.Tensor, captions: torch.Tensor, null_idx: int = NULL,
             entropy_weight: float = 0.0) -> torch.Tensor:
        """Softmax loss summed over time, averaged over the batch; <NULL> targets are masked.

        With the default entropy_weight=0 this is exactly the numpy captioning_loss. A positive
        weight adds entropy_weight * sum_t H(alpha_t) (same masking and averaging), a penalty on
        diffuse attention used in training: it asks the model to look at few cells at a time,
        without saying which.
        """
        captions_in, captions_out = captions[:, :-1], captions[:, 1:]
        scores, alphas = self(feats, captions_in)
        mask = (captions_out != null_idx).to(scores.dtype)
        nll = F.cross_entropy(scores.reshape(-1, scores.shape[-1]), captions_out.reshape(-1),
                              reduction="none").reshape(captions_out.shape)
        loss = (nll * mask).sum() / captions.shape[0]
        if entropy_weight:
            entropy = -(alphas * torch.log(alphas + 1e-12)).sum(dim=2)          # (N, T)
            loss = loss + entropy_weight * (entropy * mask).sum() / captions.shape[0]
        return loss

    @torch.no_grad()
    def sample(self, feats: torch.Tensor, max_length: int = 16, start_idx: int = START,
               end_idx: int = END, null_idx: int = NULL):
        """Greedy decoding, as the numpy captioning_sample.

        Returns captions (N, max_length) int64 (<END> kept, <NULL> after it) and
        alphas (N, max_length, L), the attention used for each word (zero after <END>).
        """
        N = feats.shape[0]
        h, c = self.init_state(feats)
        feats_proj = feats @ self.Ua
        word = torch.full((N,), start_idx, dtype=torch.long)
        done = torch.zeros(N, dtype=torch.bool)
        captions = torch.full((N, max_length), null_idx, dtype=torch.long)
        alphas = torch.zeros(N, max_length, feats.shape[1], dtype=feats.dtype)
        for t in range(max_length):
            scores, h, c, alpha = self.step(word, h, c, feats, feats_proj)
            word = scores.argmax(dim=1)
            captions[:, t] = torch.where(done, torch.full_like(word, null_idx), word)
            alphas[:, t] = torch.where(done[:, None], torch.zeros_like(alpha), alpha)
            done |= word == end_idx
            if bool(done.all()):
                break
        return captions, alphas



# ---------------------------------------------------------------------------- captioning baselines
# Added for chapter 5's comparison "what does attention buy?" (scripts/train_captioner_noattn.py).


class NoAttentionCaptioner(_NamedNumpyParams, nn.Module):
    """LSTM caption decoder without attention: the image enters once, as the first hidden state.

    The design of the lecture and of CS231n assignment 3 (image feature -> h_0, then a language
    model that starts from <START> and stops at <END>). Here the image vector is the whole 4x4
    feature grid flattened, (N, L*D), so h_0 can in principle know every cell:

        h_0 = tanh(flatten(feats) / feat_scale W_init + b_init),  c_0 = 0

    The tanh keeps h_0 in (-1, 1), where every later h_t = o * tanh(c_t) lies (the raw ReLU
    features are large, and an unbounded h_0 saturates every gate of the first steps);
    feat_scale (a fixed number, e.g. the RMS of the training features) scales the input.
        a = W_embed[w_t] Wx + h_{t-1} Wh + b, split into gates i, f, o, g (as AttentionCaptioner)
        scores_t = h_t W_vocab + b_vocab

    ``step`` has the same signature as AttentionCaptioner.step (the feature arguments are
    ignored, alpha is None), so the decoders of ``course_helpers.evaluation`` run both.
    """

    PARAM_NAMES = ("W_init", "b_init", "W_embed", "Wx", "Wh", "b", "W_vocab", "b_vocab")

    def __init__(self, vocab_size: int, n_cells: int = 16, feat_dim: int = 64, hidden_dim: int = 128,
                 embed_dim: int = 32, feat_scale: float = 1.0):
        super().__init__()
        if not feat_scale > 0:
            raise ValueError(f"NoAttentionCaptioner: feat_scale must be > 0, got {feat_scale}")
        V, LD, H, E = vocab_size, n_cells * feat_dim, hidden_dim, embed_dim
        self.sizes = {"V": V, "L": n_cells, "D": feat_dim, "H": H, "E": E}
        self.feat_scale = float(feat_scale)
        self.W_init = nn.Parameter(torch.randn(LD, H) * LD**-0.5)
        self.b_init = nn.Parameter(torch.zeros(H))
        self.W_embed = nn.Parameter(torch.randn(V, E) * 0.1)
        self.Wx = nn.Parameter(torch.randn(E, 4 * H) * E**-0.5)
        self.Wh = nn.Parameter(torch.randn(H, 4 * H) * H**-0.5)
        self.b = nn.Parameter(torch.zeros(4 * H))
        with torch.no_grad():
            self.b[H : 2 * H] = 1.0
        self.W_vocab = nn.Parameter(torch.randn(H, V) * H**-0.5)
        self.b_vocab = nn.Parameter(torch.zeros(V))

    def init_state(self, feats: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """feats (N, L, D) -> h_0 (N, H) from the flattened grid (ValueError on another shape), c_0 = 0."""
        L, D = self.sizes["L"], self.sizes["D"]
        if feats.ndim != 3 or feats.shape[1:] != (L, D):
            raise ValueError(f"NoAttentionCaptioner: feats must have shape (N, {L}, {D}), "
                             f"got {tuple(feats.shape)}")
        h = torch.tanh((feats.reshape(feats.shape[0], -1) / self.feat_scale) @ self.W_init + self.b_init)
        return h, torch.zeros_like(h)

    def step(self, word: torch.Tensor, h: torch.Tensor, c: torch.Tensor, feats=None, feats_proj=None):
        """One step: word (N,) int -> scores (N, V), h, c, None (there is no attention)."""
        a = self.W_embed[word] @ self.Wx + h @ self.Wh + self.b
        H = h.shape[1]
        i, f = torch.sigmoid(a[:, :H]), torch.sigmoid(a[:, H : 2 * H])
        o, g = torch.sigmoid(a[:, 2 * H : 3 * H]), torch.tanh(a[:, 3 * H :])
        c = f * c + i * g
        h = o * torch.tanh(c)
        return h @ self.W_vocab + self.b_vocab, h, c, None

    def forward(self, feats: torch.Tensor, captions_in: torch.Tensor) -> torch.Tensor:
        """Teacher forcing: feats (N, L, D), captions_in (N, T) -> scores (N, T, V)."""
        h, c = self.init_state(feats)
        scores = []
        for t in range(captions_in.shape[1]):
            s, h, c, _ = self.step(captions_in[:, t], h, c)
            scores.append(s)
        return torch.stack(scores, dim=1)

    def loss(self, feats: torch.Tensor, captions: torch.Tensor, null_idx: int = NULL) -> torch.Tensor:
        """Softmax loss summed over time, averaged over the batch; <NULL> targets are masked."""
        captions_in, captions_out = captions[:, :-1], captions[:, 1:]
        scores = self(feats, captions_in)
        mask = (captions_out != null_idx).to(scores.dtype)
        nll = F.cross_entropy(scores.reshape(-1, scores.shape[-1]), captions_out.reshape(-1),
                              reduction="none").reshape(captions_out.shape)
        return (nll * mask).sum() / captions.shape[0]



class UniformAttentionCaptioner(AttentionCaptioner):
    """AttentionCaptioner whose attention is fixed at 1/L per cell: the context is the mean feature
    vector at every step. The control that shows what *learned* attention adds; the attention
    parameters (Wa, Ua, ba, va) are kept so the weights load like an AttentionCaptioner's, but
    they receive no gradient."""

    def attend(self, prev_h: torch.Tensor, feats: torch.Tensor,
               feats_proj: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        alpha = torch.full(feats.shape[:2], 1.0 / feats.shape[1], dtype=feats.dtype)
        return feats.mean(dim=1), alpha


class OverlapShapesEncoder(ShapesEncoder):
    """A ShapesEncoder whose cells see beyond their own 16x16 patch (a control for chapter 5).

    3x3 convolutions with stride 2 and padding 1, then a 3x3 convolution with padding 1 at the
    4x4 level: each cell's feature vector is computed from a 79x79-pixel receptive field
    (clipped by the image border), i.e. from most of the image, as in a CNN trained on ImageNet.
    Same output as ShapesEncoder: (N, 16, D) with the last 8 dimensions saying where the cell is.
    """

    def __init__(self, feat_dim: int = 64, n_colors: int = len(COLORS), n_shapes: int = len(SHAPES)):
        super().__init__(feat_dim, n_colors, n_shapes)
        self.net = nn.Sequential(
            nn.Conv2d(3, 32, 3, stride=2, padding=1), nn.ReLU(),     # 64 -> 32
            nn.Conv2d(32, 48, 3, stride=2, padding=1), nn.ReLU(),    # 32 -> 16
            nn.Conv2d(48, 64, 3, stride=2, padding=1), nn.ReLU(),    # 16 -> 8
            nn.Conv2d(64, 96, 3, stride=2, padding=1), nn.ReLU(),    # 8 -> 4
            nn.Conv2d(96, feat_dim - 2 * self.grid, 3, padding=1), nn.ReLU(),
        )
        # Image-level head (no location): for each (colour, shape) pair, is it anywhere in the image?
        self.image_head = nn.Linear(feat_dim, n_colors * n_shapes)

    def image_logits(self, feats: torch.Tensor) -> torch.Tensor:
        """feats (N, L, D) -> (N, n_colors * n_shapes) scores of "this colour-shape pair is in the
        image", from the feature vectors max-pooled over the grid: a label with no location."""
        return self.image_head(feats.max(dim=1).values)
