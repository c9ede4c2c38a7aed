"""The catalogue as a whole: registry, CLI listing, declared metadata, and declared monotonicity (property tests)."""

from __future__ import annotations

import io
import json
import math
from contextlib import redirect_stdout
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import theorems
from boundcert.errors import HypothesisNotMet, InvalidInput
from theorems import OPS

PREFIXES = ("norm.", "robust.", "stability.", "compression.", "dimension.", "sparsity.")
CATALOGUE = [t for t in theorems.all() if t.id.startswith(PREFIXES)]


def _ops(tree) -> set[str]:
    out = {tree["op"]} if "op" in tree else set()
    for a in tree.get("args", ()):
        out |= _ops(a)
    return out


def test_at_least_27_results_listed_by_the_cli():
    from certify.cli import main

    buf = io.StringIO()
    with redirect_stdout(buf):
        assert main(["theorems", "list", "--json"]) == 0
    rows = json.loads(buf.getvalue())
    assert len(rows) >= 27
    assert len(CATALOGUE) >= 20
    for row in rows:
        assert row["kind"] in {"bound", "measure", "order", "existence"}
        assert row["reference"]["citation"] and row["reference"]["locator"]


@pytest.mark.parametrize("t", CATALOGUE, ids=lambda t: t.id)
def test_metadata_is_complete(t):
    assert t.reference.locator and t.reference.confirmed, "theorem or equation number and where it was confirmed"
    assert t.example, "an example of valid inputs"
    assert _ops(t.tree()) <= set(OPS)
    for q in t.quantities:
        assert q.meaning and q.source
    if t.kind == "existence":
        assert t.relation == "lesssim"
    if t.kind == "order":
        assert t.relation == "lesssim" and t.notes, "order results name their non-computable terms"
    if t.id.startswith("stability."):
        assert t.confidence is None and "expectation" in t.holds_for
    # the example evaluates
    r = t.evaluate(**t.example_values())
    assert r.lo <= r.hi


def _move_up(q, value: str, t: float) -> str | None:
    """A value above ``value`` inside q's domain (``t`` in (0, 1] sets how far)."""
    x = Fraction(value)
    dom = q.domain
    if dom.integer:
        return str(int(x) + max(1, math.ceil(t * max(1, int(x)))))
    if dom.hi is not None:
        new = x + (dom.hi - x) * Fraction(t).limit_denominator(1000) * Fraction(9, 10)
    else:
        new = x * (1 + Fraction(t).limit_denominator(1000)) + (Fraction(t).limit_denominator(1000) if x == 0 else 0)
    return f"{new.numerator}/{new.denominator}" if new != x else None


MONOTONE = [(t, q) for t in CATALOGUE for q in t.quantities if q.monotone in ("increasing", "decreasing")]


@pytest.mark.parametrize("t,q", MONOTONE, ids=lambda v: getattr(v, "id", getattr(v, "name", "")))
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.floats(min_value=0.01, max_value=1.0))
def test_declared_monotonicity_holds(t, q, step):
    """Raising one input in its domain moves the statement the declared way (never *certainly* the other way)."""
    base = t.example_values()
    up = _move_up(q, base[q.name], step)
    if up is None:
        return
    moved = dict(base, **{q.name: up})
    try:
        r0, r1 = t.evaluate(**base), t.evaluate(**moved)
    except (HypothesisNotMet, InvalidInput):
        return  # the move left the theorem's hypotheses (e.g. k > m): nothing to compare
    if q.monotone == "increasing":
        assert not (r1.hi < r0.lo), f"{t.id}: raising {q.name} {base[q.name]} -> {up} lowered the statement"
    else:
        assert not (r1.lo > r0.hi), f"{t.id}: raising {q.name} {base[q.name]} -> {up} raised the statement"


@pytest.mark.parametrize("t", CATALOGUE, ids=lambda t: t.id)
def test_refuses_unknown_and_missing_quantities(t):
    base = t.example_values()
    with pytest.raises(InvalidInput):
        t.evaluate(**base, not_a_quantity="1")
    needed = next(iter(base))
    with pytest.raises(InvalidInput):
        t.evaluate(**{k: v for k, v in base.items() if k != needed})


def test_cli_prints_a_lower_bound_with_its_lower_end():
    from certify.cli import main

    buf = io.StringIO()
    with redirect_stdout(buf):
        assert main(["theorems", "eval", "robust.tsuzuku2018_radius", "logit_margin=3.2", "lipschitz=12.5"]) == 0
    line = buf.getvalue().splitlines()[1]
    assert ">= 0.18101933598375616624" in line and "<=" not in line
