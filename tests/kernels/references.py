"""Independent references for the kernel tests, never our code.

``sigma_max`` containment is decided *exactly* in rational arithmetic (python-flint ``fmpq``):
every float is a rational, so ``G = W^T W`` is exact and

* ``hi >= sigma_max``  <=>  ``hi^2 I - G`` is positive semidefinite,
* ``lo <= sigma_max``  <=>  ``lo^2 I - G`` is *not* positive definite,

both decided by exact symmetric Gaussian elimination. No precision, no tolerance.
"""

from __future__ import annotations

from fractions import Fraction

import flint
import numpy as np


def _q(x: float) -> flint.fmpq:
    f = Fraction(float(x))
    return flint.fmpq(f.numerator, f.denominator)


def exact_gram(w: np.ndarray) -> list[list[flint.fmpq]]:
    w = np.asarray(w, dtype=np.float64)
    if w.shape[0] < w.shape[1]:
        w = w.T
    a = [[_q(x) for x in row] for row in w]
    m, n = w.shape
    return [[sum((a[k][i] * a[k][j] for k in range(m)), flint.fmpq(0)) for j in range(n)] for i in range(n)]


def _shifted(g, t: flint.fmpq):
    n = len(g)
    return [[(t if i == j else flint.fmpq(0)) - g[i][j] for j in range(n)] for i in range(n)]


def is_psd(a) -> bool:
    """Exact PSD test of a symmetric rational matrix (elimination; a zero pivot needs a zero row)."""
    a = [row[:] for row in a]
    n = len(a)
    for k in range(n):
        p = a[k][k]
        if p < 0:
            return False
        if p == 0:
            if any(a[k][j] != 0 for j in range(k + 1, n)):
                return False
            continue
        for i in range(k + 1, n):
            f = a[i][k] / p
            if f != 0:
                for j in range(k + 1, n):
                    a[i][j] -= f * a[k][j]
    return True


def is_pd(a) -> bool:
    """Exact positive-definiteness test (all elimination pivots > 0)."""
    a = [row[:] for row in a]
    n = len(a)
    for k in range(n):
        p = a[k][k]
        if p <= 0:
            return False
        for i in range(k + 1, n):
            f = a[i][k] / p
            if f != 0:
                for j in range(k + 1, n):
                    a[i][j] -= f * a[k][j]
    return True


def assert_contains_sigma(enc, w: np.ndarray) -> None:
    """``enc.lo <= sigma_max(w) <= enc.hi``, decided exactly."""
    g = exact_gram(w)
    assert enc.lo >= 0.0
    lo, hi = _q(enc.lo), _q(enc.hi)
    assert is_psd(_shifted(g, hi * hi)), f"upper end {enc.hi!r} below sigma_max of {w!r}"
    assert not is_pd(_shifted(g, lo * lo)), f"lower end {enc.lo!r} above sigma_max of {w!r}"
