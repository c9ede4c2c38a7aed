"""The catalogue's synthetic problems: their ground truth, the mean test, and mutants of catalogue bounds."""

from __future__ import annotations

import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest
import sympy

import theorems
from boundcert.errors import InvalidInput
from theorems.testing import (
    CertifiedSample,
    CircleMargin,
    CircleMulticlass,
    CodedThresholds,
    RobustRadius,
    RobustTestSet,
    SGDStability,
    default_scenarios,
    mean_lower_confidence,
    mean_p_value,
    mutate,
    scale_quantity,
    validate,
    weaken_delta,
)
from theorems.testing._harness import applicable


def _z(k: np.ndarray, m: int, risk: np.ndarray) -> float:
    return float((k - m * risk).sum() / math.sqrt((m * risk * (1 - risk)).sum()))


# -- ground truth ------------------------------------------------------------------------------------------------

def test_coded_thresholds_inputs_and_risk_formula():
    sc = CodedThresholds(m=40, delta="0.1", levels=(1, 2, 3), theta=0.3, eta=0.2, select="srm")
    t = sc.draw(300, np.random.default_rng(0))
    assert all(Fraction(e) == Fraction(k, 40) for e, k in zip(t.inputs["emp_risk"], t.inputs["k"]))
    assert set(t.inputs["code_bits"]) <= {1, 2, 3}
    bits, thr = sc._codes()
    assert list(bits[:2]) == [1, 1] and list(thr[:2]) == [0.25, 0.75] and thr.size == 2 + 4 + 8
    # the risk formula against a million fresh points, for every code
    rng = np.random.default_rng(1)
    x = rng.random(10**6)
    y = (x > 0.3) ^ (rng.random(10**6) < 0.2)
    for th in thr:
        r = 0.2 + 0.6 * abs(th - 0.3)
        assert abs(((x > th) != y).mean() - r) < 5 * math.sqrt(r * (1 - r) / 10**6)


def test_robust_test_set_true_robust_risk_matches_fresh_data():
    m = 20_000
    t = RobustTestSet(m=m, delta="0.1", eps=0.3, separation=1.5).draw(40, np.random.default_rng(2))
    assert abs(_z(np.array(t.inputs["k_uncertified"]), m, t.true_risk)) < 5
    # eps = 0 is the plain error of GaussianLinear's classifier
    a = RobustTestSet(m=5, delta="0.1", eps=0.0).draw(50, np.random.default_rng(3)).true_risk
    b = theorems.testing.GaussianLinear(m=5, delta="0.1", separation=1.0).draw(50, np.random.default_rng(3)).true_risk
    assert np.allclose(a, b, rtol=0, atol=1e-15)


def test_certified_sample_is_tight_for_a_linear_classifier():
    t = CertifiedSample(m=60, eps=0.25).draw(200, np.random.default_rng(4))
    frac = np.array(t.inputs["n_certified"]) / 60
    assert np.all(frac <= t.true_risk) and np.mean(frac == t.true_risk) > 0.99


def test_robust_radius_is_exact_and_tight():
    sc = RobustRadius(grid=8, offset=1 / 16)
    t = sc.draw(50, np.random.default_rng(5))
    th = theorems.get("robust.tsuzuku2018_radius")
    for i in range(50):
        z = Fraction(t.inputs["logit_margin"][i])
        assert z > 0 and (z * 16).denominator == 1  # |3 i + 4 j| / 8 + 1/16 on the lattice
        enc = th.evaluate(**t.row(i))
        with mpmath.workprec(300):
            exact = mpmath.mpf(z.numerator) / (5 * z.denominator)
            assert enc.lo <= exact and exact - enc.lo < mpmath.mpf("1e-30")
    with pytest.raises(InvalidInput, match="decision boundary"):
        RobustRadius(grid=8, offset=0.5).draw(3, np.random.default_rng(0))


