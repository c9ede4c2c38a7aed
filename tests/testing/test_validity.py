"""The validity harness: ground truth of the scenarios, counting and the binomial test, every bound, mutants."""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import pytest
import sympy

import theorems
from boundcert.errors import InvalidInput
from theorems.testing import (
    GaussianLinear,
    Scenario,
    TeacherNetwork,
    Thresholds,
    Trials,
    default_scenarios,
    drop_factor,
    drop_sqrt,
    log_upper,
    make_bound,
    scale_quantity,
    validate,
    weaken_delta,
)

from proptest_support import BOUNDS, ids


# -- ground truth: the closed-form / enumerated true risk is the risk of the data the scenario draws --------------

def _z(k: np.ndarray, m: int, risk: np.ndarray) -> float:
    return float((k - m * risk).sum() / math.sqrt((m * risk * (1 - risk)).sum()))


@pytest.mark.parametrize("sep,dim", [(0.1, 2), (2.0, 2), (3.0, 5)])
def test_gaussian_linear_true_risk_matches_fresh_data(sep, dim):
    m = 20_000
    t = GaussianLinear(m=m, delta="0.1", separation=sep, dim=dim).draw(40, np.random.default_rng(1))
    assert abs(_z(np.array(t.inputs["k"]), m, t.true_risk)) < 5
    assert np.all(t.true_risk >= 0.5 * math.erfc(sep / 2 / math.sqrt(2)) - 1e-12)  # never below the Bayes risk


def test_gaussian_linear_bayes_risk_in_closed_form():
    # a classifier learnt from a huge training set is the Bayes classifier: risk Phi(-s/2)
    t = GaussianLinear(m=10, delta="0.1", separation=2.0, n_train=200_000).draw(3, np.random.default_rng(2))
    assert np.allclose(t.true_risk, 0.5 * math.erfc(1 / math.sqrt(2)), atol=2e-4)


def test_thresholds_prior_risk_matches_fresh_data():
    m, n_hyp = 5_000, 4
    t = Thresholds(m=m, delta="0.1", n_hyp=n_hyp, theta=0.3, eta=0.2).draw(60, np.random.default_rng(3))
    emp = np.array([float(Fraction(e)) for e in t.inputs["emp_risk"]])
    # emp(Q) for Q = P averages the n_hyp thresholds' error counts on the same m points
    risk = t.true_risk[0]
    assert risk == pytest.approx(0.2 + 0.6 * np.mean(np.abs((np.arange(4) + 0.5) / 4 - 0.3)), abs=1e-15)
    assert abs((emp.mean() - risk) / math.sqrt(risk * (1 - risk) / (m * 60))) < 5 * math.sqrt(n_hyp)


def test_thresholds_erm_and_gibbs_inputs():
    t = Thresholds(m=50, delta="0.1", n_hyp=8, posterior="erm").draw(100, np.random.default_rng(4))
    assert t.shared["kl"] == log_upper(8) and Fraction(log_upper(8)) > Fraction(math.log(8)) - Fraction(1, 10**15)
    g = Thresholds(m=50, delta="0.1", n_hyp=8, posterior="gibbs", beta=1.0).draw(100, np.random.default_rng(4))
    kl = np.array(g.inputs["kl"])
    assert np.all(kl >= 0) and np.all(kl <= math.log(8) + 1e-9)
    assert np.all((g.true_risk >= 0.3 - 1e-12) & (g.true_risk <= 0.5 + 1e-12))


def test_teacher_network_true_risk_is_exact_enumeration():
    sc = TeacherNetwork(m=20_000, delta="0.1", mode="test_set", eta=0.1)
    teacher, students = sc._population()
    assert teacher.size == 64 * 64 and 0.3 < teacher.mean() < 0.7  # balanced teacher
    t = sc.draw(40, np.random.default_rng(5))
    assert abs(_z(np.array(t.inputs["k"]), 20_000, t.true_risk)) < 5
    risks = 0.1 + 0.8 * (students != teacher).mean(1)
    assert set(np.round(t.true_risk, 15)) <= set(np.round(risks, 15))


def test_log_upper_is_above_ln():
    import mpmath

    for n in (2, 3, 16, 1000):
        with mpmath.workprec(300):
            assert mpmath.mpf(log_upper(n)) > mpmath.log(n)
            assert mpmath.mpf(log_upper(n)) - mpmath.log(n) < mpmath.mpf("1e-27")


# -- counting and the exact binomial test ---------------------------------------------------------------------

@dataclass(frozen=True)
class _Prescribed(Scenario):
    """Trials with given inputs and true risks (to test the harness's arithmetic)."""

    ks: tuple
    risks: tuple
    m: int = 100
    delta: str = "0.05"
    provides = frozenset({"m", "k", "delta"})

    def draw(self, n, rng):
        assert n == len(self.ks)
        return Trials({"k": list(self.ks)}, {"m": self.m, "delta": self.delta}, np.array(self.risks))


