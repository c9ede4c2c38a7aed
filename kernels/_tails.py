"""Tail-index (Blumenthal-Getoor index) estimators for heavy-tailed noise and trajectories: measures.

Mohammadi, Mohammadpour, Ogata, "On estimating the tail index and the spectral measure of multivariate
alpha-stable distributions", Metrika 78 (2015), Corollary 2.4: for i.i.d. symmetric alpha-stable vectors
``X_1..X_K`` in R^d, split into ``K2`` blocks of ``K1 = m`` consecutive samples, ``Y_j = sum of block j``;
then ``1/alpha^ = (mean_j log|Y_j| - mean_i log|X_i|) / log m`` is a consistent estimator of ``1/alpha``
(``|.|`` the Euclidean norm; absolute value for scalars).

Used by Simsekli, Sagun, Gurbuzbalaban, "A Tail-Index Analysis of Stochastic Gradient Noise in Deep Neural
Networks", ICML 2019 (on gradient-noise samples) and Simsekli, Sener, Deligiannidis, Erdogdu, "Hausdorff
Dimension, Heavy Tails, and Generalization in Neural Networks", NeurIPS 2020 (code: umutsimsekli/
Hausdorff-Dimension-and-Generalization, ``src/utils.py``; on iterate increments, where the BG index of the
limiting Feller process bounds the Hausdorff dimension of the trajectory), both adding ``eps = spacing(1)``
inside the logarithms, as we do. We report the median over several block sizes ``m`` (and, for trajectories,
over random projections), with every per-``m`` value as a diagnostic.

These are statistical estimates (named ``*_estimate``), never bounds; ``alpha`` of a stable law lies in
``(0, 2]`` but the estimator is not clipped (values above 2 indicate light tails).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from boundcert.errors import InvalidInput
from kernels._validation import as_array, check_int, make_rng, show

__all__ = ["TailIndexEstimate", "bg_tail_index_estimate", "trajectory_tail_index_estimate"]

_EPS = float(np.spacing(1.0))


@dataclass(frozen=True, slots=True)
class TailIndexEstimate:
    """A Blumenthal-Getoor / stable tail-index estimate (Mohammadi et al. 2015); a measure.

    Attributes:
        alpha_estimate: median of ``per_block`` alphas (and of projections, for trajectories).
        per_block: ``(m, alpha_m)`` for each block size ``m`` (for trajectories: medians over projections).
        per_projection: per-projection medians over ``m`` (empty for direct samples).
        n_samples: number of samples ``K`` (increments for trajectories).
        dim: dimension of each sample (1 for scalars; for trajectories, the iterate dimension).
    """

    alpha_estimate: float
    per_block: tuple[tuple[int, float], ...]
    per_projection: tuple[float, ...]
    n_samples: int
    dim: int


def _as_samples(samples: object, name: str) -> np.ndarray:
    x = as_array(samples, name, "a float array")
    if x.dtype.kind not in "fiu":
        raise InvalidInput(f"{name}.dtype={str(x.dtype)!r} is not numeric: pass a float array")
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise InvalidInput(f"{name}.ndim={x.ndim!r} must be 1 (scalars) or 2 (one vector per row)")
    x = np.asarray(x, dtype=np.float64)
    if x.shape[0] < 8 or x.shape[1] < 1:
        raise InvalidInput(f"{name} has shape {x.shape!r}: at least 8 samples of dimension >= 1 are needed")
    if not np.all(np.isfinite(x)):
        raise InvalidInput(f"{name} contains NaN or Inf: remove those samples")
    return x


def default_block_sizes(K: int) -> tuple[int, ...]:
    """Block sizes around ``sqrt(K)`` (Mohammadi et al. recommend ``K1 ~ sqrt(K)``): ``sqrt(K) * 2^j``, j = -2..2."""
    r = math.sqrt(K)
    ms = sorted({int(round(r * 2.0**j)) for j in range(-2, 3)})
    return tuple(m for m in ms if 2 <= m <= K // 2) or (2,)


def _check_blocks(block_sizes: Sequence[int] | None, K: int) -> tuple[int, ...]:
    if block_sizes is None:
        return default_block_sizes(K)
    bad = InvalidInput(f"block_sizes={show(block_sizes)} must be non-empty integers in [2, {K // 2}] for K={K}")
    try:
        ms = tuple(int(m) for m in block_sizes)
    except (TypeError, ValueError, OverflowError):
        raise bad from None
    if not ms or any(m < 2 or m > K // 2 for m in ms):
        raise bad
    return ms


def _alpha_m(norms_fn, X: np.ndarray, m: int) -> float:
    n = X.shape[0] // m
    Xt = X[: n * m]
    Y = Xt.reshape(n, m, -1).sum(axis=1)
    diff = (np.mean(np.log(norms_fn(Y) + _EPS)) - np.mean(np.log(norms_fn(Xt) + _EPS))) / math.log(m)
    return float(1.0 / diff) if diff > 0 else math.inf


def _norms(A: np.ndarray) -> np.ndarray:
    return np.abs(A[:, 0]) if A.shape[1] == 1 else np.linalg.norm(A, axis=1)


def bg_tail_index_estimate(samples: object, *, block_sizes: Sequence[int] | None = None) -> TailIndexEstimate:
    """Tail index of i.i.d. symmetric samples (scalars, or vectors one per row) by Mohammadi et al. (2015).

    Args:
        samples: (K,) or (K, d) array, e.g. gradient-noise samples (Simsekli et al. 2019).
        block_sizes: block sizes ``m``; default ``sqrt(K) * 2^j`` for ``j = -2..2`` within ``[2, K/2]``.
    """
    X = _as_samples(samples, "samples")
    ms = _check_blocks(block_sizes, X.shape[0])
    per = tuple((m, _alpha_m(_norms, X, m)) for m in ms)
    return TailIndexEstimate(
        alpha_estimate=float(np.median([a for _, a in per])),
        per_block=per,
        per_projection=(),
        n_samples=X.shape[0],
        dim=X.shape[1],
    )


def trajectory_tail_index_estimate(
    iterates: object, *, n_projections: int = 10, seed: int = 0, block_sizes: Sequence[int] | None = None
) -> TailIndexEstimate:
    """Tail index of a trajectory's increments along random directions (Simsekli et al. NeurIPS 2020).

    The increments ``w_{k+1} - w_k`` are projected on ``n_projections`` seeded random unit directions; each
    projection gives scalar samples whose index is estimated for every block size; the result is the median
    over directions of the median over block sizes.
    """
    W = _as_samples(iterates, "iterates")
    if W.shape[0] < 9:
        raise InvalidInput(f"iterates has {W.shape[0]} rows: at least 9 iterates are needed")
    n_projections = check_int("n_projections", n_projections, 1)
    inc = np.diff(W, axis=0)
    ms = _check_blocks(block_sizes, inc.shape[0])
    rng = make_rng(seed)
    dirs = rng.standard_normal((W.shape[1], int(n_projections)))
    dirs /= np.linalg.norm(dirs, axis=0)
    P = inc @ dirs
    table = np.array([[_alpha_m(_norms, P[:, [k]], m) for m in ms] for k in range(P.shape[1])])
    per_proj = tuple(float(v) for v in np.median(table, axis=1))
    per_block = tuple((m, float(v)) for m, v in zip(ms, np.median(table, axis=0)))
    return TailIndexEstimate(
        alpha_estimate=float(np.median(per_proj)),
        per_block=per_block,
        per_projection=per_proj,
        n_samples=inc.shape[0],
        dim=W.shape[1],
    )
