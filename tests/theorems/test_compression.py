"""Compression (Occam) bounds: Zhou et al.'s ImageNet number, the kl/binomial/Catoni forms, the union over gamma."""

from __future__ import annotations

import math

import mpmath
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mpmath import mp

import theorems
from boundcert.errors import HypothesisNotMet, InvalidInput
from catalogue_ref import (PREC, F, binom_tail_inv_bracket, catoni, catoni_union, code_kl, contains, kl_inv_bracket,
                           meets)

# Zhou et al. 2019, ImageNet (ILSVRC-2012): m = 1,281,167 training images; the compressed model takes 350 KiB
# = 350 * 1024 * 8 = 2,867,200 bits (assumed to include all side information); train top-1 accuracy 65%, so
# emp_risk = 0.35; delta = 0.05 (assumed; the third decimal does not depend on it); gamma chosen near the optimum.
ZHOU = {"m": 1281167, "emp_risk": "0.35", "code_bits": 350 * 1024 * 8, "delta": "0.05", "gamma": 5058575}


def test_zhou2019_imagenet_recomputes_to_0_9654():
    r = theorems.get("compression.occam_catoni").evaluate(**ZHOU)
    ref = catoni_union("0.35", code_kl(ZHOU["code_bits"]), ZHOU["gamma"], ZHOU["m"], "0.05")
    assert contains(r, ref)
    assert F("0.96535") <= r.lo and r.hi < F("0.96545")  # 0.9654 to four digits (paper: 96.5%)


def test_zhou2019_gamma_is_near_optimal():
    """Other gammas on a coarse grid give no smaller bound (so 0.9654 is the bound's value, not a lucky gamma)."""
    t = theorems.get("compression.occam_catoni")
    best = t.evaluate(**ZHOU).hi
    for g in (2_000_000, 4_000_000, 6_000_000, 10_000_000):
        assert t.evaluate(**dict(ZHOU, gamma=g)).hi >= best


def test_occam_kl_worked_example():
    t = theorems.get("compression.occam_kl")
    r = t.evaluate(m=60000, emp_risk="0.02", code_bits=20000, delta="0.05")
    with mp.workprec(PREC):
        c = (code_kl(20000) + mpmath.log(2 * mpmath.sqrt(F(60000)) / F("0.05"))) / 60000
    assert meets(r, kl_inv_bracket(F("0.02"), c))
    with pytest.raises(HypothesisNotMet, match="h_m_ge_8"):
        t.evaluate(m=7, emp_risk="0", code_bits=10, delta="0.05")


def test_occam_binomial_worked_example():
    t = theorems.get("compression.occam_binomial")
    r = t.evaluate(m=200, k=10, code_bits=30, delta="0.05")
    with mp.workprec(PREC):
        d = F("0.05") * 6 / (mpmath.pi**2 * 30**2) * mpmath.mpf(2) ** -30
    assert meets(r, binom_tail_inv_bracket(200, 10, d))


def test_occam_binomial_is_tighter_than_occam_kl():
    kl_form = theorems.get("compression.occam_kl").evaluate(m=2000, emp_risk="0.02", code_bits=300, delta="0.05")
    binomial = theorems.get("compression.occam_binomial").evaluate(m=2000, k=40, code_bits=300, delta="0.05")
    assert binomial.hi < kl_form.hi


def test_catoni_union_worked_example():
    t = theorems.get("compression.catoni_union")
    r = t.evaluate(m=60000, emp_risk="0.02", kl=2000, gamma=60000, delta="0.05")
    assert contains(r, catoni_union("0.02", 2000, 60000, 60000, "0.05"))


@settings(max_examples=40, deadline=None)
@given(st.floats(min_value=1.0, max_value=1e8), st.floats(min_value=0, max_value=5000),
       st.floats(min_value=0, max_value=0.5))
def test_union_over_gamma_dominates_catoni_on_its_grid(gamma, kl, emp):
    """The statement at gamma is >= Catoni's fixed-gamma bound at the grid point gamma_k <= gamma with
    delta_k = delta / ((k+1)(k+2)) (the derivation in theorems.compression)."""
    r = theorems.get("compression.catoni_union").evaluate(m=60000, emp_risk=emp, kl=kl, gamma=gamma, delta="0.05")
    with mp.workprec(PREC):
        k = int(mpmath.floor(mpmath.log(F(gamma)) / mpmath.log(1 + F("0.0001"))))
        g_k = (1 + F("0.0001")) ** k
        while g_k > F(gamma):  # guard the floor against rounding
            k -= 1
            g_k = (1 + F("0.0001")) ** k
        fixed = catoni(F(emp), F(kl), g_k, 60000, F("0.05") / ((k + 1) * (k + 2)))
    assert fixed <= r.hi


def test_catoni_union_is_weaker_than_fixed_gamma_catoni():
    fixed = theorems.get("pac_bayes.catoni").evaluate(m=10000, emp_risk="0.05", kl=200, delta="0.05", gamma=5000)
    union = theorems.get("compression.catoni_union").evaluate(m=10000, emp_risk="0.05", kl=200, delta="0.05",
                                                               gamma=5000)
    assert union.lo > fixed.hi


def test_refusals():
    t = theorems.get("compression.occam_catoni")
    with pytest.raises(InvalidInput):
        t.evaluate(**dict(ZHOU, gamma="0.5"))
    with pytest.raises(InvalidInput):
        t.evaluate(**dict(ZHOU, code_bits=0))
    with pytest.raises(InvalidInput):
        t.evaluate(**dict(ZHOU, emp_risk="1.2"))
    assert math.isfinite(float(t.evaluate(**ZHOU).hi))
