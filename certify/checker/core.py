r"""The independent certificate checker: standard library + mpmath only (no torch, numpy, sympy, theorems, kernels).

Like a SAT proof checker, it does not search: it re-checks the steps a certificate gives. It verifies, in order:

1. ``format_version`` is 1 and the required fields are present;
2. every hypothesis has a unique name and a status (``checked`` / ``assumed``); one marked checked whose statement is
   ``$a \le b$`` / ``$a \ge b$`` over recorded inputs (or integers) is proven from those inputs;
3. ``delta.total`` and every delta of its split lie in (0, 1), the split spends at most the total, the ``delta``
   input encloses the split entry whose ``use`` is the theorem's id; a data-sourced ``m`` equals ``data.n``;
4. the statement tree, re-evaluated from the recorded input enclosures in outward-rounded interval arithmetic, lies
   in the claimed result ``[lo, hi]`` (decimal and exact ends); each ``kl_inv`` / ``binom_tail_inv`` node takes the
   next recorded witness bracket after proving that it encloses the node's range (:func:`_verify_kl_inv`, ...);
5. the claim in words is the one :func:`claim_text` generates from the proven content (bounded quantity, result end
   rounded outward to 6 digits, theorem, ``1 - delta.total``), with confidence_tree ``1 - delta`` or none;
6. the sha256 of the model and data files, when given, equals ``model.file_sha256`` / ``data.file_sha256``.

A wider claimed result (a larger ``hi``) is a weaker true claim, accepted; a narrower one is rejected. ``--recompute``
(``certify.checker.recompute``, importing the library) re-derives the quantities. Limits (refused, never computed):
``MAX_CHARS`` characters a number, exponents ``MAX_EXP10`` / ``MAX_EXP2``, ends in ``2^+-MAX_MAG``, ``MAX_TERMS`` terms.

Rounding model (independent re-implementation of ``theorems._rounding``): raw ``mpmath.libmp`` binary floats; hex
inputs exact, decimals and rationals enclosed by ``from_rational`` floor / ceiling; ``+ - * /`` by libmp with
``round_floor`` / ``round_ceiling`` (exact integer arithmetic); ``exp``/``log`` (mpmath does NOT honour directed
rounding there) at ``prec + 40`` bits to nearest, widened by ``1 +- 2^-(prec + 20)`` and rounded outward (the one
assumption: mpmath is within 2^20 ulps); ``sqrt`` proven by exact squaring; integer powers by outward-rounded
multiplication, other powers ``exp(e log b)``; ``pi`` from 40 correct decimals, ``e`` as ``exp(1)``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from dataclasses import dataclass
from decimal import Decimal, localcontext
from fractions import Fraction
from functools import cmp_to_key
from typing import Any

from mpmath import libmp
from mpmath.libmp import round_ceiling as UP
from mpmath.libmp import round_floor as DOWN
from mpmath.libmp import round_nearest as NEAR

__all__ = ["CheckResult", "check", "claim_subject", "claim_text", "main"]

FORMAT_VERSION = 1
GUARD, SLACK, PRECISIONS = 40, 20, (256, 1024, 4096)  # guard bits, margin exponent, the precision ladder
MAX_CHARS, MAX_EXP10, MAX_EXP2, MAX_MAG, MAX_TERMS = 20000, 100000, 1 << 20, 1 << 24, 100000
_ZERO, _ONE = libmp.fzero, libmp.fone
_HEX = re.compile(r"^([+-]?)0x(?=\.?[0-9a-f])([0-9a-f]*)\.?([0-9a-f]*)(?:p([+-]?[0-9]+))?$")
_DEC = re.compile(r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:e([+-]?[0-9]+))?$")
_RAT = re.compile(r"^([+-]?[0-9]+)\s*/\s*([0-9]+)$")
_PI_LO = Fraction(31415926535897932384626433832795028841971, 10**40)


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The verdict: ``ok`` and, when not, the first failing step; ``verdict`` is the one line the CLI prints."""

    ok: bool
    step: str = ""

    @property
    def verdict(self) -> str:
        return "VERIFIED" if self.ok else f"NOT VERIFIED: {self.step}"


