"""Directed rounding for the elementary functions, at the level of mpmath's raw numbers.

Why this module exists: ``mpmath.libmp``'s ``+ - * /`` round correctly in every direction (integer arithmetic), but
its transcendental functions do **not** honour directed rounding in all cases. Measured here: ``mpf_exp(2^-52, 128,
round_ceiling)`` returns a number about 1.8e-48 *below* ``exp(2^-52)``, so ``mpmath.iv.exp`` can return an interval
that misses the true value. Rounding model used instead:

* ``exp`` and ``log``: evaluated by mpmath at ``prec + GUARD`` bits, then widened by the relative factor
  ``1 +- 2^-(prec + GUARD - SLACK)`` and rounded outward at ``prec`` bits. This assumes mpmath's result at ``wp`` bits
  is within ``2^SLACK`` ulps (relative ``2^-(wp - SLACK)``) of the true value; mpmath documents its elementary
  functions as accurate to about 1 ulp, so ``SLACK = 20`` leaves a factor of 10^6 of margin. This assumption is the
  only non-proven step of the arithmetic and is tested against python-flint's arb (proven ball arithmetic).
* ``sqrt``: proven: the candidate ends are checked by exact squaring and moved by one ulp until the check holds.
* integer powers: repeated outward-rounded multiplication (no use of mpmath's ``mpf_pow_int``).
* ``pi``: bounds from its first 40 decimals (pi = 3.14159265358979323846264338327950288419716939937...).
"""

from __future__ import annotations

from fractions import Fraction

from mpmath import libmp
from mpmath.libmp import round_ceiling, round_floor, round_nearest

__all__ = ["GUARD", "SLACK", "exp_down", "exp_up", "log_down", "log_up", "sqrt_down", "sqrt_up", "pi_bounds"]

GUARD = 40
SLACK = 20
#: cost bound: ``exp`` of an argument above ``2^22`` is refused (the checker's range ends there too); below
#: ``-2^22`` its lower bound is 0 and its upper bound that of ``exp(-2^22)`` (mpmath would take minutes)
EXP_ARG_LIMIT = 1 << 22

_ONE = libmp.fone
_ZERO = libmp.fzero


def _widen(y: tuple, prec: int, up: bool) -> tuple:
    """``y * (1 +- 2^-(prec + GUARD - SLACK))`` rounded outward at ``prec`` bits (``y`` from mpmath at wp bits)."""
    if y == _ZERO:
        return y
    eps = libmp.from_man_exp(1, -(prec + GUARD - SLACK))
    negative = y[0] == 1
    grow = up != negative  # moving away from zero for the upper end of a positive value, etc.
    factor = libmp.mpf_add(_ONE, eps if grow else libmp.mpf_neg(eps), prec + GUARD + 8, round_ceiling if grow else round_floor)
    return libmp.mpf_mul(y, factor, prec, round_ceiling if up else round_floor)


def exp_down(x: tuple, prec: int) -> tuple:
    """A lower bound of ``exp(x)`` (raw mpf in, raw mpf out)."""
    if x == libmp.fninf or libmp.mpf_cmp(x, libmp.from_int(-EXP_ARG_LIMIT)) < 0:
        return _ZERO
    y = _widen(libmp.mpf_exp(x, prec + GUARD, round_nearest), prec, up=False)
    return _ZERO if y[0] == 1 else y  # exp > 0


def exp_up(x: tuple, prec: int) -> tuple:
    """An upper bound of ``exp(x)``."""
    if x == libmp.finf:
        return libmp.finf
    if libmp.mpf_cmp(x, libmp.from_int(EXP_ARG_LIMIT)) > 0:
        from boundcert.errors import InvalidInput

        raise InvalidInput(f"exp of an argument above 2^22 ({libmp.to_str(x, 8)}): the value is beyond the range a "
                           "bound can use; check the inputs")
    if libmp.mpf_cmp(x, libmp.from_int(-EXP_ARG_LIMIT)) < 0:  # exp is increasing: exp(x) <= exp(-2^22)
        x = libmp.from_int(-EXP_ARG_LIMIT)
    return _widen(libmp.mpf_exp(x, prec + GUARD, round_nearest), prec, up=True)


