"""Chapter 2 demo: how the gradient reaching earlier time steps grows or shrinks.

A vanilla RNN (row-vector convention of the book) runs for T steps,

    h_t = f(x_t Wx + h_{t-1} Wh + b),   f = tanh or identity,

and a loss at the last step sends back dL/dh_T = u (a unit vector). The gradient reaching
h_{T-k} is a product of k factors ``diag(f'(a)) Wh^T``. Since |f'| <= gamma (gamma = 1 for tanh and
for the identity), its norm is at most (gamma * sigma_max)^k (Pascanu et al. 2013): sigma_max > 1
allows explosion, sigma_max < 1 forces vanishing.

``Wh`` is built with a chosen largest singular value: ``Wh = U diag(s) U^T`` with
``s = sigma * linspace(1, 0.5, H)`` (symmetric, so singular vectors are eigenvectors). With the
upstream gradient along the top singular vector (``aligned=True``) a linear RNN meets the bound
exactly: ||dL/dh_{T-k}|| = sigma^k. Gradients are computed by torch autograd.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from course_helpers.demos import svg

NONLINEARITIES = ("linear", "tanh")


def make_Wh(sigma: float, H: int = 16, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A symmetric (H, H) matrix with largest singular value ``sigma``; returns (Wh, u_top (H,))."""
    if sigma <= 0:
        raise ValueError(f"sigma must be positive, got {sigma}")
    rng = np.random.default_rng(seed)
    U, _ = np.linalg.qr(rng.standard_normal((H, H)))
    s = sigma * np.linspace(1.0, 0.5, H)
    return (U * s) @ U.T, U[:, 0]


@dataclass
class GradNorms:
    """``norms[k]`` = ||dL/dh_{T-k}|| for k = 0..T; ``bound[k]`` = (gamma sigma)^k ||dL/dh_T||."""

    sigma: float
    nonlinearity: str
    T: int
    k: np.ndarray
    norms: np.ndarray
    bound: np.ndarray


def gradient_norms(sigma: float = 1.0, nonlinearity: str = "tanh", T: int = 50, H: int = 16,
                   D: int = 4, aligned: bool = True, seed: int = 0) -> GradNorms:
    """Norm of the gradient reaching each earlier hidden state (k steps back from T).

    Inputs: x (T, D) ~ N(0, 1) and Wx (D, H) ~ N(0, 0.5^2/D) from ``seed``; h_0 = 0; b = 0.
    ``aligned``: dL/dh_T is the top singular vector of Wh (else a random unit vector).
    """
    import torch

    if nonlinearity not in NONLINEARITIES:
        raise ValueError(f"nonlinearity must be one of {NONLINEARITIES}, got {nonlinearity!r}")
    if T < 1:
        raise ValueError(f"T must be >= 1, got {T}")
    Wh_np, u = make_Wh(sigma, H, seed)
    rng = np.random.default_rng(seed + 1)
    x = torch.tensor(rng.standard_normal((T, D)))
    Wx = torch.tensor(rng.standard_normal((D, H)) * 0.5 / np.sqrt(D))
    Wh = torch.tensor(Wh_np)
    if not aligned:
        u = rng.standard_normal(H)
        u /= np.linalg.norm(u)
    f = torch.tanh if nonlinearity == "tanh" else (lambda a: a)
    hs = [torch.zeros(H, dtype=torch.float64, requires_grad=True)]
    for t in range(T):
        hs.append(f(x[t] @ Wx + hs[-1] @ Wh))
    for h in hs:
        h.retain_grad()
    hs[-1].backward(torch.tensor(u))
    grads = [h.grad.norm().item() for h in hs]  # grads[t] = ||dL/dh_t||
    norms = np.array(grads[::-1])  # norms[k] = ||dL/dh_{T-k}||
    k = np.arange(T + 1)
    bound = sigma ** k * float(np.linalg.norm(u))  # gamma = 1 for both nonlinearities
    return GradNorms(sigma, nonlinearity, T, k, norms, bound)


def render(res: GradNorms) -> str:
    """Log-scale plot of the measured norms and the bound."""
    bound_label = "bound σ^k" if res.nonlinearity == "linear" else "bound (γσ)^k, γ=1"
    ylim_lo = max(min(res.norms[res.norms > 0].min() if np.any(res.norms > 0) else 1e-12,
                      res.bound.min()) / 2, 1e-16)
    ylim_hi = max(res.norms.max(), res.bound.max()) * 2
    return svg.line_chart(
        [svg.Series(res.k, res.bound, svg.GREY, bound_label, dashed=True),
         svg.Series(res.k, res.norms, svg.BLUE, f"measured ({res.nonlinearity})")],
        logy=True, ylim=(10 ** np.floor(np.log10(ylim_lo)), 10 ** np.ceil(np.log10(ylim_hi))),
        title=f"‖∂L/∂h_(T−k)‖, σ_max(W_hh) = {res.sigma:g}, T = {res.T}",
        xlabel="k = steps back from T", ylabel="gradient norm", legend_loc="upper left",
        width=460, height=280)
