"""Property checks of one theorem: enclosure vs an independent 256-bit value, declared monotonicity, refusals.

Each ``check_*`` raises :class:`PropertyViolation` (an ``AssertionError``, so pytest and hypothesis treat it as a
failed test) with the inputs and numbers that show the problem, and returns quietly otherwise.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Mapping

import mpmath
from hypothesis import strategies as st

from boundcert.errors import HypothesisNotMet, InvalidInput
from theorems._interval import Interval
from theorems._theorem import Theorem
from theorems.testing._reference import REFERENCE_PREC, reference_tolerance, reference_value
from theorems.testing._strategies import (
    DEFAULT_MAX_INT,
    format_exact,
    in_domain,
    inputs,
    invalid_values,
    meets_hypotheses,
)

__all__ = [
    "PropertyViolation",
    "check_enclosure",
    "check_monotone",
    "check_refuses_invalid",
    "monotone_cases",
]


class PropertyViolation(AssertionError):
    """A theorem failed a property check; the message holds the counterexample."""


def _show(values: Mapping[str, object]) -> str:
    return ", ".join(f"{k}={v}" for k, v in values.items())


def _num(x: mpmath.mpf, digits: int = 25) -> str:
    return mpmath.nstr(x, digits)


def check_enclosure(theorem: Theorem, values: Mapping[str, object], prec: int = REFERENCE_PREC) -> Interval:
    """``theorem.evaluate(**values)`` must contain the independent ``prec``-bit value of the statement.

    The containment is exact up to the reference's own accuracy (:func:`reference_tolerance`, ~2^-216).
    Returns the enclosure.
    """
    enc = theorem.evaluate(**values)
    ref = reference_value(theorem, values, prec)
    with mpmath.workprec(prec):
        tol = reference_tolerance(ref, prec)
        if not (enc.lo - tol <= ref <= enc.hi + tol) or mpmath.isnan(ref):
            raise PropertyViolation(
                f"{theorem.id}: enclosure [{_num(enc.lo)}, {_num(enc.hi)}] misses the {prec}-bit reference value "
                f"{_num(ref, 40)} at {_show(values)}"
            )
    return enc


def check_monotone(
    theorem: Theorem,
    values: Mapping[str, object],
    name: str,
    larger: object,
    prec: int = REFERENCE_PREC,
) -> None:
    """The statement must move as ``theorem.quantity(name).monotone`` declares when ``name`` grows to ``larger``.

    Compares independent reference values (and the enclosures: a *certain* move the wrong way also fails).
    Quantities declared ``"none"`` or undeclared are skipped.
    """
    direction = theorem.quantity(name).monotone
    if direction not in ("increasing", "decreasing"):
        return
    other = dict(values)
    other[name] = larger
    a, b = reference_value(theorem, values, prec), reference_value(theorem, other, prec)
    ea, eb = theorem.evaluate(**values), theorem.evaluate(**other)
    with mpmath.workprec(prec):
        tol = reference_tolerance(max(abs(a), abs(b)), prec)
        if direction == "increasing":
            bad = b < a - tol or eb.hi < ea.lo
        else:
            bad = b > a + tol or eb.lo > ea.hi
    if bad:
        raise PropertyViolation(
            f"{theorem.id}: declared {direction} in {name}, but {name}={values[name]} gives {_num(a)} and "
            f"{name}={larger} gives {_num(b)} (other inputs: "
            f"{_show({k: v for k, v in values.items() if k != name})})"
        )


def _bigger(quantity_domain, value: object, how: int) -> object | None:
    x = Fraction(value)  # ints and the exact strings of format_exact
    if quantity_domain.integer:
        cand = x + (1 if how == 0 else max(1, x))
    else:
        if how == 0:
            step = Fraction(1, 10**3) * max(abs(x), Fraction(1, 10**3))
        else:
            step = max(abs(x), Fraction(1, 10))
        cand = x + step
        if quantity_domain.hi is not None and not in_domain(quantity_domain, cand):
            cand = (x + Fraction(quantity_domain.hi)) / 2
    return format_exact(cand) if in_domain(quantity_domain, cand) and cand != x else None


def monotone_cases(theorem: Theorem, *, max_int: int = DEFAULT_MAX_INT) -> st.SearchStrategy[tuple]:
    """``(values, name, larger)``: valid inputs, a quantity with a declared direction, and a larger valid value."""
    names = [q.name for q in theorem.quantities if q.monotone in ("increasing", "decreasing")]
    if not names:
        return st.nothing()

    def build(draw_args):
        values, name, how = draw_args
        larger = _bigger(theorem.quantity(name).domain, values[name], how)
        if larger is None:
            return None
        other = dict(values)
        other[name] = larger
        return (values, name, larger) if meets_hypotheses(theorem, other) else None

    return (
        st.tuples(inputs(theorem, max_int=max_int), st.sampled_from(names), st.integers(0, 1))
        .map(build)
        .filter(lambda c: c is not None)
    )


def check_refuses_invalid(theorem: Theorem, values: Mapping[str, object]) -> int:
    """Every out-of-domain, non-numeric, unknown or missing input must be refused with ``InvalidInput``.

    ``values`` is a valid input; each quantity in turn is replaced by each of
    :func:`~theorems.testing.invalid_values`. Returns the number of refusals checked.
    """
    count = 0

    def refused(bad: Mapping[str, object], what: str) -> None:
        nonlocal count
        try:
            out = theorem.evaluate(**bad)
        except InvalidInput:
            count += 1
            return
        except HypothesisNotMet as exc:
            raise PropertyViolation(
                f"{theorem.id}: {what} raised HypothesisNotMet, expected InvalidInput: {exc}"
            ) from None
        except Exception as exc:  # noqa: BLE001  (any other error is a failure of the check)
            raise PropertyViolation(
                f"{theorem.id}: {what} raised {type(exc).__name__}: {exc}; expected InvalidInput"
            ) from None
        raise PropertyViolation(f"{theorem.id}: {what} was accepted (result {out!r}); expected InvalidInput")

    for q in theorem.quantities:
        if q.name not in values:
            continue
        for v in invalid_values(q):
            bad = dict(values)
            bad[q.name] = v
            refused(bad, f"{q.name}={v!r} ({q.domain.describe()})")
        missing = {k: v for k, v in values.items() if k != q.name}
        if q.name in {s.name for s in theorem.statement.free_symbols}:
            refused(missing, f"leaving out {q.name}")
    refused({**values, "no_such_quantity_": 1}, "an unknown quantity name")
    return count


def check_refuses_unmet_hypotheses(theorem: Theorem, values: Mapping[str, object]) -> bool:
    """If in-domain ``values`` fail a mechanical hypothesis, evaluation must raise ``HypothesisNotMet``.

    Returns True when a refusal was checked, False when ``values`` meet every hypothesis.
    """
    try:
        enc = theorem.enclose_inputs(values)
    except InvalidInput:
        return False
    failing = [h for h in theorem.hypotheses if h.check is not None and not h.check(enc)]
    if not failing:
        return False
    try:
        out = theorem.evaluate(**values)
    except HypothesisNotMet:
        return True
    raise PropertyViolation(
        f"{theorem.id}: {_show(values)} fails hypothesis {failing[0].name} but was evaluated to {out!r}"
    )