class Fail(Exception):
    """A step that does not verify (message: the step)."""


class Precision(Fail):
    """A step that might verify at a higher precision (rounding touches a singularity, or a witness is too close)."""


# ---------------------------------------------------------------- exact intake
def parse_number(text: object, what: str) -> tuple[Fraction | None, tuple | None]:
    """An exact number in the grammar of ``theorems.parse_exact`` (decimal, ``P/Q``, hex float), within the limits:
    hex -> raw mpf (exact); decimal or ``P/Q`` -> Fraction."""
    if not isinstance(text, str):
        raise Fail(f"{what}={text!r} is not a string number")
    s = text.strip().replace("_", "").lower()
    if len(s) > MAX_CHARS:
        raise Fail(f"{what} has {len(s)} characters, above the limit of {MAX_CHARS}")
    h, d, r = _HEX.match(s), _DEC.match(s), _RAT.match(s)
    exp = int(h.group(4) or 0) - 4 * len(h.group(3)) if h else int(d.group(1) or 0) if d else 0
    if abs(exp) > (MAX_EXP2 if h else MAX_EXP10):
        raise Fail(f"{what}={s[:40]!r} has an exponent beyond the limit a certificate may use")
    try:
        if h:
            man = int(h.group(2) + h.group(3), 16)
            return None, libmp.from_man_exp(-man if h.group(1) == "-" else man, exp)
        if d or r:
            return (Fraction(s) if d else Fraction(int(r.group(1)), int(r.group(2)))), None
    except (ValueError, ZeroDivisionError):
        pass
    raise Fail(f"{what}={text[:40]!r} is not an exact number")


def _fraction(text: object, what: str) -> Fraction:
    f, raw = parse_number(text, what)
    return f if f is not None else _fraction_of(raw)


class Iv:
    """A closed interval ``[lo, hi]`` of raw mpf ends; every operation rounds outward at ``prec`` bits."""

    __slots__ = ("lo", "hi", "prec")

    def __init__(self, lo: tuple, hi: tuple, prec: int) -> None:
        if libmp.mpf_cmp(lo, hi) > 0 or lo == libmp.fnan or hi == libmp.fnan:
            raise Fail("an interval has lo > hi")
        if any(v[1] and abs(v[2] + v[3]) > MAX_MAG for v in (lo, hi)):
            raise Fail(f"an interval end is beyond the checker's range 2^+-{MAX_MAG}")
        self.lo, self.hi, self.prec = lo, hi, prec

    @classmethod
    def of(cls, text: object, prec: int, what: str) -> "Iv":
        f, raw = parse_number(text, what)
        return cls.frac(f, prec) if raw is None else cls(raw, raw, prec)

    @classmethod
    def frac(cls, f: Fraction, prec: int) -> "Iv":
        lo = libmp.from_rational(f.numerator, f.denominator, prec, DOWN)
        return cls(lo, libmp.from_rational(f.numerator, f.denominator, prec, UP), prec)

    def point(self) -> bool:
        return self.lo == self.hi

    def __add__(self, o: "Iv") -> "Iv":
        p = self.prec
        return Iv(libmp.mpf_add(self.lo, o.lo, p, DOWN), libmp.mpf_add(self.hi, o.hi, p, UP), p)

    def __neg__(self) -> "Iv":
        return Iv(libmp.mpf_neg(self.hi), libmp.mpf_neg(self.lo), self.prec)

    def __sub__(self, o: "Iv") -> "Iv":
        return self + (-o)

    def __mul__(self, o: "Iv") -> "Iv":
        p, ends = self.prec, [(a, b) for a in (self.lo, self.hi) for b in (o.lo, o.hi)]
        los = [libmp.mpf_mul(a, b, p, DOWN) for a, b in ends]
        his = [libmp.mpf_mul(a, b, p, UP) for a, b in ends]
        return Iv(_minmax(los, min), _minmax(his, max), p)

    def __truediv__(self, o: "Iv") -> "Iv":
        if libmp.mpf_sign(o.lo) <= 0 <= libmp.mpf_sign(o.hi):
            raise (Precision if o.lo != o.hi else Fail)("division by an interval that contains 0")
        p, ends = self.prec, [(a, b) for a in (self.lo, self.hi) for b in (o.lo, o.hi)]
        return Iv(_minmax([libmp.mpf_div(a, b, p, DOWN) for a, b in ends], min),
                  _minmax([libmp.mpf_div(a, b, p, UP) for a, b in ends], max), p)


