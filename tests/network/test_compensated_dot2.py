"""The compensated kernels of :mod:`kernels.network._compensated` against exact rational arithmetic (Fractions):
Dot2 (``hi + lo`` within ``2 gamma_{K+2}^2 A + gamma_{K+2} L + 3 K eta`` of the exact ``b + w^T (x + x_lo)``,
``hi = fl(hi + lo)``; its magnitude sum bounds ``A``), TwoSum
(exact), the BatchNorm pair kernel (within its stated bound of the exact ``S X + C``, ``S`` from mpmath)."""

from __future__ import annotations

import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from boundcert.errors import InvalidInput
from kernels.network import _compensated as comp
from kernels.network._state import Enclosed, nonneg_sum_up, point

U = Fraction(1, 2**53)

# finite doubles over a wide exponent range, subnormals and signed zeros included; no overflow in products or sums
finite = st.floats(min_value=-2.0**400, max_value=2.0**400, allow_nan=False, allow_infinity=False,
                   allow_subnormal=True)
scaled = st.builds(lambda m, e: math.ldexp(m, e), st.floats(-1.0, 1.0), st.integers(-1070, 60))
entries = st.one_of(finite, scaled, st.sampled_from([0.0, -0.0, 1.0, -1.0, 2.0**-1074, 2.0**-1022, 1.0 + 2.0**-52]))


def _up(q: Fraction) -> float:
    """The float64 just above the rational ``q`` (>= 0)."""
    return float(np.nextafter(float(q), np.inf))


