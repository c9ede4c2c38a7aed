"""Empirical spectral density (ESD) metrics of weight matrices (heavy-tailed self-regularisation): measures.

Martin & Mahoney, "Implicit Self-Regularization in Deep Neural Networks", JMLR 22 (2021); Martin, Peng,
Mahoney, "Predicting trends in the quality of state-of-the-art neural networks without access to training or
testing data", Nature Communications 12 (2021); reference implementation WeightWatcher 0.7.7
(CalculatedContent/WeightWatcher: ``WW_powerlaw.WWFit``, ``WeightWatcher.apply_norm_metrics``).

The ESD of a layer is the multiset of eigenvalues ``lambda_i = sigma_i^2`` of ``W^T W`` (squared singular
values, *not* divided by N), pooled over the matrices of the layer (for a Conv2d kernel of shape
``(out, in, kh, kw)``: the ``kh * kw`` matrices ``W[:, :, i, j]``, WeightWatcher's default ``pool=True``).
We compute them as the eigenvalues of the smaller Gram matrix in float64 (LAPACK ``dsyevd``), where
WeightWatcher takes the singular values of the float64 matrix (``scipy.linalg.svd``): the eigenvalues agree to
about ``1e-16 * lambda_max`` in absolute terms, far below what moves the fit.

Power-law fit, exactly WeightWatcher's default (``fix_fingers=False``, ``xmax=None``,
``pl_package='WW'``): keep ``lambda > 1e-5``, sort; if at least 20 remain, for every candidate ``xmin = lambda_i``
(all but the largest) take the continuous MLE (Hill) ``alpha_i = 1 + n_i / sum_{j >= i} ln(lambda_j / xmin)``
and the Kolmogorov-Smirnov distance ``D_i = max_k |1 - (lambda_k/xmin)^(1 - alpha_i) - k/n_i|`` over the tail
(``D_i = 1`` when ``alpha_i <= 1``); choose the first ``i`` of minimal ``D_i``; ``sigma = (alpha - 1)/sqrt(n_i)``.
With fewer than 20 it uses WeightWatcher's small-N variant (bias-corrected ``1 + (n - 1)/s``, tails of at least 8;
its ``D - 0.868/sqrt(n)`` choice is overwritten by the first minimum of ``D`` in ``WWFit.__init__``, which we follow). Derived: ``alpha_weighted = alpha log10 lambda_max``, ``log_norm =
log10 sum lambda`` (the squared Frobenius norm), ``log_spectral_norm = log10 lambda_max``, ``log_alpha_norm =
log10 sum lambda^alpha``, ``stable_rank = sum lambda / lambda_max``.

Intended difference: WeightWatcher multiplies Conv2d matrices by ``sqrt(1/2)`` before the SVD (its default
``conv2d_norm=True``); we do not rescale, so for Conv2d layers our ``alpha``, ``D``, ``sigma``, ``stable_rank`` are
equal to its values and our ``alpha_weighted``, ``log_norm``, ``log_spectral_norm`` exceed its by ``alpha log10 2``,
``log10 2``, ``log10 2`` (pass ``scale=0.5`` to :func:`esd_metrics_estimate` to reproduce its numbers).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numba
import numpy as np
import scipy.linalg

from boundcert.errors import InvalidInput
from kernels._device import single_blas_thread
from kernels._gram import gram_upper, tall_view
from kernels._scaling import pow2_scale_inplace
from kernels._validation import all_finite, as_array, check_positive

__all__ = ["PowerLawEstimate", "ESDMetricsEstimate", "esd", "conv2d_matrices", "powerlaw_fit_estimate",
           "esd_metrics_estimate", "stable_rank_estimate"]

EVALS_THRESH = 1e-5
SMALL_N_CUTOFF = 20


@dataclass(frozen=True, slots=True)
class PowerLawEstimate:
    """WeightWatcher's power-law fit of an ESD tail; a measure with its fit diagnostics.

    Attributes:
        alpha: fitted exponent (``-1.0`` when the fit failed, as WeightWatcher reports).
        xmin: chosen lower cut-off; ``xmax``: the largest eigenvalue fitted.
        D: Kolmogorov-Smirnov distance at ``xmin``; ``sigma``: ``(alpha - 1)/sqrt(n_tail)``.
        n_tail: eigenvalues ``>= xmin`` used by the fit; ``n_fit``: eigenvalues above the threshold.
        method: ``"ww"`` (standard scan) or ``"ww-small-n"``.
    """

    alpha: float
    xmin: float
    xmax: float
    D: float
    sigma: float
    n_tail: int
    n_fit: int
    method: Literal["ww", "ww-small-n", "failed"]


@dataclass(frozen=True, slots=True)
class ESDMetricsEstimate:
    """Data-free ESD metrics of one layer (Martin & Mahoney 2021); measures, not bounds."""

    fit: PowerLawEstimate
    alpha_weighted: float
    log_norm: float
    log_spectral_norm: float
    log_alpha_norm: float
    stable_rank: float
    lambda_max: float
    num_evals: int

    @property
    def alpha(self) -> float:
        return self.fit.alpha


def _as_matrices(matrices: object) -> list[np.ndarray]:
    mats = [matrices] if isinstance(matrices, np.ndarray) or not isinstance(matrices, (list, tuple)) else list(matrices)
    out = []
    for k, W in enumerate(mats):
        a = as_array(W, f"matrices[{k}]", "a 2-D float weight matrix")
        if a.dtype.kind not in "fiu":
            raise InvalidInput(f"matrices[{k}].dtype={str(a.dtype)!r} is not numeric: pass float weight matrices")
        if a.ndim != 2 or min(a.shape) < 1:
            raise InvalidInput(f"matrices[{k}].shape={a.shape!r} is not a non-empty matrix: pass 2-D weights")
        a = np.asarray(a, dtype=np.float64)
        if not all_finite(a):
            raise InvalidInput(f"matrices[{k}] contains NaN or Inf: fix the weights")
        out.append(a)
    if not out:
        raise InvalidInput("matrices is empty: pass at least one weight matrix")
    return out


def conv2d_matrices(weight: object) -> list[np.ndarray]:
    """The ``kh * kw`` matrices ``weight[:, :, i, j]`` of a Conv2d kernel ``(out, in, kh, kw)`` (WeightWatcher pool=True)."""
    w = as_array(weight, "weight", "a Conv2d kernel (out, in, kh, kw)")
    if w.ndim != 4:
        raise InvalidInput(f"weight.ndim={w.ndim!r} but a Conv2d kernel (out, in, kh, kw) is needed")
    return [w[:, :, i, j] for i in range(w.shape[2]) for j in range(w.shape[3])]


def esd(matrices: object) -> np.ndarray:
    """Sorted eigenvalues of ``W^T W`` pooled over the matrices (squared singular values), float64.

    A single matrix goes the way of :func:`kernels.spectral_norm`: scaled by a power of two ``2^-e``, its smaller
    Gram ``fl(A^T A)`` formed by dsyrk, the eigenvalues multiplied back by ``4^e`` (:func:`gram_esd`), so
    :func:`kernels.spectral_norm_and_esd` returns the same eigenvalues from the Gram it has certified on."""
    mats = _as_matrices(matrices)
    if len(mats) == 1:
        a = np.array(mats[0], dtype=np.float64, order="C", copy=True)  # as kernels.spectral_norm scales it
        e, _ = pow2_scale_inplace(a)
        return gram_esd(gram_upper(tall_view(a)), e)
    groups: dict[tuple[int, int], list[np.ndarray]] = {}
    for W in mats:
        A = tall_view(W)  # A is tall: the Gram A^T A is the smaller one
        groups.setdefault(A.shape, []).append(A)
    grams = []
    for As in groups.values():  # Gram products: BLAS level 3, all threads
        if len(As) == 1:
            grams.append(As[0].T @ As[0])
        else:
            S = np.stack(As)
            grams.append(np.matmul(S.transpose(0, 2, 1), S))
    evals = []
    with single_blas_thread():  # LAPACK's tridiagonalisation gains little from threads and suffers under load
        for G in grams:
            if G.ndim == 2:
                evals.append(scipy.linalg.eigvalsh(G, driver="evd", overwrite_a=True, check_finite=False))
            else:
                evals.append(np.linalg.eigvalsh(G).ravel())
    lam = np.concatenate(evals)
    np.maximum(lam, 0.0, out=lam)
    lam.sort()
    return lam


def gram_esd(g_upper: np.ndarray, e: int = 0) -> np.ndarray:
    """Sorted eigenvalues (clipped at 0) of ``4^e G`` from the upper triangle of a symmetric ``G`` (overwritten)."""
    with single_blas_thread():  # LAPACK's tridiagonalisation gains little from threads and suffers under load
        lam = scipy.linalg.eigvalsh(g_upper, lower=False, driver="evd", overwrite_a=True, check_finite=False)
    if e:
        lam = np.ldexp(lam, 2 * e)
    np.maximum(lam, 0.0, out=lam)
    lam.sort()
    return lam


@numba.njit(fastmath=False, cache=True, error_model="numpy", nogil=True)
def _ks_one(data, alpha, i, bound):
    """``D_i = max_k |1 - (x_{i+k}/x_i)^(1 - alpha) - k/n|`` over the tail from ``i``; stops as soon as the running
    maximum exceeds ``bound`` (the value returned is then a lower bound of ``D_i`` that exceeds ``bound``)."""
    N = data.shape[0]
    n = float(N - i)
    xmin = data[i]
    dmax = 0.0
    for k in range(N - i):
        v = abs(1 - (data[i + k] / xmin) ** (-alpha + 1) - k / n)
        if v > dmax or v != v:
            dmax = v if v == v else np.nan
            if v != v or dmax > bound:
                break
    return dmax


@numba.njit(fastmath=False, parallel=True, cache=True, error_model="numpy", nogil=True)
def _ks_scan(data, alphas):
    """Every ``D_i`` exactly (``1`` where ``alpha_i <= 1``)."""
    N = data.shape[0]
    Ds = np.ones(N - 1)
    for i in numba.prange(N - 1):
        if alphas[i] > 1:
            Ds[i] = _ks_one(data, alphas[i], i, np.inf)
    return Ds


@numba.njit(fastmath=False, cache=True, error_model="numpy", nogil=True)
def _ks_scan_pruned(data, alphas):
    """``Ds`` with the same first minimiser as :func:`_ks_scan` and the same values wherever ``D_i`` can be
    minimal; a candidate whose running maximum exceeds the least ``D`` found so far stops early (its entry is then
    a lower bound of ``D_i``, still above the minimum). Every ``sqrt(N)``-th candidate is scanned first to start
    with a good bound. (For positive finite data and ``alpha > 1`` no term is NaN: ``(x/x_i)^(1 - alpha)`` lies in
    ``[0, 1]``.)"""
    N = data.shape[0]
    Ds = np.ones(N - 1)
    stride = max(1, int(math.sqrt(N)))
    best = np.inf
    for i in range(0, N - 1, stride):
        if alphas[i] > 1:
            Ds[i] = _ks_one(data, alphas[i], i, np.inf)
            best = min(best, Ds[i])
    for i in range(N - 1):
        if i % stride and alphas[i] > 1:
            Ds[i] = _ks_one(data, alphas[i], i, best)
            best = min(best, Ds[i])
    return Ds


@numba.njit(fastmath=False, cache=True, nogil=True)
def _suffix_sums(x):
    """``out[i] = sum(x[i:])``, compensated (Neumaier): error about ``2 u |sum|``, below ``np.sum``'s pairwise one."""
    out = np.empty(x.shape[0])
    s = 0.0
    c = 0.0
    for i in range(x.shape[0] - 1, -1, -1):
        v = x[i]
        t = s + v
        if abs(s) >= abs(v):
            c += (s - t) + v
        else:
            c += (v - t) + s
        s = t
        out[i] = s + c
    return out


