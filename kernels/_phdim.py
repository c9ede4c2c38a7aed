"""Persistent-homology (PH) dimension estimators: a *measure*, with its fit diagnostics.

Birdal, Lou, Guibas, Simsekli, "Intrinsic Dimension, Persistent Homology and Generalization in Neural
Networks", NeurIPS 2021 (code: tolgabirdal/PHDimGeneralization, ``calculate_ph_dim``): for sample sizes
``n = n_min, n_min + step, ...`` draw ``n`` of the points without replacement, compute
``E^alpha_0(n) = sum over finite H0 bars of (death - birth)^alpha`` of the Vietoris-Rips filtration, fit
``log E = m log n + b`` by least squares and report ``dim_PH = alpha / (1 - m)``.
The H0 bars of a Rips filtration are born at 0 and die at the edge lengths of a minimum spanning tree,
so ``E^alpha_0`` is the sum of the MST edge lengths to the power ``alpha``; we compute the MSTs of all samples
together (the samples are sub-sets of one point cloud) instead of one Rips solver call per sample, each with its
own distance computation and edge sort: for Euclidean ``d >= 2048`` on the CPU by :mod:`kernels._submst`
(projection lower bounds and certified Prim rounds: only the distances that the trees need are computed, by
direct sums), otherwise, or when the bounds are too loose for the points, by Prim on one dense distance matrix.

Dupuis, Deligiannidis, Simsekli, "Generalization Bounds using Data-Dependent Fractal Dimensions", ICML 2023
(code: benjiDupuis/data_dependent_dimensions): the same estimator on the vectors of per-example losses of
the iterates, under the l1 (Manhattan) pseudo-metric; see :func:`ph_dim_loss`.

Differences from Birdal et al.'s code (intended): ``n_max`` is inclusive (their ``range(min, max, jump)``
excludes ``max_points``); samples are drawn by ``numpy.random.default_rng(seed)``; ``n_repeats`` samples per
size are pooled in one least-squares fit (their code: one sample per size). Our distances are float64 (direct
sums, or a centred Gram matrix for the dense Euclidean path with ``d >= 32``); ripser rounds its bars to float32
(a relative ``2**-24``) and, called on points, gets its distances from scikit-learn's uncentred Gram form
``sqrt(|x|^2 + |y|^2 - 2 x.y)`` (a relative error of about ``u |x|^2 / d_xy^2``, ``u = 2**-53``, for points far
from the origin). So values agree with a ripser run to about 1e-7 relative (``benchmarks/topology.py`` prints the
differences); the MST edge multisets agree exactly after rounding to float32 when ripser is given our distances
(rounding is monotone, so an MST stays an MST).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from boundcert.errors import InvalidInput
from kernels._device import Device, resolve_device
from kernels._distances import distance_matrix
from kernels._submst import PRUNE_MIN_DIM, prim_blocks, sample_msts
from kernels._validation import Metric, as_points, check_choice, check_int, check_metric, check_positive, check_seed

__all__ = ["PHDimEstimate", "ph_dim", "ph_dim_loss"]

Sampling = Literal["independent", "nested"]


@dataclass(frozen=True, slots=True)
class PHDimEstimate:
    """A PH-dimension measurement (Birdal et al. 2021) and its least-squares fit; a measure, not a bound.

    Attributes:
        dimension: ``alpha / (1 - slope)`` (``inf`` when ``slope >= 1``).
        slope: least-squares slope ``m`` of ``log E`` against ``log n`` over all samples.
        intercept: least-squares intercept ``b``.
        r_squared: coefficient of determination of that fit.
        sizes: the sample sizes ``n``.
        lengths: ``E^alpha_0`` per size (rows) and repeat (columns).
        alpha: the exponent on the bar lengths.
        metric, sampling, seed, n_points: how the samples were drawn and measured.
    """

    dimension: float
    slope: float
    intercept: float
    r_squared: float
    sizes: tuple[int, ...]
    lengths: tuple[tuple[float, ...], ...]
    alpha: float
    metric: str
    sampling: str
    seed: int
    n_points: int
    device: str = "cpu"

    @property
    def pairs(self) -> tuple[tuple[int, float], ...]:
        """``(n, mean over repeats of E_n)`` for each size."""
        return tuple((n, float(np.mean(row))) for n, row in zip(self.sizes, self.lengths))


def _sample_lengths(X: np.ndarray, flat: np.ndarray, offsets: np.ndarray, code: int, dev: str,
                    path: str = "auto") -> tuple[np.ndarray, str]:
    """MST edge lengths of the index blocks ``flat[offsets[t]:offsets[t+1]]`` of ``X``, aligned with ``flat``
    (``0`` at each block's root), and the path that computed them.

    Paths: ``"pruned"`` (:func:`kernels._submst.sample_msts`: projection lower bounds, only the needed distances,
    each summed directly; Euclidean, CPU), ``"dense"`` (one distance matrix, :func:`kernels._distances.distance_matrix`
    or its CUDA twin, then Prim per block) and ``"dense-direct"`` (the dense matrix by direct sums; tests).
    ``"auto"``: pruned for Euclidean ``d >= PRUNE_MIN_DIM`` on the CPU, falling back to dense when the bounds
    are too loose for these points.
    """
    if path == "auto":
        path = "pruned" if (dev == "cpu" and code == 0 and X.shape[1] >= PRUNE_MIN_DIM) else "dense"
    if path == "pruned":
        w = sample_msts(X, flat, offsets)
        if w is not None:
            return w, "pruned"
        path = "dense"
    if dev == "cuda":
        from kernels._cuda_mst import distance_matrix_cuda

        D = distance_matrix_cuda(X, code)
    else:
        D = distance_matrix(X, "euclidean" if code == 0 else "manhattan", checked=True,
                            method="direct" if path == "dense-direct" else "auto")
    par = np.empty_like(flat)
    w = np.empty(flat.size)
    prim_blocks(D, flat, offsets, np.ones(offsets.size - 1, dtype=np.bool_), par, w)
    return w, path


def sample_schedule(n_points: int, sizes: np.ndarray, n_repeats: int, seed: int, sampling: Sampling) -> list[np.ndarray]:
    """The index samples, size-major then repeat (``len = len(sizes) * n_repeats``); reproducible from ``seed``."""
    rng = np.random.default_rng(seed)
    out: list[list[np.ndarray]] = [[] for _ in sizes]
    for _ in range(n_repeats):
        if sampling == "nested":
            perm = rng.permutation(n_points)
            for k, n in enumerate(sizes):
                out[k].append(np.sort(perm[:n]))
        else:
            for k, n in enumerate(sizes):
                out[k].append(np.sort(rng.choice(n_points, size=int(n), replace=False)))
    return [s for row in out for s in row]


def ph_dim(
    points: object,
    *,
    metric: Metric = "euclidean",
    n_min: int = 200,
    n_max: int | None = None,
    step: int = 50,
    n_repeats: int = 1,
    alpha: float = 1.0,
    seed: int = 0,
    sampling: Sampling = "independent",
    device: Device = "auto",
) -> PHDimEstimate:
    """PH dimension of a point cloud (Birdal et al. NeurIPS 2021 schedule and slope fit); a measure.

    Args:
        points: (N, d) array, one point per row (e.g. the last N iterates, flattened).
        metric: ``"euclidean"`` (Birdal et al.) or ``"manhattan"`` (Dupuis et al. 2023, loss vectors).
        n_min, n_max, step: sample sizes ``n_min, n_min + step, ..., <= n_max`` (``n_max`` defaults to N).
        n_repeats: independent samples per size, pooled in the fit.
        alpha: exponent on the bar lengths (``E^alpha_0``); ``dimension = alpha / (1 - slope)``.
        seed: seed of ``numpy.random.default_rng`` for the samples.
        sampling: ``"independent"`` (a fresh sample per size, as Birdal et al.) or ``"nested"`` (prefixes of one
            permutation per repeat).
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``; on the CPU, Euclidean ``d >= 2048`` takes the pruned path
            (module docstring); on ``"cuda"`` the float64 distance matrix is computed on the GPU
            (:func:`kernels._cuda_mst.distance_matrix_cuda`: a float64 Gram GEMM through torch for Euclidean
            ``d >= 32``, else the numba.cuda direct kernel) and the per-sample Prim runs on the host.
    """
    dev = resolve_device(device, "kernels.ph_dim", has_cuda_path=True)
    code = check_metric(metric)
    X = as_points(points, min_points=2)
    N = X.shape[0]
    n_min = check_int("n_min", n_min, 2)
    n_max = N if n_max is None else check_int("n_max", n_max, 2)
    step = check_int("step", step, 1)
    n_repeats = check_int("n_repeats", n_repeats, 1)
    if n_max > N:
        raise InvalidInput(f"n_max={n_max!r} exceeds the number of points {N}: lower n_max or pass more points")
    sizes = np.arange(n_min, n_max + 1, step, dtype=np.int64)
    if sizes.size < 2:
        raise InvalidInput(f"n_min={n_min!r}, n_max={n_max!r}, step={step!r} give fewer than 2 sample sizes: widen the range")
    check_positive("alpha", alpha, " (Birdal et al. use 1)")
    check_choice(sampling, ("independent", "nested"),
                 f"sampling={sampling!r} is not supported: use 'independent' or 'nested'")
    seed = check_seed(seed)
    samples = sample_schedule(N, sizes, n_repeats, seed, sampling)
    used = np.unique(np.concatenate(samples))
    remap = np.full(N, -1, dtype=np.int64)
    remap[used] = np.arange(used.size)
    Xu = X if used.size == N else X[used]
    flat = np.concatenate([remap[s] for s in samples]).astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum([s.size for s in samples])]).astype(np.int64)
    w, _ = _sample_lengths(Xu, flat, offsets, code, dev)
    E = np.add.reduceat(w if alpha == 1.0 else w ** float(alpha), offsets[:-1]).reshape(sizes.size, n_repeats)
    return dataclasses.replace(_fit(E, sizes, float(alpha), metric, sampling, seed, N), device=dev)


def _fit(E: np.ndarray, sizes: np.ndarray, alpha: float, metric: str, sampling: str, seed: int, N: int) -> PHDimEstimate:
    if np.any(E <= 0):
        raise InvalidInput("some samples have MST length 0 (duplicate points): remove duplicates before ph_dim")
    x = np.repeat(np.log(sizes.astype(np.float64)), E.shape[1])
    y = np.log(E).ravel()
    xm, ym = x.mean(), y.mean()
    sxx = float(np.sum((x - xm) ** 2))
    m = float(np.sum((x - xm) * (y - ym)) / sxx)
    b = float(ym - m * xm)
    ss_res = float(np.sum((y - (m * x + b)) ** 2))
    ss_tot = float(np.sum((y - ym) ** 2))
    r2 = 1.0 - ss_res / ss_tot if ss_tot > 0 else 1.0
    dim = alpha / (1.0 - m) if m < 1.0 else math.inf
    return PHDimEstimate(
        dimension=dim,
        slope=m,
        intercept=b,
        r_squared=r2,
        sizes=tuple(int(n) for n in sizes),
        lengths=tuple(tuple(float(v) for v in row) for row in E),
        alpha=alpha,
        metric=metric,
        sampling=sampling,
        seed=seed,
        n_points=N,
    )


def ph_dim_loss(losses: object, **kwargs: object) -> PHDimEstimate:
    """Data-dependent PH dimension (Dupuis et al. ICML 2023): :func:`ph_dim` of the per-example loss vectors
    (one row per iterate, one column per example of the fixed subset) under the Manhattan metric."""
    if "metric" in kwargs:
        raise InvalidInput("ph_dim_loss uses metric='manhattan' (Dupuis et al. 2023): do not pass metric")
    return ph_dim(losses, metric="manhattan", **kwargs)  # type: ignore[arg-type]
