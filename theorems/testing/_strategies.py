"""Hypothesis strategies that draw valid (and invalid) inputs from a theorem's declared quantity domains.

Reals are drawn as exact decimals (returned as strings, the way a user types them: ``"0.0125"``), or as ``"p/q"``
when an end of the domain is a rational with no finite decimal; integers as ``int``. Values bunch near the ends of
each domain, where constants and special cases bite (``delta`` near 0 and 1, ``k = 0``, ``k = m``).
:func:`inputs` keeps only draws that meet the theorem's mechanical hypotheses (``k <= m``, ``m >= 8``...).
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Mapping

from hypothesis import strategies as st

from boundcert.errors import HypothesisNotMet, InvalidInput
from theorems._theorem import Domain, Quantity, Theorem

__all__ = [
    "DEFAULT_MAX_INT",
    "DEFAULT_MAX_REAL",
    "in_domain",
    "format_exact",
    "quantity_values",
    "inputs",
    "invalid_values",
    "meets_hypotheses",
]

#: Integers are drawn up to ``lo + DEFAULT_MAX_INT`` (binomial-tail evaluations cost O(k) per step).
DEFAULT_MAX_INT = 200
#: Reals with no upper end are drawn up to ``lo + DEFAULT_MAX_REAL``.
DEFAULT_MAX_REAL = Fraction(10**4)

_SCALE = 10**6


def in_domain(domain: Domain, x: Fraction) -> bool:
    """Whether the exact rational ``x`` lies in ``domain`` (checked with Fractions, not the library's intervals)."""
    if domain.integer and x.denominator != 1:
        return False
    if domain.lo is not None and (x < domain.lo or (x == domain.lo and not domain.lo_closed)):
        return False
    if domain.hi is not None and (x > domain.hi or (x == domain.hi and not domain.hi_closed)):
        return False
    return True


def format_exact(x: Fraction) -> str | int:
    """``x`` as an int, an exact decimal string, or ``"p/q"`` (always read back exactly by ``Theorem.evaluate``)."""
    if x.denominator == 1:
        return int(x.numerator)
    d = x.denominator
    twos = fives = 0
    while d % 2 == 0:
        d //= 2
        twos += 1
    while d % 5 == 0:
        d //= 5
        fives += 1
    if d != 1:
        return f"{x.numerator}/{x.denominator}"
    digits = max(twos, fives)
    scaled = x * 10**digits
    sign = "-" if scaled < 0 else ""
    n = str(abs(scaled.numerator))
    n = n.rjust(digits + 1, "0")
    text = f"{sign}{n[:-digits]}.{n[-digits:]}".rstrip("0").rstrip(".")
    return text


def _ends(domain: Domain, max_real: Fraction) -> tuple[Fraction, Fraction]:
    lo = domain.lo if domain.lo is not None else (domain.hi - max_real if domain.hi is not None else -max_real)
    hi = domain.hi if domain.hi is not None else lo + max_real
    return Fraction(lo), Fraction(hi)


def _real_values(domain: Domain, max_real: Fraction) -> st.SearchStrategy[Fraction]:
    lo, hi = _ends(domain, max_real)
    width = hi - lo
    uniform = st.integers(0, _SCALE).map(lambda n: lo + width * Fraction(n, _SCALE))
    # log-spaced offsets from either end: lo + 10^-e * n/1000 and hi - 10^-e * n/1000
    offset = st.tuples(st.integers(0, 12), st.integers(1, 1000)).map(lambda t: Fraction(t[1], 1000 * 10 ** t[0]))
    near_lo = offset.map(lambda o: lo + min(o, width))
    near_hi = offset.map(lambda o: hi - min(o, width))
    parts = [uniform, near_lo, near_hi]
    if domain.lo is None or domain.hi is None:  # unbounded: also log-uniform magnitudes
        mags = st.tuples(st.integers(-6, 4), st.integers(1, 999)).map(lambda t: Fraction(t[1], 100) * Fraction(10) ** t[0])
        parts.append(mags.map(lambda x: lo + x if domain.lo is not None else hi - x))
    if domain.lo is not None and domain.lo_closed:
        parts.append(st.just(lo))
    if domain.hi is not None and domain.hi_closed:
        parts.append(st.just(hi))
    return st.one_of(*parts).filter(lambda x: in_domain(domain, x))


def _int_values(domain: Domain, max_int: int) -> st.SearchStrategy[Fraction]:
    lo = domain.lo if domain.lo is not None else (domain.hi - max_int if domain.hi is not None else -max_int)
    lo = math.ceil(Fraction(lo))
    hi = math.floor(Fraction(domain.hi)) if domain.hi is not None else lo + max_int
    hi = min(hi, lo + max_int)
    small = st.integers(lo, min(hi, lo + 10))
    return st.one_of(small, st.integers(lo, hi)).map(Fraction).filter(lambda x: in_domain(domain, x))


def quantity_values(
    quantity: Quantity, *, max_int: int = DEFAULT_MAX_INT, max_real: Fraction | int = DEFAULT_MAX_REAL
) -> st.SearchStrategy[int | str]:
    """Values inside ``quantity.domain``: ints for integer domains, exact decimal (or ``p/q``) strings for reals."""
    if quantity.domain.integer:
        base = _int_values(quantity.domain, max_int)
    else:
        base = _real_values(quantity.domain, Fraction(max_real))
    return base.map(format_exact)


def meets_hypotheses(theorem: Theorem, values: Mapping[str, object]) -> bool:
    """Whether ``values`` pass the theorem's domain checks and every mechanical hypothesis."""
    try:
        theorem.check_hypotheses(theorem.enclose_inputs(values))
    except (InvalidInput, HypothesisNotMet):
        return False
    return True


def inputs(
    theorem: Theorem,
    *,
    max_int: int = DEFAULT_MAX_INT,
    max_real: Fraction | int = DEFAULT_MAX_REAL,
    fixed: Mapping[str, object] | None = None,
) -> st.SearchStrategy[dict[str, int | str]]:
    """Valid inputs for ``theorem``: one value per quantity from its declared domain, hypotheses met.

    Args:
        theorem: any :class:`theorems.Theorem` (registered or a user's).
        max_int: integers are drawn in ``[lo, lo + max_int]``.
        max_real: reals with an open-ended domain are drawn within ``max_real`` of their finite end.
        fixed: quantities to hold at a given value instead of drawing them.
    """
    fixed = dict(fixed or {})
    parts = {
        q.name: st.just(fixed[q.name]) if q.name in fixed else quantity_values(q, max_int=max_int, max_real=max_real)
        for q in theorem.quantities
    }
    return st.fixed_dictionaries(parts).filter(lambda v: meets_hypotheses(theorem, v))


def invalid_values(quantity: Quantity) -> list[object]:
    """Values that ``quantity`` must refuse: outside its domain, non-integers for integers, non-numbers."""
    d = quantity.domain
    bad: list[object] = ["nan", "inf", "-inf", "abc", "", None, True]
    if d.integer:
        base = Fraction(d.lo) if d.lo is not None else Fraction(0)
        bad.append(format_exact(base + Fraction(1, 2)))
    if d.lo is not None:
        lo = Fraction(d.lo)
        bad.append(format_exact(lo - 1))
        bad.append(format_exact(lo - Fraction(1, 10**9)) if not d.integer else int(lo) - 1)
        if not d.lo_closed:
            bad.append(format_exact(lo))
    if d.hi is not None:
        hi = Fraction(d.hi)
        bad.append(format_exact(hi + 1))
        bad.append(format_exact(hi + Fraction(1, 10**9)) if not d.integer else int(hi) + 1)
        if not d.hi_closed:
            bad.append(format_exact(hi))
    return bad
