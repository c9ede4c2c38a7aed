"""Interval core: exact intake of numbers and outward-rounded interval arithmetic.

Containment claim: an :class:`Interval` ``[lo, hi]`` produced here contains the exact real value of the
expression it stands for, evaluated on the exact inputs. Inputs are taken as follows:

* ``int`` and :class:`fractions.Fraction`: exactly (an unrepresentable rational is enclosed by the two
  binary numbers next to it, rounded down and up);
* ``float``: exactly (a float *is* a binary rational);
* ``str``: a decimal (``"0.05"``, ``"1e-3"``), a fraction (``"1/3"``) or a C99 hex float (``"0x1.8p-3"``) is
  read as the exact rational it spells, then enclosed as a Fraction is;
* anything with ``.lo`` and ``.hi`` (an :class:`Interval` or ``kernels.Enclosure``): its endpoints, exactly.

Rounding model: every operation is done by :mod:`mpmath.iv` at :data:`WORKING_PREC` bits with outward
rounding (lower ends rounded toward -inf, upper ends toward +inf), so the exact result of the operation
on any points of the operand intervals lies in the result. Comparisons mean *certainly*: ``a < b`` is true
only when every point of ``a`` is below every point of ``b``; ``not (a < b)`` says nothing.
"""

from __future__ import annotations

import math
import re
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import Iterator, Union

import mpmath
from mpmath import iv, libmp

from boundcert.errors import InternalError, InvalidInput

__all__ = ["Interval", "Number", "WORKING_PREC", "enclose", "working_precision", "to_decimal_string"]

#: Bits of the working precision for interval arithmetic (the answer is sound at any precision;
#: more bits only make it tighter).
WORKING_PREC = 128

Number = Union[int, float, str, Fraction, "Interval", mpmath.mpf]

_DECIMAL_RE = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_FRACTION_RE = re.compile(r"^[+-]?\d+\s*/\s*\d+$")
_HEX_RE = re.compile(r"^[+-]?0[xX][0-9a-fA-F]*\.?[0-9a-fA-F]*([pP][+-]?\d+)?$")


@contextmanager
def working_precision(prec: int) -> Iterator[None]:
    """Run the block with ``mpmath.iv`` at ``prec`` bits, restoring the caller's precision after."""
    saved = iv.prec
    iv.prec = max(int(prec), 53)
    try:
        yield
    finally:
        iv.prec = saved


def _exact_mpf(x: int | float | mpmath.mpf) -> mpmath.mpf:
    """The exact mpf of an int, float or mpf (no rounding at all)."""
    if isinstance(x, bool):
        raise InvalidInput(f"value={x!r} is a bool: give a number")
    if isinstance(x, int):
        return mpmath.mp.make_mpf(libmp.from_int(x))
    if isinstance(x, float):
        return mpmath.mp.make_mpf(libmp.from_float(x))
    if isinstance(x, mpmath.mpf):
        return x
    raise InternalError(f"_exact_mpf got {type(x).__name__}")


def _as_mpf(x: object) -> mpmath.mpf:
    """``x`` as an mpf without rounding (``mpmath.mpf(x)`` would round to ``mp.prec``)."""
    if isinstance(x, mpmath.mpf):
        return x
    if isinstance(x, (int, float)):
        return _exact_mpf(x)
    raise InternalError(f"interval endpoint of type {type(x).__name__}")


def _exact_neg(x: mpmath.mpf) -> mpmath.mpf:
    """``-x`` exactly (mpf's own negation rounds to ``mp.prec``)."""
    return mpmath.mp.make_mpf(libmp.mpf_neg(x._mpf_))