def test_violations_are_counted_and_p_value_is_the_exact_binomial_tail():
    th = theorems.get("test_set.hoeffding")
    b0 = float(th.evaluate(m=100, k=0, delta="0.05").hi)  # ~0.1224
    ks, risks = (0,) * 40, (b0 + 0.01,) * 3 + (b0 - 0.01,) * 37
    r = validate(th, [_Prescribed(ks, risks)], trials=40, alpha=0.01).results[0]
    assert r.violations == 3 and r.failure_probability == pytest.approx(0.05)
    exact = sum(Fraction(math.comb(40, j)) * Fraction(1, 20) ** j * Fraction(19, 20) ** (40 - j) for j in range(3, 41))
    assert r.p_value == pytest.approx(float(exact), rel=1e-9)
    assert r.counterexample is not None and r.counterexample.bound < r.counterexample.true_risk
    assert r.tightness == pytest.approx(b0 - np.mean(risks), abs=1e-12)
    assert not r.flagged  # 3/40 at delta = 0.05 is not significant
    r2 = validate(th, [_Prescribed((0,) * 40, (b0 + 0.01,) * 12 + (0.0,) * 28)], trials=40).results[0]
    assert r2.violations == 12 and r2.flagged


def test_deterministic_bound_is_flagged_by_one_violation():
    m, k = sympy.symbols("m k")
    th = make_bound("t.det", k / m, confidence=None)  # "err <= k/m always": false
    r = validate(th, [_Prescribed((0, 0), (0.1, 0.0))], trials=2)
    assert r.results[0].failure_probability == 0 and r.results[0].violations == 1 and not r.passed


def test_no_scenario_is_reported_as_skipped():
    x = sympy.Symbol("lipschitz")
    th = make_bound("t.other", x, confidence=None,
                    quantities=[theorems.Quantity("lipschitz", "L", theorems.Domain(), "kernel")])
    rep = validate(th, quick=True)
    assert rep.results == () and "no scenario" in rep.skipped


def test_validate_refuses_bad_arguments():
    th = theorems.get("test_set.hoeffding")
    with pytest.raises(InvalidInput):
        validate(th, trials=0)
    with pytest.raises(InvalidInput):
        validate(th, alpha=1.5)


def test_scenarios_match_theorems_by_quantity_names():
    assert all(s.provides >= {"m", "k", "delta"} for s in default_scenarios(theorems.get("test_set.hoeffding")))
    assert all("kl" in s.provides for s in default_scenarios(theorems.get("pac_bayes.catoni")))


# -- every registered bound through the harness -----------------------------------------------------------------

def _check_bound_passes(theorem, *, trials, quick):
    rep = validate(theorem, trials=trials, quick=quick, seed=11)
    if not rep.results:
        pytest.skip(f"{theorem.id}: {rep.skipped}")
    assert rep.passed, rep.summary()


def _trials(theorem, n):
    """Margin-bound scenarios draw m x candidates per trial and have many distinct inputs: a tenth of the trials
    (these bounds are loose, so power is not what limits them; see theorems.testing._scenario_margin)."""
    return n // 10 if theorem.id.startswith("norm.") else n


@pytest.mark.parametrize("theorem", BOUNDS, ids=ids(BOUNDS))
def test_registered_bound_passes_validity_harness_quick(theorem):
    _check_bound_passes(theorem, trials=_trials(theorem, 3000), quick=True)


@pytest.mark.slow
@pytest.mark.parametrize("theorem", BOUNDS, ids=ids(BOUNDS))
def test_registered_bound_passes_validity_harness_full(theorem):
    _check_bound_passes(theorem, trials=_trials(theorem, 20_000), quick=False)


# -- acceptance: mutants with a weakened constant are flagged, the correct bound passes ---------------------------

MUTANTS = [
    ("test_set.hoeffding", weaken_delta),
    ("test_set.hoeffding", drop_sqrt),
    ("test_set.hoeffding", scale_quantity),
    ("test_set.kl_chernoff", weaken_delta),
    ("test_set.kl_chernoff", scale_quantity),
    ("test_set.binomial_tail", weaken_delta),
    ("pac_bayes.kl", weaken_delta),
    ("pac_bayes.mcallester", weaken_delta),
    ("pac_bayes.mcallester", drop_sqrt),
    ("pac_bayes.catoni", weaken_delta),
    ("pac_bayes.dziugaite_roy2017", weaken_delta),
]


@pytest.mark.parametrize("tid,op", MUTANTS, ids=[f"{t}-{op.__name__}" for t, op in MUTANTS])
def test_mutant_is_flagged_and_correct_bound_passes(tid, op):
    th = theorems.get(tid)
    mutant = op(th)
    ex = th.example_values()
    assert mutant.evaluate(**ex).hi < th.evaluate(**ex).hi  # the mutant really is a weaker (smaller) statement
    bad = validate(mutant, trials=5000, quick=True, seed=3)
    assert not bad.passed, bad.summary()
    flagged = [r for r in bad.results if r.flagged]
    assert all(r.rate > r.failure_probability for r in flagged)
    good = validate(th, trials=5000, quick=True, seed=3)
    assert good.passed, good.summary()


def test_at_least_five_distinct_bounds_have_flagged_mutants():
    assert len({t for t, _ in MUTANTS}) >= 5


def test_drop_factor_removes_the_two_in_two_sqrt_m():
    th = theorems.get("pac_bayes.kl")
    mu = drop_factor(th)
    m, d = sympy.symbols("m delta")
    assert not mu.statement.has(2 * sympy.sqrt(m) / d) and mu.statement.has(sympy.log(sympy.sqrt(m) / d))
    with pytest.raises(InvalidInput):
        drop_factor(theorems.get("test_set.binomial_tail"))  # nothing to remove: refused, not silently equal