def _minmax(xs: list[tuple], pick: Any) -> tuple:
    return pick(xs, key=cmp_to_key(libmp.mpf_cmp))


def _lt(a: tuple, b: tuple) -> bool:
    return libmp.mpf_cmp(a, b) < 0


def _le(a: tuple, b: tuple) -> bool:
    return libmp.mpf_cmp(a, b) <= 0


# ---------------------------------------------------------------- elementary functions, outward
def _widen(y: tuple, prec: int, up: bool) -> tuple:
    if y == _ZERO:
        return y
    eps = libmp.from_man_exp(1, -(prec + GUARD - SLACK))
    grow = up != (y[0] == 1)
    factor = libmp.mpf_add(_ONE, eps if grow else libmp.mpf_neg(eps), prec + GUARD + 8, UP if grow else DOWN)
    return libmp.mpf_mul(y, factor, prec, UP if up else DOWN)


def iexp(x: Iv) -> Iv:
    p, big = x.prec, libmp.from_int(MAX_MAG >> 2)  # exp is increasing: below -2^22, bounded by 0 and exp(-2^22)
    if _lt(big, x.hi):
        raise Fail("exp of an argument above 2^22: beyond the checker's range")
    lo = _ZERO if _lt(x.lo, libmp.mpf_neg(big)) else _widen(libmp.mpf_exp(x.lo, p + GUARD, NEAR), p, False)
    hi = _widen(libmp.mpf_exp(_minmax([x.hi, libmp.mpf_neg(big)], max), p + GUARD, NEAR), p, True)
    return Iv(_ZERO if lo[0] == 1 else lo, hi, p)


def _log_end(v: tuple, p: int, up: bool) -> tuple:
    return _ZERO if v == _ONE else _widen(libmp.mpf_log(v, p + GUARD, NEAR), p, up)


def ilog(x: Iv) -> Iv:
    if libmp.mpf_sign(x.lo) <= 0:
        raise (Fail if libmp.mpf_sign(x.hi) <= 0 else Precision)("log of an interval reaching 0 or below")
    return Iv(_log_end(x.lo, x.prec, False), _log_end(x.hi, x.prec, True), x.prec)


def _ulp(y: tuple, p: int, up: bool) -> tuple:
    eps = libmp.from_man_exp(1, y[2] + y[3] - p - 2)
    return libmp.mpf_add(y, eps if up else libmp.mpf_neg(eps), p + 8, UP if up else DOWN)


def isqrt(x: Iv) -> Iv:
    if libmp.mpf_sign(x.lo) < 0:
        raise (Fail if libmp.mpf_sign(x.hi) < 0 else Precision)("sqrt of an interval reaching below 0")
    p, lo, hi = x.prec, x.lo, x.hi
    if lo != _ZERO:
        lo = libmp.mpf_sqrt(x.lo, p, DOWN)
        while _lt(x.lo, libmp.mpf_mul(lo, lo)):
            lo = _ulp(lo, p, False)
    if hi != _ZERO:
        hi = libmp.mpf_sqrt(x.hi, p, UP)
        while _lt(libmp.mpf_mul(hi, hi), x.hi):
            hi = _ulp(hi, p, True)
    return Iv(lo, hi, p)


def _pow_int(b: Iv, n: int) -> Iv:
    out, base = Iv.frac(Fraction(1), b.prec), b
    if libmp.mpf_sign(b.lo) < 0 < libmp.mpf_sign(b.hi) and n % 2 == 0:  # even power of a sign-changing interval
        mag = _pow_int(Iv(_ZERO, _minmax([libmp.mpf_neg(b.lo), b.hi], max), b.prec), n)
        return Iv(_ZERO, mag.hi, b.prec)
    while n:
        if n & 1:
            out = out * base
        n >>= 1
        if n:
            base = base * base
    return out


