"""Portable expression trees: the statement of a theorem in a form that needs no sympy to evaluate.

A tree is JSON: a leaf is ``{"var": NAME}``, ``{"num": "P/Q"}`` (an exact rational) or ``{"const": "pi"|"e"}``;
an inner node is ``{"op": OP, "args": [...]}`` with OP one of ``+ - * / pow sqrt log exp min max kl_inv
binom_tail_inv``. ``+`` and ``*`` are n-ary, ``-`` is unary negation or binary subtraction, ``/`` is binary.

:func:`to_tree` converts a sympy expression; :func:`eval_tree` evaluates a tree on :class:`Interval` inputs with
outward rounding. The certificate checker (``certify``) has its own, independent evaluator of the same format.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Mapping

import sympy

from boundcert.errors import InternalError, InvalidInput
from theorems._interval import (
    WORKING_PREC,
    Interval,
    NeedsMorePrecision,
    enclose,
    iexp,
    ilog,
    imax,
    imin,
    ipi,
    ipow,
    isqrt,
    precision,
)
from theorems._special import binom_tail_inv, kl_inv
from theorems._symbols import BinomTailInv, KlInv

__all__ = ["Tree", "OPS", "PRECISION_LADDER", "to_tree", "eval_tree", "tree_symbols"]

Tree = dict[str, Any]

OPS = ("+", "-", "*", "/", "pow", "sqrt", "log", "exp", "min", "max", "kl_inv", "binom_tail_inv")


def _node(op: str, *args: Tree) -> Tree:
    return {"op": op, "args": list(args)}


def to_tree(expr: sympy.Basic) -> Tree:
    """Convert a sympy expression built from the supported operations into a portable tree."""
    if isinstance(expr, sympy.Symbol):
        return {"var": expr.name}
    if isinstance(expr, sympy.Rational):  # Integer is a Rational
        return {"num": str(Fraction(int(expr.p), int(expr.q)))}
    if expr is sympy.pi:
        return {"const": "pi"}
    if expr is sympy.E:
        return {"const": "e"}
    if isinstance(expr, sympy.Add):
        return _node("+", *(to_tree(a) for a in expr.args))
    if isinstance(expr, sympy.Mul):
        num, den = sympy.fraction(expr, exact=True)
        if den != 1:
            return _node("/", to_tree(num), to_tree(den))
        return _node("*", *(to_tree(a) for a in expr.args))
    if isinstance(expr, sympy.Pow):
        base, exp = expr.args
        if exp == sympy.Rational(1, 2):
            return _node("sqrt", to_tree(base))
        if exp == -1:
            return _node("/", {"num": "1"}, to_tree(base))
        if exp == sympy.Rational(-1, 2):
            return _node("/", {"num": "1"}, _node("sqrt", to_tree(base)))
        return _node("pow", to_tree(base), to_tree(exp))
    if isinstance(expr, sympy.exp):
        return _node("exp", to_tree(expr.args[0]))
    if isinstance(expr, sympy.log):
        if len(expr.args) != 1:
            raise InternalError(f"log with a base in a statement: {expr}")
        return _node("log", to_tree(expr.args[0]))
    if isinstance(expr, sympy.Min):
        return _node("min", *(to_tree(a) for a in expr.args))
    if isinstance(expr, sympy.Max):
        return _node("max", *(to_tree(a) for a in expr.args))
    if isinstance(expr, KlInv):
        return _node("kl_inv", *(to_tree(a) for a in expr.args))
    if isinstance(expr, BinomTailInv):
        return _node("binom_tail_inv", *(to_tree(a) for a in expr.args))
    raise InternalError(f"statement uses {type(expr).__name__} ({expr}), which has no portable form")


def tree_symbols(tree: Tree) -> set[str]:
    """Names of the variables a tree reads."""
    if "var" in tree:
        return {tree["var"]}
    out: set[str] = set()
    for a in tree.get("args", ()):
        out |= tree_symbols(a)
    return out


#: Precisions tried in turn when an evaluation meets a singularity only through rounding width.
PRECISION_LADDER = (WORKING_PREC, 512, 2048, 8192)


def eval_tree(tree: Tree, values: Mapping[str, Interval], witnesses: list[dict[str, Any]] | None = None) -> Interval:
    """Evaluate ``tree`` on interval inputs with outward rounding; the result contains the exact value.

    ``witnesses``, when given, receives one ``{"op", "lo", "hi"}`` record (ends as :class:`Interval` ends) per
    ``kl_inv`` / ``binom_tail_inv`` node, in evaluation order (post-order, arguments left to right): the proven
    brackets a certificate checker verifies instead of recomputing. It is cleared and refilled on each precision retry.

    Starts at :data:`WORKING_PREC` bits and retries at the higher precisions of :data:`PRECISION_LADDER` when an
    interval reaches a singularity only through rounding (e.g. ``1 - exp(-1e-300)`` at 128 bits).
    """
    for bits in PRECISION_LADDER:
        try:
            if witnesses is not None:
                witnesses.clear()
            with precision(bits):
                return _eval(tree, values, witnesses)
        except NeedsMorePrecision as exc:
            last = exc
    raise InvalidInput(
        f"the statement cannot be evaluated at these inputs even at {PRECISION_LADDER[-1]} bits ({last}): "
        "the inputs are too extreme (e.g. subnormal) for a certified evaluation"
    )


def _eval(tree: Tree, values: Mapping[str, Interval], witnesses: list[dict[str, Any]] | None = None) -> Interval:
    if "var" in tree:
        name = tree["var"]
        if name not in values:
            raise InvalidInput(f"missing quantity {name!r}: pass {name}=VALUE")
        return values[name]
    if "num" in tree:
        return enclose(Fraction(tree["num"]))
    if "const" in tree:
        if tree["const"] == "pi":
            return ipi()
        if tree["const"] == "e":
            return iexp(enclose(1))
        raise InternalError(f"unknown constant {tree['const']!r}")
    op, args = tree["op"], [_eval(a, values, witnesses) for a in tree["args"]]
    if op == "+":
        out = args[0]
        for a in args[1:]:
            out = out + a
        return out
    if op == "*":
        out = args[0]
        for a in args[1:]:
            out = out * a
        return out
    if op == "-":
        return -args[0] if len(args) == 1 else args[0] - args[1]
    if op == "/":
        return args[0] / args[1]
    if op == "pow":
        return ipow(args[0], args[1])
    unary = {"sqrt": isqrt, "log": ilog, "exp": iexp}
    if op in unary:
        return unary[op](args[0])
    if op == "min":
        return imin(*args)
    if op == "max":
        return imax(*args)
    if op in ("kl_inv", "binom_tail_inv"):
        out = kl_inv(args[0], _clip_nonneg(args[1])) if op == "kl_inv" else binom_tail_inv(args[0], args[1], args[2])
        if witnesses is not None:
            witnesses.append({"op": op, "lo": out.lo, "hi": out.hi})
        return out
    raise InternalError(f"unknown operation {op!r} in an expression tree")


def _clip_nonneg(c: Interval) -> Interval:
    """Clip a kl budget's lower end at 0.

    Sound under the convention ``kl_inv(q, c) = q`` for ``c <= 0`` (the sup over ``{q}``), which makes
    ``kl_inv(q, .)`` constant on ``(-inf, 0]``: ``kl_inv(q, [lo, hi])`` and ``kl_inv(q, [max(lo, 0), hi])`` have the
    same range. Every budget of the registered theorems is >= 0 anyway; rounding can push its lower end below.
    """
    if c.hi < 0:
        raise InvalidInput(f"kl_inv budget {c!r} is negative: the bound's inputs are inconsistent")
    return c if c.lo >= 0 else Interval(enclose(0).lo, c.hi)
