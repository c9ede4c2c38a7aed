"""Pairwise distances of a point cloud in float64: direct sums per pair, or the GEMM form of a centred Gram matrix.

Shared by the MST enclosure (:mod:`kernels._mst`), the PH dimension (:mod:`kernels._phdim`) and their CUDA twin
(:mod:`kernels._cuda_mst`, which mirrors :func:`dist` on the device and uses the same ``GEMM_MIN_DIM``).

Rounding model (binary64, round to nearest, ``u = 2**-53``):

* direct (:func:`sq_or_l1`, :func:`dist`): the Euclidean ``s^ = fl(sum_k (x_k - y_k)^2)`` and the Manhattan
  ``fl(sum_k |x_k - y_k|)`` are summed left to right over the coordinates, the length ``c = fl(sqrt(s^))``. Their
  a-priori error bounds (``gamma_{d+2}``, ``gamma_{d+3}``, ``gamma_d`` and the underflow terms) are stated and used
  in :mod:`kernels._mst`; every caller that needs a length Prim compared gets exactly these bits.
* GEMM (:func:`distance_matrix` for Euclidean ``d >= GEMM_MIN_DIM``): ``sqrt(max(0, G_ii + G_jj - 2 G_ij))`` for
  ``G = fl(X~ X~^T)`` of the centred points ``X~ = fl(X - mean)`` (BLAS syrk), a *measure* with a relative error
  of about ``u |x~|^2 / d^2``; the proven lower bounds that :mod:`kernels._mst` derives from the same ``G`` carry
  their own error terms.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from boundcert.errors import InternalError
from kernels._validation import Metric, as_points, check_metric

__all__ = ["GEMM_MIN_DIM", "dist", "sq_or_l1", "gram_diagonal", "gram_sq", "centered_gram", "distance_matrix"]

GEMM_MIN_DIM = 32  # Euclidean dimension from which the dense paths form distances from a Gram matrix


@numba.njit(fastmath=False, cache=True, inline="always")
def sq_or_l1(X, i, j, metric):
    """``s^`` (metric 0, Euclidean: the computed squared distance) or (metric 1) the computed Manhattan length
    between rows ``i`` and ``j``; left to right sums."""
    s = 0.0
    if metric == 0:
        for k in range(X.shape[1]):
            t = X[i, k] - X[j, k]
            s += t * t
        return s
    for k in range(X.shape[1]):
        s += abs(X[i, k] - X[j, k])
    return s


@numba.njit(fastmath=False, cache=True, inline="always")
def dist(X, i, j, metric):
    """Computed distance between rows i and j (metric 0: Euclidean ``fl(sqrt(s^))``, 1: Manhattan)."""
    s = sq_or_l1(X, i, j, metric)
    return math.sqrt(s) if metric == 0 else s


@numba.njit(fastmath=False, parallel=True, cache=True)
def _direct_matrix(X, metric):
    n = X.shape[0]
    D = np.zeros((n, n))
    for i in numba.prange(n):
        for j in range(i + 1, n):
            D[i, j] = dist(X, i, j, metric)
    for i in range(n):
        for j in range(i + 1, n):
            D[j, i] = D[i, j]
    return D


@numba.njit(fastmath=False, cache=True)
def gram_diagonal(G):
    """A copy of the diagonal of the square matrix ``G`` (kept while ``G`` is overwritten in place)."""
    n = G.shape[0]
    diag = np.empty(n)
    for i in range(n):
        diag[i] = G[i, i]
    return diag


@numba.njit(fastmath=False, cache=True, inline="always")
def gram_sq(G, diag, i, j):
    """The computed Gram-form squared distance ``fl(fl(G_ii + G_jj) - 2 G_ij)`` (``diag``: the diagonal of G)."""
    return (diag[i] + diag[j]) - 2.0 * G[i, j]


@numba.njit(fastmath=False, parallel=True, cache=True)
def _gemm_estimate_inplace(G):
    """Overwrite G with the usual float estimate sqrt(max(0, G_ii + G_jj - 2 G_ij)) (a measure, not a bound)."""
    n = G.shape[0]
    diag = gram_diagonal(G)
    for i in numba.prange(n):
        for j in range(n):
            if i == j:
                G[i, j] = 0.0
            else:
                g = gram_sq(G, diag, i, j)
                G[i, j] = math.sqrt(g) if g > 0.0 else 0.0
    return G


def centered_gram(X: np.ndarray) -> np.ndarray:
    """``fl(X~ X~^T)`` for the centred points ``X~ = fl(X - mean)`` (the mean a float measure)."""
    Xc = X - X.mean(axis=0)
    return Xc @ Xc.T  # numpy uses the symmetric rank-k update (BLAS syrk) for A @ A.T


def distance_matrix(points: np.ndarray, metric: Metric = "euclidean", *, method: str = "auto",
                    checked: bool = False) -> np.ndarray:
    """Float64 pairwise distances (a measure: GEMM for Euclidean ``d >= 32``, else direct sums).

    ``checked=True`` skips the argument checks (for callers that already ran ``as_points``)."""
    X = points if checked else as_points(points)
    code = check_metric(metric)
    if method == "auto":
        method = "gemm" if (code == 0 and X.shape[1] >= GEMM_MIN_DIM) else "direct"
    if method == "gemm":
        if code != 0:
            raise InternalError("the GEMM distance path exists only for the Euclidean metric")
        return _gemm_estimate_inplace(centered_gram(X))
    return _direct_matrix(X, code)
