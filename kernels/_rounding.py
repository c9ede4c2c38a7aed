"""Directed scalar rounding and a-priori error constants for float64 (binary64, round-to-nearest).

Rounding model (Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., ch. 2-3):
``fl(x op y) = (x op y)(1 + d) + e`` with ``|d| <= u = 2^-53``, ``|e| <= eta`` and ``d e = 0``, where
``eta = 2^-1074`` (we take the whole smallest subnormal, twice Higham's ``eta``, to be safe); additions
are exact when they underflow. A sum of ``n`` products in any order (FMA or not) then satisfies
``|fl(sum x_i y_i) - sum x_i y_i| <= gamma_n sum |x_i y_i| + n eta`` with ``gamma_n = n u / (1 - n u)``.

Scalar bookkeeping: IEEE operations are correctly rounded, so ``nextafter(fl(x op y), +-inf)`` is a
rigorous upper (lower) bound of the exact result; the helpers below do exactly that.
"""

from __future__ import annotations

import math

import numpy as np

from boundcert.errors import InvalidInput

__all__ = [
    "U", "ETA", "gamma", "up", "down", "add_up", "add_down", "sub_up", "sub_down", "mul_up", "mul_down",
    "div_up", "div_down", "sqrt_up", "sqrt_down", "sumsq_bounds", "sum_upper", "fsum_down", "fsum_up",
    "product_ratio_lower", "vup", "vdown", "vsumsq_upper",
]

U = 2.0**-53
ETA = 2.0**-1074
_INF = math.inf


def up(x: float) -> float:
    return math.nextafter(x, _INF)


def down(x: float) -> float:
    return math.nextafter(x, -_INF)


def add_up(a: float, b: float) -> float:
    s = a + b
    return s if _two_sum_exact(a, b, s) and not math.isinf(s) else up(s)


def _two_sum_exact(a: float, b: float, s: float) -> bool:
    # Knuth's TwoSum error term; the sum is exact iff it is zero.
    bb = s - a
    err = (a - (s - bb)) + (b - bb)
    return err == 0.0


def add_down(a: float, b: float) -> float:
    s = a + b
    return s if _two_sum_exact(a, b, s) and not math.isinf(s) else down(s)


def sub_up(a: float, b: float) -> float:
    return add_up(a, -b)


def sub_down(a: float, b: float) -> float:
    return add_down(a, -b)


def _mul_exact(a: float, b: float, p: float) -> bool:
    """True when ``p = fl(a b)`` is certainly exact: a zero, or a power-of-two factor and a normal result."""
    if a == 0.0 or b == 0.0:
        return True
    pow2 = abs(math.frexp(a)[0]) == 0.5 or abs(math.frexp(b)[0]) == 0.5
    return pow2 and math.isfinite(p) and abs(p) >= 2.0**-1022


def mul_up(a: float, b: float) -> float:
    p = a * b
    return p if _mul_exact(a, b, p) else up(p)


def mul_down(a: float, b: float) -> float:
    p = a * b
    return p if _mul_exact(a, b, p) else down(p)


def div_up(a: float, b: float) -> float:
    return up(a / b)


def div_down(a: float, b: float) -> float:
    return down(a / b)


def sqrt_up(a: float) -> float:
    return up(math.sqrt(a)) if a > 0.0 else 0.0 if a == 0.0 else math.nan


def sqrt_down(a: float) -> float:
    return max(down(math.sqrt(a)), 0.0) if a > 0.0 else 0.0


def gamma(n: int) -> float:
    """An upper bound (float) of ``gamma_n = n u / (1 - n u)``; needs ``n u < 1/2``."""
    if n < 0 or n * U >= 0.5:
        raise InvalidInput(f"n={n!r}: gamma_n needs 0 <= n < 2^52 so that n*u < 1/2; split the computation")
    nu = up(n * U)  # n*U is exact for n < 2^53, up() keeps it safe anyway
    return div_up(nu, down(1.0 - nu))


