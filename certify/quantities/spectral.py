"""Certified Frobenius and spectral-norm enclosures of one weight matrix (the per-layer numbers of ``certify
analyze`` and of the Lipschitz products).

Rounding model: the elementary ends come from :func:`kernels.matrix_norms` (one sweep, every end a proven bound);
the spectral kernel's enclosure (:func:`kernels.spectral_norm`, Rump/Higham shifted Cholesky) is intersected in.
"""

from __future__ import annotations

import numpy as np

from boundcert.errors import CertifyError
from theorems import Interval, enclose
from theorems._interval import isqrt

__all__ = ["matrix_enclosures", "spectral_enclosure"]


def matrix_enclosures(W2: np.ndarray, *, esd: bool = False) -> tuple[Interval, Interval, str, np.ndarray | None]:
    """``(frobenius, spectral, spectral_source, evals)`` of the matrix ``W2``: certified enclosures, and with ``esd``
    the eigenvalues of ``W2^T W2`` (a measurement) from the Gram matrix the spectral kernel certified on, else None.

    Elementary enclosures from :func:`kernels.matrix_norms` (one sweep): ``max(largest row, largest column l2 norm)
    <= ||W||_2 <= min(||W||_F, sqrt(||W||_1 ||W||_inf))``, then :func:`kernels.spectral_norm`'s enclosure is
    intersected in. Every end is a proven bound; the eigenvalues are never used for them."""
    import kernels

    n = kernels.matrix_norms(W2)
    frob = enclose(n.frobenius)
    lo = max(enclose(n.max_row_l2).lo, enclose(n.max_col_l2).lo)
    hi = min(frob.hi, isqrt(enclose(n.max_row_l1) * enclose(n.max_col_l1)).hi)
    source, evals = "certify.schur_frobenius v1", None
    try:
        if esd:
            e, evals = kernels.spectral_norm_and_esd(W2)
        else:
            e = kernels.spectral_norm(W2)
        lo, hi, source = max(lo, enclose(e.lo).lo), min(hi, enclose(e.hi).hi), "kernels.spectral_norm"
    except (CertifyError, ArithmeticError, RuntimeError, ValueError, np.linalg.LinAlgError) as exc:
        # a refusal of the spectral kernel (e.g. its tolerance not reached) leaves the sound elementary enclosure
        source = f"certify.schur_frobenius v1 (kernels.spectral_norm refused: {type(exc).__name__})"
    return frob, Interval(lo, hi), source, evals


def spectral_enclosure(W2: np.ndarray) -> tuple[Interval, str]:
    """The spectral-norm enclosure of :func:`matrix_enclosures` and its source."""
    _, spec, source, _ = matrix_enclosures(W2)
    return spec, source
