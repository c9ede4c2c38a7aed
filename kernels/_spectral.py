"""Certified spectral norm ``||W||_2`` of a dense matrix: Rump's Cholesky certificate.

Main statement (Rump, BIT 51 (2011) 367-384, eq. 3.18): if ``alpha^2 I - W^T W`` is positive
semidefinite then ``||W||_2 <= alpha``. Positive semidefiniteness is *proven* in floating point by
the "verified positive definiteness" argument (Rump, BIT 46 (2006) 433-452, Thm 2.3 / Cor. 2.4),
built on Higham's backward error of Cholesky (*Accuracy and Stability*, 2nd ed., Thm 10.3): if
floating-point Cholesky of a symmetric ``M`` runs to completion, ``R^T R = M + dM`` with
``|dM| <= gamma_{n+1} |R^T||R|``, whatever the order of the inner products (blocked LAPACK, FMA);
with ``||r_j||^2 <= M_jj/(1 - gamma_{n+1})`` this gives
``||dM||_2 <= gamma_{n+1}/(1 - gamma_{n+1}) trace(M)`` (+ an underflow term), so
``M >= -||dM||_2 I``. The lower end is ``||W v||_2 / ||v||_2`` for a Lanczos vector ``v``, evaluated
with the a-priori dot-product bound ``gamma_n |W||v| + n eta``.

The pieces shared with the other kernels live below this module: the power-of-two scaling
(:mod:`kernels._scaling`), the Gram matrix and its error bound (:mod:`kernels._gram`), the Cholesky certificate
(:mod:`kernels._cholesky`) and the product bound of the lower end (:func:`kernels._rounding.product_ratio_lower`).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import scipy.linalg
import scipy.linalg.blas as blas
import scipy.sparse.linalg as spla

from kernels._cholesky import certify_with, potrf_ok
from kernels._device import Device, resolve_torch_device, single_blas_thread, tag_source
from kernels._enclosure import Enclosure
from kernels._environment import check_environment
from kernels._esd import esd, gram_esd
from kernels._gram import gram_error, gram_upper, tall_view
from kernels._rounding import add_up, div_down, mul_up, product_ratio_lower, sqrt_down, sqrt_up, sub_down, sumsq_bounds, up
from kernels._scaling import pow2_scale_inplace, unscale_down, unscale_up
from kernels._validation import as_float64, check_int, check_rtol

__all__ = ["spectral_norm", "spectral_norm_and_esd", "spectral_norm_estimate", "RtolNotReached"]

SOURCE = "kernels.spectral_norm/rump-cholesky v1"


class RtolNotReached(RuntimeWarning):
    """A certified enclosure is returned, but its relative gap is wider than the requested rtol."""


# ---------------------------------------------------------------- the host Gram and the Lanczos witness

class _CpuGram:
    """The Gram matrix on the host: dsyrk, LAPACK dpotrf, Lanczos with dsymv."""

    def __init__(self, a: np.ndarray) -> None:
        self.g = gram_upper(a)

    def diag(self) -> np.ndarray:
        return np.diagonal(self.g).copy()

    def factor(self, m_diag: np.ndarray) -> bool:
        with single_blas_thread():
            return potrf_ok(self.g, m_diag)

    def top_vector(self, tight: bool) -> np.ndarray:
        with single_blas_thread():
            return top_singular_vector_estimate(self.g, tight=tight)


def top_singular_vector_estimate(g_upper: np.ndarray, *, tight: bool = False) -> np.ndarray:
    """Heuristic top eigenvector of the symmetric ``G`` (upper triangle given); any answer is fine."""
    n = g_upper.shape[0]
    if n <= 256:
        g = np.triu(g_upper) + np.triu(g_upper, 1).T
        _, vec = scipy.linalg.eigh(g, subset_by_index=[n - 1, n - 1], check_finite=False)
        return vec[:, 0]
    gf = np.asfortranarray(g_upper)
    op = spla.LinearOperator((n, n), matvec=lambda x: blas.dsymv(1.0, gf, np.ravel(x), lower=0), dtype=np.float64)
    v0 = np.random.default_rng(0).standard_normal(n)
    _, vec = spla.eigsh(op, k=1, which="LA", v0=v0, tol=0.0 if tight else 1e-11, ncv=40 if tight else 20)
    return vec[:, 0]


def norm_ratio_lower(a: np.ndarray, v: np.ndarray, fro_hi: float) -> float:
    """Rigorous lower bound of ``||a v||_2 / ||v||_2`` (0 if nothing positive is proven).

    ``|fl(a v) - a v| <= gamma_n |a||v| + n eta`` entrywise, so
    ``||a v - fl(a v)||_2 <= gamma_n ||a||_F ||v||_2 + sqrt(m) n eta`` (:func:`kernels._rounding.product_ratio_lower`).
    """
    return product_ratio_lower(a @ v, v, a.shape[1], fro_hi)


# ---------------------------------------------------------------- the public kernel

def spectral_norm(W: Any, *, rtol: float = 1e-6, device: Device = "auto") -> Enclosure:
    """Certified enclosure ``lo <= ||W||_2 <= hi`` of the largest singular value of the stored ``W``.

    Args:
        W: 2-D numpy array or torch tensor (float16/bfloat16/float32/float64), taken exactly.
        rtol: target relative gap ``(hi - lo)/hi``; the upper end is refined from ``lo (1 + rtol/2)``.
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``: on CUDA the Gram matrix, the Cholesky factorisations and
            the Lanczos products run in float64 through torch (cuBLAS dgemm, cuSOLVER potrf), with the same error
            model (:mod:`kernels._cuda_spectral`); ``"auto"`` picks CUDA when a GPU and torch CUDA are present.

    Rounding model: binary64, round-to-nearest, gradual underflow (checked), ``u = 2^-53``,
    ``eta = 2^-1074``. ``W`` is scaled by ``2^-e`` (exact, or ``sqrt(mn) eta`` added) and the Gram
    ``Gt = fl(A^T A)`` of the smaller side is formed with ``||A^T A - Gt||_2 <= gamma_m ||A||_F^2 + m n eta``.
    Upper end: ``alpha^2 I - Gt - s I`` is Cholesky-factored with ``s >= ||Gt - G||_2 +
    gamma_{n+1}/(1-gamma_{n+1}) trace + rounding`` (Rump, BIT 46 (2006) Cor. 2.4; BIT 51 (2011) eq. 3.18;
    Higham Thm 10.3); success proves ``||W||_2 <= alpha``. ``||A||_F`` (rounded up) is the fallback upper end.
    Lower end: ``||A v|| / ||v||`` with ``|fl(Av) - Av| <= gamma_n |A||v| + n eta``, ``v`` from Lanczos.
    Ends are unscaled and rounded outward with ``math.nextafter``.

    Returns:
        :class:`Enclosure` with ``source`` ``"kernels.spectral_norm/rump-cholesky v1"``; when rtol cannot
        be reached the looser proven enclosure is returned, the source says so and
        :class:`RtolNotReached` is warned.
    """
    return _spectral_norm(W, rtol, device, keep_gram=False)[0]


def spectral_norm_and_esd(W: Any, *, rtol: float = 1e-6, device: Device = "auto") -> tuple[Enclosure, np.ndarray]:
    """:func:`spectral_norm` of ``W`` and :func:`kernels.esd` of ``W`` from one Gram matrix.

    Returns ``(enclosure, evals)``: the enclosure is the one :func:`spectral_norm` returns (same computation, same
    proof); ``evals`` are the sorted eigenvalues of ``W^T W`` (a float64 measurement, not a bound), equal bit for bit
    to ``kernels.esd(W)``. On the CPU the eigenvalues are those of the Gram matrix ``fl(A^T A)`` the certificate
    was built on (of the power-of-two scaled ``W``, rescaled exactly), computed only after the proof is finished;
    nothing of the eigenvalues enters the enclosure. On CUDA the two are computed separately."""
    enc, gram, e = _spectral_norm(W, rtol, device, keep_gram=True)
    if gram is None:
        return enc, esd(as_float64(W, "W", ndim=2))
    return enc, gram_esd(gram, e)


def _spectral_norm(W: Any, rtol: float, device: Device, *, keep_gram: bool) -> tuple[Enclosure, Any, int]:
    """(enclosure, the host Gram's upper triangle or None, the scaling exponent) of :func:`spectral_norm`."""
    check_environment("kernels.spectral_norm")
    dev = resolve_torch_device(device, "kernels.spectral_norm")
    check_rtol(rtol, "1e-6")
    a = as_float64(W, "W", ndim=2)  # our own C-contiguous copy: scaled in place
    if a.size == 0 or not np.any(a):
        return Enclosure(0.0, 0.0, tag_source(SOURCE, dev)), None, 0
    e, serr = pow2_scale_inplace(a)
    a = tall_view(a)
    g = None
    if dev == "cuda":
        from kernels._cuda_spectral import TorchGram

        check_environment("kernels.spectral_norm")  # torch is imported now: TF32 switches are checked again
        lo_s, hi_s, note = _enclose_scaled(a, float(rtol), lambda x: TorchGram(x, "cuda"))
    else:
        g = _CpuGram(a)
        lo_s, hi_s, note = _enclose_scaled(a, float(rtol), lambda x: g)
    del a
    lo = unscale_down(max(sub_down(lo_s, serr), 0.0), e)
    hi = unscale_up(add_up(hi_s, serr), e)
    enc = Enclosure(lo, hi, tag_source(SOURCE, dev) + note)
    if note:
        warnings.warn(f"kernels.spectral_norm: rtol={rtol!r} not reached; returning the proven enclosure "
                      f"[{lo!r}, {hi!r}] ({note.strip('; ')})", RtolNotReached, stacklevel=3)
    return enc, (g.g if keep_gram and g is not None else None), e


def _enclose_scaled(a: np.ndarray, rtol: float, gram=_CpuGram) -> tuple[float, float, str]:
    """(lo, hi, note) for a tall float64 ``a`` with entries of magnitude <= 1; ``gram(a)`` forms ``fl(a^T a)``
    where it is kept (host, or GPU: :class:`kernels._cuda_spectral.TorchGram`); the error model is the same."""
    m, n = a.shape
    fro2_lo, fro2_hi = sumsq_bounds(a)
    fro_hi = sqrt_up(fro2_hi)
    g = gram(a)
    g_err = gram_error(m, n, fro2_hi)
    d = g.diag()
    lo = norm_ratio_lower(a, g.top_vector(False), fro_hi)
    # every column is a lower bound too (cheap safety net when Lanczos is poor)
    lo = max(lo, sqrt_down(div_down(fro2_lo, float(n))) if n == 1 else 0.0)
    hi = fro_hi
    step = rtol / 2.0
    refined = False
    for _ in range(60):
        if lo <= 0.0:
            break
        alpha = mul_up(lo, up(1.0 + step))
        if alpha >= hi:
            break
        if certify_with(d, mul_up(alpha, alpha), g_err, g.factor):
            hi = alpha
            break
        if not refined:  # maybe v was poor: a tighter Lanczos run, then retry at the same step
            refined = True
            lo = max(lo, norm_ratio_lower(a, g.top_vector(True), fro_hi))
            continue
        step *= 4.0
    note = "" if hi == 0.0 or (hi - lo) <= rtol * hi else f"; rtol not reached: gap {(hi - lo) / hi:.3g}"
    return lo, hi, note


def spectral_norm_estimate(W: Any, *, iters: int = 100) -> float:
    """Uncertified estimate of ``||W||_2`` by power iteration on ``W^T W`` (float64). Not a bound."""
    iters = check_int("iters", iters, 0)
    a = as_float64(W, "W", ndim=2)
    if a.size == 0 or not np.any(a):
        return 0.0
    v = np.random.default_rng(0).standard_normal(a.shape[1])
    for _ in range(iters):
        w = a.T @ (a @ v)
        nv = np.linalg.norm(w)
        if nv == 0.0:
            return 0.0
        v = w / nv
    return float(np.linalg.norm(a @ v))