@st.composite
def gemm_cases(draw):
    m, k, o = draw(st.integers(1, 3)), draw(st.integers(1, 12)), draw(st.integers(1, 3))
    a = np.array(draw(st.lists(entries, min_size=m * k, max_size=m * k)), dtype=np.float64).reshape(m, k)
    w = np.array(draw(st.lists(entries, min_size=k * o, max_size=k * o)), dtype=np.float64).reshape(k, o)
    if draw(st.booleans()):  # catastrophic cancellation: a row of w against +-copies of itself
        a[0, :] = w[:, 0]
        w[k // 2:, 0] = -w[: k - k // 2, 0] if k > 1 else w[:, 0]
    b = np.array(draw(st.lists(entries, min_size=o, max_size=o)), dtype=np.float64) if draw(st.booleans()) else None
    return a, w, b


@settings(max_examples=300, deadline=None)
@given(gemm_cases(), st.sampled_from(["none", "normalised", "raw"]))
def test_dot2_is_within_its_error_bound_of_the_exact_sum(case, low):
    a, w, b = case
    al = None
    if low == "normalised":  # a pair as the layers make them: |lo| <= u |hi|
        al = np.where(np.abs(a) >= 2.0**-960, a * 2.0**-54, 0.0)
    elif low == "raw":  # any low part (the bound then reads L = |W| |l| itself)
        al = a[:, ::-1].copy() * 0.5
    rad = np.abs(a[::-1]).copy()
    hi, lo, mag, rmag, nz = comp.dot2(a, w, b, al, rad)
    k = a.shape[1]
    for i in range(a.shape[0]):
        for j in range(w.shape[1]):
            xs = [Fraction(a[i, t]) + (0 if al is None else Fraction(al[i, t])) for t in range(k)]
            terms = [x * Fraction(w[t, j]) for t, x in enumerate(xs)]
            bias = Fraction(0) if b is None else Fraction(b[j])
            exact = bias + sum(terms)
            big = abs(bias) + sum(abs(Fraction(a[i, t]) * Fraction(w[t, j])) for t in range(k))
            small = 0 if al is None else sum(abs(Fraction(al[i, t]) * Fraction(w[t, j])) for t in range(k))
            if _up(big) == math.inf or _up(small) == math.inf:
                continue
            # the kernel's magnitude sum is a float sum of K + 1 nonnegative terms: nonneg_sum_up bounds A
            a_up = nonneg_sum_up(np.array([mag[i, j]]), k + 1)[0]
            assert Fraction(a_up) >= big
            r_exact = sum(Fraction(rad[i, t]) * abs(Fraction(w[t, j])) for t in range(k))
            if _up(r_exact) < math.inf:
                assert Fraction(nonneg_sum_up(np.array([rmag[i, j]]), k + 1)[0]) >= r_exact
            err = abs(Fraction(hi[i, j]) + Fraction(lo[i, j]) - exact)
            l_up = _up(small) if low == "raw" else (_up(U * Fraction(a_up)) if low == "normalised" else 0.0)
            if low == "normalised":
                assert comp.normalised(a, al)
            nonzero = sum(1 for t in range(k) if a[i, t] != 0 or (al is not None and al[i, t] != 0) or rad[i, t] != 0)
            assert nz[i, j] == nonzero
            bound = comp.dot2_error_up(np.array([a_up]), k, l_up, nz[i:i + 1, j])[0]
            assert err <= Fraction(bound), (i, j, float(err), bound)
            assert hi[i, j] == hi[i, j] + lo[i, j]  # normalised: hi = fl(hi + lo), |lo| <= u |hi|
            assert abs(Fraction(lo[i, j])) <= U * abs(Fraction(hi[i, j]))


def test_dot2_is_far_more_accurate_than_float64_on_an_ill_conditioned_sum():
    rng = np.random.default_rng(3)
    x = rng.standard_normal(2000) * np.exp(rng.uniform(-30, 30, 2000))
    w = rng.standard_normal(2000)
    exact = sum(Fraction(p) * Fraction(q) for p, q in zip(x, w))
    hi, lo, *_ = comp.dot2(x[None, :], w[:, None])
    err2 = abs(Fraction(hi[0, 0]) + Fraction(lo[0, 0]) - exact)
    err1 = abs(Fraction(float(x @ w)) - exact)
    assert err2 * 10**12 < err1 or err1 == 0


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(finite, finite), min_size=1, max_size=8))
def test_two_sum_is_exact(pairs):
    a = np.array([p[0] for p in pairs])
    b = np.array([p[1] for p in pairs])
    s, e = comp.two_sum(a, b)
    for i in range(a.size):
        assert Fraction(s[i]) + Fraction(e[i]) == Fraction(a[i]) + Fraction(b[i])
        assert s[i] == a[i] + b[i]


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**31), st.sampled_from([1.0, 1e-150, 1e150]))
def test_batchnorm_pairs_enclose_the_exact_map(seed, scale):
    """The BatchNorm pair kernel: ``y_h + y_l`` within the returned radius of ``S (x_h + x_l) + C`` (exact rationals
    for the products, mpmath at 300 bits for ``S`` and ``C``)."""
    from kernels.network.elementwise import BatchNorm

    rng = np.random.default_rng(seed)
    c = 3
    layer = BatchNorm(rng.standard_normal(c) * scale, rng.random(c) * scale + 1e-3, rng.standard_normal(c),
                      rng.standard_normal(c), float(np.float32(1e-5)))
    xh = rng.standard_normal((2, c, 2)) * scale
    xl = np.where(rng.random(xh.shape) < 0.5, xh * 2.0**-60, 0.0)
    x = Enclosed(xh, np.abs(xl), np.zeros(2), comp.Compensated(xl, np.zeros_like(xh), np.zeros(2)))
    out = comp.batchnorm(layer, x, point(xh))
    assert out.comp is not None
    with mpmath.workprec(300):
        for idx in np.ndindex(xh.shape):
            j = idx[1]
            s = mpmath.mpf(layer.weight[j]) / mpmath.sqrt(mpmath.mpf(layer.var[j]) + mpmath.mpf(layer.eps))
            y = s * (mpmath.mpf(xh[idx]) + mpmath.mpf(xl[idx]) - mpmath.mpf(layer.mean[j])) + mpmath.mpf(layer.bias[j])
            got = mpmath.mpf(out.mid[idx]) + mpmath.mpf(out.comp.lo[idx])
            assert abs(got - y) <= mpmath.mpf(out.comp.rad[idx])
            assert abs(mpmath.mpf(out.mid[idx]) - y) <= mpmath.mpf(out.rad[idx])


def test_dot2_refuses_mismatched_shapes():
    with pytest.raises(InvalidInput, match="dot2"):
        comp.dot2(np.ones((2, 3)), np.ones((4, 1)))
    with pytest.raises(InvalidInput, match="bias"):
        comp.dot2(np.ones((2, 3)), np.ones((3, 2)), np.ones(3))
    with pytest.raises(InvalidInput, match="a_lo"):
        comp.dot2(np.ones((2, 3)), np.ones((3, 2)), None, np.ones((3, 2)))


def test_normalised_is_exact():
    h = np.array([1.0, 2.0**-970, 3.0])
    assert comp.normalised(h, np.array([2.0**-53, 0.0, 0.0]))
    assert not comp.normalised(h, np.array([2.0**-52, 0.0, 0.0]))
    assert not comp.normalised(h, np.array([0.0, 2.0**-1074, 0.0]))  # below 2^-960 only lo = 0 passes
