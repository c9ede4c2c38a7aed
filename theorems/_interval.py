"""Interval core: exact intake of numbers and outward-rounded interval arithmetic.

Containment claim: an :class:`Interval` ``[lo, hi]`` produced here contains the exact real value of the
expression it stands for, evaluated on the exact inputs. Inputs are taken as follows:

* ``int`` and :class:`fractions.Fraction`: exactly (an unrepresentable rational is enclosed by the two
  binary numbers next to it, rounded down and up);
* ``float``: exactly (a float *is* a binary rational);
* ``str``: a decimal (``"0.05"``, ``"1e-3"``), a fraction (``"1/3"``) or a C99 hex float (``"0x1.8p-3"``) is
  read as the exact rational it spells, then enclosed as a Fraction is;
* anything with ``.lo`` and ``.hi`` (an :class:`Interval` or ``kernels.Enclosure``): its endpoints, exactly.

Rounding model: every operation is done at :func:`prec` bits (default :data:`WORKING_PREC`) with outward
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
from theorems import _rounding as _r

__all__ = [
    "Interval",
    "Number",
    "WORKING_PREC",
    "NeedsMorePrecision",
    "enclose",
    "exact_hex",
    "mpf_to_fraction",
    "parse_exact",
    "prec",
    "precision",
    "working_precision",
    "to_decimal_string",
]

#: Default bits of the working precision for interval arithmetic (the answer is sound at any precision;
#: more bits only make it tighter). :func:`precision` changes it for a block; :func:`prec` reads it.
WORKING_PREC = 128
_PREC = [WORKING_PREC]


def prec() -> int:
    """The working precision in force (bits)."""
    return _PREC[-1]


@contextmanager
def precision(bits: int) -> Iterator[None]:
    """Evaluate the block's interval arithmetic at ``bits`` bits (nested blocks restore the outer precision)."""
    _PREC.append(max(int(bits), 53))
    try:
        yield
    finally:
        _PREC.pop()


class NeedsMorePrecision(InvalidInput):
    """An interval reached a singularity (0 in a denominator, a log or sqrt argument <= 0) only through rounding
    width: the exact value may be fine. Callers retry at a higher :func:`precision`."""

Number = Union[int, float, str, Fraction, "Interval", mpmath.mpf]

