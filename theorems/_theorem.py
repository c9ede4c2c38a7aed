"""Theorem objects: a published result encoded once, with its quantities, hypotheses, constants and citation.

A :class:`Theorem` holds the right-hand side of its claim as a sympy expression (``statement``); the claim reads
``bounded <relation> statement``, holding with probability ``confidence`` over the sample (or in expectation, or
deterministically) and ``holds_for`` as stated. :meth:`Theorem.evaluate` validates the inputs against the declared
domains and the mechanically checkable hypotheses, then evaluates the statement in outward-rounded interval
arithmetic through its portable tree (:mod:`theorems._tree`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Callable, Literal, Mapping

import sympy

from boundcert.errors import HypothesisNotMet, InvalidInput
from theorems._interval import Interval, enclose
from theorems._tree import Tree, eval_tree, to_tree, tree_symbols

__all__ = [
    "Kind",
    "Domain",
    "Quantity",
    "Hypothesis",
    "HypothesisCheck",
    "Reference",
    "Theorem",
    "PROBABILITY",
    "OPEN_UNIT",
    "POSITIVE_INT",
    "NONNEG_INT",
    "NONNEG",
    "POSITIVE",
]

Kind = Literal["bound", "measure", "order", "existence"]
Source = Literal["data", "model", "user", "kernel", "training", "derived"]
Monotone = Literal["increasing", "decreasing", "none"]


def _fmt(x: Fraction) -> str:
    return str(x.numerator) if x.denominator == 1 else f"{float(x):g}"


@dataclass(frozen=True, slots=True)
class Domain:
    """A set of admissible values: an interval of the reals or the integers, each end open or closed."""

    integer: bool = False
    lo: Fraction | None = None
    hi: Fraction | None = None
    lo_closed: bool = True
    hi_closed: bool = True

    def describe(self) -> str:
        """Human wording, e.g. ``integer >= 1`` or ``real in (0, 1)``."""
        what = "integer" if self.integer else "real"
        if self.lo is not None and self.hi is not None:
            lb, rb = "[" if self.lo_closed else "(", "]" if self.hi_closed else ")"
            return f"{what} in {lb}{_fmt(self.lo)}, {_fmt(self.hi)}{rb}"
        if self.lo is not None:
            return f"{what} {'>=' if self.lo_closed else '>'} {_fmt(self.lo)}"
        if self.hi is not None:
            return f"{what} {'<=' if self.hi_closed else '<'} {_fmt(self.hi)}"
        return what

    def admits(self, x: Interval) -> bool:
        """Whether every point of ``x`` certainly lies in the domain (integers must be exact points)."""
        if self.integer and (not x.is_point or x.lo != int(x.lo)):
            return False
        if self.lo is not None:
            lo = enclose(self.lo)
            if not (x.lo >= lo.hi if self.lo_closed else x.lo > lo.hi):
                return False
        if self.hi is not None:
            hi = enclose(self.hi)
            if not (x.hi <= hi.lo if self.hi_closed else x.hi < hi.lo):
                return False
        return True


PROBABILITY = Domain(lo=Fraction(0), hi=Fraction(1))
OPEN_UNIT = Domain(lo=Fraction(0), hi=Fraction(1), lo_closed=False, hi_closed=False)
POSITIVE_INT = Domain(integer=True, lo=Fraction(1))
NONNEG_INT = Domain(integer=True, lo=Fraction(0))
NONNEG = Domain(lo=Fraction(0))
POSITIVE = Domain(lo=Fraction(0), lo_closed=False)


@dataclass(frozen=True, slots=True)
class Quantity:
    """One input of a theorem.

    Attributes:
        name: the keyword and sympy symbol name (``m``, ``delta``, ``kl``...).
        meaning: what it is, in words.
        domain: admissible values.
        source: where it comes from (the data, the model, the user, a kernel, the training run...).
        monotone: how the bound moves when this quantity grows (declared; property-tested).
        latex: its LaTeX symbol (defaults to sympy's rendering of ``name``).
    """

    name: str
    meaning: str
    domain: Domain
    source: Source
    monotone: Monotone | None = None
    latex: str = ""

    @property
    def symbol(self) -> sympy.Symbol:
        return sympy.Symbol(self.name)


@dataclass(frozen=True, slots=True)
class Hypothesis:
    """A named hypothesis (``h_m_ge_8``) with its statement and, where possible, a mechanical check.

    ``check(values)`` returns True when the hypothesis is proven for the given enclosed inputs, False when it
    certainly fails or cannot be proven; ``None`` as ``check`` means it can only be assumed (and is recorded so).
    """

    name: str
    statement: str
    check: Callable[[Mapping[str, Interval]], bool] | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class HypothesisCheck:
    """The status of one hypothesis for one evaluation."""

    name: str
    statement: str
    status: Literal["checked", "assumed"]


@dataclass(frozen=True, slots=True)
class Reference:
    """Where the result was published and where its constants were confirmed."""

    key: str
    citation: str
    locator: str
    confirmed: str = ""


@dataclass(frozen=True, slots=True)
class Theorem:
    """A published result: ``bounded <relation> statement`` under ``hypotheses``.

    ``kind`` is ``bound`` only when every constant is explicit and confirmed; ``measure``/``order`` results
    evaluate to numbers that are not bounds, ``existence`` results state what exists.
    """

    id: str
    title: str
    kind: Kind
    statement: sympy.Expr
    bounded: str
    bounded_latex: str
    quantities: tuple[Quantity, ...]
    hypotheses: tuple[Hypothesis, ...]
    reference: Reference
    confidence: sympy.Expr | None = None
    holds_for: str = ""
    relation: Literal["<=", ">=", "lesssim"] = "<="
    version: int = 1
    notes: str = ""
    example: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        names = [q.name for q in self.quantities]
        used = {s.name for s in self.statement.free_symbols}
        if self.confidence is not None:
            used |= {s.name for s in self.confidence.free_symbols}
        if len(set(names)) != len(names) or not used <= set(names):
            raise ValueError(f"theorem {self.id}: statement uses {sorted(used)}, quantities declare {names}")

    # -- structure -----------------------------------------------------------------------------
    def quantity(self, name: str) -> Quantity:
        for q in self.quantities:
            if q.name == name:
                return q
        raise InvalidInput(f"theorem {self.id} has no quantity {name!r}: it takes {', '.join(self.names)}")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(q.name for q in self.quantities)

    def tree(self) -> Tree:
        """The statement as a portable expression tree (for certificates)."""
        return to_tree(self.statement)

    def latex(self) -> str:
        """The right-hand side in LaTeX."""
        names = {q.symbol: q.latex for q in self.quantities if q.latex}
        return sympy.latex(self.statement, symbol_names=names)

    def claim_latex(self) -> str:
        """The whole claim in LaTeX, e.g. ``\\Pr[L(h) \\le ...] \\ge 1-\\delta``."""
        rel = {"<=": r"\le", ">=": r"\ge", "lesssim": r"\lesssim"}[self.relation]
        core = f"{self.bounded_latex} {rel} {self.latex()}"
        if self.confidence is None:
            return core
        names = {q.symbol: q.latex for q in self.quantities if q.latex}
        conf = sympy.latex(self.confidence, symbol_names=names)
        return rf"\Pr\left[\, {core} \,\right] \ge {conf}"

    def example_values(self) -> dict[str, str]:
        """A documented valid input (used by the docs and ``certify theorems show``)."""
        return dict(self.example)

    # -- evaluation ----------------------------------------------------------------------------
    def enclose_inputs(self, values: Mapping[str, object]) -> dict[str, Interval]:
        """Validate names, numbers and domains; return the inputs as exact enclosures."""
        unknown = sorted(set(values) - set(self.names))
        if unknown:
            raise InvalidInput(
                f"unknown quantity {unknown[0]!r} for theorem {self.id}: it takes {', '.join(self.names)}"
            )
        needed = tree_symbols(self.tree())
        out: dict[str, Interval] = {}
        for q in self.quantities:
            if q.name not in values:
                if q.name in needed:
                    raise InvalidInput(
                        f"missing quantity {q.name!r} for theorem {self.id}: pass {q.name}=VALUE "
                        f"({q.meaning}; {q.domain.describe()})"
                    )
                continue
            x = enclose(values[q.name], name=q.name)
            if not q.domain.admits(x):
                raise InvalidInput(
                    f"{q.name}={_show(values[q.name])} is outside its domain for theorem {self.id}: "
                    f"{q.name} ({q.meaning}) must be a {q.domain.describe()}"
                )
            out[q.name] = x
        return out

    def check_hypotheses(
        self, values: Mapping[str, Interval], shown: Mapping[str, object] | None = None
    ) -> tuple[HypothesisCheck, ...]:
        """Run every mechanical check; raise :class:`HypothesisNotMet` on the first that is not proven.

        ``shown`` holds the inputs as the user gave them, for the error message.
        """
        out = []
        for h in self.hypotheses:
            if h.check is None:
                out.append(HypothesisCheck(h.name, h.statement, "assumed"))
                continue
            if not h.check(values):
                given = ", ".join(f"{k}={_show(v)}" for k, v in (shown or values).items())
                raise HypothesisNotMet(
                    f"hypothesis {h.name} ({h.statement}) of theorem {self.id} is not met by {given}: "
                    "change the inputs so that it holds"
                )
            out.append(HypothesisCheck(h.name, h.statement, "checked"))
        return tuple(out)

    def evaluate(self, **values: object) -> Interval:
        """Rigorous enclosure of the statement at the given inputs.

        Values may be ints, decimal strings, floats (taken exactly), Fractions or ``Interval``/``Enclosure``.

        Raises:
            InvalidInput: unknown or missing quantity, non-number, value outside its domain.
            HypothesisNotMet: a mechanically checked hypothesis fails (e.g. ``k > m``).
        """
        enclosed = self.enclose_inputs(values)
        self.check_hypotheses(enclosed, values)
        return eval_tree(self.tree(), enclosed)


def _show(v: object) -> str:
    if isinstance(v, Interval):
        return f"[{v.lo_str(8)}, {v.hi_str(8)}]" if not v.is_point else v.hi_str(17)
    return repr(v) if isinstance(v, str) else str(v)
