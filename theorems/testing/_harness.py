"""The Monte Carlo validity harness: does a bound fail more often than its ``delta`` allows?

For each scenario, ``validate`` runs the learn-then-bound procedure ``trials`` times, evaluates the theorem on each
trial's inputs (rigorously: the bound is the upper end of the enclosure), and counts *violations*: trials where
``bound < true risk``. A correct bound fails with probability at most its failure probability
``1 - confidence`` (``delta``); the harness tests ``H0: violation rate <= delta`` with the exact one-sided binomial
test ``p = P[Binomial(trials, delta) >= violations]`` and flags the theorem when ``p < alpha / #scenarios``
(Bonferroni over the scenarios). It reports tightness too: the mean of ``bound - true risk``.

Lower bounds (``relation=">="``, e.g. a certified radius) are checked the same way with the lower end of the
enclosure: a violation is ``bound > true value``. Bounds *in expectation* (scenarios with ``claim = "mean"``, e.g.
the stability bounds of Hardt et al. 2016) are never counted per trial: the harness tests ``H0: E[value] <= bound``
on the mean of the per-trial values with the empirical Bernstein inequality (:mod:`theorems.testing._mean_test`).

Statistical design: most bounds are far from tight at ``delta``, so a constant a little too small often still holds.
The default scenarios put the bound where a wrong constant bites: small samples, risks near 1/2 (where the
variance is largest), and both a tiny ``delta`` (Hoeffding-type exponents are then nearly tight) and a large one.
For PAC-Bayes bounds, :class:`~theorems.testing.RandomClass` (a million independent classifiers on pure-noise
labels, ERM posterior) makes the union bound behind the KL term nearly tight: McAllester's bound with ``4m`` where
``2m`` belongs fails there in about a quarter of the trials at ``delta = 0.001``.

Failures carry their inputs: a violating trial is reported as a :class:`Counterexample`; an exception raised while
evaluating the statement on a scenario's inputs (a division by zero, an overflow, a bug in a user's statement) flags
the scenario with the trial's inputs and the error, instead of aborting the run.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Mapping, Sequence

import mpmath
import numpy as np
import sympy
from mpmath import libmp
from scipy.stats import binom

from boundcert.errors import HypothesisNotMet, InvalidInput
from theorems._theorem import Theorem
from theorems._tree import tree_symbols
from theorems.testing._mean_test import mean_p_value
from theorems.testing._scenario_codes import CodedThresholds
from theorems.testing._scenario_margin import CircleMargin, CircleMulticlass
from theorems.testing._scenario_random import RandomClass
from theorems.testing._scenario_robust import CertifiedSample, RobustRadius, RobustTestSet
from theorems.testing._scenario_sgd import SGDStability
from theorems.testing._scenarios import GaussianLinear, Scenario, TeacherNetwork, Thresholds, Trials

__all__ = [
    "Counterexample",
    "ScenarioResult",
    "ValidityReport",
    "validate",
    "default_scenarios",
    "applicable",
    "DEFAULT_FIXED",
]

#: Values for quantities that a scenario does not produce but a theorem takes, fixed before the sample
#: (``j``: the first prior of a union grid; ``gamma``: Catoni's inverse temperature, as a function of ``m``).
DEFAULT_FIXED: Mapping[str, object | Callable[[int], object]] = {"j": 1, "gamma": lambda m: m}


@dataclass(frozen=True, slots=True)
class Counterexample:
    """One violating trial: the theorem's inputs, the bound (upper end of the enclosure) and the true risk; or the
    inputs at which evaluating the statement raised (``error``)."""

    inputs: Mapping[str, object]
    bound: float
    true_risk: float
    relation: str = "<="
    error: str = ""  # set when evaluating the statement at these inputs raised (``bound`` is then NaN)

    def __str__(self) -> str:
        vals = ", ".join(f"{k}={v}" for k, v in self.inputs.items())
        if self.error:
            return f"{vals}: evaluating the theorem raised {self.error}"
        if self.relation == ">=":
            return f"{vals}: lower bound {self.bound:.10g} > true value {self.true_risk:.10g}"
        return f"{vals}: bound {self.bound:.10g} < true risk {self.true_risk:.10g}"


@dataclass(frozen=True, slots=True)
class ScenarioResult:
    """The outcome of one scenario: violation count, exact binomial p-value, tightness."""

    scenario: str
    trials: int
    violations: int
    failure_probability: float
    p_value: float
    threshold: float
    mean_bound: float
    mean_true_risk: float
    counterexample: Counterexample | None = None
    claim: str = "per_trial"
    relation: str = "<="
    error: str = ""  # the statement raised on a trial's inputs (see ``counterexample``): always flagged

    @property
    def rate(self) -> float:
        return self.violations / self.trials

    @property
    def flagged(self) -> bool:
        return bool(self.error) or self.p_value < self.threshold

    @property
    def tightness(self) -> float:
        """Mean of ``bound - true risk`` over the trials."""
        return self.mean_bound - self.mean_true_risk

    def line(self) -> str:
        verdict = "FLAGGED" if self.flagged else "ok"
        if self.error:
            return f"{verdict:7} {self.scenario}: evaluating the theorem on a trial's inputs raised {self.error}"
        if self.claim == "mean":
            return (
                f"{verdict:7} {self.scenario}: bound on the expectation {self.mean_bound:.6g}, mean of "
                f"{self.trials} values {self.mean_true_risk:.6g} (empirical Bernstein p = {self.p_value:.3g}), "
                f"tightness {self.tightness:.4g}"
            )
        return (
            f"{verdict:7} {self.scenario}: {self.violations}/{self.trials} violations (rate {self.rate:.4g}, "
            f"allowed {self.failure_probability:.4g}), p = {self.p_value:.3g}; mean bound {self.mean_bound:.4f}, "
            f"mean true {'value' if self.relation == '>=' else 'risk'} {self.mean_true_risk:.4f}, "
            f"tightness {self.tightness:.4f}"
        )


@dataclass(frozen=True, slots=True)
class ValidityReport:
    """All scenario results for one theorem; ``passed`` when none is flagged."""

    theorem_id: str
    alpha: float
    results: tuple[ScenarioResult, ...]
    skipped: str = ""

    @property
    def passed(self) -> bool:
        return not any(r.flagged for r in self.results)

    def summary(self) -> str:
        lines = [f"validity harness for {self.theorem_id} (alpha = {self.alpha:g}, Bonferroni over "
                 f"{len(self.results)} scenarios):"]
        if self.skipped:
            lines.append(f"  skipped: {self.skipped}")
        for r in self.results:
            lines.append("  " + r.line())
            if r.flagged and r.counterexample is not None:
                lines.append(f"          counterexample: {r.counterexample}")
        return "\n".join(lines)


def _needed(theorem: Theorem) -> set[str]:
    return tree_symbols(theorem.tree()) | (
        {s.name for s in theorem.confidence.free_symbols} if theorem.confidence is not None else set()
    )


def _fixed_for(theorem: Theorem, scenario: Scenario, fixed: Mapping[str, object]) -> dict[str, object] | None:
    """Values of the quantities the scenario does not produce, or None when one cannot be supplied."""
    out: dict[str, object] = {}
    examples = theorem.example_values()
    for name in sorted(_needed(theorem) - set(scenario.provides)):
        if name in fixed:
            out[name] = fixed[name]
        elif name in DEFAULT_FIXED:
            out[name] = DEFAULT_FIXED[name]
        elif name in examples and theorem.quantity(name).source == "user":
            out[name] = examples[name]  # a user-chosen constant (never data): the documented example value
        else:
            return None
    return out


def applicable(theorem: Theorem, scenario: Scenario, fixed: Mapping[str, object] | None = None) -> bool:
    """Whether ``scenario`` (plus ``fixed`` / default values) supplies every input ``theorem`` needs.

    A theorem that takes ``m, k, delta`` is taken to bound the test error of a fixed classifier, one that takes
    ``m, emp_risk, kl, delta`` the risk of a posterior: the harness matches problems to theorems by these names,
    by the direction of the claim (``scenario.relation``) and by the names the scenario binds (``scenario.binds``:
    e.g. a training error count is valid only with the ``code_bits`` of an Occam bound).
    """
    return (
        theorem.kind == "bound"
        and theorem.relation == scenario.relation
        and scenario.binds <= _needed(theorem)
        and _fixed_for(theorem, scenario, fixed or {}) is not None
    )


def default_scenarios(theorem: Theorem, *, quick: bool = False) -> list[Scenario]:
    """The built-in scenarios that fit ``theorem`` (by the quantity names it takes); ``quick`` for a fast subset."""
    test_set: list[Scenario] = [
        GaussianLinear(m=30, delta="0.001", separation=0.1),
        GaussianLinear(m=30, delta="0.3", separation=0.1),
        TeacherNetwork(m=40, delta="0.05", mode="test_set"),
    ]
    pac_bayes: list[Scenario] = [
        Thresholds(m=8, delta="0.0002", n_hyp=1, eta=0.5),
        Thresholds(m=30, delta="0.001", n_hyp=16, eta=0.3, posterior="erm"),
        TeacherNetwork(m=40, delta="0.05", mode="pac_bayes"),
        RandomClass(m=100, delta="0.001", n_hyp=10**6),  # nearly tight: catches 4m for 2m inside the sqrt
    ]
    if not quick:
        test_set += [
            GaussianLinear(m=10, delta="0.5", separation=0.1),
            GaussianLinear(m=100, delta="0.01", separation=2.0),
            GaussianLinear(m=200, delta="0.1", separation=4.0, dim=5),
            TeacherNetwork(m=100, delta="0.2", mode="test_set", eta=0.05),
        ]
        pac_bayes += [
            Thresholds(m=8, delta="0.5", n_hyp=1, eta=0.5),
            Thresholds(m=20, delta="0.01", n_hyp=8, eta=0.4, posterior="gibbs", beta=2.0),
            Thresholds(m=100, delta="0.1", n_hyp=32, eta=0.1, posterior="erm"),
            TeacherNetwork(m=100, delta="0.2", mode="pac_bayes", eta=0.05),
            RandomClass(m=50, delta="0.05", n_hyp=10**4),
            RandomClass(m=400, delta="0.01", n_hyp=10**6),
        ]
    catalogue = _catalogue_scenarios(quick)
    return [s for s in test_set + pac_bayes + catalogue if applicable(theorem, s)]


def _catalogue_scenarios(quick: bool) -> list[Scenario]:
    """Scenarios of the catalogue bounds (Occam, robustness, margin, stability), matched by quantity names."""
    out: list[Scenario] = [
        CodedThresholds(m=30, delta="0.001", levels=(1,), theta=0.5, eta=0.3),
        CodedThresholds(m=50, delta="0.1", levels=(1, 2, 3, 4, 5), select="srm"),
        RobustTestSet(m=30, delta="0.001", eps=0.2),
        CertifiedSample(m=50, eps=0.2),
        RobustRadius(),
        CircleMargin(m=2000, delta="0.05", depth=1, eta=0.05, n_students=4),
        CircleMargin(m=2000, delta="0.05", depth=2, width=2, eta=0.02, n_students=2, spread=0.05, margin_frac=0.3),
        CircleMulticlass(m=2000, delta="0.05", classes=2, n_students=2, margin_frac=0.4),
        SGDStability(n=5, loss="logistic", steps=10, step=1.0),
        SGDStability(n=5, loss="ridge", steps=50, step=1.0, lam=0.5, radius=2.0),
        SGDStability(n=5, loss="sigmoid", steps=20, step=10.0),
    ]
    if not quick:
        out += [
            CodedThresholds(m=8, delta="0.5", levels=(1, 2)),
            CodedThresholds(m=200, delta="0.01", levels=(3, 4, 5, 6), theta=0.37, eta=0.1),
            RobustTestSet(m=100, delta="0.3", eps=0.5, separation=2.0),
            RobustTestSet(m=10, delta="0.5", eps=0.0, separation=0.2, dim=4),
            CertifiedSample(m=7, eps=1.0, separation=3.0),
            RobustRadius(grid=32, offset=1 / 64),
            CircleMargin(m=10000, delta="0.01", depth=1, eta=0.1, margin_frac=0.3),
            CircleMargin(m=2000, delta="0.2", depth=2, width=4, eta=0.05, n_students=4, spread=0.1),
            CircleMargin(m=20000, delta="0.05", depth=2, width=2, eta=0.02, n_students=2, spread=0.05,
                         margin_frac=0.3),
            CircleMulticlass(m=20000, delta="0.05", classes=2, n_students=2, margin_frac=0.4),
            CircleMulticlass(m=3000, delta="0.2", classes=3, depth=2, spread=0.1, margin_frac=0.3),
            SGDStability(n=10, loss="logistic", steps=50, step=0.5),
            SGDStability(n=20, loss="ridge", steps=200, step=0.25, lam=0.1, radius=5.0),
            SGDStability(n=20, loss="sigmoid", steps=100, step=4.0),
        ]
    return out


def _upper_float(x: mpmath.mpf) -> float:
    return libmp.to_float(x._mpf_, rnd=libmp.round_ceiling)


def _lower_float(x: mpmath.mpf) -> float:
    return libmp.to_float(x._mpf_, rnd=libmp.round_floor)


def _failure_probability(theorem: Theorem, values: Mapping[str, object]) -> float:
    if theorem.confidence is None:
        return 0.0
    subs = {s: sympy.Rational(Fraction(values[s.name])) for s in theorem.confidence.free_symbols}
    return float(1 - theorem.confidence.subs(subs))


def _run_one(
    theorem: Theorem, scenario: Scenario, trials: int, rng: np.random.Generator, fixed: Mapping[str, object],
    threshold: float,
) -> ScenarioResult:
    draws: Trials = scenario.draw(trials, rng)
    extra = {
        k: (v(int(draws.shared["m"])) if callable(v) else v) for k, v in _fixed_for(theorem, scenario, fixed).items()
    }
    names = [q.name for q in theorem.quantities]
    cache: dict[tuple, float] = {}
    bounds = np.empty(trials)
    conf_names = {s.name for s in theorem.confidence.free_symbols} if theorem.confidence is not None else set()
    fail_probs: dict[tuple, float] = {}
    for i in range(trials):
        row = {k: v for k, v in {**draws.row(i), **extra}.items() if k in names}
        key = tuple(sorted(row.items()))
        if key not in cache:
            try:  # the scenario's inputs must lie in the theorem's domains and meet its mechanical hypotheses
                theorem.check_hypotheses(theorem.enclose_inputs(row), row)
            except (InvalidInput, HypothesisNotMet) as exc:
                raise InvalidInput(f"scenario {scenario.describe()} does not fit theorem {theorem.id} at "
                                   f"{_show(row)}: {exc}") from None
            try:
                enc = theorem.evaluate(**row)
            except Exception as exc:  # noqa: BLE001  (valid inputs: any error is a finding, reported with them)
                return _error_result(scenario, draws, i, row, exc, threshold)
            cache[key] = _lower_float(enc.lo) if scenario.relation == ">=" else _upper_float(enc.hi)
        bounds[i] = cache[key]
        ckey = tuple(sorted((k, v) for k, v in row.items() if k in conf_names))
        if ckey not in fail_probs:
            try:
                fail_probs[ckey] = _failure_probability(theorem, row)
            except Exception as exc:  # noqa: BLE001  (the confidence expression failed: reported with the inputs)
                return _error_result(scenario, draws, i, row, exc, threshold, what="the confidence")
    delta = max(fail_probs.values())  # trials with different deltas: test against the largest (conservative)
    if scenario.claim == "mean":
        return _mean_result(theorem, scenario, draws, bounds, threshold)
    viol = bounds > draws.true_risk if scenario.relation == ">=" else bounds < draws.true_risk
    v = int(viol.sum())
    p = float(binom.sf(v - 1, trials, delta)) if v > 0 else 1.0
    cx = None
    if v:
        gaps = np.where(viol, np.abs(draws.true_risk - bounds), -np.inf)
        i = int(gaps.argmax())
        row = {k: val for k, val in {**draws.row(i), **extra}.items() if k in names}
        cx = Counterexample(row, float(bounds[i]), float(draws.true_risk[i]), scenario.relation)
    return ScenarioResult(
        scenario.describe(), trials, v, delta, p, threshold, float(bounds.mean()), float(draws.true_risk.mean()), cx,
        relation=scenario.relation,
    )


def _show(values: Mapping[str, object]) -> str:
    return ", ".join(f"{k}={v}" for k, v in values.items())


def _error_result(scenario: Scenario, draws: Trials, i: int, row: Mapping[str, object], exc: Exception,
                  threshold: float, what: str = "") -> ScenarioResult:
    """A flagged result for a statement (or ``what``: the confidence) that raised on trial ``i``'s inputs ``row``."""
    msg = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else repr(exc)}"
    if what:
        msg = f"{msg} (in {what}, not the statement)"
    true = float(draws.true_risk[i])
    cx = Counterexample(dict(row), float("nan"), true, scenario.relation, error=msg)
    return ScenarioResult(
        scenario.describe(), i + 1, 0, float("nan"), 0.0, threshold, float("nan"), true, cx,
        claim=scenario.claim, relation=scenario.relation, error=msg,
    )


