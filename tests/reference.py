"""Independent high-precision references (plain mpmath at 256 bits, no interval code, no boundcert imports).

These are *not* rigorous: they are accurate to far better than the enclosures they are compared with (bisection to
2^-200 relative), and they share no code with ``theorems._special``.
"""

from __future__ import annotations

from fractions import Fraction

import mpmath
from mpmath import mp

PREC = 256


def mpf_exact(x) -> mpmath.mpf:
    """The value of an int/float/decimal string/Fraction at 256 bits."""
    with mp.workprec(PREC):
        if isinstance(x, str):
            if "/" in x:
                p, q = x.split("/")
                return mpmath.mpf(int(p)) / int(q)
            return mpmath.mpf(x)
        if isinstance(x, Fraction):
            return mpmath.mpf(x.numerator) / x.denominator
        return mpmath.mpf(x)


def kl(q, p):
    with mp.workprec(PREC):
        out = mpmath.mpf(0)
        if q > 0:
            out += q * (mpmath.log(q) - mpmath.log(p))
        if q < 1:  # log1p keeps tiny q, p exact (1 - 1e-193 would round to 1 at 256 bits)
            out += (1 - q) * (mpmath.log1p(-q) - mpmath.log1p(-p))
        return out


def kl_inv(q, c):
    """sup{p in [q, 1] : kl(q||p) <= c} by 256-bit bisection."""
    with mp.workprec(PREC):
        q, c = mpmath.mpf(q), mpmath.mpf(c)
        if q >= 1:
            return mpmath.mpf(1)
        if c <= 0:
            return q
        if q == 0:
            return -mpmath.expm1(-c)  # kl(0||p) = -ln(1-p) <= c  <=>  p <= 1 - e^-c
        lo, hi = q, mpmath.mpf(1)
        for _ in range(5000):  # geometric steps while the bracket spans orders of magnitude, then halving
            if hi - lo <= hi * mpmath.mpf(2) ** -240:
                break
            mid = mpmath.sqrt(lo * hi) if hi > 2 * lo else (lo + hi) / 2
            if kl(q, mid) <= c:
                lo = mid
            else:
                hi = mid
        return (lo + hi) / 2


def binom_tail(m: int, k: int, p):
    """P[Binomial(m, p) <= k] by direct summation of exact binomial coefficients at 256 bits."""
    if k >= m:
        return mpmath.mpf(1)  # the whole binomial distribution: exactly 1 (a rounded sum could exceed it)
    with mp.workprec(PREC):
        p = mpmath.mpf(p)
        return mpmath.fsum(mpmath.binomial(m, j) * p**j * (1 - p) ** (m - j) for j in range(k + 1))


def binom_tail_beta(m: int, k: int, p):
    """P[Binomial(m, p) <= k] = I_{1-p}(m-k, k+1) (regularized incomplete beta), at 256 bits."""
    with mp.workprec(PREC):
        if k >= m:
            return mpmath.mpf(1)
        return mpmath.betainc(m - k, k + 1, 0, 1 - mpmath.mpf(p), regularized=True)


def binom_tail_inv(m: int, k: int, delta):
    """max{p : P[Bin(m, p) <= k] >= delta}: Newton at 256 bits from a float start, then the root is *checked*:
    the tail is >= delta at root*(1 - 1e-30) and < delta at root*(1 + 1e-30) (else an AssertionError)."""
    from scipy.special import betaincinv

    with mp.workprec(PREC):
        delta = mpmath.mpf(delta)
        if k >= m:
            return mpmath.mpf(1)
        x = mpmath.mpf(1 - float(betaincinv(m - k, k + 1, float(delta))))
        x = min(max(x, mpmath.mpf(10) ** -300), 1 - mpmath.mpf(10) ** -30)
        for _ in range(60):
            f = binom_tail_beta(m, k, x) - delta
            df = -m * mpmath.binomial(m - 1, k) * x**k * (1 - x) ** (m - 1 - k)
            step = f / df
            x_new = min(max(x - step, x / 2), (1 + x) / 2)
            if abs(x_new - x) <= abs(x) * mpmath.mpf(2) ** -220:
                x = x_new
                break
            x = x_new
        eps = mpmath.mpf(10) ** -30
        assert binom_tail_beta(m, k, x * (1 - eps)) >= delta, "reference root check failed (low side)"
        if x * (1 + eps) < 1:  # at p >= 1 the "above the root" side holds trivially
            assert binom_tail_beta(m, k, x * (1 + eps)) < delta, "reference root check failed (high side)"
        return x