def _fraction_bounds(f: Fraction) -> tuple[mpmath.mpf, mpmath.mpf]:
    """Binary numbers ``lo <= f <= hi``, equal when ``f`` is representable at :data:`WORKING_PREC` bits."""
    if f.denominator == 1:
        x = _exact_mpf(f.numerator)
        return x, x
    p, q = f.numerator, f.denominator
    prec = WORKING_PREC + 8
    lo = libmp.from_rational(p, q, prec, libmp.round_floor)
    hi = libmp.from_rational(p, q, prec, libmp.round_ceiling)
    return mpmath.mp.make_mpf(lo), mpmath.mp.make_mpf(hi)


def parse_exact(text: str, *, name: str = "value") -> Fraction:
    """The exact rational that the string ``text`` spells (decimal, ``p/q`` or hex float).

    Raises:
        InvalidInput: ``text`` is not a finite number in one of those forms.
    """
    s = text.strip().replace("_", "")
    try:
        if _DECIMAL_RE.match(s):
            return Fraction(Decimal(s))
        if _FRACTION_RE.match(s):
            num, den = (part.strip() for part in s.split("/"))
            if int(den) == 0:
                raise ZeroDivisionError
            return Fraction(int(num), int(den))
        if _HEX_RE.match(s):
            return Fraction(float.fromhex(s))
    except (ValueError, ArithmeticError, OverflowError):
        pass
    raise InvalidInput(
        f"{name}={text!r} is not a finite number: write a decimal such as 0.05 or 1e-3, a fraction such as 1/3, "
        "or a hex float such as 0x1.8p-3"
    )


def enclose(value: object, *, name: str = "value") -> "Interval":
    """An :class:`Interval` that contains the exact value of ``value`` (see the module docstring)."""
    if isinstance(value, Interval):
        return value
    if isinstance(value, bool):
        raise InvalidInput(f"{name}={value!r} is a bool: give a number")
    if isinstance(value, (int, mpmath.mpf)):
        x = _exact_mpf(value)
        if not mpmath.isfinite(x):
            raise InvalidInput(f"{name}={value!r} is not finite: give a finite number")
        return Interval(x, x)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidInput(f"{name}={value!r} is not finite: give a finite number")
        x = _exact_mpf(value)
        return Interval(x, x)
    if isinstance(value, Fraction):
        lo, hi = _fraction_bounds(value)
        return Interval(lo, hi)
    if isinstance(value, str):
        return enclose(parse_exact(value, name=name), name=name)
    if isinstance(value, iv.mpf):
        return Interval(mpmath.mp.make_mpf(value._mpi_[0]), mpmath.mp.make_mpf(value._mpi_[1]))
    lo, hi = getattr(value, "lo", None), getattr(value, "hi", None)
    if lo is not None and hi is not None:
        a, b = enclose(lo, name=f"{name}.lo"), enclose(hi, name=f"{name}.hi")
        if a.lo > b.hi:
            raise InvalidInput(f"{name} has lo={lo!r} > hi={hi!r}: an enclosure needs lo <= hi")
        return Interval(a.lo, b.hi)
    raise InvalidInput(
        f"{name}={value!r} ({type(value).__name__}) is not a number: give an int, a float, a decimal string "
        "or an Interval/Enclosure"
    )


def _round_decimal(x: mpmath.mpf, digits: int, up: bool) -> Decimal:
    """A decimal with at most ``digits`` significant digits, ``>= x`` if ``up`` else ``<= x``."""
    if x == 0:
        return Decimal(0)
    if mpmath.isinf(x):
        raise InternalError("cannot write an infinite endpoint as a decimal")
    man, exp = x.man_exp
    f = Fraction(man) * (Fraction(2) ** exp)
    sign = -1 if f < 0 else 1
    a = abs(f)
    e10 = math.floor(math.log10(a.numerator) - math.log10(a.denominator))
    # correct the estimate so that 10**e10 <= a < 10**(e10+1)
    while Fraction(10) ** e10 > a:
        e10 -= 1
    while Fraction(10) ** (e10 + 1) <= a:
        e10 += 1
    scale = Fraction(10) ** (digits - 1 - e10)
    scaled = a * scale
    toward_larger_magnitude = up if sign > 0 else not up
    n = math.ceil(scaled) if toward_larger_magnitude else math.floor(scaled)
    with localcontext() as ctx:
        ctx.prec = digits + 10
        return (Decimal(sign * n)).scaleb(-(digits - 1 - e10))


