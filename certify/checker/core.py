"""The independent certificate checker: standard library + mpmath only (no torch, numpy, sympy, theorems, kernels).

Like a SAT proof checker, it does not search: it re-checks the steps a certificate gives. It verifies, in order,

1. ``format_version`` is 1 and the required fields are present;
2. every hypothesis has a status (``checked`` or ``assumed``);
3. the confidence matches delta: ``delta.total`` is a decimal in (0, 1), the split spends exactly ``delta.total``,
   the ``delta`` input's enclosure contains it (or, when the split has several steps, the entry whose ``use`` is
   the theorem's id), and a claim with a confidence names ``1 - delta.total``; a
   data-sourced ``m`` equals ``data.n``;
4. the statement tree, re-evaluated from the recorded input enclosures with its own outward-rounded interval
   arithmetic, gives an interval contained in the claimed result ``[lo, hi]`` (decimal and exact ends);
   special functions are *verified, not recomputed*: each ``kl_inv`` / ``binom_tail_inv`` node takes the next
   recorded witness bracket ``[a, b]`` after proving that it encloses the node's range (see :func:`_verify_kl_inv`,
   :func:`_verify_binom`);
5. the sha256 of the model and data files, when given, equals ``model.file_sha256`` / ``data.file_sha256``.

A claimed result wider than proven (a larger ``hi``) is a weaker true claim and is accepted; a narrower one is
rejected. ``--recompute`` (``certify.checker.recompute``, which imports the library) re-derives the quantities.

Rounding model (independent re-implementation of the one in ``theorems._rounding``):

* numbers are ``mpmath.libmp`` raw binary floats; inputs are exact (hex ``0xMANpEXP`` parsed to ``MAN * 2^EXP``
  exactly; decimals and rationals enclosed by ``from_rational`` rounded floor / ceiling);
* ``+ - * /``: libmp with ``round_floor`` for the low end and ``round_ceiling`` for the high end (exact integer
  arithmetic, so correct);
* ``exp``/``log``: mpmath's transcendental functions do NOT honour directed rounding, so they are evaluated at
  ``prec + 40`` bits (round to nearest), then widened by the relative factor ``1 +- 2^-(prec + 20)`` and rounded
  outward at ``prec`` bits. The one assumption: mpmath is accurate to within 2^20 ulps at the working precision;
* ``sqrt``: candidate ends proven by exact squaring (moved by an ulp until ``lo^2 <= x <= hi^2``);
* integer powers: repeated outward-rounded multiplication; other powers ``exp(e log b)`` for ``b > 0``;
* ``pi``: from its first 40 correct decimals; ``e`` as ``exp(1)`` above.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from mpmath import libmp
from mpmath.libmp import round_ceiling as UP
from mpmath.libmp import round_floor as DOWN
from mpmath.libmp import round_nearest as NEAR

__all__ = ["CheckResult", "check", "check_file", "main"]

FORMAT_VERSION = 1
GUARD, SLACK = 40, 20
PRECISIONS = (256, 1024, 4096)
_ZERO, _ONE = libmp.fzero, libmp.fone
_HEX = re.compile(r"^(-?)0x([0-9a-f]+)p(-?[0-9]+)$")
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
    """A step that might verify at a higher precision (an interval touches a singularity through rounding, or a
    witness sits closer to the exact inverse than the rounding at this precision)."""


# ---------------------------------------------------------------- exact intake
def parse_number(text: object, what: str) -> tuple[Fraction | None, tuple | None]:
    """An exact number: hex float -> raw mpf (exact); decimal or ``P/Q`` -> Fraction."""
    if not isinstance(text, str):
        raise Fail(f"{what}={text!r} is not a string number")
    m = _HEX.match(text)
    if m:
        man, exp = int(m.group(2), 16), int(m.group(3))
        if abs(exp) > 1 << 20 or man.bit_length() > 1 << 16:
            raise Fail(f"{what}={text[:40]!r}... is out of the range a certificate may use")
        return None, libmp.from_man_exp(-man if m.group(1) else man, exp)
    try:
        return Fraction(text), None
    except (ValueError, ZeroDivisionError):
        raise Fail(f"{what}={text!r} is not an exact number") from None


def _fraction(text: object, what: str) -> Fraction:
    f, raw = parse_number(text, what)
    if f is not None:
        return f
    man, exp = libmp.to_man_exp(raw) if raw != _ZERO else (0, 0)
    return Fraction(man) * (Fraction(2) ** exp)


class Iv:
    """A closed interval ``[lo, hi]`` of raw mpf ends; every operation rounds outward at ``prec`` bits."""

    __slots__ = ("lo", "hi", "prec")

    def __init__(self, lo: tuple, hi: tuple, prec: int) -> None:
        if libmp.mpf_cmp(lo, hi) > 0 or lo == libmp.fnan or hi == libmp.fnan:
            raise Fail("an interval has lo > hi")
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
    best = xs[0]
    for x in xs[1:]:
        c = libmp.mpf_cmp(x, best)
        if (pick is min and c < 0) or (pick is max and c > 0):
            best = x
    return best


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
    p = x.prec
    lo = _widen(libmp.mpf_exp(x.lo, p + GUARD, NEAR), p, False)
    return Iv(_ZERO if lo[0] == 1 else lo, _widen(libmp.mpf_exp(x.hi, p + GUARD, NEAR), p, True), p)


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
        if f.denominator == 1:
            n = int(f)
            return Iv.frac(Fraction(1), b.prec) / _pow_int(b, -n) if n < 0 else _pow_int(b, n)
        if f == Fraction(1, 2):
            return isqrt(b)
    return iexp(e * ilog(b))


def _fraction_of(raw: tuple) -> Fraction:
    if raw == _ZERO:
        return Fraction(0)
    man, exp = libmp.to_man_exp(raw)
    return Fraction(man) * Fraction(2) ** exp


def ipi(prec: int) -> Iv:
    lo = libmp.from_rational(_PI_LO.numerator, _PI_LO.denominator, prec, DOWN)
    hi_f = _PI_LO + Fraction(1, 10**40)
    return Iv(lo, libmp.from_rational(hi_f.numerator, hi_f.denominator, prec, UP), prec)


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
            if t["const"] == "pi":
                return ipi(self.prec)
            if t["const"] == "e":
                return iexp(Iv(_ONE, _ONE, self.prec))
            raise Fail(f"unknown constant {t['const']!r}")
        op, args = t.get("op"), [self.eval(a) for a in t.get("args", [])]
        return self._apply(op, args)

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
        if op == "/":
            return a[0] / a[1]
        if op == "pow":
            return ipow(a[0], a[1])
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


def evaluate(cert: dict[str, Any], prec: int) -> Iv:
    """The statement tree at the recorded input enclosures, with witnesses verified (raises :class:`Fail`)."""
    inputs = {}
    for name, rec in cert["inputs"].items():
        if not isinstance(rec, dict):
            raise Fail(f"input {name!r} is not an object")
        inputs[name] = Iv(Iv.of(rec.get("lo"), prec, f"input {name} lo").lo,
                          Iv.of(rec.get("hi"), prec, f"input {name} hi").hi, prec)
    ev = _Evaluator(inputs, list(cert.get("witnesses", [])), prec)
    out = ev.eval(cert["theorem"]["statement_tree"])
    if ev.used != len(ev.witnesses):
        raise Fail(f"{len(ev.witnesses) - ev.used} witnesses left unused")
    return out


# ---------------------------------------------------------------- the steps
_REQUIRED = ("format_version", "claim", "theorem", "inputs", "hypotheses", "model", "data", "delta", "result")


def _check_structure(cert: Any) -> None:
    if not isinstance(cert, dict):
        raise Fail("the certificate is not a JSON object")
    if cert.get("format_version") != FORMAT_VERSION:
        raise Fail(f"format_version={cert.get('format_version')!r} (this checker reads {FORMAT_VERSION})")
    missing = [k for k in _REQUIRED if k not in cert]
    if missing:
        raise Fail(f"missing field(s) {', '.join(missing)}")
    if not isinstance(cert["theorem"], dict) or "statement_tree" not in cert["theorem"]:
        raise Fail("theorem.statement_tree is missing")
    if not isinstance(cert["inputs"], dict):
        raise Fail("inputs is not an object")


def _check_hypotheses(cert: dict[str, Any]) -> None:
    hyps = cert["hypotheses"]
    if not isinstance(hyps, list):
        raise Fail("hypotheses is not a list")
    for h in hyps:
        if not isinstance(h, dict) or h.get("status") not in ("checked", "assumed") or not h.get("name"):
            raise Fail(f"hypothesis {h!r} has no name or no status checked/assumed")


def _check_delta(cert: dict[str, Any]) -> None:
    d = cert["delta"]
    if not isinstance(d, dict) or not isinstance(d.get("split"), list):
        raise Fail("delta has no total and split")
    total = _fraction(d.get("total"), "delta.total")
    if not 0 < total < 1:
        raise Fail(f"delta.total={d.get('total')!r} is not in (0, 1)")
    spent = sum((_fraction(s.get("delta") if isinstance(s, dict) else None, "delta.split") for s in d["split"]),
                Fraction(0))
    if spent != total:
        raise Fail(f"delta split spends {spent}, not delta.total={d['total']}")
    if "delta" in cert["inputs"]:
        # the theorem's own delta: the split entry used by the theorem when the budget is split over several steps
        # (e.g. a PAC-Bayes bound plus its Monte Carlo kl bound), else the total
        own = [s for s in d["split"] if isinstance(s, dict) and s.get("use") == cert["theorem"].get("id")]
        want = _fraction(own[0].get("delta"), "delta.split") if len(own) == 1 and len(d["split"]) > 1 else total
        rec = cert["inputs"]["delta"]
        if not (_fraction(rec.get("lo"), "input delta lo") <= want <= _fraction(rec.get("hi"), "input delta hi")):
            if want == total:
                raise Fail(f"input delta does not enclose delta.total={d['total']}")
            raise Fail(f"input delta does not enclose the theorem's delta {want} (delta.total={d['total']})")
    if cert["theorem"].get("confidence_tree") is not None and f"1 - {d['total']}" not in str(cert["claim"]):
        raise Fail(f"the claim does not state the confidence 1 - {d['total']}")


def _check_sample_size(cert: dict[str, Any]) -> None:
    """A data-sourced ``m`` must be the recorded number of examples ``data.n``."""
    rec, n = cert["inputs"].get("m"), cert["data"].get("n") if isinstance(cert["data"], dict) else None
    if isinstance(rec, dict) and rec.get("source") == "data" and n is not None:
        if not (_fraction(rec.get("lo"), "input m lo") == _fraction(rec.get("hi"), "input m hi") == n):
            raise Fail(f"input m is not data.n={n!r}")


def _check_result(cert: dict[str, Any], got: Iv) -> None:
    res = cert["result"]
    if not isinstance(res, dict):
        raise Fail("result is not an object")
    for key, up in (("lo", False), ("hi", True), ("lo_exact", False), ("hi_exact", True)):
        if key not in res and key in ("lo", "hi"):
            raise Fail(f"result.{key} is missing")
        if key in res:
            claimed = _fraction(res[key], f"result.{key}")
            proven = _fraction_of(got.hi if up else got.lo)
            if (up and claimed < proven) or (not up and claimed > proven):
                side = "above" if up else "below"
                raise Fail(f"result.{key}={res[key]} is not {side} the proven enclosure end "
                           f"{float(proven)!r} of the statement")


def _check_files(cert: dict[str, Any], files: dict[str, str]) -> None:
    for what, path in files.items():
        want = cert[what].get("file_sha256") if isinstance(cert[what], dict) else None
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
        _check_files(cert, {k: v for k, v in (("model", model), ("data", data)) if v is not None})
    except Fail as exc:
        return CheckResult(False, str(exc))
    except (KeyError, TypeError, ValueError, AttributeError, RecursionError) as exc:
        return CheckResult(False, f"malformed certificate ({type(exc).__name__}: {exc})")
    return CheckResult(True)


def check_file(path: str, **files: str | None) -> CheckResult:
    return check(path, **files)


def main(argv: list[str] | None = None) -> int:
    """``python -m certify.checker.core CERT [--model FILE] [--data FILE]``: prints the verdict, exit 0 or 1."""
    import argparse

    p = argparse.ArgumentParser(prog="certify check")
    p.add_argument("cert")
    p.add_argument("--model")
    p.add_argument("--data")
    args = p.parse_args(argv)
    r = check(args.cert, model=args.model, data=args.data)
    print(r.verdict)
    return 0 if r.ok else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
