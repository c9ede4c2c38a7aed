"""theorems.testing: property tests and a Monte Carlo validity harness for bounds, the library's and a user's.

A wrong constant is the most common error in learning theory and no type checker catches it; this package makes
catching it a feature. It needs the ``test`` extra (``hypothesis``); ``import theorems`` does not import it.

* **Strategies** (:func:`inputs`, :func:`quantity_values`, :func:`monotone_cases`): valid inputs drawn from each
  quantity's declared domain, mechanical hypotheses met.
* **Property checks** (:func:`check_enclosure`, :func:`check_monotone`, :func:`check_refuses_invalid`,
  :func:`check_refuses_unmet_hypotheses`): the rigorous enclosure contains an independent 256-bit value
  (:func:`reference_value`), the declared monotonicities hold, invalid inputs are refused.
* **Validity harness** (:func:`validate`, :class:`Scenario` and the built-in problems :class:`GaussianLinear`,
  :class:`Thresholds`, :class:`TeacherNetwork`): run learn-then-bound many times on problems whose true risk is
  known exactly, count ``bound < true risk``, exact binomial test of ``rate <= delta``, tightness;
  :class:`RandomClass` (many independent classifiers, pure noise) makes PAC-Bayes bounds nearly tight, so a
  constant off by 2 inside the square root is caught. An exception raised while evaluating the statement on a
  scenario's valid inputs is a failure too, reported with those inputs. Catalogue
  problems: :class:`CodedThresholds` (Occam bounds), :class:`RobustTestSet`, :class:`CertifiedSample`,
  :class:`RobustRadius` (robustness), :class:`CircleMargin`, :class:`CircleMulticlass` (norm-based margin bounds), :class:`SGDStability`
  (stability bounds, in expectation: an empirical Bernstein test of the mean, :func:`mean_p_value`).
* **Mutants** (:func:`weaken_delta`, :func:`drop_sqrt`, :func:`drop_factor`, :func:`scale_quantity`): copies with
  a weakened constant, to check that the harness has the power to catch one.
* **User theorems** (:func:`make_bound`, :func:`load_theorem`, :func:`test_theorem`): the engine of
  ``certify test-theorem ID|FILE.py:NAME``; see ``docs/user_theorems.rst``.
"""

from theorems.testing._harness import (
    DEFAULT_FIXED,
    Counterexample,
    ScenarioResult,
    ValidityReport,
    applicable,
    default_scenarios,
    validate,
)
from theorems.testing._mutants import drop_factor, drop_sqrt, mutate, scale_quantity, weaken_delta
from theorems.testing._properties import (
    PropertyViolation,
    check_enclosure,
    check_monotone,
    check_refuses_invalid,
    check_refuses_unmet_hypotheses,
    monotone_cases,
)
from theorems.testing._reference import (
    REFERENCE_PREC,
    ref_binom_tail,
    ref_binom_tail_inv,
    ref_kl,
    ref_kl_inv,
    reference_tolerance,
    reference_value,
)
from theorems.testing._mean_test import mean_lower_confidence, mean_p_value
from theorems.testing._scenario_codes import CodedThresholds
from theorems.testing._scenario_margin import CircleMargin, CircleMulticlass
from theorems.testing._scenario_random import RandomClass
from theorems.testing._scenario_robust import CertifiedSample, RobustRadius, RobustTestSet
from theorems.testing._scenario_sgd import SGDStability
from theorems.testing._scenarios import GaussianLinear, Scenario, TeacherNetwork, Thresholds, Trials, log_upper
from theorems.testing._user import (
    STANDARD_QUANTITIES,
    LoadedTheorem,
    TheoremTestReport,
    load_theorem,
    make_bound,
    test_theorem,
)
from theorems.testing._strategies import (
    format_exact,
    in_domain,
    inputs,
    invalid_values,
    meets_hypotheses,
    quantity_values,
)

__all__ = [
    "CertifiedSample",
    "CircleMargin",
    "CircleMulticlass",
    "CodedThresholds",
    "RandomClass",
    "RobustRadius",
    "RobustTestSet",
    "SGDStability",
    "mean_lower_confidence",
    "mean_p_value",
    "Counterexample",
    "LoadedTheorem",
    "STANDARD_QUANTITIES",
    "TheoremTestReport",
    "load_theorem",
    "make_bound",
    "test_theorem",
    "DEFAULT_FIXED",
    "GaussianLinear",
    "PropertyViolation",
    "REFERENCE_PREC",
    "Scenario",
    "ScenarioResult",
    "TeacherNetwork",
    "Thresholds",
    "Trials",
    "ValidityReport",
    "applicable",
    "check_enclosure",
    "check_monotone",
    "check_refuses_invalid",
    "check_refuses_unmet_hypotheses",
    "default_scenarios",
    "drop_factor",
    "drop_sqrt",
    "format_exact",
    "in_domain",
    "inputs",
    "invalid_values",
    "log_upper",
    "meets_hypotheses",
    "monotone_cases",
    "mutate",
    "quantity_values",
    "ref_binom_tail",
    "ref_binom_tail_inv",
    "ref_kl",
    "ref_kl_inv",
    "reference_tolerance",
    "reference_value",
    "scale_quantity",
    "validate",
    "weaken_delta",
]
