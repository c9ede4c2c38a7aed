"""The strategies draw valid inputs from the declared domains, and the invalid values really are invalid."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import theorems
from theorems.testing import format_exact, in_domain, inputs, invalid_values, meets_hypotheses, quantity_values
from theorems import Domain

from proptest_support import ALL, FAST_EXAMPLES, ids

_SET = settings(max_examples=FAST_EXAMPLES * 3, deadline=None, database=None,
                suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])


def _exact(v: object) -> Fraction:
    return Fraction(v) if isinstance(v, (int, str)) else Fraction(str(v))


@pytest.mark.parametrize("theorem", ALL, ids=ids(ALL))
def test_inputs_lie_in_declared_domains_and_meet_hypotheses(theorem):
    @_SET
    @given(inputs(theorem))
    def prop(values):
        assert set(values) == set(theorem.names)
        for q in theorem.quantities:
            v = values[q.name]
            assert isinstance(v, int) if q.domain.integer else isinstance(v, (int, str)), (q.name, v)
            assert in_domain(q.domain, _exact(v)), (q.name, v, q.domain.describe())
        assert meets_hypotheses(theorem, values)
        theorem.check_hypotheses(theorem.enclose_inputs(values))  # the library accepts them too

    prop()


@given(st.fractions(max_denominator=10**12))
def test_format_exact_round_trips(x):
    s = format_exact(x)
    assert Fraction(s) == x
    if isinstance(s, str) and "/" not in s:  # decimals are plain, never "1e-5"
        assert "e" not in s.lower()


@pytest.mark.parametrize(
    "domain",
    [Domain(lo=Fraction(0), hi=Fraction(1), lo_closed=False, hi_closed=False), Domain(integer=True, lo=Fraction(1)),
     Domain(lo=Fraction(0)), Domain(lo=Fraction(-3, 7), hi=Fraction(2, 3)), Domain(hi=Fraction(5))],
    ids=lambda d: d.describe(),
)
def test_quantity_values_stay_inside_odd_domains(domain):
    q = theorems.Quantity("x", "x", domain, "user")

    @_SET
    @given(quantity_values(q))
    def prop(v):
        assert in_domain(domain, _exact(v)), (v, domain.describe())

    prop()


def test_in_domain_respects_open_ends_and_integrality():
    d = Domain(lo=Fraction(0), hi=Fraction(1), lo_closed=False)
    assert not in_domain(d, Fraction(0)) and in_domain(d, Fraction(1)) and in_domain(d, Fraction(1, 3))
    assert not in_domain(Domain(integer=True, lo=Fraction(0)), Fraction(1, 2))


@pytest.mark.parametrize("theorem", ALL, ids=ids(ALL))
def test_invalid_values_are_outside_the_domain(theorem):
    for q in theorem.quantities:
        for v in invalid_values(q):
            if isinstance(v, bool) or v is None:
                continue  # not a number at all
            try:
                x = _exact(v)
            except (ValueError, TypeError, ZeroDivisionError):
                continue  # not a number at all
            assert not in_domain(q.domain, x), (q.name, v)
