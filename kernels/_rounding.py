"""Scalar rounding helpers for the topology kernels (IEEE binary64, round-to-nearest).

Rounding model: every float64 operation ``op`` returns ``fl(a op b) = (a op b)(1 + delta)`` with
``|delta| <= u = 2**-53`` when no underflow occurs (Higham, *Accuracy and Stability of Numerical
Algorithms*, 2nd ed., sec. 2.2); ``gamma_n = n u / (1 - n u)`` bounds the relative error of ``n``
such operations (Higham Lemma 3.1). A correctly rounded result is at most one ulp away from the exact
one, so one ``nextafter`` towards ``-inf`` (``+inf``) after each operation gives a lower (upper)
bound; the helpers below do exactly that.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["U", "ETA", "gamma", "down", "up", "fsum_down", "fsum_up"]

U: float = 2.0**-53
"""Unit roundoff of binary64."""

ETA: float = 2.0**-1074
"""Smallest positive subnormal binary64 number (bound on the absolute error of an underflowing product)."""


def down(x: float) -> float:
    """The float just below ``x`` (a lower bound on any real that ``x`` is a correct rounding of)."""
    return math.nextafter(x, -math.inf)


def up(x: float) -> float:
    """The float just above ``x`` (an upper bound on any real that ``x`` is a correct rounding of)."""
    return math.nextafter(x, math.inf)


def gamma(n: int) -> float:
    """An upper bound (a float) on ``gamma_n = n u / (1 - n u)``; requires ``n u < 1/2``."""
    nu = n * U  # exact: n < 2**53 and u a power of two
    if not nu < 0.5:
        raise ValueError(f"gamma(n={n!r}) needs n*u < 1/2")
    return up(up(nu) / down(1.0 - nu))


def fsum_down(values: np.ndarray) -> float:
    """A lower bound on the exact sum of the float array (``math.fsum`` is correctly rounded)."""
    return down(math.fsum(np.asarray(values, dtype=np.float64).tolist()))


def fsum_up(values: np.ndarray) -> float:
    """An upper bound on the exact sum of the float array (``math.fsum`` is correctly rounded)."""
    return up(math.fsum(np.asarray(values, dtype=np.float64).tolist()))