def _log(x: tuple, prec: int, up: bool) -> tuple:
    if x == _ZERO:
        return libmp.fninf
    if x == libmp.finf:
        return libmp.finf
    if x == _ONE:
        return _ZERO
    return _widen(libmp.mpf_log(x, prec + GUARD, round_nearest), prec, up=up)


def log_down(x: tuple, prec: int) -> tuple:
    """A lower bound of ``log(x)`` for ``x > 0`` (``-inf`` at 0)."""
    return _log(x, prec, up=False)


def log_up(x: tuple, prec: int) -> tuple:
    """An upper bound of ``log(x)`` for ``x > 0``."""
    return _log(x, prec, up=True)


def _ulp_step(y: tuple, prec: int, up: bool) -> tuple:
    """``y`` moved by about one ulp at ``prec`` bits toward +inf (``up``) or -inf."""
    magnitude = y[2] + y[3]  # exponent + bit count: 2**magnitude > |y|
    eps = libmp.from_man_exp(1, magnitude - prec - 2)
    return libmp.mpf_add(y, eps if up else libmp.mpf_neg(eps), prec + 8, round_ceiling if up else round_floor)


def sqrt_down(x: tuple, prec: int) -> tuple:
    """A lower bound of ``sqrt(x)``, proven by exact squaring (``x >= 0``)."""
    if x == _ZERO or x == libmp.finf:
        return x
    y = libmp.mpf_sqrt(x, prec, round_floor)
    while libmp.mpf_cmp(libmp.mpf_mul(y, y), x) > 0:  # exact product
        y = _ulp_step(y, prec, up=False)
    return y


def sqrt_up(x: tuple, prec: int) -> tuple:
    """An upper bound of ``sqrt(x)``, proven by exact squaring (``x >= 0``)."""
    if x == _ZERO or x == libmp.finf:
        return x
    y = libmp.mpf_sqrt(x, prec, round_ceiling)
    while libmp.mpf_cmp(libmp.mpf_mul(y, y), x) < 0:
        y = _ulp_step(y, prec, up=True)
    return y


_PI_LO = Fraction(31415926535897932384626433832795028841971, 10**40)
_PI_HI = _PI_LO + Fraction(1, 10**40)


def pi_bounds(prec: int) -> tuple[tuple, tuple]:
    """Binary numbers ``lo < pi < hi`` (from 40 correct decimals; width about 1e-40)."""
    lo = libmp.from_rational(_PI_LO.numerator, _PI_LO.denominator, prec, round_floor)
    hi = libmp.from_rational(_PI_HI.numerator, _PI_HI.denominator, prec, round_ceiling)
    return lo, hi


def iv_log(v: "object", prec: int) -> "object":
    """Outward ``log`` of an ``mpmath.iv`` interval with ``v.a > 0`` (returns an ``iv.mpf``)."""
    from mpmath import iv

    a, b = v._mpi_
    return iv.mpf([libmp_to_mpf(log_down(a, prec)), libmp_to_mpf(log_up(b, prec))])


def iv_pow_int(v: "object", n: int) -> "object":
    """``v ** n`` for an ``mpmath.iv`` interval with ``v.a >= 0`` and integer ``n >= 0``, by repeated squaring with
    outward-rounded multiplication (mpmath's own ``mpf_pow_int`` is not used)."""
    from mpmath import iv

    if n < 0:
        raise ValueError("iv_pow_int needs n >= 0")
    result, base = iv.mpf(1), v
    while n:
        if n & 1:
            result = result * base
        n >>= 1
        if n:
            base = base * base
    return result


def libmp_to_mpf(raw: tuple) -> "object":
    import mpmath

    return mpmath.mp.make_mpf(raw)