def _fit_standard(data: np.ndarray, *, prune: bool = False) -> tuple[int, np.ndarray, np.ndarray]:
    """``(i, alphas, Ds)`` of the standard scan; with ``prune`` the ``Ds`` that cannot be minimal may be lower
    bounds (:func:`_ks_scan_pruned`; the chosen ``i`` and ``Ds[i]`` are the same)."""
    N = data.shape[0]
    log_data = np.log(data, dtype=np.float64)
    # WeightWatcher sums each slice log_data[i:] with np.sum (pairwise, O(N^2) in all); the compensated suffix sums
    # are O(N) and at least as accurate (alpha agrees to ~1e-15 relative)
    suffix = _suffix_sums(log_data)[: N - 1]
    n = (N - np.arange(N - 1)).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        alphas = 1 + n / (suffix - n * log_data[: N - 1])
    Ds = (_ks_scan_pruned if prune else _ks_scan)(data, alphas)
    return int(np.argmin(Ds)), alphas, Ds


def _fit_small_n(data: np.ndarray, k_min: int = 8) -> tuple[int, np.ndarray, np.ndarray]:
    """WeightWatcher's small-N scan. Its objective ``D - 0.868/sqrt(n)`` picks a candidate, but ``WWFit.__init__``
    then overwrites the choice with the first minimum of ``D`` (candidates skipped keep ``alpha = 0, D = 1``);
    we reproduce the effective behaviour."""
    N = data.shape[0]
    log_data = np.log(data, dtype=np.float64)
    alphas, Ds = np.zeros(N - 1), np.ones(N - 1)
    any_valid = False
    for i in range(N - 1):
        n_int = N - i
        if n_int < k_min:
            continue
        n = float(n_int)
        s = np.sum(log_data[i:]) - n * log_data[i]
        if s <= 1e-12:
            continue
        a = 1.0 + (n - 1.0) / s
        alphas[i] = a
        if a <= 1.0:
            continue
        any_valid = True
        F_fit = 1.0 - (data[i:] / data[i]) ** (1.0 - a)
        Ds[i] = float(np.max(np.abs(np.arange(n_int, dtype=np.float64) / n - F_fit)))
    if not any_valid:
        n = float(N)
        s = np.sum(log_data) - n * log_data[0]
        if s > 1e-12:
            a = 1.0 + (n - 1.0) / s
            alphas[0] = a
            F_fit = 1.0 - (data / data[0]) ** (1.0 - a)
            Ds[0] = float(np.max(np.abs(np.arange(N, dtype=np.float64) / n - F_fit)))
    return int(np.argmin(Ds)), alphas, Ds