def to_decimal_string(x: mpmath.mpf, *, up: bool, digits: int = 20) -> str:
    """``x`` written as a decimal string rounded toward +inf (``up``) or -inf: outward for an endpoint."""
    d = _round_decimal(x, digits, up)
    if d == 0:
        return "0"
    d = d.normalize()
    return format(d, "f") if -7 <= d.adjusted() <= 20 else format(d, "e")


@dataclass(frozen=True, slots=True)
class Interval:
    """A closed interval ``[lo, hi]`` of reals with exact binary endpoints (mpmath ``mpf``).

    Arithmetic is outward-rounded (see the module docstring); comparisons mean *certainly*.
    """

    lo: mpmath.mpf
    hi: mpmath.mpf

    def __post_init__(self) -> None:
        lo, hi = _as_mpf(self.lo), _as_mpf(self.hi)
        if mpmath.isnan(lo) or mpmath.isnan(hi) or lo > hi:
            raise InternalError(f"Interval(lo={self.lo!r}, hi={self.hi!r}) is not an interval")
        object.__setattr__(self, "lo", lo)
        object.__setattr__(self, "hi", hi)

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def of(cls, value: object, *, name: str = "value") -> "Interval":
        """Enclose ``value`` (int, float, decimal string, Fraction, Interval, Enclosure)."""
        return enclose(value, name=name)

    @classmethod
    def _from_iv(cls, x: "iv.mpf") -> "Interval":
        a, b = x._mpi_
        return cls(mpmath.mp.make_mpf(a), mpmath.mp.make_mpf(b))

    def _iv(self) -> "iv.mpf":
        return iv.mpf([self.lo, self.hi])

    # -- queries -------------------------------------------------------------------------------
    @property
    def is_point(self) -> bool:
        return self.lo == self.hi

    def width(self) -> mpmath.mpf:
        """``hi - lo`` rounded up."""
        return mpmath.mp.make_mpf(libmp.mpf_sub(self.hi._mpf_, self.lo._mpf_, WORKING_PREC, libmp.round_ceiling))

    def rel_width(self) -> mpmath.mpf:
        """``(hi - lo) / max(|lo|, |hi|)`` (approximate; a diagnostic, not a bound)."""
        m = max(abs(self.lo), abs(self.hi))
        return mpmath.mpf(0) if m == 0 else self.width() / m

    def contains(self, x: object) -> bool:
        """Whether every point of ``x`` (a number or interval, taken exactly) lies in ``[lo, hi]``."""
        other = enclose(x)
        return self.lo <= other.lo and other.hi <= self.hi

    def lo_str(self, digits: int = 20) -> str:
        """The lower end as a decimal string rounded down (still a valid lower end)."""
        return to_decimal_string(self.lo, up=False, digits=digits)

    def hi_str(self, digits: int = 20) -> str:
        """The upper end as a decimal string rounded up (still a valid upper end)."""
        return to_decimal_string(self.hi, up=True, digits=digits)

    def __repr__(self) -> str:
        return f"Interval([{mpmath.nstr(self.lo, 17)}, {mpmath.nstr(self.hi, 17)}])"

    # -- arithmetic (outward rounded) ----------------------------------------------------------
    def _binary(self, other: object, op: str) -> "Interval":
        o = enclose(other)
        with working_precision(WORKING_PREC):
            a, b = self._iv(), o._iv()
            ops = {
                "+": lambda: a + b,
                "-": lambda: a - b,
                "*": lambda: a * b,
                "/": lambda: _div(a, b),
                "r-": lambda: b - a,
                "r/": lambda: _div(b, a),
            }
            r = ops[op]()  # only the requested operation: `0 / m` must not evaluate `m / 0`
            return Interval._from_iv(r)

    def __add__(self, other: object) -> "Interval":
        return self._binary(other, "+")

    __radd__ = __add__

    def __sub__(self, other: object) -> "Interval":
        return self._binary(other, "-")

    def __rsub__(self, other: object) -> "Interval":
        return self._binary(other, "r-")

    def __mul__(self, other: object) -> "Interval":
        return self._binary(other, "*")

    __rmul__ = __mul__

    def __truediv__(self, other: object) -> "Interval":
        return self._binary(other, "/")

    def __rtruediv__(self, other: object) -> "Interval":
        return self._binary(other, "r/")

    def __neg__(self) -> "Interval":
        return Interval(_exact_neg(self.hi), _exact_neg(self.lo))

    def __pow__(self, exponent: object) -> "Interval":
        return ipow(self, enclose(exponent))

    # -- certainly-comparisons -----------------------------------------------------------------
    def __lt__(self, other: object) -> bool:
        return bool(self.hi < enclose(other).lo)

    def __le__(self, other: object) -> bool:
        return bool(self.hi <= enclose(other).lo)

    def __gt__(self, other: object) -> bool:
        return bool(self.lo > enclose(other).hi)

    def __ge__(self, other: object) -> bool:
        return bool(self.lo >= enclose(other).hi)


