"""Lipschitz-margin certificates: the radius and its direction, a tight case, accuracy and robust-error bounds."""

from __future__ import annotations

from fractions import Fraction

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mpmath import mp

import theorems
from boundcert.errors import HypothesisNotMet, InvalidInput
from theorems import Interval, enclose
from catalogue_ref import PREC, F, binom_tail_inv_bracket, contains, meets

RADIUS = theorems.get("robust.tsuzuku2018_radius")


def test_radius_worked_example():
    r = RADIUS.evaluate(logit_margin="3.2", lipschitz="12.5")
    with mp.workprec(PREC):
        ref = F("3.2") / (mpmath.sqrt(2) * F("12.5"))
    assert contains(r, ref)


def test_certified_radius_uses_margin_lower_end_and_lipschitz_upper_end():
    m = Interval(enclose("2.9").lo, enclose("3.1").hi)
    lip = Interval(enclose("10").lo, enclose("12").hi)
    r = RADIUS.evaluate(logit_margin=m, lipschitz=lip)
    with mp.workprec(PREC):
        lo_ref = F("2.9") / (mpmath.sqrt(2) * F(12))
        hi_ref = F("3.1") / (mpmath.sqrt(2) * F(10))
    assert contains(r, lo_ref) and contains(r, hi_ref)
    assert r.lo <= lo_ref  # the certified value (lower end) is no larger than M_lo / (sqrt 2 L_hi)


def test_radius_refused_unless_margin_certainly_positive():
    with pytest.raises(InvalidInput):
        RADIUS.evaluate(logit_margin=Interval(enclose("-0.1").lo, enclose("0.5").hi), lipschitz="1")
    with pytest.raises(InvalidInput):
        RADIUS.evaluate(logit_margin="1", lipschitz="0")


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(-50, 50), min_size=3, max_size=3), st.integers(-50, 50), st.integers(-50, 50),
       st.integers(-50, 50))
def test_radius_is_tight_and_valid_for_antipodal_linear_logits(w, x0, x1, x2):
    """Logits f(x) = (w.x, -w.x): ||W||_2 = sqrt(2)||w||, the decision boundary is at distance |w.x|/||w||, which is
    exactly M / (sqrt(2) L) with M = 2|w.x|. The certified radius must not exceed it (and here equals it)."""
    w = [Fraction(v) for v in w]
    x = [Fraction(x0), Fraction(x1), Fraction(x2)]
    wx = sum(a * b for a, b in zip(w, x))
    norm2 = sum(a * a for a in w)
    if wx == 0 or norm2 == 0:
        return
    margin = 2 * abs(wx)
    lip_sq = 2 * norm2  # ||W||_2^2 for the two rows w and -w
    with mp.workprec(PREC):
        lip = mpmath.sqrt(F(lip_sq.numerator) / lip_sq.denominator)
        dist = F(abs(wx).numerator) / abs(wx).denominator / mpmath.sqrt(F(int(norm2)))
        lip_iv = Interval(lip * (1 - mpmath.mpf(2) ** -200), lip * (1 + mpmath.mpf(2) ** -200))
    r = RADIUS.evaluate(logit_margin=margin, lipschitz=lip_iv)
    assert r.lo <= dist  # validity: never certify beyond the true boundary
    with mp.workprec(PREC):
        assert dist <= r.hi * (1 + mpmath.mpf(2) ** -100)  # tightness: the sqrt(2) is exactly needed here


def test_radius_claim_on_random_network_by_sampling():
    """A 2-layer ReLU network, L = product of exact-ish spectral norms (+ slack); every sampled point inside the
    certified ball keeps the prediction."""
    rng = np.random.default_rng(7)
    w1, w2 = rng.normal(size=(16, 5)), rng.normal(size=(4, 16))
    lip = np.linalg.norm(w1, 2) * np.linalg.norm(w2, 2) * (1 + 1e-9)
    f = lambda z: w2 @ np.maximum(w1 @ z, 0)  # noqa: E731
    checked = 0
    for _ in range(20):
        x = rng.normal(size=5)
        logits = f(x)
        top = np.sort(logits)
        margin = float(top[-1] - top[-2])
        radius = RADIUS.evaluate(logit_margin=margin * (1 - 1e-9), lipschitz=lip).lo
        pred = int(np.argmax(logits))
        for _ in range(200):
            d = rng.normal(size=5)
            z = x + d / np.linalg.norm(d) * float(radius) * rng.uniform(0, 0.999)
            assert int(np.argmax(f(z))) == pred
            checked += 1
    assert checked == 4000


def test_certified_accuracy():
    t = theorems.get("robust.certified_accuracy")
    with mp.workprec(PREC):
        ref = F(812) / 1000
    assert contains(t.evaluate(n_certified=812, m=1000), ref)
    with pytest.raises(HypothesisNotMet):
        t.evaluate(n_certified=1001, m=1000)


@pytest.mark.parametrize("m,k,delta", [(500, 94, "0.05"), (200, 0, "0.01"), (100, 100, "0.1")])
def test_robust_error_test_set_bound(m, k, delta):
    t = theorems.get("robust.robust_error_test_set")
    r = t.evaluate(m=m, k_uncertified=k, delta=delta)
    assert meets(r, binom_tail_inv_bracket(m, k, F(delta)))
    with pytest.raises(HypothesisNotMet):
        t.evaluate(m=m, k_uncertified=m + 1, delta=delta)
