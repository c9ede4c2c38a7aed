"""The sums that make up KL(Q||P) between diagonal Gaussians, as proven enclosures of exact reals.

For ``Q = N(mu, diag(sigma^2))`` and ``P = N(mu_p, lambda I)`` over ``d`` parameters,

    ``KL(Q||P) = 1/2 [ S / lambda - d + d ln(lambda) - 2 L ]``,
    ``S = sum_i sigma_i^2 + (mu_i - mu_p,i)^2``,   ``L = sum_i ln(sigma_i)``

(Dziugaite & Roy 2017, eq. for the diagonal Gaussian KL; Perez-Ortiz et al. 2021). This module encloses ``S`` and
``L`` for the *stored* float32 (or float64) parameters; the caller combines them with ``lambda`` (an interval, e.g.
``c exp(-j/b)``) in interval arithmetic.

Rounding model:

* ``S`` is computed **exactly**: every float32/float64 value is ``n * 2^-1074`` for an integer ``n``; differences
  and squares of such numbers are exact in Python integers, and so is their sum. Only the final conversion to the
  two float ends rounds (outward, by ``nextafter``).
* ``L``: each distinct value ``v`` of ``sigma`` is logged once by ``mpmath.libmp.mpf_log`` at 100 bits, round to
  nearest; the result is *assumed* within ``2^20`` ulps of ``ln v`` (relative error ``<= 2^-80``; mpmath documents
  about 1 ulp, the same margin as ``theorems._rounding``). Each log is turned into integers ``floor/ceil(y 2^80) -/+
  (ceil|y| + 1)``, which enclose ``ln v * 2^80`` under that assumption; these are multiplied by the value's count
  and summed exactly; the ends are rounded outward to floats. No float ``log`` (numpy/libm) is used.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from mpmath import libmp

from boundcert.errors import InvalidInput
from kernels._enclosure import Enclosure
from kernels._validation import as_array

__all__ = ["gaussian_kl_sums", "sum_sq_exact", "sum_log_enclosure"]

_SCALE = 1074  # every finite double is an integer multiple of 2^-1074
_LOG_BITS = 80
_SOURCE = "kernel:gaussian_kl_sums v1"


def _as_exact_ints(a: np.ndarray, name: str) -> list[int]:
    x = as_array(a, name, "float32 or float64 parameters")
    if x.dtype not in (np.float32, np.float64):
        raise InvalidInput(f"{name}.dtype={str(x.dtype)!r}: give float32 or float64 parameters")
    x = x.astype(np.float64).ravel()
    if not np.all(np.isfinite(x)):
        raise InvalidInput(f"{name} contains NaN or Inf: the posterior's parameters must be finite")
    m, e = np.frexp(x)  # x = m 2^e, 0.5 <= |m| < 1; m * 2^53 is an exact integer
    mant = (m * 2.0**53).astype(np.int64)
    shift = (e - 53 + _SCALE).astype(np.int64)  # >= 0 for every double
    return [int(a) << int(s) for a, s in zip(mant.tolist(), shift.tolist())]


def _fraction_to_enclosure(lo: Fraction, hi: Fraction) -> tuple[float, float]:
    flo, fhi = float(lo), float(hi)  # round to nearest, then one step outward where needed
    if Fraction(flo) > lo:
        flo = math.nextafter(flo, -math.inf)
    if Fraction(fhi) < hi:
        fhi = math.nextafter(fhi, math.inf)
    return flo, fhi


def sum_sq_exact(sigma: np.ndarray, mu: np.ndarray, mu_p: np.ndarray) -> Fraction:
    """The exact rational ``sum_i sigma_i^2 + (mu_i - mu_p,i)^2`` of the stored floats."""
    s, a, b = (_as_exact_ints(v, n) for v, n in ((sigma, "sigma"), (mu, "mu"), (mu_p, "mu_p")))
    if not (len(s) == len(a) == len(b)):
        raise InvalidInput(f"sigma, mu, mu_p have {len(s)}, {len(a)}, {len(b)} entries: they must match")
    total = sum(x * x for x in s) + sum((x - y) * (x - y) for x, y in zip(a, b))
    return Fraction(total, 1 << (2 * _SCALE))


def sum_log_enclosure(sigma: np.ndarray) -> tuple[Fraction, Fraction]:
    """Exact rationals ``lo <= sum_i ln(sigma_i) <= hi`` (rounding model in the module docstring)."""
    x = as_array(sigma, "sigma", "positive float parameters")
    try:
        x = x.astype(np.float64).ravel()
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"sigma.dtype={str(x.dtype)!r} is not numeric: pass float32 or float64 parameters") from exc
    if not (np.all(np.isfinite(x)) and np.all(x > 0)):
        raise InvalidInput("sigma must be finite and > 0 for every parameter")
    values, counts = np.unique(x, return_counts=True)
    lo_sum = hi_sum = 0
    for v, c in zip(values.tolist(), counts.tolist()):
        y = libmp.mpf_log(libmp.from_float(v), 100, libmp.round_nearest)
        scaled = libmp.mpf_shift(y, _LOG_BITS)
        slack = int(libmp.to_int(libmp.mpf_abs(y), libmp.round_ceiling)) + 1
        lo_sum += c * (int(libmp.to_int(scaled, libmp.round_floor)) - slack)
        hi_sum += c * (int(libmp.to_int(scaled, libmp.round_ceiling)) + slack)
    den = 1 << _LOG_BITS
    return Fraction(lo_sum, den), Fraction(hi_sum, den)


def gaussian_kl_sums(sigma: np.ndarray, mu: np.ndarray, mu_p: np.ndarray) -> tuple[Enclosure, Enclosure, int]:
    """Enclosures of ``S = sum sigma^2 + (mu - mu_p)^2`` and ``L = sum ln sigma``, and ``d``.

    Args:
        sigma: posterior standard deviations (stored floats, > 0).
        mu: posterior means; mu_p: prior means (same length).
    Returns:
        ``(S, L, d)``: ``S.lo <= S <= S.hi`` (exact up to the final outward rounding), ``L`` as in the rounding
        model of the module docstring, ``d`` the number of parameters.
    """
    s = sum_sq_exact(sigma, mu, mu_p)
    lo, hi = sum_log_enclosure(sigma)
    s_lo, s_hi = _fraction_to_enclosure(s, s)
    l_lo, l_hi = _fraction_to_enclosure(lo, hi)
    return Enclosure(s_lo, s_hi, _SOURCE), Enclosure(l_lo, l_hi, _SOURCE), int(np.asarray(sigma).size)