def _div(a: "iv.mpf", b: "iv.mpf") -> "iv.mpf":
    if b.a <= 0 <= b.b:
        raise InvalidInput(f"division by an interval that contains 0 ({b}): the expression is undefined there")
    return a / b


def _unary(x: Interval, fn: str) -> Interval:
    with working_precision(WORKING_PREC):
        v = x._iv()
        if fn == "sqrt":
            if x.lo < 0:
                raise InvalidInput(f"sqrt of an interval reaching below 0 ({x!r}): the argument must be >= 0")
            return Interval._from_iv(iv.sqrt(v))
        if fn == "log":
            if x.lo <= 0:
                raise InvalidInput(f"log of an interval reaching 0 or below ({x!r}): the argument must be > 0")
            return Interval._from_iv(iv.log(v))
        if fn == "exp":
            return Interval._from_iv(iv.exp(v))
    raise InternalError(f"unknown unary function {fn!r}")


def isqrt(x: Interval) -> Interval:
    """Outward-rounded square root (``x >= 0`` required)."""
    return _unary(x, "sqrt")


def ilog(x: Interval) -> Interval:
    """Outward-rounded natural logarithm (``x > 0`` required)."""
    return _unary(x, "log")


def iexp(x: Interval) -> Interval:
    """Outward-rounded exponential."""
    return _unary(x, "exp")


def imin(*xs: Interval) -> Interval:
    """Interval of ``min(x1, x2, ...)``: exact on the endpoints."""
    return Interval(min(x.lo for x in xs), min(x.hi for x in xs))


def imax(*xs: Interval) -> Interval:
    """Interval of ``max(x1, x2, ...)``: exact on the endpoints."""
    return Interval(max(x.lo for x in xs), max(x.hi for x in xs))


def ipow(base: Interval, exponent: Interval) -> Interval:
    """``base ** exponent``: an integer point exponent by repeated outward multiplication, else
    ``exp(exponent * log(base))`` (which needs ``base > 0``)."""
    if exponent.is_point and exponent.lo == int(exponent.lo):
        n = int(exponent.lo)
        with working_precision(WORKING_PREC):
            v = base._iv()
            if n < 0:
                v = _div(iv.mpf(1), v)
                n = -n
            return Interval._from_iv(v**n)
    if exponent.is_point and exponent.lo == mpmath.mpf(0.5):
        return isqrt(base)
    return iexp(exponent * ilog(base))


def ipi() -> Interval:
    """An enclosure of pi."""
    with working_precision(WORKING_PREC):
        return Interval._from_iv(iv.pi)
