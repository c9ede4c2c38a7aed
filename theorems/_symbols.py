"""The rigorous special functions as sympy functions, so theorem statements can use them symbolically.

``KlInv(q, c)`` is ``kl^{-1}(q, c)`` (upper inverse of the binary kl) and ``BinomTailInv(m, k, delta)`` is Langford's
``\\overline{\\mathrm{Bin}}(m, k, \\delta)``. They stay unevaluated in sympy; :mod:`theorems._tree` evaluates them
with the proven brackets of :mod:`theorems._special`.
"""

from __future__ import annotations

import sympy

__all__ = ["KlInv", "BinomTailInv", "sqrt"]


class KlInv(sympy.Function):
    """``kl^{-1}(q, c) = sup{p in [q, 1] : kl(q||p) <= c}`` (unevaluated sympy function)."""

    nargs = 2

    def _latex(self, printer: sympy.printing.latex.LatexPrinter, exp: object = None) -> str:
        q, c = (printer._print(a) for a in self.args)
        base = rf"\mathrm{{kl}}^{{-1}}\!\left({q},\, {c}\right)"
        return base if exp is None else rf"{base}^{{{exp}}}"


class BinomTailInv(sympy.Function):
    """``\\overline{Bin}(m, k, delta) = max{p : P[Binomial(m, p) <= k] >= delta}`` (unevaluated sympy function)."""

    nargs = 3

    def _latex(self, printer: sympy.printing.latex.LatexPrinter, exp: object = None) -> str:
        m, k, d = (printer._print(a) for a in self.args)
        base = rf"\overline{{\mathrm{{Bin}}}}\!\left({m},\, {k},\, {d}\right)"
        return base if exp is None else rf"{base}^{{{exp}}}"


def sqrt(x: sympy.Expr) -> sympy.Expr:
    """``x ** (1/2)`` kept as written (sympy would pull rational factors out: ``sqrt(x/2) -> sqrt(2) sqrt(x) / 2``)."""
    return sympy.Pow(x, sympy.S.Half, evaluate=False)
