"""The checker's own arithmetic: containment with zero tolerance against mpmath at 1000 bits, including the case
where mpmath's directed rounding of exp is wrong (exp(2^-52) at 128 bits, round_ceiling)."""

from __future__ import annotations

from fractions import Fraction

import mpmath
import pytest

from certify.checker.core import Fail, Iv, _verify_binom, _verify_kl_inv, iexp, ilog, ipi, ipow, isqrt

P = 256


def _contains(iv: Iv, exact, tight: bool = True) -> bool:
    with mpmath.workprec(1000):
        lo, hi = mpmath.mpf(iv.lo), mpmath.mpf(iv.hi)
        narrow = hi - lo <= abs(exact) * mpmath.mpf(2) ** (-P + 30) + mpmath.mpf(2) ** -1000
        return lo <= exact <= hi and (narrow or not tight)


def _point(x: str) -> Iv:
    return Iv.of(x, P, "x")


@pytest.mark.parametrize("x", ["0x1p-52", "0x1p-1", "1/3", "-7/2", "123456789/1000", "0x3p-1074"])
def test_exp_log_sqrt_pow_contain_the_exact_value(x):
    v = _point(x)
    with mpmath.workprec(1000):
        xf = Fraction(x) if "/" in x or x.lstrip("-").isdigit() else None
        exact_x = mpmath.mpf(v.lo) if v.point() else mpmath.mpf(xf.numerator) / xf.denominator
        assert _contains(iexp(v), mpmath.exp(mpmath.mpf(v.lo))) or not v.point()
        if exact_x > 0:
            assert _contains(ilog(v), mpmath.log(mpmath.mpf(v.lo)))
            assert _contains(isqrt(v), mpmath.sqrt(mpmath.mpf(v.lo)))
            assert _contains(ipow(v, _point("3/2")), mpmath.mpf(v.lo) ** mpmath.mpf(1.5))
        assert _contains(ipow(v, _point("5")), mpmath.mpf(v.lo) ** 5)


def test_pi():
    with mpmath.workprec(1000):
        assert _contains(ipi(P), +mpmath.pi, tight=False)  # 40 decimals: width 1e-40


def test_mpmath_exp_rounding_bug_is_not_inherited():
    from mpmath import libmp

    x = libmp.from_man_exp(1, -52)
    with mpmath.workprec(1000):
        true = mpmath.exp(mpmath.mpf(x))
    for prec in (128, 256):
        v = Iv(x, x, prec)
        with mpmath.workprec(1000):
            assert mpmath.mpf(iexp(v).lo) <= true <= mpmath.mpf(iexp(v).hi)


def test_witness_checks_prove_and_refuse():
    q, c = _point("1/10"), _point("1/20")
    with mpmath.workprec(600):
        true = mpmath.findroot(lambda p: mpmath.mpf(1) / 10 * mpmath.log(mpmath.mpf(1) / 10 / p)
                               + mpmath.mpf(9) / 10 * mpmath.log(mpmath.mpf(9) / 10 / (1 - p)) - mpmath.mpf(1) / 20,
                               0.2)
        t = Fraction(mpmath.nstr(true, 80))
    lo, hi = Iv.of(str(t - Fraction(1, 10**12)), P, "a"), Iv.of(str(t + Fraction(1, 10**12)), P, "b")
    _verify_kl_inv(q, c, lo.lo, hi.hi)
    with pytest.raises(Fail):
        _verify_kl_inv(q, c, hi.hi, hi.hi)  # a above the inverse
    with pytest.raises(Fail):
        _verify_kl_inv(q, c, lo.lo, lo.lo)  # b below the inverse
    m, k, d = _point("100"), _point("5"), _point("1/20")
    _verify_binom(m, k, d, _point("1/100").lo, _point("99/100").hi)
    with pytest.raises(Fail):
        _verify_binom(m, k, d, _point("1/2").lo, _point("99/100").hi)
    with pytest.raises(Fail):
        _verify_binom(m, k, d, _point("1/100").lo, _point("1/20").hi)
