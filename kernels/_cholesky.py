"""Rump's Cholesky certificate: prove ``alpha^2 I - G >= 0`` for one Gram matrix or a stack of them.

Main statement (Rump, BIT 46 (2006) 433-452, Thm 2.3 / Cor. 2.4, built on Higham, *Accuracy and Stability*,
2nd ed., Thm 10.3): if floating-point Cholesky of a symmetric ``M`` of order ``n`` runs to completion, then
``R^T R = M + dM`` with ``|dM| <= gamma_{n+1} |R^T||R|``, whatever the order of the inner products (blocked
LAPACK, cuSOLVER, FMA); with ``||r_j||^2 <= M_jj/(1 - gamma_{n+1})`` this gives
``||dM||_2 <= gamma_{n+1}/(1 - gamma_{n+1}) trace(M)`` (+ an underflow term), so ``M >= -||dM||_2 I``.
Factoring ``M = alpha^2 I - Gt - s I`` with the shift ``s`` of :func:`certify_with` therefore proves
``alpha^2 I - G >= 0`` for every symmetric ``G`` within the Gram error of the computed ``Gt``, i.e.
``||W||_2 <= alpha`` (Rump, BIT 51 (2011) 367-384, eq. 3.18).

:func:`certify_with` is the dense form (the CPU and CUDA spectral norms, the banded convolution certificate);
:func:`certify_blocks` applies it block by block with one shared ``alpha`` to the block-diagonal Fourier form of
a convolution (Sedghi, Gupta, Long, ICLR 2019), with the shift evaluated elementwise, one ulp up per operation.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.linalg.lapack as lapack

from kernels._rounding import ETA, U, add_up, div_up, down, gamma, mul_up, up, vsumsq_upper, vup

__all__ = ["cholesky_certifies", "certify_with", "potrf_ok", "batched_gram", "certify_blocks", "failing_blocks"]


def _shift_terms(n: int, alpha2: float) -> tuple[float, float]:
    """``(chol, under)``: upper bounds of ``gamma_{n+1}/(1 - gamma_{n+1}) trace(M)`` (with ``trace(M) <= n alpha2``,
    since ``M_ii <= alpha2``) and of the underflow part of ``||dM||_2``, for a Cholesky of order ``n``."""
    g1 = gamma(n + 1)
    chol = mul_up(div_up(g1, down(1.0 - g1)), mul_up(float(n), alpha2))
    under = up(up(2.0 * n * (n + 3.0 + max(alpha2, 1.0))) * ETA)
    return chol, under


def cholesky_certifies(g_upper: np.ndarray, alpha2: float, g_err: float) -> bool:
    """True only if ``alpha2 I - G`` is proven PSD, where ``G`` is any symmetric matrix with
    ``||G - Gt||_2 <= g_err`` and ``Gt`` is the upper triangle of ``g_upper`` (diagonal >= 0).

    Factors ``M = fl(fl(alpha2 - Gt_ii) - s)`` on the diagonal, ``-Gt`` off it, with the shift
    ``s = s0 + 6u(alpha2 + max Gt_ii + s0)``, ``s0 = g_err + gamma_{n+1}/(1-gamma_{n+1}) trace(M) + under``.
    Then ``alpha2 I - G = M + diag(delta) + (Gt - G)``, ``delta_i >= s0`` (two roundings), and
    ``M >= -||dM||_2 I`` from a successful Cholesky (Higham Thm 10.3), hence ``alpha2 I - G >= 0``.
    """
    return certify_with(np.diagonal(g_upper).copy(), alpha2, g_err, lambda md: potrf_ok(g_upper, md))


def potrf_ok(g_upper: np.ndarray, m_diag: np.ndarray) -> bool:
    """LAPACK dpotrf of ``M = -Gt`` with diagonal ``m_diag`` (upper triangle read) runs to completion."""
    n = g_upper.shape[0]
    m = np.negative(g_upper, order="F")
    idx = np.arange(n)
    m[idx, idx] = m_diag
    _, info = lapack.dpotrf(m, lower=0, overwrite_a=1, clean=0)
    return info == 0


def certify_with(d: np.ndarray, alpha2: float, g_err: float, factor) -> bool:
    """The shift of :func:`cholesky_certifies` for the Gram diagonal ``d``; ``factor(m_diag)`` must return True
    only if a float Cholesky (any BLAS/LAPACK, any order: Higham Thm 10.3) of ``M = -Gt`` with diagonal
    ``m_diag`` ran to completion. Shared by the CPU (LAPACK) and the CUDA (cuSOLVER) paths."""
    n = d.shape[0]
    maxdiag = float(np.max(d)) if n else 0.0
    if not (alpha2 > 0.0) or math.isinf(alpha2) or maxdiag < 0.0 or float(np.min(d)) < 0.0:
        return False
    chol, under = _shift_terms(n, alpha2)
    s0 = add_up(add_up(g_err, chol), under)
    s = add_up(s0, mul_up(6.0 * U, add_up(add_up(alpha2, maxdiag), s0)))
    if not s < alpha2:
        return False
    return bool(factor((alpha2 - d) - s))


def batched_gram(r: np.ndarray, device: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(fl(r_b^T r_b), err_b)`` over the smaller side of each block ``r_b`` (shape (B, m, n)), where
    ``err_b >= ||r_b^T r_b - fl(r_b^T r_b)||_2 = gamma_m ||r_b||_F^2 + m n eta`` (entrywise gamma bound).

    ``device`` (a torch device, e.g. ``"cuda"``): the products are a float64 batched GEMM there (cuBLAS; any
    order, FMA or not: the same bound); the Gram blocks come back to the host."""
    if r.shape[1] < r.shape[2]:
        r = np.swapaxes(r, 1, 2)
    _, m, n = r.shape
    if device is None:
        g = np.matmul(np.swapaxes(r, 1, 2), r)
    else:
        import torch

        rt = torch.from_numpy(np.ascontiguousarray(r, dtype=np.float64)).to(device)
        g = torch.matmul(rt.transpose(1, 2), rt).to("cpu").numpy()
        del rt
    fro2 = vsumsq_upper(r, axis=(1, 2))
    err = vup(vup(gamma(m) * fro2) + up(float(m) * float(n) * ETA))
    return g, err