def _mean_result(
    theorem: Theorem, scenario: Scenario, draws: Trials, bounds: np.ndarray, threshold: float
) -> ScenarioResult:
    """``H0: E[value] <= bound`` by the empirical Bernstein test; the bound must not depend on the trial."""
    if scenario.relation != "<=" or draws.value_range is None or bounds.min() != bounds.max():
        raise InvalidInput(
            f"scenario {scenario.describe()} (claim 'mean') must give one bound for all trials, relation '<=' and a "
            f"value_range: a bound in expectation is tested on the mean of i.i.d. values (theorem {theorem.id})"
        )
    lo, hi = draws.value_range
    bound = float(bounds[0])
    p = mean_p_value(draws.true_risk, lo, hi, bound)
    cx = None
    if p < threshold:
        row = {k: v for k, v in draws.shared.items() if k in theorem.names}
        cx = Counterexample(row, bound, float(draws.true_risk.mean()))
    return ScenarioResult(
        scenario.describe(), int(draws.true_risk.size), int((draws.true_risk > bound).sum()), 0.0, p, threshold,
        bound, float(draws.true_risk.mean()), cx, claim="mean",
    )


def validate(
    theorem: Theorem,
    scenarios: Sequence[Scenario] | None = None,
    *,
    trials: int = 5000,
    alpha: float = 1e-3,
    seed: int = 0,
    fixed: Mapping[str, object] | None = None,
    quick: bool = False,
) -> ValidityReport:
    """Run ``theorem`` through the validity harness.

    Args:
        theorem: a bound (``kind="bound"``, relation ``<=``) on a 0-1 risk.
        scenarios: the synthetic problems; default :func:`default_scenarios` (matched by quantity names).
        trials: repetitions of the learn-then-bound procedure per scenario.
        alpha: family-wise significance level (split evenly over the scenarios).
        seed: seed of the numpy generator (runs are reproducible).
        fixed: values for inputs no scenario produces (e.g. ``{"gamma": 100}``).
        quick: with the default scenarios, use the fast subset.
    Returns:
        a :class:`ValidityReport`; ``report.passed`` is False when some scenario's violation rate is significantly
        above the theorem's failure probability.
    """
    if trials < 1:
        raise InvalidInput(f"trials={trials} must be >= 1")
    if not 0 < alpha < 1:
        raise InvalidInput(f"alpha={alpha} must lie in (0, 1)")
    fixed = dict(fixed or {})
    chosen = list(scenarios) if scenarios is not None else default_scenarios(theorem, quick=quick)
    chosen = [s for s in chosen if applicable(theorem, s, fixed)]
    if not chosen:
        why = (f"kind {theorem.kind!r}" if theorem.kind != "bound" else
               f"no scenario supplies its inputs {sorted(_needed(theorem))}")
        return ValidityReport(theorem.id, alpha, (), skipped=why)
    rng = np.random.default_rng(seed)
    threshold = alpha / len(chosen)
    results = tuple(_run_one(theorem, s, trials, rng, fixed, threshold) for s in chosen)
    return ValidityReport(theorem.id, alpha, results)
