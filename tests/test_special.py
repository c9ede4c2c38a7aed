"""kl_inv and binom_tail_inv: enclosures contain an independent 256-bit reference, relative width <= 1e-12."""

from fractions import Fraction

import mpmath
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import reference as ref
from boundcert.errors import InvalidInput
from theorems import Interval, binom_tail, binom_tail_inv, enclose, kl, kl_inv
from theorems._special import _kl_point

REL_WIDTH = 1e-12

qs = st.one_of(
    st.sampled_from(["0", "1", "0.5", "1e-9", "0.999999"]),
    st.fractions(min_value=0, max_value=1, max_denominator=10**6).map(str),
    st.floats(min_value=0, max_value=1).map(repr),
)
cs = st.one_of(
    st.sampled_from(["0", "1e-12", "1e-30", "50", "0.693"]),
    st.floats(min_value=0, max_value=20).map(repr),
    st.floats(min_value=1e-25, max_value=1e-3).map(repr),
)


def rel_width(iv: Interval) -> float:
    return float((iv.hi - iv.lo) / iv.hi) if iv.hi != 0 else 0.0


@settings(max_examples=1000)
@given(qs, cs)
def test_kl_inv_contains_256_bit_reference(q, c):
    got = kl_inv(q, c)
    want = ref.kl_inv(ref.mpf_exact(q), ref.mpf_exact(c))
    assert got.lo <= want <= got.hi
    assert rel_width(got) <= REL_WIDTH


def test_kl_inv_bracket_facts_are_true():
    got = kl_inv("0.1", "0.05")
    with mpmath.workprec(256):
        assert ref.kl(mpmath.mpf("0.1"), got.lo) <= mpmath.mpf("0.05") < ref.kl(mpmath.mpf("0.1"), got.hi)


def test_kl_inv_monotone_interval_arguments():
    q, c = Interval(enclose("0.1").lo, enclose("0.2").lo), Interval(enclose("0.01").lo, enclose("0.02").lo)
    got = kl_inv(q, c)
    assert got.lo <= ref.kl_inv(mpmath.mpf("0.1"), mpmath.mpf("0.01"))
    assert got.hi >= ref.kl_inv(mpmath.mpf("0.2"), mpmath.mpf("0.02"))


def test_kl_inv_edge_values():
    assert kl_inv(1, 3).lo == 1 and kl_inv(1, 3).hi == 1
    assert kl_inv(0.3, 0).lo == kl_inv(0.3, 0).hi == enclose(0.3).lo
    with pytest.raises(InvalidInput):
        kl_inv("1.5", 1)
    with pytest.raises(InvalidInput):
        kl_inv("0.5", -1)


def test_midpoint_bisection_can_land_below_the_inverse_ours_never_does():
    """Public PAC-Bayes code returns a bisection midpoint; that can be below kl^-1, which is not an upper bound."""

    def midpoint_inv(q: float, c: float, iters: int = 10) -> float:
        lo, hi = q, 1.0
        for _ in range(iters):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if ref.kl(mpmath.mpf(q), mpmath.mpf(mid)) <= c else (lo, mid)
        return (lo + hi) / 2

    below = 0
    for i in range(1, 60):
        q, c = i / 100, 0.001 * i
        exact = ref.kl_inv(mpmath.mpf(q), mpmath.mpf(c))
        below += midpoint_inv(q, c) < exact
        assert kl_inv(q, c).hi >= exact
    assert below > 0


ms = st.integers(min_value=1, max_value=150)


@st.composite
def mkd(draw):
    m = draw(ms)
    k = draw(st.integers(min_value=0, max_value=m))
    delta = draw(st.one_of(st.sampled_from(["0.05", "0.01", "1e-6", "0.5", "0.999"]),
                           st.floats(min_value=1e-12, max_value=0.999).map(repr)))
    return m, k, delta


@settings(max_examples=1000)
@given(mkd())
def test_binom_tail_inv_contains_256_bit_reference(args):
    m, k, delta = args
    got = binom_tail_inv(m, k, delta)
    want = ref.binom_tail_inv(m, k, ref.mpf_exact(delta))
    assert got.lo <= want <= got.hi
    assert rel_width(got) <= REL_WIDTH


@pytest.mark.parametrize(
    "m,k,delta",
    [pytest.param(55000, 1540, "0.025", marks=pytest.mark.slow), (10000, 0, "0.05"), (2000, 1999, "0.01"), (3000, 90, "0.05")],
)
def test_binom_tail_inv_large_samples(m, k, delta):
    got = binom_tail_inv(m, k, delta)
    want = ref.binom_tail_inv(m, k, ref.mpf_exact(delta))
    assert got.lo <= want <= got.hi and rel_width(got) <= REL_WIDTH


@given(st.integers(1, 60), st.data())
def test_binom_tail_contains_direct_sum(m, data):
    k = data.draw(st.integers(0, m))
    p = data.draw(st.integers(0, 2**20)).__truediv__(2**20)  # an exact binary point
    got = binom_tail(m, k, p)
    want = ref.binom_tail(m, k, ref.mpf_exact(p))
    assert got.lo <= want <= got.hi


def test_tail_orderings_langford():
    """Bbar <= kl^-1 <= Hoeffding on the same inputs (Langford 2005, Sec. 3): the enclosures are consistent with it."""
    import theorems

    for m, k in [(100, 5), (1000, 30), (500, 250), (20, 0)]:
        vals = {"m": m, "k": k, "delta": "0.05"}
        b, c, h = (theorems.get(f"test_set.{n}").evaluate(**vals) for n in ("binomial_tail", "kl_chernoff", "hoeffding"))
        assert b.lo <= c.hi and c.lo <= h.hi
        assert b.hi < h.lo  # strict and far apart on these inputs


def test_kl_at_exact_points():
    got = kl(0.125, 0.25)
    want = ref.kl(mpmath.mpf(0.125), mpmath.mpf(0.25))
    assert got.lo <= want <= got.hi
    assert _kl_point(enclose(0.5).lo, enclose(1).lo).a == mpmath.inf
    with pytest.raises(InvalidInput):
        kl("0.1", "0.2")  # decimal 0.1 is not a binary point: kl takes exact points
