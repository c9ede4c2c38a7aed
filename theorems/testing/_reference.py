"""An independent high-precision evaluation of a theorem's statement (the oracle of the property tests).

Nothing here uses the interval code of :mod:`theorems`: the sympy statement is lambdified to plain :mod:`mpmath`
at ``prec`` bits (256 by default), inputs are read as exact rationals with :class:`fractions.Fraction`, and the two
special functions have their own implementations:

* ``kl^{-1}(q, c)``: Newton on ``p -> kl(q||p) - c`` at ``prec + 64`` bits from a coarse bisection, accepted only
  when a tight bracket around the root is checked, else bisection (kl written with ``log1p``; geometric steps for
  tiny roots; the closed form ``1 - e^{-c}`` at ``q = 0``);
* ``Bbar(m, k, delta)``: Newton on ``p -> I_{1-p}(m-k, k+1) - delta`` with mpmath's regularized incomplete beta
  function (hypergeometric series, not the term recurrence the library uses), accepted only when a tight bracket
  around the root is checked, else bisection.

Accuracy claim (not a proof): the returned value is within :func:`reference_tolerance` of the exact value. That
tolerance, about ``2^-(prec-40)`` relative, is what the enclosure check allows on top of the enclosure itself; it is
some 2^-100 below the width of any enclosure the library returns for a non-trivial input.
"""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache
from typing import Mapping

import mpmath
import sympy

from boundcert.errors import InvalidInput

__all__ = ["reference_value", "reference_tolerance", "ref_kl", "ref_kl_inv", "ref_binom_tail", "ref_binom_tail_inv"]

REFERENCE_PREC = 256


def _fraction(v: object, name: str) -> Fraction:
    if isinstance(v, bool):
        raise InvalidInput(f"{name}={v!r} is a bool: give a number")
    if isinstance(v, (int, Fraction)):
        return Fraction(v)
    if isinstance(v, float):
        return Fraction(v)
    if isinstance(v, str):
        s = v.strip().replace("_", "")
        try:
            return Fraction(s)
        except (ValueError, ZeroDivisionError):
            pass
        try:
            return Fraction(float.fromhex(s))
        except (ValueError, OverflowError):
            pass
    lo, hi = getattr(v, "lo", None), getattr(v, "hi", None)
    if lo is not None and lo == hi:
        if isinstance(lo, float):
            return Fraction(lo)
        sign, man, exp, _ = lo._mpf_  # (mpf.man_exp drops the sign)
        return (-1) ** sign * Fraction(man) * Fraction(2) ** exp
    raise InvalidInput(f"{name}={v!r}: the reference evaluator takes exact numbers (int, decimal string, float)")


def _mpf(f: Fraction) -> mpmath.mpf:
    return mpmath.mpf(f.numerator) / f.denominator


def ref_kl(q: mpmath.mpf, p: mpmath.mpf) -> mpmath.mpf:
    """Binary kl divergence in plain mpmath at the current precision (``0 ln 0 = 0``, ``+inf`` at the poles).

    Written with ``log1p`` so that tiny ``q`` and ``p`` keep their value (``1 - 1e-193`` would round to 1)."""
    out = mpmath.mpf(0)
    if q > 0:
        if p <= 0:
            return mpmath.inf
        out += q * (mpmath.log(q) - mpmath.log(p))
    if q < 1:
        if p >= 1:
            return mpmath.inf
        out += (1 - q) * (mpmath.log1p(-q) - mpmath.log1p(-p))
    return out


def _bisect(pred, a: mpmath.mpf, b: mpmath.mpf, bits: int) -> mpmath.mpf:
    """Sup of a down-closed set: ``pred(a)`` true, ``pred(b)`` false. Geometric steps while the bracket spans orders
    of magnitude (so tiny roots are found to relative accuracy), then halving to relative width ``2^-bits``; ``a`` must
    be > 0 when the root may be tiny."""
    rel = mpmath.ldexp(1, -bits)
    for _ in range(20 * bits):
        if b - a <= rel * b:
            break
        mid = mpmath.sqrt(a * b) if a > 0 and b > 4 * a else (a + b) / 2
        if pred(mid):
            a = mid
        else:
            b = mid
    return (a + b) / 2


def ref_kl_inv(q: object, c: object) -> mpmath.mpf:
    """``sup{p in [q, 1] : kl(q||p) <= c}`` by bisection at the current precision + 64 bits (closed form at q = 0)."""
    q, c = mpmath.mpf(q), mpmath.mpf(c)
    if c <= 0:
        return q
    if q >= 1:
        return mpmath.mpf(1)
    out_prec = mpmath.mp.prec
    with mpmath.workprec(out_prec + 64):
        if q == 0:
            return -mpmath.expm1(-c)  # kl(0||p) = -ln(1-p) <= c  <=>  p <= 1 - e^-c
        if ref_kl(q, mpmath.mpf(1) - mpmath.ldexp(1, -(out_prec + 32))) <= c:
            return mpmath.mpf(1)
        r = _kl_newton(q, c, out_prec + 16)
        if r is None:
            r = _bisect(lambda p: ref_kl(q, p) <= c, q, mpmath.mpf(1), out_prec + 16)
    return +r


