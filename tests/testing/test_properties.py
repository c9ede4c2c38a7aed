"""Every registered theorem against the property checks; and each check can fail."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import mpmath
import pytest
from hypothesis import HealthCheck, example, given, settings

import theorems
from theorems._interval import Interval
from theorems.testing import (
    PropertyViolation,
    check_enclosure,
    check_monotone,
    check_refuses_invalid,
    check_refuses_unmet_hypotheses,
    inputs,
    monotone_cases,
    quantity_values,
)
from hypothesis import strategies as st

from proptest_support import ALL, FAST_EXAMPLES, SLOW_EXAMPLES, ids

_HC = [HealthCheck.filter_too_much, HealthCheck.too_slow]


def _settings(n):
    return settings(max_examples=n, deadline=None, database=None, suppress_health_check=_HC)


def _enclosure(theorem, n, max_int):
    @_settings(n)
    @given(inputs(theorem, max_int=max_int))
    def prop(values):
        check_enclosure(theorem, values)

    if theorem.example:
        prop = example(theorem.example_values())(prop)  # the documented example is always checked
    prop()


def _monotone(theorem, n, max_int):
    if not any(q.monotone in ("increasing", "decreasing") for q in theorem.quantities):
        pytest.skip("no declared monotonicity")

    @_settings(n)
    @given(monotone_cases(theorem, max_int=max_int))
    def prop(case):
        check_monotone(theorem, *case)

    prop()


@pytest.mark.parametrize("theorem", ALL, ids=ids(ALL))
def test_enclosure_contains_256_bit_reference(theorem):
    _enclosure(theorem, FAST_EXAMPLES, max_int=60)


@pytest.mark.parametrize("theorem", ALL, ids=ids(ALL))
def test_declared_monotonicity_holds(theorem):
    _monotone(theorem, FAST_EXAMPLES, max_int=60)


@pytest.mark.parametrize("theorem", ALL, ids=ids(ALL))
def test_invalid_inputs_are_refused(theorem):
    @_settings(4)
    @given(inputs(theorem, max_int=60))
    def prop(values):
        assert check_refuses_invalid(theorem, values) > 0

    prop()


@pytest.mark.parametrize("theorem", [t for t in ALL if any(h.check for h in t.hypotheses)],
                         ids=ids([t for t in ALL if any(h.check for h in t.hypotheses)]))
def test_unmet_hypotheses_are_refused(theorem):
    raw = st.fixed_dictionaries({q.name: quantity_values(q, max_int=60) for q in theorem.quantities})

    @_settings(FAST_EXAMPLES * 2)
    @given(raw)
    def prop(values):
        check_refuses_unmet_hypotheses(theorem, values)

    prop()


@pytest.mark.slow
@pytest.mark.parametrize("theorem", ALL, ids=ids(ALL))
def test_enclosure_contains_256_bit_reference_many(theorem):
    _enclosure(theorem, SLOW_EXAMPLES, max_int=400)


@pytest.mark.slow
@pytest.mark.parametrize("theorem", ALL, ids=ids(ALL))
def test_declared_monotonicity_holds_many(theorem):
    _monotone(theorem, SLOW_EXAMPLES, max_int=400)


# -- each check can fail -----------------------------------------------------------------------------------------

HOEFFDING = theorems.get("test_set.hoeffding")
GOOD = {"m": 100, "k": 3, "delta": "0.05"}


def test_check_enclosure_fails_on_an_enclosure_that_misses():
    ref = HOEFFDING.evaluate(**GOOD)
    shifted = Interval(ref.hi + mpmath.mpf("1e-30"), ref.hi + mpmath.mpf("1e-20"))
    liar = SimpleNamespace(id="liar", statement=HOEFFDING.statement, evaluate=lambda **v: shifted)
    with pytest.raises(PropertyViolation, match="misses the 256-bit reference"):
        check_enclosure(liar, GOOD)
    check_enclosure(HOEFFDING, GOOD)


def test_check_monotone_fails_on_a_wrong_declaration():
    qs = tuple(dataclasses.replace(q, monotone="increasing") if q.name == "delta" else q
               for q in HOEFFDING.quantities)
    wrong = dataclasses.replace(HOEFFDING, quantities=qs)
    with pytest.raises(PropertyViolation, match="declared increasing in delta"):
        check_monotone(wrong, GOOD, "delta", "0.1")
    check_monotone(HOEFFDING, GOOD, "delta", "0.1")


def test_catoni_is_not_monotone_in_m_where_vacuous():
    """Why pac_bayes.catoni declares no direction for m: above 1 the statement grows with m."""
    th = theorems.get("pac_bayes.catoni")
    qs = tuple(dataclasses.replace(q, monotone="decreasing") if q.name == "m" else q for q in th.quantities)
    claimed = dataclasses.replace(th, quantities=qs)
    vals = {"m": 3, "emp_risk": "0", "kl": "0", "delta": "0.01", "gamma": "1"}
    with pytest.raises(PropertyViolation):
        check_monotone(claimed, vals, "m", 6)


# Declarations that were removed, each with the input that refutes it (see the comments in the theorem modules).
REFUTED = [
    ("compression.catoni_union", "m", "decreasing", {"m": 1, "emp_risk": "1", "kl": "0", "gamma": "1",
                                                     "delta": "0.037673"}, 2),
    ("compression.occam_catoni", "m", "decreasing", {"m": 1, "emp_risk": "0", "code_bits": 1, "gamma": "1",
                                                     "delta": "0.000001"}, 2),
    ("dimension.dupuis2023_data_dependent", "m", "decreasing", {"m": 1, "dim": "13.5", "loss_bound": "0.01",
                                                                "delta": "0.001525"}, 2),
    ("dimension.simsekli2020_hausdorff", "m", "decreasing", {"m": 1, "dim": "20", "loss_bound": "1",
                                                             "lipschitz": "1", "delta": "0.5"}, 2),
    ("dimension.simsekli2020_hausdorff", "lipschitz", "increasing", {"m": 1, "dim": "0.01", "loss_bound": "0.01",
                                                                     "lipschitz": "0.01", "delta": "0.000001"},
     "0.01001"),
    ("dimension.birdal2021_ph", "lipschitz", "increasing", {"m": 1, "dim": "0.01", "loss_bound": "0.01",
                                                            "lipschitz": "0.01", "delta": "0.000001"}, "0.01001"),
    ("norm.bartlett2017_rademacher", "m", "decreasing", {"m": 2, "x_frob": "10", "spectral_complexity": "10",
                                                         "margin": "1", "max_params": 1}, 3),
    ("norm.bartlett2017_spectral", "m", "decreasing", {"m": 1, "emp_margin_risk": "0", "x_frob": "10",
                                                       "spectral_complexity": "10", "margin": "1", "max_params": 1,
                                                       "delta": "0.5"}, 2),
    ("norm.neyshabur2018_spectral", "m", "decreasing", {"m": 1, "emp_margin_risk": "0", "x_max": "1", "depth": 1,
                                                        "width": 1, "prod_spec": "1", "sum_frob_over_spec": "1",
                                                        "margin": "1", "delta": "0.9"}, 2),
]


@pytest.mark.parametrize("tid,name,claimed,values,larger", REFUTED, ids=[f"{r[0]}-{r[1]}" for r in REFUTED])
def test_removed_declarations_are_refuted(tid, name, claimed, values, larger):
    """Why these theorems declare no direction for ``name``: the old declaration fails at a concrete input."""
    th = theorems.get(tid)
    assert th.quantity(name).monotone is None
    qs = tuple(dataclasses.replace(q, monotone=claimed) if q.name == name else q for q in th.quantities)
    with pytest.raises(PropertyViolation, match=f"declared {claimed} in {name}"):
        check_monotone(dataclasses.replace(th, quantities=qs), values, name, larger)


def test_check_refuses_invalid_fails_when_a_bad_value_is_accepted():
    lax = SimpleNamespace(id="lax", statement=HOEFFDING.statement, quantities=HOEFFDING.quantities,
                          evaluate=lambda **v: Interval(mpmath.mpf(0), mpmath.mpf(1)))
    with pytest.raises(PropertyViolation, match="was accepted"):
        check_refuses_invalid(lax, GOOD)


def test_check_refuses_unmet_hypotheses_fails_when_evaluated_anyway():
    th = HOEFFDING
    lax = SimpleNamespace(id="lax", hypotheses=th.hypotheses, enclose_inputs=th.enclose_inputs,
                          evaluate=lambda **v: Interval(mpmath.mpf(0), mpmath.mpf(1)))
    with pytest.raises(PropertyViolation, match="fails hypothesis h_k_le_m"):
        check_refuses_unmet_hypotheses(lax, {"m": 3, "k": 5, "delta": "0.1"})
    assert check_refuses_unmet_hypotheses(th, {"m": 3, "k": 5, "delta": "0.1"})
