"""The Gram matrix ``fl(a^T a)`` of the smaller side of a matrix and its a-priori error bound.

Shared by the dense spectral-norm certificate (:mod:`kernels._spectral`) and the ESD (:mod:`kernels._esd`), which
form the same Gram of the same power-of-two scaled matrix (:mod:`kernels._scaling`).

Rounding model (binary64, round-to-nearest, ``u = 2**-53``, ``eta = 2**-1074``; Higham, *Accuracy and Stability*,
Lemma 3.1): each entry of ``fl(a^T a)`` is a sum of ``m`` products in some order, FMA or not, so entrywise
``|fl(a^T a) - a^T a| <= gamma_m |a|^T |a| + m eta``; with ``|| |a|^T |a| ||_2 <= ||a||_F^2`` and
``||1 1^T||_2 = n`` this gives the spectral-norm bound of :func:`gram_error`. dsyrk is a conventional O(n^3)
product (no Strassen); the bound does not depend on the order of the inner products.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg.blas as blas

from kernels._rounding import ETA, add_up, gamma, mul_up, up

__all__ = ["gram_upper", "gram_error", "tall_view"]


def tall_view(a: np.ndarray) -> np.ndarray:
    """``a`` or (when it is wide) its transpose, as a view: the tall side whose Gram ``a^T a`` is the smaller one."""
    return a.T if a.shape[0] < a.shape[1] else a


def gram_upper(a: np.ndarray) -> np.ndarray:
    """``fl(a^T a)``, upper triangle valid (dsyrk, a conventional O(n^3) GEMM: no Strassen).

    A C-contiguous ``a`` is passed as the Fortran-ordered ``a^T`` with ``trans=0`` (no copy); the error bound of
    :func:`gram_error` does not depend on the order of the inner products."""
    a = np.asarray(a, dtype=np.float64)
    if a.flags.c_contiguous and not a.flags.f_contiguous:
        return blas.dsyrk(1.0, a.T, trans=0, lower=0)
    return blas.dsyrk(1.0, np.asfortranarray(a), trans=1, lower=0)


def gram_error(m: int, n: int, fro2_hi: float) -> float:
    """Upper bound of ``||a^T a - fl(a^T a)||_2`` for ``a`` of shape ``(m, n)`` with ``||a||_F^2 <= fro2_hi``.

    Entrywise ``|dG| <= gamma_m |a|^T|a| + m eta``; ``|| |a|^T|a| ||_2 <= ||a||_F^2`` and ``||1 1^T||_2 = n``.
    """
    return add_up(mul_up(gamma(m), fro2_hi), up(up(float(m) * float(n)) * ETA))