def ipow(b: Iv, e: Iv) -> Iv:
    if e.point():
        f = _fraction_of(e.lo)
        if f.denominator == 1 and abs(f.numerator) <= 1 << 64:
            n = int(f)
            return Iv.frac(Fraction(1), b.prec) / _pow_int(b, -n) if n < 0 else _pow_int(b, n)
        if f == Fraction(1, 2):
            return isqrt(b)
    return iexp(e * ilog(b))


def _fraction_of(raw: tuple) -> Fraction:
    man, exp = libmp.to_man_exp(raw)
    return Fraction(man) * Fraction(2) ** exp


def ipi(prec: int) -> Iv:
    lo = libmp.from_rational(_PI_LO.numerator, _PI_LO.denominator, prec, DOWN)
    return Iv(lo, libmp.from_rational(_PI_LO.numerator + 1, _PI_LO.denominator, prec, UP), prec)


# ---------------------------------------------------------------- special functions: verify the witness
def _kl_bound(q: tuple, p: tuple, prec: int) -> Iv:
    """Enclosure of kl(q||p) = q log(q/p) + (1-q) log((1-q)/(1-p)) at exact points, ``0 log 0 = 0``."""
    one = Iv(_ONE, _ONE, prec)
    qi, pi_ = Iv(q, q, prec), Iv(p, p, prec)
    out = Iv(_ZERO, _ZERO, prec)
    if q != _ZERO:
        out = out + qi * ilog(qi / pi_)
    if q != _ONE:
        out = out + (one - qi) * ilog((one - qi) / (one - pi_))
    return out


def _verify_kl_inv(q: Iv, c: Iv, a: tuple, b: tuple) -> None:
    """Prove ``[a, b]`` contains ``kl_inv(q', c')`` for all q' in q, c' in c (kl_inv increases in both)."""
    prec = q.prec
    if _lt(q.lo, _ZERO) or _lt(_ONE, q.hi):
        raise Fail("kl_inv: q outside [0, 1]")
    if libmp.mpf_sign(c.hi) < 0:
        raise Fail("kl_inv: negative budget c")
    c_lo = _ZERO if libmp.mpf_sign(c.lo) < 0 else c.lo  # kl_inv(q, c) = q for c <= 0: constant on (-inf, 0]
    if not _le(a, q.lo):  # else kl_inv >= q >= a trivially
        if not (_lt(a, _ONE) and _le(_kl_bound(q.lo, a, prec).hi, c_lo)):
            raise Precision("kl_inv witness: kl(q.lo||a) <= c.lo is not proven")
    if not _le(_ONE, b):
        if not (_le(q.hi, b) and _lt(c.hi, _kl_bound(q.hi, b, prec).lo)):
            raise Precision("kl_inv witness: kl(q.hi||b) > c.hi is not proven")


def _tail(m: int, k: int, p: tuple, prec: int, up: bool) -> tuple:
    """A lower (``up=False``) or upper bound of P[Binomial(m, p) <= k] at an exact p in (0, 1), one rounding
    direction throughout (every term is positive): t_0 = (1-p)^m, t_j = t_{j-1} (m-j+1)/j p/(1-p)."""
    rnd = UP if up else DOWN
    one_p = libmp.mpf_sub(_ONE, p, prec, rnd)
    ratio = libmp.mpf_div(p, libmp.mpf_sub(_ONE, p, prec, DOWN if up else UP), prec, rnd)
    term, base, n = _ONE, one_p, m
    while n:
        if n & 1:
            term = libmp.mpf_mul(term, base, prec, rnd)
        n >>= 1
        if n:
            base = libmp.mpf_mul(base, base, prec, rnd)
    total = term
    for j in range(1, k + 1):
        term = libmp.mpf_mul(term, ratio, prec, rnd)
        term = libmp.mpf_mul(term, libmp.from_rational(m - j + 1, j, prec, rnd), prec, rnd)
        total = libmp.mpf_add(total, term, prec, rnd)
    return total


