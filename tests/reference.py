"""Short names for the suite's independent 256-bit reference (:mod:`theorems.testing._reference`).

It shares no code with the interval arithmetic of :mod:`theorems`; see that module for its accuracy claim.
"""

from __future__ import annotations

from fractions import Fraction

import mpmath

from theorems.testing._reference import REFERENCE_PREC as PREC
from theorems.testing._reference import ref_binom_tail, ref_binom_tail_inv, ref_kl, ref_kl_inv

__all__ = ["PREC", "mpf_exact", "kl", "kl_inv", "binom_tail", "binom_tail_inv"]


def mpf_exact(x) -> mpmath.mpf:
    """The value of an int/float/decimal string/Fraction at 256 bits."""
    with mpmath.workprec(PREC):
        f = Fraction(x) if not isinstance(x, float) else Fraction(x)
        return mpmath.mpf(f.numerator) / f.denominator


def kl(q, p):
    with mpmath.workprec(PREC):
        return ref_kl(mpmath.mpf(q), mpmath.mpf(p))


def kl_inv(q, c):
    with mpmath.workprec(PREC):
        return ref_kl_inv(q, c)


def binom_tail(m: int, k: int, p):
    with mpmath.workprec(PREC):
        return ref_binom_tail(m, k, mpmath.mpf(p))


def binom_tail_inv(m: int, k: int, delta):
    with mpmath.workprec(PREC):
        return ref_binom_tail_inv(m, k, delta)