@pytest.mark.parametrize("depth", [1, 2])
def test_circle_margin_risk_by_enumeration_matches_fresh_labels(depth):
    sc = CircleMargin(m=50, delta="0.1", depth=depth, width=3, eta=0.1, n_students=3)
    p1, f, margins, norms = sc._population()
    risk = ((p1 * (f <= 0)) + (1 - p1) * (f >= 0)).mean(1)
    rng = np.random.default_rng(6)
    idx = rng.integers(0, sc.points, 400_000)
    y = np.where(rng.random(400_000) < p1[idx], 1.0, -1.0)
    for c in range(3):
        err = (y * f[c, idx] <= 0).mean()
        assert abs(err - risk[c]) < 5 * math.sqrt(risk[c] * (1 - risk[c]) / 400_000) + 1e-12
    t = sc.draw(100, rng)
    assert Fraction(t.shared["x_frob"]) ** 2 >= 2 * 50 and Fraction(t.shared["x_col_max"]) ** 2 >= 50
    assert Fraction(t.shared["x_frob"]) ** 2 < 2 * 50 * (1 + Fraction(1, 10**10))
    assert set(np.round(t.true_risk, 15)) <= set(np.round(risk, 15))
    if depth == 2:
        assert float(norms[0]["path_norm_l1"]) <= float(norms[0]["prod_l1inf"]) * (1 + 1e-9)


def test_circle_margin_inputs_are_upper_bounds():
    """Norms and the empirical margin risk recomputed independently: the scenario's inputs are never below."""
    sc = CircleMargin(m=30, delta="0.1", depth=1, n_students=2)
    r = np.random.default_rng(sc.net_seed)
    a = r.standard_normal(3)
    w0 = a + sc.spread * r.standard_normal(3)
    _, f, margins, norms = sc._population()
    assert Fraction(norms[0]["w_norm"]) >= Fraction(float(np.linalg.norm(w0)))
    assert Fraction(norms[0]["path_norm_l1"]) >= Fraction(float(np.abs(w0).sum()))
    assert margins[0] == pytest.approx(0.2 * np.abs(f[0]).max())


def test_circle_multiclass_risk_by_enumeration_matches_fresh_labels():
    sc = CircleMulticlass(m=50, delta="0.1", classes=3, n_students=2, eta=0.1)
    label, f, risk, margins, _ = sc._population()
    rng = np.random.default_rng(7)
    idx = rng.integers(0, sc.points, 300_000)
    flip = rng.random(300_000) < 0.1
    y = np.where(flip, (label[idx] + rng.integers(1, 3, 300_000)) % 3, label[idx])
    for c in range(2):
        err = (f[c, idx].argmax(1) != y).mean()
        assert abs(err - risk[c]) < 5 * math.sqrt(risk[c] * (1 - risk[c]) / 300_000)
    t = sc.draw(50, rng)
    assert all(Fraction(v) ** 2 >= 2 * 50 for v in t.inputs["x_frob_class_sum"])  # (sum sqrt)^2 >= sum


@pytest.mark.parametrize("loss", ["logistic", "ridge", "sigmoid"])
def test_sgd_gaps_lie_in_their_range_and_inputs_meet_the_hypotheses(loss):
    sc = SGDStability(n=4, loss=loss, steps=15, step=1.0 if loss != "sigmoid" else 5.0)
    t = sc.draw(500, np.random.default_rng(8))
    lo, hi = t.value_range
    assert lo < t.true_risk.min() and t.true_risk.max() < hi
    th = next(x for x in theorems.all() if applicable(x, sc))
    assert th.id.startswith("stability.hardt2016") and float(th.evaluate(**{k: v for k, v in t.shared.items()
                                                                             if k in th.names}).hi) > 0


def test_sgd_population_risk_matches_a_fresh_sample():
    """The exact population risk of the scenario's distribution against 2e6 fresh draws, at a fixed w."""
    sc = SGDStability(n=4, points=64, slope=2.0)
    t = 2 * np.pi * (np.arange(64) + 0.5) / 64
    pts = np.stack([np.cos(t), np.sin(t)], 1)
    p1 = 1 / (1 + np.exp(-2.0 * np.cos(t)))
    w = np.array([0.7, -0.4])
    exact = (p1 * np.logaddexp(0, -(pts @ w)) + (1 - p1) * np.logaddexp(0, pts @ w)).mean()
    rng = np.random.default_rng(9)
    idx = rng.integers(0, 64, 2_000_000)
    y = np.where(rng.random(2_000_000) < p1[idx], 1.0, -1.0)
    mc = np.logaddexp(0, -y * (pts[idx] @ w))
    assert abs(mc.mean() - exact) < 5 * mc.std() / math.sqrt(mc.size)
    assert sc.provides == {"n", "lipschitz", "beta", "max_step", "sum_step"}


