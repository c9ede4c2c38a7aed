"""The 256-bit oracle against closed forms (it must be right for the enclosure tests to mean anything)."""

from __future__ import annotations

import mpmath
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

import theorems
import theorems.testing
from theorems.testing import ref_binom_tail, ref_binom_tail_inv, ref_kl, ref_kl_inv, reference_value

PREC = 256


def _close(a, b, bits=230):
    return abs(a - b) <= mpmath.ldexp(1, -bits) * max(1, abs(b))


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 10**6).map(lambda n: mpmath.mpf(n) / 10**5))
def test_kl_inv_at_q_zero_is_one_minus_exp(c):
    with mpmath.workprec(PREC):
        assert _close(ref_kl_inv(0, c), 1 - mpmath.exp(-c))


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 60), st.integers(1, 999))
def test_binom_tail_inv_with_no_errors_is_closed_form(m, d):
    # P[Bin(m, p) <= 0] = (1 - p)^m = delta  <=>  p = 1 - delta^(1/m)
    with mpmath.workprec(PREC):
        delta = mpmath.mpf(d) / 1000
        assert _close(ref_binom_tail_inv(m, 0, delta), 1 - delta ** (mpmath.mpf(1) / m))


def test_binom_tail_is_a_finite_sum():
    with mpmath.workprec(PREC):
        p = mpmath.mpf(3) / 10
        direct = sum(mpmath.binomial(12, j) * p**j * (1 - p) ** (12 - j) for j in range(5))
        assert _close(ref_binom_tail(12, 4, p), direct)


def test_kl_inv_solves_kl_equation():
    with mpmath.workprec(PREC):
        q, c = mpmath.mpf(1) / 7, mpmath.mpf(1) / 3
        p = ref_kl_inv(q, c)
        assert _close(ref_kl(q, p), c, bits=200) and p > q


def test_reference_value_of_hoeffding_matches_closed_form():
    th = theorems.get("test_set.hoeffding")
    with mpmath.workprec(PREC):
        want = mpmath.mpf(3) / 100 + mpmath.sqrt(mpmath.log(20) / 200)
        assert _close(reference_value(th, {"m": 100, "k": 3, "delta": "0.05"}), want)


def test_reference_reads_decimal_inputs_exactly():
    x = sympy.Symbol("delta")
    th = theorems.testing.make_bound("t.exact", 1 - x)  # 1 - delta, read as the decimal
    with mpmath.workprec(PREC):
        assert reference_value(th, {"delta": "0.1"}) == 1 - mpmath.mpf(1) / 10