_DECIMAL_RE = re.compile(r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$")
_FRACTION_RE = re.compile(r"^[+-]?[0-9]+\s*/\s*[0-9]+$")
_HEX_RE = re.compile(r"^[+-]?0[xX](?=\.?[0-9a-fA-F])[0-9a-fA-F]*\.?([0-9a-fA-F]*)([pP][+-]?[0-9]+)?$")
#: parse limits, the same as the checker's (``certify.checker.core``): a number outside them is refused, never
#: computed: characters of one number, |decimal exponent|, |binary exponent| (of the hex float's last digit)
MAX_CHARS, MAX_EXP10, MAX_EXP2 = 20000, 100000, 1 << 20


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


def mpf_to_fraction(x: mpmath.mpf) -> Fraction:
    """The exact rational value of a finite mpf (``mpf.man_exp`` drops the sign: use the raw tuple)."""
    sign, man, exp, _ = x._mpf_
    if man == 0 and exp != 0:
        raise InternalError(f"mpf_to_fraction needs a finite number, got {x}")
    value = Fraction(man) * Fraction(2) ** exp
    return -value if sign else value


_ZERO_MPF = mpmath.mp.make_mpf(libmp.fzero)


def _exact_neg(x: mpmath.mpf) -> mpmath.mpf:
    """``-x`` exactly (mpf's own negation rounds to ``mp.prec``)."""
    return mpmath.mp.make_mpf(libmp.mpf_neg(x._mpf_))


def _fraction_bounds(f: Fraction) -> tuple[mpmath.mpf, mpmath.mpf]:
    """Binary numbers ``lo <= f <= hi``, equal when ``f`` is representable at :data:`WORKING_PREC` bits."""
    if f.denominator == 1:
        x = _exact_mpf(f.numerator)
        return x, x
    p, q = f.numerator, f.denominator
    bits = prec() + 8
    lo = libmp.from_rational(p, q, bits, libmp.round_floor)
    hi = libmp.from_rational(p, q, bits, libmp.round_ceiling)
    return mpmath.mp.make_mpf(lo), mpmath.mp.make_mpf(hi)


def _parse_hex(s: str) -> Fraction:
    """Exact value of a C99 hex float of any length (``float.fromhex`` would round to 53 bits)."""
    sign = -1 if s.startswith("-") else 1
    body = s.lstrip("+-")[2:]
    mant, _, exp = body.lower().partition("p")
    whole, _, frac = mant.partition(".")
    digits = (whole + frac) or "0"
    value = Fraction(int(digits, 16), 16 ** len(frac)) * Fraction(2) ** int(exp or 0)
    return sign * value


def exact_hex(x: mpmath.mpf) -> str:
    """``x`` written exactly as a hex float ``[-]0xMANpEXP`` (parsed back exactly by :func:`parse_exact`)."""
    if not mpmath.isfinite(x):
        raise InternalError("exact_hex needs a finite number")
    if x == 0:
        return "0x0p0"
    sign_bit, man, exp, _ = x._mpf_
    return f"{'-' if sign_bit else ''}0x{man:x}p{exp}"


def parse_exact(text: str, *, name: str = "value") -> Fraction:
    """The exact rational that the string ``text`` spells (decimal, ``p/q`` or hex float).

    Raises:
        InvalidInput: ``text`` is not a finite number in one of those forms.
    """
    s = text.strip().replace("_", "")
    dec, hexa = _DECIMAL_RE.match(s), _HEX_RE.match(s)
    exp = int(dec.group(2)[1:]) if dec and dec.group(2) else 0
    if hexa:
        exp = int(hexa.group(2)[1:] if hexa.group(2) else 0) - 4 * len(hexa.group(1))
    if len(s) > MAX_CHARS or abs(exp) > (MAX_EXP2 if hexa else MAX_EXP10):
        raise InvalidInput(
            f"{name}={text[:40]!r}{'...' if len(text) > 40 else ''} is beyond the parse limits ({MAX_CHARS} "
            f"characters, decimal exponent within +-{MAX_EXP10}, binary exponent within +-{MAX_EXP2}): give a "
            "number of a size a bound can use"
        )
    try:
        if dec:
            return Fraction(Decimal(s))
        if _FRACTION_RE.match(s):
            num, den = (part.strip() for part in s.split("/"))
            if int(den) == 0:
                raise ZeroDivisionError
            return Fraction(int(num), int(den))
        if hexa:
            return _parse_hex(s)
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
    f = mpf_to_fraction(x)
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
    with localcontext() as ctx:  # normalize() rounds to the context's precision: give it room (exact here)
        ctx.prec = digits + 10
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
        return mpmath.mp.make_mpf(libmp.mpf_sub(self.hi._mpf_, self.lo._mpf_, prec(), libmp.round_ceiling))

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
        """Compact and still true: both ends rounded outward to 12 significant digits."""
        return f"Interval([{self.lo_str(12)}, {self.hi_str(12)}])"

    def _repr_html_(self) -> str:
        """Notebook display: the outward-rounded ends, and the exact ends on hover."""
        from html import escape

        exact = escape(f"lo = {mpmath.nstr(self.lo, 40)}, hi = {mpmath.nstr(self.hi, 40)} (the binary ends)")
        return f"<span title='{exact}'>[{escape(self.lo_str(12))}, {escape(self.hi_str(12))}]</span>"

    # -- arithmetic (outward rounded) ----------------------------------------------------------
    def _binary(self, other: object, op: str) -> "Interval":
        o = enclose(other)
        with working_precision(prec()):
            a, b = self._iv(), o._iv()
            if op == "+":
                r = a + b
            elif op == "-":
                r = a - b
            elif op == "*":
                r = a * b
            elif op == "/":
                r = _div(a, b)
            elif op == "r-":
                r = b - a
            elif op == "r/":
                r = _div(b, a)
            else:
                raise InternalError(f"unknown interval operation {op!r}")
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
        if b.a == 0 == b.b:
            raise InvalidInput("division by exactly 0: the expression is undefined at these inputs")
        raise NeedsMorePrecision(f"division by an interval that contains 0 ({b}) at {prec()} bits")
    return a / b


def _raw_interval(lo: tuple, hi: tuple) -> Interval:
    return Interval(mpmath.mp.make_mpf(lo), mpmath.mp.make_mpf(hi))


def isqrt(x: Interval) -> Interval:
    """Outward square root (``x >= 0`` required); both ends proven by exact squaring."""
    if x.lo < 0:
        if x.hi < 0:
            raise InvalidInput(f"sqrt of a negative number ({x!r}): the argument must be >= 0")
        raise NeedsMorePrecision(f"sqrt of an interval reaching below 0 ({x!r}) at {prec()} bits")
    return _raw_interval(_r.sqrt_down(x.lo._mpf_, prec()), _r.sqrt_up(x.hi._mpf_, prec()))


def ilog(x: Interval) -> Interval:
    """Outward natural logarithm (``x > 0`` required); rounding model in :mod:`theorems._rounding`."""
    if x.lo <= 0:
        if x.hi <= 0:
            raise InvalidInput(f"log of a number <= 0 ({x!r}): the argument must be > 0")
        raise NeedsMorePrecision(f"log of an interval reaching 0 or below ({x!r}) at {prec()} bits")
    return _raw_interval(_r.log_down(x.lo._mpf_, prec()), _r.log_up(x.hi._mpf_, prec()))


def iexp(x: Interval) -> Interval:
    """Outward exponential; rounding model in :mod:`theorems._rounding`."""
    return _raw_interval(_r.exp_down(x.lo._mpf_, prec()), _r.exp_up(x.hi._mpf_, prec()))


def imin(*xs: Interval) -> Interval:
    """Interval of ``min(x1, x2, ...)``: exact on the endpoints."""
    return Interval(min(x.lo for x in xs), min(x.hi for x in xs))


def imax(*xs: Interval) -> Interval:
    """Interval of ``max(x1, x2, ...)``: exact on the endpoints."""
    return Interval(max(x.lo for x in xs), max(x.hi for x in xs))


def _pow_nonneg(lo: mpmath.mpf, hi: mpmath.mpf, n: int) -> Interval:
    """``[lo, hi] ** n`` for ``0 <= lo <= hi`` and integer ``n >= 0`` (outward repeated multiplication)."""
    with working_precision(prec()):
        return Interval._from_iv(_r.iv_pow_int(iv.mpf([lo, hi]), n))


def ipow(base: Interval, exponent: Interval) -> Interval:
    """``base ** exponent``: an integer point exponent by outward repeated multiplication, ``1/2`` by :func:`isqrt`,
    anything else as ``exp(exponent * log(base))`` (which needs ``base > 0``)."""
    if exponent.is_point and exponent.lo == int(exponent.lo) and abs(exponent.lo) <= 2**64:  # cost bound: 64 squarings
        n = int(exponent.lo)
        if n < 0:
            return enclose(1) / ipow(base, enclose(-n))
        if base.lo >= 0:
            return _pow_nonneg(base.lo, base.hi, n)
        if base.hi <= 0:  # x ** n = (-1)**n |x|**n with |x| in [-hi, -lo]
            mag = _pow_nonneg(_exact_neg(base.hi), _exact_neg(base.lo), n)
            return mag if n % 2 == 0 else -mag
        # 0 inside: even n gives [0, max(|lo|, hi)**n]; odd n is increasing: [-(|lo|**n), hi**n]
        neg, pos = _pow_nonneg(_ZERO_MPF, _exact_neg(base.lo), n), _pow_nonneg(_ZERO_MPF, base.hi, n)
        if n % 2 == 0:
            return Interval(_ZERO_MPF, max(neg.hi, pos.hi))
        return Interval(_exact_neg(neg.hi), pos.hi)
    if exponent.is_point and exponent.lo == mpmath.mpf(0.5):
        return isqrt(base)
    return iexp(exponent * ilog(base))


def ipi() -> Interval:
    """An enclosure of pi (width about 1e-40)."""
    return _raw_interval(*_r.pi_bounds(prec()))