# -- the mean test -----------------------------------------------------------------------------------------------

def test_mean_test_is_valid_at_the_boundary_and_powerful_above_it():
    rng = np.random.default_rng(10)
    ps = [mean_p_value(rng.random(400) * 2 - 1, -1.0, 1.0, 0.0) for _ in range(300)]  # E X = bound exactly
    assert np.mean(np.array(ps) < 0.05) <= 0.05
    above = rng.random(2000) * 0.2 + 0.1  # E X = 0.2 > bound 0.05
    assert mean_p_value(above, -1.0, 1.0, 0.05) < 1e-6
    assert mean_lower_confidence(above, -1.0, 1.0, 1e-6) > 0.05
    with pytest.raises(InvalidInput, match="outside the declared range"):
        mean_p_value(np.array([0.0, 2.0]), -1.0, 1.0, 0.0)


def test_stability_bounds_are_tested_on_the_mean_not_per_trial():
    th = theorems.get("stability.hardt2016_convex")
    (sc,) = default_scenarios(th, quick=True)
    r = validate(th, [sc], trials=400).results[0]
    assert r.claim == "mean" and r.failure_probability == 0 and not r.flagged and "expectation" in r.line()


# -- catalogue matching -------------------------------------------------------------------------------------------

def test_training_error_counts_never_reach_test_set_bounds():
    sc = CodedThresholds(m=30, delta="0.1")
    assert not applicable(theorems.get("test_set.binomial_tail"), sc)
    assert applicable(theorems.get("compression.occam_binomial"), sc)
    assert not applicable(theorems.get("robust.tsuzuku2018_radius"), CodedThresholds(m=30, delta="0.1"))
    assert not applicable(theorems.get("test_set.hoeffding"), RobustRadius())  # relation '>=' vs '<='


def test_every_catalogue_bound_but_one_has_a_scenario():
    missing = [t.id for t in theorems.all() if t.kind == "bound" and not default_scenarios(t)]
    assert missing == ["norm.bartlett2017_rademacher"]  # bounds a Rademacher complexity: no closed-form truth


# -- mutants of catalogue bounds: a weakened constant is flagged, the correct bound passes ------------------------

def _dropped_sqrt2(th):
    """``M / L`` instead of ``M / (sqrt(2) L)``: the sqrt(2) of Tsuzuku et al.'s Prop. 1 forgotten."""
    mu = mutate(th, lambda e: sympy.simplify(e * sympy.sqrt(2)), "sqrt(2) dropped")
    assert mu.statement == sympy.Symbol("logit_margin") / sympy.Symbol("lipschitz")
    return mu


CATALOGUE_MUTANTS = [
    ("compression.occam_binomial", weaken_delta, 2000),
    ("robust.robust_error_test_set", weaken_delta, 2000),
    ("robust.tsuzuku2018_radius", _dropped_sqrt2, 500),
    # the mean test pays for the a-priori range of the gaps (|gap| <= ln(1 + e^10)): more (cheap) trials
    ("stability.hardt2016_convex", lambda th: scale_quantity(th, "n", 100), 10_000),
]


@pytest.mark.parametrize("tid,op,trials", CATALOGUE_MUTANTS, ids=[t for t, _, _ in CATALOGUE_MUTANTS])
def test_catalogue_mutant_is_flagged_and_correct_bound_passes(tid, op, trials):
    th = theorems.get(tid)
    bad = validate(op(th), trials=trials, quick=True, seed=5)
    assert not bad.passed, bad.summary()
    assert all(r.counterexample is not None for r in bad.results if r.flagged)
    good = validate(th, trials=trials, quick=True, seed=5)
    assert good.passed and good.results, good.summary()