def powerlaw_fit_estimate(evals: object, *, thresh: float = EVALS_THRESH) -> PowerLawEstimate:
    """WeightWatcher's default power-law fit (see the module docstring) of the eigenvalues ``evals``."""
    lam = as_array(evals, "evals", "the eigenvalues of a layer", np.float64).ravel()
    if lam.size == 0 or not np.all(np.isfinite(lam)):
        raise InvalidInput(f"evals has {lam.size} values or contains NaN/Inf: pass the finite eigenvalues of a layer")
    if isinstance(thresh, bool) or not (isinstance(thresh, (int, float)) and math.isfinite(thresh)):
        raise InvalidInput(f"thresh={thresh!r} must be a finite number (WeightWatcher uses {EVALS_THRESH!r})")
    data = np.sort(lam[lam > thresh])
    N = data.shape[0]
    if N < 2:
        return PowerLawEstimate(-1.0, -1.0, -1.0, -1.0, -1.0, 0, N, "failed")
    small = N < SMALL_N_CUTOFF
    i, alphas, Ds = _fit_small_n(data) if small else _fit_standard(data, prune=True)
    alpha = float(alphas[i])
    if math.isnan(alpha):
        return PowerLawEstimate(-1.0, -1.0, float(data[-1]), -1.0, -1.0, 0, N, "failed")
    sigma = (alpha - 1) / math.sqrt(N - i)
    xmin = float(data[i])
    return PowerLawEstimate(
        alpha=alpha, xmin=xmin, xmax=float(data[-1]), D=float(Ds[i]), sigma=float(sigma),
        n_tail=int(np.count_nonzero(lam >= xmin)), n_fit=N, method="ww-small-n" if small else "ww",
    )