def _count(x: Iv, what: str) -> int:
    f = _fraction_of(x.lo)
    if not x.point() or f.denominator != 1:
        raise Fail(f"binom_tail_inv: {what} is not an exact integer")
    return int(f)


def _verify_binom(m_: Iv, k_: Iv, d: Iv, a: tuple, b: tuple) -> None:
    """Prove ``[a, b]`` contains ``max{p : Bin(m, k, p) >= delta}`` for all delta in d (it decreases in delta)."""
    m, k, prec = _count(m_, "m"), _count(k_, "k"), d.prec
    if m < 1 or not 0 <= k <= m or libmp.mpf_sign(d.lo) <= 0 or not _lt(d.hi, _ONE):
        raise Fail("binom_tail_inv: needs m >= 1, 0 <= k <= m, delta in (0, 1)")
    if k > MAX_TERMS or m.bit_length() > 64:
        raise Fail(f"binom_tail_inv: k={k} or m={m} is above the cost bound (k <= {MAX_TERMS}, m < 2^64)")
    if k >= m:
        if not _le(_ONE, b):
            raise Fail("binom_tail_inv witness: b < 1 but k >= m")
        return
    if libmp.mpf_sign(a) > 0 and not (_lt(a, _ONE) and _le(d.hi, _tail(m, k, a, prec, up=False))):
        raise Precision("binom_tail_inv witness: Bin(m, k, a) >= delta.hi is not proven")
    if not _le(_ONE, b) and not (libmp.mpf_sign(b) > 0 and _lt(_tail(m, k, b, prec, up=True), d.lo)):
        raise Precision("binom_tail_inv witness: Bin(m, k, b) < delta.lo is not proven")


# ---------------------------------------------------------------- the tree
class _Evaluator:
    def __init__(self, inputs: dict[str, Iv], witnesses: list[Any], prec: int) -> None:
        self.inputs, self.witnesses, self.prec, self.used = inputs, witnesses, prec, 0

    def eval(self, t: Any) -> Iv:
        if not isinstance(t, dict):
            raise Fail(f"tree node {t!r} is not an object")
        if "var" in t:
            if t["var"] not in self.inputs:
                raise Fail(f"tree reads {t['var']!r}, which is not among the inputs")
            return self.inputs[t["var"]]
        if "num" in t:
            return Iv.of(t["num"], self.prec, "tree number")
        if "const" in t:
            if t["const"] not in ("pi", "e"):
                raise Fail(f"unknown constant {t['const']!r}")
            return ipi(self.prec) if t["const"] == "pi" else iexp(Iv(_ONE, _ONE, self.prec))
        return self._apply(t.get("op"), [self.eval(a) for a in t.get("args", [])])

    def _apply(self, op: Any, a: list[Iv]) -> Iv:
        arity = {"/": 2, "pow": 2, "sqrt": 1, "log": 1, "exp": 1, "kl_inv": 2, "binom_tail_inv": 3}
        if op in arity and len(a) != arity[op] or not a or op == "-" and len(a) > 2:
            raise Fail(f"operation {op!r} with {len(a)} arguments")
        if op in ("+", "*"):
            out = a[0]
            for x in a[1:]:
                out = out + x if op == "+" else out * x
            return out
        if op == "-":
            return -a[0] if len(a) == 1 else a[0] - a[1]
        if op in ("/", "pow"):
            return a[0] / a[1] if op == "/" else ipow(a[0], a[1])
        if op in ("sqrt", "log", "exp"):
            return {"sqrt": isqrt, "log": ilog, "exp": iexp}[op](a[0])
        if op in ("min", "max"):
            pick = min if op == "min" else max
            return Iv(_minmax([x.lo for x in a], pick), _minmax([x.hi for x in a], pick), self.prec)
        if op in ("kl_inv", "binom_tail_inv"):
            if self.used >= len(self.witnesses):
                raise Fail(f"no witness for {op} node {self.used + 1}")
            w = self.witnesses[self.used]
            self.used += 1
            if not isinstance(w, dict) or w.get("op") != op:
                raise Fail(f"witness {self.used} is not for a {op} node")
            lo = Iv.of(w.get("lo"), self.prec, f"witness {self.used} lo").lo
            hi = Iv.of(w.get("hi"), self.prec, f"witness {self.used} hi").hi
            (_verify_kl_inv if op == "kl_inv" else _verify_binom)(*a, lo, hi)
            return Iv(lo, hi, self.prec)
        raise Fail(f"unknown operation {op!r}")


