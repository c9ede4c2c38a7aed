"""Spectral density of a float64 symmetric operator by stochastic Lanczos quadrature (an estimate).

Lin, Saad, Yang, "Approximating spectral densities of large matrices", SIAM Review 58 (2016), Sec. 3; Ghorbani,
Krishnan, Xiao, "An investigation into neural net optimization via Hessian eigenvalue density", ICML 2019; PyHessian
(Yao et al. 2020). For each of ``n_vectors`` Rademacher start vectors ``v`` (normalised), ``m`` Lanczos steps give the
Gauss quadrature nodes ``theta_i`` (eigenvalues of the tridiagonal ``T``) and weights ``tau_i^2`` (squared first
components of its eigenvectors); the density ``phi(t) = (1/d) sum_k delta(t - lambda_k)`` is approximated by the
average over vectors of ``sum_i tau_i^2 g_s(t - theta_i)`` with a Gaussian ``g_s`` of width ``s``.

Nothing here is certified: the result is named ``*Estimate``. The operator model is that of :mod:`kernels._lanczos`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from boundcert.errors import InvalidInput
from kernels._lanczos import Matvec, as_operator, tridiagonalize
from kernels._validation import check_int, check_positive, make_rng

__all__ = ["SpectralDensityEstimate", "slq_density_estimate"]


@dataclass(frozen=True, slots=True)
class SpectralDensityEstimate:
    """Gauss-quadrature nodes and weights per start vector, and the smoothed density on a grid (all floats).

    Attributes:
        nodes, weights: one tuple per start vector (weights of one vector sum to 1).
        grid, density: the evaluation grid and the smoothed density (integrates to about 1).
        width: the Gaussian width ``s``; n_iter: Lanczos steps per vector.
    """

    nodes: tuple[tuple[float, ...], ...]
    weights: tuple[tuple[float, ...], ...]
    grid: tuple[float, ...]
    density: tuple[float, ...]
    width: float
    n_iter: int


def slq_density_estimate(A: Matvec | np.ndarray, dim: int | None = None, *, n_vectors: int = 4, n_iter: int = 60,
                         n_grid: int = 400, width: float | None = None, seed: int = 0) -> SpectralDensityEstimate:
    """Stochastic Lanczos quadrature estimate of the spectral density of the symmetric operator ``matvec``.

    Args:
        A: a symmetric float64 matrix or ``matvec``: ``v -> A v`` on float64 vectors of length ``dim``.
        n_vectors: Rademacher start vectors; n_iter: Lanczos steps each (``<= dim``).
        n_grid: points of the density grid; width: Gaussian width (default 1% of the node range, at least 1e-12).
        seed: the start vectors.
    """
    op = as_operator(A, dim)
    matvec, dim = op.matvec, op.dim
    nv = check_int("n_vectors", n_vectors, 1)
    m = check_int("n_iter", n_iter, 1)
    ng = check_int("n_grid", n_grid, 2)
    if m > dim:
        raise InvalidInput(f"n_iter={m} exceeds dim={dim}: give n_iter <= {dim}")
    rng = make_rng(seed)
    nodes, weights = [], []
    for _ in range(nv):
        v = rng.integers(0, 2, size=dim).astype(np.float64) * 2.0 - 1.0
        alpha, beta, _, _ = tridiagonalize(matvec, v, m)
        T = np.diag(alpha) + np.diag(beta, 1) + np.diag(beta, -1)
        theta, S = np.linalg.eigh(T)
        nodes.append(tuple(float(t) for t in theta))
        weights.append(tuple(float(w) for w in S[0, :] ** 2))
    allnodes = np.concatenate([np.asarray(n) for n in nodes])
    lo, hi = float(allnodes.min()), float(allnodes.max())
    span = max(hi - lo, 1e-12)
    s = max(0.01 * span, 1e-12) if width is None else check_positive("width", width)
    grid = np.linspace(lo - 3 * s - 0.05 * span, hi + 3 * s + 0.05 * span, ng)
    dens = np.zeros(ng)
    for nd, wt in zip(nodes, weights):
        diff = grid[:, None] - np.asarray(nd)[None, :]
        dens += (np.exp(-0.5 * (diff / s) ** 2) / (s * np.sqrt(2 * np.pi))) @ np.asarray(wt)
    dens /= nv
    return SpectralDensityEstimate(tuple(nodes), tuple(weights), tuple(float(g) for g in grid),
                                   tuple(float(d) for d in dens), s, m)