def stable_rank_estimate(evals: object) -> float:
    """``sum lambda / max lambda`` of an ESD (``||W||_F^2 / ||W||_2^2`` when ``evals`` are all of W^T W's)."""
    lam = as_array(evals, "evals", "the eigenvalues of a layer", np.float64).ravel()
    if lam.size == 0 or not np.all(np.isfinite(lam)) or np.any(lam < 0) or lam.max() <= 0:
        raise InvalidInput("evals must be a non-empty array of finite non-negative numbers, not all zero")
    return float(np.sum(lam) / np.max(lam))


def esd_metrics_estimate(
    matrices: object = None, *, evals: object = None, scale: float = 1.0
) -> ESDMetricsEstimate:
    """All ESD metrics of one layer from its matrices (or precomputed ``evals``); ``scale`` multiplies the evals."""
    if (matrices is None) == (evals is None):
        raise InvalidInput("pass exactly one of matrices= or evals=")
    lam = esd(matrices) if evals is None else np.sort(as_array(evals, "evals", "the eigenvalues of a layer",
                                                               np.float64).ravel())
    check_positive("scale", scale)
    if scale != 1.0:
        lam = lam * scale
    fit = powerlaw_fit_estimate(lam)
    lmax = float(lam[-1])
    norm = float(np.sum(lam))
    with np.errstate(divide="ignore"):
        log_spec = float(np.log10(lmax))
        log_alpha_norm = float(np.log10(np.sum(lam**fit.alpha)))
        log_norm = float(np.log10(norm))
    return ESDMetricsEstimate(
        fit=fit,
        alpha_weighted=fit.alpha * log_spec,
        log_norm=log_norm,
        log_spectral_norm=log_spec,
        log_alpha_norm=log_alpha_norm,
        stable_rank=norm / lmax if lmax > 0 else math.nan,
        lambda_max=lmax,
        num_evals=int(lam.size),
    )