def _input(rec: Any, name: str, prec: int) -> Iv:
    if not isinstance(rec, dict):
        raise Fail(f"input {name!r} is not an object")
    return Iv(Iv.of(rec.get("lo"), prec, f"input {name} lo").lo, Iv.of(rec.get("hi"), prec, f"input {name} hi").hi,
              prec)


def evaluate(cert: dict[str, Any], prec: int) -> Iv:
    """The statement tree at the recorded input enclosures, with witnesses verified (raises :class:`Fail`)."""
    inputs = {name: _input(rec, name, prec) for name, rec in cert["inputs"].items()}
    ev = _Evaluator(inputs, list(cert.get("witnesses", [])), prec)
    out = ev.eval(cert["theorem"]["statement_tree"])
    if ev.used != len(ev.witnesses):
        raise Fail(f"{len(ev.witnesses) - ev.used} witnesses left unused")
    return out


# ---------------------------------------------------------------- the claim in words
_CONF_TREE = {"op": "+", "args": [{"num": "1"}, {"op": "*", "args": [{"num": "-1"}, {"var": "delta"}]}]}


def _sci(n: int, e: int) -> str:
    """``n * 10^e`` as ``theorems.to_decimal_string`` writes it (plain for decimal exponents -7..20)."""
    with localcontext() as ctx:
        ctx.prec = 100
        d = Decimal(n).scaleb(e).normalize()
        return "0" if n == 0 else format(d, "f") if -7 <= d.adjusted() <= 20 else format(d, "e")


