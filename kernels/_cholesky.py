"""Batched Rump Cholesky certificate: prove ``alpha^2 I - G_b >= 0`` for a stack of Gram matrices.

Same lemma as :func:`kernels._spectral.cholesky_certifies` (Rump, BIT 46 (2006) Cor. 2.4; Higham
Thm 10.3), applied block by block with one shared ``alpha`` (used by the convolution kernel, whose
operator is unitarily equivalent to a block-diagonal matrix: Sedghi, Gupta, Long, ICLR 2019).
"""

from __future__ import annotations

import numpy as np

from kernels._rounding import ETA, U, div_up, down, gamma, mul_up, up, vsumsq_upper, vup

__all__ = ["batched_gram", "certify_blocks"]


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
    g1 = gamma(n + 1)
    chol = mul_up(div_up(g1, down(1.0 - g1)), mul_up(float(n), alpha2))
    under = up(up(2.0 * n * (n + 3.0 + max(alpha2, 1.0))) * ETA)
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

