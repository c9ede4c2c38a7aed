"""Hardt-Recht-Singer stability bounds: worked examples, step-size hypotheses, steps taken from a training run."""

from __future__ import annotations

from fractions import Fraction

import pytest
from mpmath import mp

import theorems
from boundcert.errors import HypothesisNotMet, InvalidInput
from catalogue_ref import PREC, F, contains


def test_convex_with_the_steps_of_a_run():
    steps = [Fraction(1, 10) / (1 + t // 100) for t in range(1000)]  # a step-decay schedule
    t = theorems.get("stability.hardt2016_convex")
    r = t.evaluate(n=1024, lipschitz="1.5", beta=4, max_step=max(steps), sum_step=sum(steps))
    with mp.workprec(PREC):
        s = sum(steps)
        ref = 2 * F("1.5") ** 2 * (F(s.numerator) / s.denominator) / 1024
    assert contains(r, ref)
    assert t.confidence is None


def test_convex_refuses_steps_above_2_over_beta():
    t = theorems.get("stability.hardt2016_convex")
    with pytest.raises(HypothesisNotMet, match="h_step_size_le_2_over_beta"):
        t.evaluate(n=1024, lipschitz=1, beta=4, max_step="0.6", sum_step=10)
    t.evaluate(n=1024, lipschitz=1, beta=4, max_step="0.5", sum_step=10)  # 2/beta exactly is allowed


def test_strongly_convex():
    t = theorems.get("stability.hardt2016_strongly_convex")
    r = t.evaluate(n=50000, lipschitz="2", beta=4, max_step="0.25", gamma="0.01")
    with mp.workprec(PREC):
        ref = 2 * F(2) ** 2 / (F("0.01") * 50000)
    assert contains(r, ref)
    with pytest.raises(HypothesisNotMet, match="h_step_size_le_1_over_beta"):
        t.evaluate(n=50000, lipschitz="2", beta=4, max_step="0.3", gamma="0.01")


@pytest.mark.parametrize("beta,c,big_t", [("4", "0.05", 100000), ("1", "1", 10), ("10", "0.3", 5000)])
def test_nonconvex(beta, c, big_t):
    t = theorems.get("stability.hardt2016_nonconvex")
    r = t.evaluate(n=50000, lipschitz="1", beta=beta, c=c, max_t_step=Fraction(c) / 2, T=big_t)
    with mp.workprec(PREC):
        bc = F(beta) * F(c)
        ref = (1 + 1 / bc) / F(49999) * (2 * F(c)) ** (1 / (bc + 1)) * F(big_t) ** (bc / (bc + 1))
    assert contains(r, ref)


def test_nonconvex_refusals():
    t = theorems.get("stability.hardt2016_nonconvex")
    with pytest.raises(HypothesisNotMet, match="h_step_size_le_c_over_t"):
        t.evaluate(n=100, lipschitz=1, beta=1, c="0.1", max_t_step="0.2", T=10)
    with pytest.raises(HypothesisNotMet, match="h_n_ge_2"):
        t.evaluate(n=1, lipschitz=1, beta=1, c="0.1", max_t_step="0.05", T=10)
    with pytest.raises(InvalidInput):
        t.evaluate(n=100, lipschitz=1, beta=0, c="0.1", max_t_step="0.05", T=10)