def _round6(x: Fraction, up: bool) -> str:
    """``x`` rounded toward +inf (``up``) or -inf to 6 significant decimal digits."""
    if x == 0:
        return "0"
    e = int((abs(x.numerator).bit_length() - x.denominator.bit_length()) * 0.30103)
    while Fraction(10) ** e > abs(x):
        e -= 1
    while Fraction(10) ** (e + 1) <= abs(x):
        e += 1
    s = x / Fraction(10) ** (e - 5)
    return _sci(-(-s.numerator // s.denominator) if up else s.numerator // s.denominator, e - 5)


def claim_text(subject: str, *, at_least: bool, end: str, delta_total: str | None, over: str = "the sample",
               exact: bool = True) -> str:
    """The claim in words, generated from the proven content (``certify`` writes it, the checker regenerates it):
    the ``subject`` (see :func:`claim_subject`), the result's ``end`` rounded outward to 6 digits, ``1 - delta``."""
    words = f"at least {_round6(_fraction(end, 'result.lo'), False)}" if at_least else \
        f"at most {_round6(_fraction(end, 'result.hi'), True)}"
    conf = ""
    if delta_total is not None:
        one = 1 - _fraction(delta_total, "delta.total")
        shown = next((_sci(int(one * 10**n), -n) for n in range(41) if (one * 10**n).denominator == 1), "") * exact
        conf = f"with probability at least 1 - {delta_total.strip()}{' = ' + shown if shown else ''} over {over}, "
    text = f"{conf}the {subject} is {words}."
    return text[0].upper() + text[1:]


def claim_subject(theorem: dict[str, Any], model: dict[str, Any]) -> tuple[str, str, bool]:
    """What a claim is about, over what, whether ``1 - delta`` is shown exactly: a network rebuilt from a code file
    (compression), a stored Gaussian posterior (PAC-Bayes; also over the Monte Carlo draws), or ``bounded``."""
    tid = str(theorem.get("id", ""))  # "" from a producer, which names the subject of its own family
    if "code_bits" in model and (not tid or tid.startswith("compression.")):
        return (f"0-1 risk of the network rebuilt from the {model['code_bits']}-bit code in {model['path']} (weights "
                f"sha256 {model['weights_sha256'][:16]}...)", "the sample", False)
    if str(model.get("kind", "")).startswith("diagonal Gaussian posterior") and tid[:10] in ("", "pac_bayes."):
        return (f"0-1 risk of the stochastic classifier Q (the Gaussian posterior stored in {model['path']}, sha256 "
                f"{model['sha256'][:16]}...)", "the sample and the Monte Carlo draws", False)
    return str(theorem["bounded"]), "the sample", True


def _check_claim(cert: dict[str, Any]) -> None:
    th, claim = cert["theorem"], cert["claim"]
    conf, reads_delta = th.get("confidence_tree"), '{"var": "delta"}' in json.dumps(th["statement_tree"])
    if (conf is not None and conf != _CONF_TREE) or (reads_delta and conf is None):
        raise Fail("theorem.confidence_tree is not 1 - delta, the one confidence a certificate may state")
    at_least = isinstance(claim, str) and " is at least " in claim  # the relation: compared with the registry
    subject, over, exact = claim_subject(th, cert["model"])
    want = claim_text(subject, at_least=at_least, end=cert["result"]["lo" if at_least else "hi"], over=over,
                      delta_total=None if conf is None else cert["delta"]["total"], exact=exact)
    if claim != want:
        raise Fail(f"the claim in words is not what the proven content states: {want!r}")


# ---------------------------------------------------------------- the steps
_REQUIRED = ("format_version", "claim", "theorem", "inputs", "hypotheses", "model", "data", "delta", "result")
_OBJECTS = ("theorem", "inputs", "model", "data", "delta", "result")


def _check_structure(cert: Any) -> None:
    if not isinstance(cert, dict):
        raise Fail("the certificate is not a JSON object")
    if cert.get("format_version") != FORMAT_VERSION:
        raise Fail(f"format_version={cert.get('format_version')!r} (this checker reads {FORMAT_VERSION})")
    missing = [k for k in _REQUIRED if k not in cert] + [f"{k} (an object)" for k in _OBJECTS if not isinstance(
        cert.get(k), dict)] + ([] if "statement_tree" in cert.get("theorem", ()) else ["theorem.statement_tree"])
    if missing:
        raise Fail(f"missing field(s) {', '.join(missing)}")


_HYP = re.compile(r"^\$([a-z]\w*) \\(le|ge) ([a-z]\w*|[0-9]+)\$$")


def _check_hypotheses(cert: dict[str, Any]) -> None:
    hyps, names = cert["hypotheses"], set()
    if not isinstance(hyps, list):
        raise Fail("hypotheses is not a list")
    for h in hyps:
        if not isinstance(h, dict) or h.get("status") not in ("checked", "assumed") or not isinstance(
                h.get("name"), str) or not h["name"] or h["name"] in names:
            raise Fail(f"hypothesis {h!r} has no (unique) name or no status checked/assumed")
        names.add(h["name"])
        m = _HYP.match(str(h.get("statement")))
        if h["status"] == "checked" and m and all(x.isdigit() or x in cert["inputs"] for x in (m[1], m[3])):
            a, b = (Iv.frac(Fraction(x), 64) if x.isdigit() else _input(cert["inputs"][x], x, 64) for x in (m[1], m[3]))
            if not _le(*((a.hi, b.lo) if m[2] == "le" else (b.hi, a.lo))):
                raise Fail(f"hypothesis {h['name']} ({h['statement']}) is marked checked but the inputs refute it")


def _check_delta(cert: dict[str, Any]) -> None:
    d = cert["delta"]
    if not isinstance(d, dict) or not isinstance(d.get("split"), list) or not d["split"]:
        raise Fail("delta has no total and split")
    total = _fraction(d.get("total"), "delta.total")
    parts = [_fraction(s.get("delta") if isinstance(s, dict) else None, "delta.split") for s in d["split"]]
    if not 0 < total < 1 or not all(0 < x < 1 for x in parts):
        raise Fail(f"delta.total={d.get('total')!r} or a delta of its split is not in (0, 1)")
    if sum(parts, Fraction(0)) > total:
        raise Fail(f"delta split spends {sum(parts, Fraction(0))}, more than delta.total={d['total']}")
    own = [x for x, s in zip(parts, d["split"]) if s.get("use") == cert["theorem"].get("id")]
    if len(own) != 1:
        raise Fail("delta.split has no single entry whose use is the theorem's id")
    if "delta" in cert["inputs"]:  # the theorem's own delta (a PAC-Bayes split also spends one on Monte Carlo)
        rec = cert["inputs"]["delta"]
        if not (_fraction(rec.get("lo"), "input delta lo") <= own[0] <= _fraction(rec.get("hi"), "input delta hi")):
            raise Fail("input delta does not enclose " + (f"delta.total={d['total']}" if own[0] == total else
                       f"the theorem's delta {own[0]} (delta.total={d['total']})"))


def _check_sample_size(cert: dict[str, Any]) -> None:
    """A data-sourced ``m`` must be the recorded number of examples ``data.n``."""
    rec, n = cert["inputs"].get("m"), cert["data"].get("n")
    if isinstance(rec, dict) and rec.get("source") == "data" and n is not None:
        if not (_fraction(rec.get("lo"), "input m lo") == _fraction(rec.get("hi"), "input m hi") == n):
            raise Fail(f"input m is not data.n={n!r}")


def _check_result(cert: dict[str, Any], got: Iv) -> None:
    res = cert["result"]
    for key, up in (("lo", False), ("hi", True), ("lo_exact", False), ("hi_exact", True)):
        if key not in res and key in ("lo", "hi"):
            raise Fail(f"result.{key} is missing")
        if key in res:
            claimed = _fraction(res[key], f"result.{key}")
            proven = _fraction_of(got.hi if up else got.lo)
            if (up and claimed < proven) or (not up and claimed > proven):
                raise Fail(f"result.{key}={res[key]} is not {'above' if up else 'below'} the proven enclosure end "
                           f"{libmp.to_str(got.hi if up else got.lo, 17)} of the statement")


def _check_files(cert: dict[str, Any], files: dict[str, str]) -> None:
    for what, path in files.items():
        want = cert[what].get("file_sha256")
        if want is None:
            raise Fail(f"--{what} given but the certificate records no {what}.file_sha256")
        h = hashlib.sha256()
        try:
            with open(path, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    h.update(block)
        except OSError as exc:
            raise Fail(f"{what} file {path!r} cannot be read ({exc.strerror})") from None
        if h.hexdigest() != want:
            raise Fail(f"sha256 of {what} file {path!r} is not {what}.file_sha256")


def check(cert: Any, *, model: str | None = None, data: str | None = None) -> CheckResult:
    """Check a certificate (a dict, or a path to its JSON); returns the verdict and the first failing step."""
    try:
        if isinstance(cert, (str, bytes)) or hasattr(cert, "__fspath__"):
            try:
                with open(cert, encoding="utf-8") as fh:
                    cert = json.load(fh)
            except (OSError, ValueError) as exc:
                raise Fail(f"certificate cannot be read as JSON ({exc})") from None
        _check_structure(cert)
        _check_hypotheses(cert)
        _check_delta(cert)
        _check_sample_size(cert)
        for prec in PRECISIONS:
            try:
                got = evaluate(cert, prec)
                break
            except Precision as exc:
                if prec == PRECISIONS[-1]:
                    raise Fail(f"statement: {exc}") from None
        _check_result(cert, got)
        _check_claim(cert)
        _check_files(cert, {k: v for k, v in (("model", model), ("data", data)) if v is not None})
    except Fail as exc:
        return CheckResult(False, str(exc))
    except (KeyError, TypeError, ValueError, AttributeError, RecursionError, ArithmeticError) as exc:
        return CheckResult(False, f"malformed certificate ({type(exc).__name__}: {exc})")
    return CheckResult(True)


def main(argv: list[str] | None = None) -> int:
    """``python -m certify.checker.core CERT [--model FILE] [--data FILE]``: prints the verdict, exit 0 or 1."""
    p = argparse.ArgumentParser(prog="certify check")
    for name in ("cert", "--model", "--data"):
        p.add_argument(name)
    args = p.parse_args(argv)
    print((r := check(args.cert, model=args.model, data=args.data)).verdict)
    return 0 if r.ok else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