def certify_blocks(g: np.ndarray, err: np.ndarray, alpha2: float, device: str | None = None) -> bool:
    """True only if ``alpha2 I - G_b`` is proven PSD for every ``b``, where ``||G_b - g_b||_2 <= err_b``.

    ``device`` (a torch device): the batched Cholesky runs there (cuSOLVER potrf; Higham Thm 10.3 holds for
    any order of the inner products); the shifted diagonal is computed here on the host either way. The lower
    triangle of each ``g_b`` is read (the symmetric matrix it defines obeys the same error bound)."""
    nb, n, _ = g.shape
    diag = np.diagonal(g, axis1=1, axis2=2)
    if not alpha2 > 0.0 or np.any(diag < 0.0):
        return False
    chol, under = _shift_terms(n, alpha2)
    s0 = vup(vup(err + chol) + under)
    maxdiag = np.max(diag, axis=1)
    s = vup(s0 + vup(6.0 * U * vup(vup(alpha2 + maxdiag) + s0)))
    if np.any(s >= alpha2):
        return False
    m = -g
    idx = np.arange(n)
    m[:, idx, idx] = (alpha2 - diag) - s[:, None]
    if device is not None:
        import torch

        _, info = torch.linalg.cholesky_ex(torch.from_numpy(m).to(device), upper=False, check_errors=False)
        return bool(torch.all(info == 0).item())
    try:
        np.linalg.cholesky(m)  # LAPACK potrf per block; raises if any block is not numerically PD
        return True
    except np.linalg.LinAlgError:
        return False


def failing_blocks(g: np.ndarray, err: np.ndarray, alpha2: float) -> np.ndarray:
    """Indices of the blocks that :func:`certify_blocks` cannot certify at ``alpha2`` (for diagnostics)."""
    return np.array([b for b in range(g.shape[0]) if not certify_blocks(g[b:b + 1], err[b:b + 1], alpha2)], dtype=int)
