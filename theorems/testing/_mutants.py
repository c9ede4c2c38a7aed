"""Mutants: copies of a theorem with a deliberately weakened constant, the errors the harness must catch.

Each operator returns a new :class:`~theorems.Theorem` (same quantities, hypotheses and confidence; id suffixed
``~mutant``) whose statement is smaller than the original on typical inputs, i.e. *not* a valid bound. They model
the usual slips: ``ln(1/delta)`` divided by 4 (:func:`weaken_delta`), a square root dropped (:func:`drop_sqrt`),
a factor 2 removed (:func:`drop_factor`), the sample size counted twice (:func:`scale_quantity`).
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import sympy

from boundcert.errors import InvalidInput
from theorems._theorem import Theorem

__all__ = ["mutate", "weaken_delta", "drop_sqrt", "drop_factor", "scale_quantity"]


def mutate(theorem: Theorem, transform: Callable[[sympy.Expr], sympy.Expr], label: str) -> Theorem:
    """``theorem`` with ``statement`` replaced by ``transform(statement)`` (raises if nothing changed)."""
    new = transform(theorem.statement)
    if new == theorem.statement:
        raise InvalidInput(f"mutation {label!r} does not change the statement of {theorem.id}: {theorem.statement}")
    return dataclasses.replace(
        theorem, id=f"{theorem.id}~{label}", title=f"{theorem.title} [mutant: {label}]", statement=new
    )


def weaken_delta(theorem: Theorem, factor: int = 4, name: str = "delta") -> Theorem:
    """Replace ``delta`` by ``delta^(1/factor)``: every ``ln(1/delta)`` is divided by ``factor``."""
    d = sympy.Symbol(name)
    return mutate(theorem, lambda e: e.subs(d, sympy.Pow(d, sympy.Rational(1, factor))),
                  f"ln(1/{name})/{factor}")


def _replace_first(expr: sympy.Basic, match: Callable[[sympy.Basic], bool],
                   repl: Callable[[sympy.Basic], sympy.Basic]) -> tuple[sympy.Basic, bool]:
    if match(expr):
        return repl(expr), True
    if not expr.args:
        return expr, False
    args, done = [], False
    for a in expr.args:
        if not done:
            a, done = _replace_first(a, match, repl)
        args.append(a)
    return (expr.func(*args, evaluate=False) if done else expr), done


def _is_sqrt(e: sympy.Basic) -> bool:
    return isinstance(e, sympy.Pow) and e.exp == sympy.Rational(1, 2)


def drop_sqrt(theorem: Theorem) -> Theorem:
    """Replace the outermost square root ``sqrt(x)`` by ``x`` (smaller when ``x < 1``)."""
    return mutate(theorem, lambda e: _replace_first(e, _is_sqrt, lambda p: p.base)[0], "sqrt dropped")


def drop_factor(theorem: Theorem, factor: int = 2) -> Theorem:
    """Remove every numeric coefficient equal to ``factor`` (``ln(2 sqrt(m)/delta)`` -> ``ln(sqrt(m)/delta)``)."""
    f = sympy.Integer(factor)

    def strip(e: sympy.Basic) -> sympy.Basic:
        if not e.args:
            return e
        args = [strip(a) for a in e.args]
        if isinstance(e, sympy.Mul) and f in args:
            args.remove(f)
            return sympy.Mul(*args, evaluate=False) if len(args) > 1 else args[0]
        return e.func(*args, evaluate=False) if args != list(e.args) else e

    return mutate(theorem, strip, f"factor {factor} removed")


def scale_quantity(theorem: Theorem, name: str = "m", factor: int = 2) -> Theorem:
    """Replace quantity ``name`` by ``factor * name`` in the statement (e.g. the sample size counted twice)."""
    s = sympy.Symbol(name)
    return mutate(theorem, lambda e: e.subs(s, factor * s), f"{name} -> {factor}{name}")