def sum_upper(x: np.ndarray) -> float:
    """Rigorous upper bound of the exact sum of a nonnegative float64 array (any summation order)."""
    x = np.asarray(x, dtype=np.float64).ravel()
    n = x.size
    if n == 0:
        return 0.0
    s = float(np.sum(x))
    # |fl(sum) - sum| <= gamma_{n-1} sum (additions never underflow with an error) => sum <= s / (1 - gamma)
    return div_up(s, down(1.0 - gamma(n)))


def sumsq_bounds(x: np.ndarray) -> tuple[float, float]:
    """Rigorous ``(lower, upper)`` bounds of the exact ``sum x_i^2`` of a float64 array.

    Error term: ``|fl(x.x) - x.x| <= gamma_n x.x + n eta`` (any order, FMA or not), hence
    ``x.x in [(s - n eta)/(1 + gamma_n), (s + n eta)/(1 - gamma_n)]`` with ``s = fl(x.x)``.
    The caller must make sure no overflow occurs (scale first); ``inf`` is returned as upper if it does.
    """
    x = np.asarray(x, dtype=np.float64).ravel(order="K")  # any order: a view of a C- or Fortran-ordered array
    n = x.size
    if n == 0:
        return 0.0, 0.0
    s = float(np.dot(x, x))
    if math.isinf(s):
        return 0.0, _INF
    g = gamma(n)
    abs_term = up(n * ETA) if n * ETA > 0 else ETA
    lo = max(div_down(sub_down(s, abs_term), up(1.0 + g)), 0.0)
    hi = div_up(add_up(s, abs_term), down(1.0 - g))
    return lo, hi


def product_ratio_lower(y: np.ndarray, x: np.ndarray, n_terms: int, abs_norm_hi: float) -> float:
    """Rigorous lower bound of ``||A x||_2 / ||x||_2`` from ``y = fl(A x)`` (0 if nothing positive is proven).

    Each entry of ``y`` is a sum of at most ``n_terms`` products in some order, so entrywise
    ``|fl(A x) - A x| <= gamma_N |A||x| + N eta`` (``N = n_terms``) and, with ``|| |A| ||_2 <= abs_norm_hi``,
    ``||A x - fl(A x)||_2 <= gamma_N abs_norm_hi ||x||_2 + sqrt(len(y)) N eta``. Used with ``A`` a dense matrix
    (``abs_norm_hi >= ||A||_F``) and a convolution operator (the sum of its taps' Frobenius norms).
    """
    y2_lo, _ = sumsq_bounds(y)
    _, x2_hi = sumsq_bounds(x)
    if x2_hi == 0.0:
        return 0.0
    x_hi = sqrt_up(x2_hi)
    err = add_up(mul_up(mul_up(gamma(n_terms), abs_norm_hi), x_hi), up(up(math.sqrt(y.size)) * up(n_terms * ETA)))
    num = sub_down(sqrt_down(y2_lo), err)
    return max(div_down(num, x_hi), 0.0) if num > 0.0 else 0.0


# ---------------------------------------------------------------- elementwise (numpy) directed rounding
# Each result is bumped one ulp outward unconditionally: always sound, at most one ulp loose.

def vup(x: np.ndarray) -> np.ndarray:
    return np.nextafter(x, np.inf)


def vdown(x: np.ndarray) -> np.ndarray:
    return np.nextafter(x, -np.inf)


def vsumsq_upper(x: np.ndarray, axis: tuple[int, ...]) -> np.ndarray:
    """Upper bounds of ``sum x^2`` over ``axis`` (any order): ``(s + N eta) / (1 - gamma_N)``."""
    n = int(np.prod([x.shape[a] for a in axis]))
    s = np.sum(x * x, axis=axis)
    return vup(vup(vup(s + up(n * ETA)) / down(1.0 - gamma(max(n, 1)))))


def fsum_down(values: np.ndarray) -> float:
    """A lower bound on the exact sum of a float array (``math.fsum`` is correctly rounded; one step down)."""
    return down(math.fsum(np.asarray(values, dtype=np.float64).tolist()))


def fsum_up(values: np.ndarray) -> float:
    """An upper bound on the exact sum of a float array (``math.fsum`` is correctly rounded; one step up)."""
    return up(math.fsum(np.asarray(values, dtype=np.float64).tolist()))