def _kl_newton(q: mpmath.mpf, c: mpmath.mpf, bits: int) -> mpmath.mpf | None:
    """Newton on ``p -> kl(q||p) - c`` (derivative ``(p - q) / (p (1 - p))``) started from a coarse bisection;
    returns the root only if a bracket of relative width ``2^-(bits-20)`` around it is checked, else None."""
    x = _bisect(lambda p: ref_kl(q, p) <= c, q, mpmath.mpf(1), 30)
    for _ in range(100):
        if not q < x < 1:
            return None
        step = (ref_kl(q, x) - c) * x * (1 - x) / (x - q)
        x_new = min(max(x - step, (x + q) / 2), (1 + x) / 2)
        converged = abs(x_new - x) <= x * mpmath.ldexp(1, -bits)
        x = x_new
        if converged:
            break
    eps = mpmath.ldexp(1, -(bits - 20))
    lo, hi = x * (1 - eps), x * (1 + eps)
    if (lo <= q or ref_kl(q, lo) <= c) and (hi >= 1 or ref_kl(q, hi) > c):
        return x
    return None


def ref_binom_tail(m: int, k: int, p: mpmath.mpf) -> mpmath.mpf:
    """``P[Binomial(m, p) <= k] = I_{1-p}(m-k, k+1)`` by mpmath's regularized incomplete beta function."""
    if k >= m or p <= 0:
        return mpmath.mpf(1)
    if p >= 1:
        return mpmath.mpf(0)
    return mpmath.betainc(m - k, k + 1, 0, 1 - p, regularized=True)


def _binom_newton(m: int, k: int, d: mpmath.mpf, bits: int) -> mpmath.mpf | None:
    """Newton on ``p -> I_{1-p}(m-k, k+1) - d`` from a float start; returns the root only if a bracket of relative
    width ``2^-(bits-20)`` around it is *checked* (tail >= d below, < d above), else None."""
    try:
        from scipy.special import betaincinv

        x = mpmath.mpf(1 - float(betaincinv(m - k, k + 1, float(d))))
    except Exception:
        return None
    if not 0 < x < 1:
        return None
    for _ in range(80):
        f = ref_binom_tail(m, k, x) - d
        df = -m * mpmath.binomial(m - 1, k) * x**k * (1 - x) ** (m - 1 - k)
        if df == 0:
            return None
        x_new = min(max(x - f / df, x / 2), (1 + x) / 2)
        if abs(x_new - x) <= x * mpmath.ldexp(1, -bits):
            x = x_new
            break
        x = x_new
    eps = mpmath.ldexp(1, -(bits - 20))
    lo, hi = x * (1 - eps), x * (1 + eps)
    if ref_binom_tail(m, k, lo) >= d and (hi >= 1 or ref_binom_tail(m, k, hi) < d):
        return x
    return None


def ref_binom_tail_inv(m: object, k: object, delta: object) -> mpmath.mpf:
    """``max{p in [0,1] : P[Binomial(m, p) <= k] >= delta}``: checked Newton, else bisection (current prec + 64)."""
    mm, kk = int(m), int(k)
    if mm != m or kk != k:
        raise InvalidInput(f"binomial tail inversion needs integers, got m={m}, k={k}")
    d = mpmath.mpf(delta)
    if kk >= mm:
        return mpmath.mpf(1)
    out_prec = mpmath.mp.prec
    with mpmath.workprec(out_prec + 64):
        r = _binom_newton(mm, kk, d, out_prec + 40)
        if r is None:
            r = _bisect(lambda p: ref_binom_tail(mm, kk, p) >= d, mpmath.ldexp(1, -(out_prec + 64)), mpmath.mpf(1),
                        out_prec + 16)
    return +r


_FUNCS = {"KlInv": ref_kl_inv, "BinomTailInv": ref_binom_tail_inv}


@lru_cache(maxsize=256)
def _compiled(statement: sympy.Expr, names: tuple[str, ...]):
    return sympy.lambdify([sympy.Symbol(n) for n in names], statement, modules=[_FUNCS, "mpmath"])


def reference_value(theorem: object, values: Mapping[str, object], prec: int = REFERENCE_PREC) -> mpmath.mpf:
    """The theorem's statement at ``values``, computed independently of the library's interval code.

    Args:
        theorem: a :class:`theorems.Theorem` (only its ``statement`` is read).
        values: exact inputs by quantity name (ints, decimal/fraction/hex strings, floats taken exactly).
        prec: working precision in bits (default 256).
    Returns:
        an ``mpmath.mpf`` within :func:`reference_tolerance` of the exact value.
    """
    statement = theorem.statement  # type: ignore[attr-defined]
    names = tuple(sorted(s.name for s in statement.free_symbols))
    missing = [n for n in names if n not in values]
    if missing:
        raise InvalidInput(f"reference_value: missing quantity {missing[0]!r}")
    with mpmath.workprec(prec):
        args = [_mpf(_fraction(values[n], n)) for n in names]
        out = _compiled(statement, names)(*args)
        out = mpmath.mpf(out)
        return +out


def reference_tolerance(value: mpmath.mpf, prec: int = REFERENCE_PREC) -> mpmath.mpf:
    """The claimed accuracy of :func:`reference_value`: ``2^-(prec-40) * max(1, |value|)``."""
    with mpmath.workprec(prec):
        return mpmath.ldexp(1, -(prec - 40)) * max(mpmath.mpf(1), abs(value))
