"""The interval core: exact intake, outward rounding, certainly-comparisons (reference: exact Fractions, mpmath 256 bits)."""

from fractions import Fraction

import mpmath
import pytest
from hypothesis import given
from hypothesis import strategies as st

from boundcert.errors import InvalidInput
from theorems import Interval, enclose, exact_hex, parse_exact
from theorems._interval import iexp, ilog, isqrt


def frac(x: mpmath.mpf) -> Fraction:
    """Independent exact value of an mpf from its raw (sign, man, exp, bc) tuple."""
    sign, man, exp, _ = x._mpf_
    return (-1) ** sign * Fraction(man) * Fraction(2) ** exp


decimals = st.decimals(allow_nan=False, allow_infinity=False, min_value="-1e30", max_value="1e30").map(str)


@given(decimals)
def test_decimal_strings_are_enclosed_exactly(text):
    from decimal import Decimal

    exact = Fraction(Decimal(text))
    iv = enclose(text)
    assert frac(iv.lo) <= exact <= frac(iv.hi)
    assert parse_exact(text) == exact


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_floats_are_taken_exactly(x):
    iv = enclose(x)
    assert iv.is_point and frac(iv.lo) == Fraction(x)


@given(st.integers(min_value=-(10**60), max_value=10**60))
def test_integers_are_taken_exactly(n):
    iv = enclose(n)
    assert iv.is_point and frac(iv.lo) == n


@given(st.fractions(min_value=-1000, max_value=1000, max_denominator=10**12))
def test_fractions_are_enclosed_tightly(f):
    iv = enclose(f)
    assert frac(iv.lo) <= f <= frac(iv.hi)
    assert frac(iv.hi) - frac(iv.lo) <= abs(f) * Fraction(1, 2**120) + Fraction(1, 2**400)


@given(st.fractions(min_value=-10, max_value=10, max_denominator=10**6), st.fractions(min_value=-10, max_value=10, max_denominator=10**6))
def test_arithmetic_contains_exact_result(a, b):
    x, y = enclose(a), enclose(b)
    for got, exact in ((x + y, a + b), (x - y, a - b), (x * y, a * b), (-x, -a)):
        assert frac(got.lo) <= exact <= frac(got.hi)
    if b != 0:
        q = x / y
        assert frac(q.lo) <= a / b <= frac(q.hi)


@given(st.one_of(st.floats(min_value=1e-300, max_value=1e300), st.sampled_from([2.0**-52, 2.0**-60, 1.0, 1 + 2.0**-52, 0.5])))
def test_elementary_functions_contain_256_bit_values(x):
    with mpmath.workprec(256):
        refs = {"log": mpmath.log(mpmath.mpf(x)), "sqrt": mpmath.sqrt(mpmath.mpf(x))}
        small = min(x, 700.0)
        ref_exp = mpmath.exp(mpmath.mpf(small))
    assert ilog(enclose(x)).lo <= refs["log"] <= ilog(enclose(x)).hi
    assert isqrt(enclose(x)).lo <= refs["sqrt"] <= isqrt(enclose(x)).hi
    e = iexp(enclose(small))
    assert e.lo <= ref_exp <= e.hi


@given(st.fractions(min_value=-5, max_value=5, max_denominator=10**9), st.integers(min_value=1, max_value=40))
def test_outward_decimal_strings(f, digits):
    iv = enclose(f)
    assert Fraction(parse_exact(iv.lo_str(digits))) <= frac(iv.lo)
    assert Fraction(parse_exact(iv.hi_str(digits))) >= frac(iv.hi)


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_exact_hex_round_trip(x):
    v = enclose(x).lo
    assert frac(enclose(exact_hex(v)).lo) == frac(v)


@pytest.mark.parametrize("text", ["-0.1", "-1.5", "-3/7", "-1e-300", "-0x1.8p3"])
def test_negative_numbers_keep_their_sign_in_every_output(text):
    iv = enclose(text)
    assert iv.hi < 0
    assert iv.lo_str().startswith("-") and iv.hi_str().startswith("-")
    assert exact_hex(iv.lo).startswith("-")
    assert frac(enclose(exact_hex(iv.lo)).lo) == frac(iv.lo)
    assert Fraction(parse_exact(iv.lo_str())) <= Fraction(parse_exact(text)) <= Fraction(parse_exact(iv.hi_str()))


def test_comparisons_mean_certainly():
    a, b = Interval.of("1"), Interval.of("2")
    overlap = Interval(enclose(1).lo, enclose(3).lo)
    assert a < b and b > a and not (b < a)
    assert not (overlap < b) and not (overlap > b)


def test_mpf_is_never_rounded_on_intake():
    exact = enclose(3**200)  # 318 bits: mpmath.mpf() would round it to 53
    assert frac(exact.lo) == 3**200 and exact.is_point
    assert frac((-exact).hi) == -(3**200)


@pytest.mark.parametrize("bad", ["abc", "", "nan", "inf", "1/0", "0x", "1e", "--1"])
def test_non_numbers_are_refused(bad):
    with pytest.raises(InvalidInput, match="not a finite number"):
        enclose(bad, name="delta")


def test_division_by_interval_with_zero_is_refused():
    with pytest.raises(InvalidInput):
        enclose(1) / Interval(enclose(-1).lo, enclose(1).lo)


@given(st.one_of(st.floats(min_value=-700, max_value=700), st.floats(min_value=-1e-10, max_value=1e-10),
                 st.sampled_from([2.0**-52, 2.0**-60, -(2.0**-52), 1.0])))
def test_exp_and_log_overlap_arb_balls(x):
    """Against python-flint's arb (proven balls, 300 bits): the true value lies in arb's ball, so an interval of ours
    that misses the ball entirely misses the true value. The ball is ~2^-170 times narrower than our intervals, so
    this catches any rounding error larger than that (mpmath's own iv.exp fails it at x = 2^-52)."""
    flint = pytest.importorskip("flint")
    flint.ctx.prec = 300
    exact = flint.arb(flint.fmpq(*Fraction(x).as_integer_ratio()))
    got, ball = iexp(enclose(x)), exact.exp()
    assert frac(got.lo) <= _arb_end(ball.upper()) and _arb_end(ball.lower()) <= frac(got.hi)
    if x > 0:
        got, ball = ilog(enclose(x)), exact.log()
        assert frac(got.lo) <= _arb_end(ball.upper()) and _arb_end(ball.lower()) <= frac(got.hi)
        got, ball = isqrt(enclose(x)), exact.sqrt()
        assert frac(got.lo) <= _arb_end(ball.upper()) and _arb_end(ball.lower()) <= frac(got.hi)


def _arb_end(a) -> Fraction:
    """Exact value of an exact arb point (``arb.lower()``/``upper()``)."""
    man, exp = a.man_exp()
    return Fraction(int(man)) * Fraction(2) ** int(exp)


def test_repr_is_compact_and_outward():
    from fractions import Fraction

    from theorems import enclose

    iv = enclose("1/3")
    text = repr(iv)
    lo, hi = (Fraction(v) for v in text[len("Interval(["):-2].split(", "))
    assert len(text) < 50 and lo <= Fraction(1, 3) <= hi
    assert "[" in iv._repr_html_() and iv.hi_str(12) in iv._repr_html_()
