"""Rigorous special functions of learning theory: the binary kl, its upper inverse, and the binomial tail inversion.

Both inverses follow one pattern: a fast non-rigorous guess (floats / scipy), then a bracket ``[a, b]`` whose two
defining facts are *proven* in interval arithmetic, then (only if the guess was off) bisection that keeps both facts
proven. The returned interval is that bracket, so its upper end is a valid upper bound by construction:

* ``kl_inv(q, c) = sup{p in [q, 1] : kl(q || p) <= c}``. ``a`` satisfies ``kl(q||a) <= c`` (so ``a <= kl_inv``) and
  ``b`` satisfies ``kl(q||b) > c`` or ``b = 1`` (so ``b >= kl_inv``, since ``p -> kl(q||p)`` increases on ``[q, 1]``).
  Monotone in both arguments (``d kl(q||p) / dq < 0`` for ``p > q``), so interval arguments use their endpoints.
* ``binom_tail_inv(m, k, delta) = max{p in [0,1] : Bin(m, k, p) >= delta}`` with
  ``Bin(m, k, p) = sum_{j<=k} C(m,j) p^j (1-p)^(m-j)`` (Langford 2005, Def. 3.2), decreasing in ``p``.
  ``a`` has ``Bin(m,k,a) >= delta`` proven, ``b`` has ``Bin(m,k,b) < delta`` proven (or ``b = 1``).

Rounding model: kl and the binomial tail are evaluated by :mod:`mpmath.iv` at ``prec`` bits with outward rounding;
the tail's terms come from the exact recurrence ``t_j = t_{j-1} (m-j+1)/j * p/(1-p)``; logarithms and powers use
the directed rounding of :mod:`theorems._rounding` (never mpmath's own ``iv.log``/``**``, which can round the wrong
way). Precision is raised when the inputs need it (tiny ``c``). References: J. Langford, "Tutorial on practical prediction theory for
classification", JMLR 6 (2005); A. Maurer, "A note on the PAC Bayesian theorem" (2004).
"""

from __future__ import annotations

import math
from typing import Callable

import mpmath
from mpmath import iv, libmp

from boundcert.errors import InvalidInput
from theorems._interval import Interval, _exact_mpf, enclose, prec, working_precision
from theorems._rounding import iv_log, iv_pow_int

__all__ = ["kl", "kl_inv", "binom_tail", "binom_tail_inv", "KL_INV_RTOL"]

#: Target relative width of the inverses' brackets (the acceptance asks for <= 1e-12).
KL_INV_RTOL = 1e-14

_ONE = _exact_mpf(1)
_ZERO = _exact_mpf(0)


def _mk(raw: tuple) -> mpmath.mpf:
    return mpmath.mp.make_mpf(raw)


def _scale(x: mpmath.mpf, factor: float, up: bool) -> mpmath.mpf:
    """``x * factor`` rounded up or down at 80 bits (used only to place bracket candidates)."""
    rnd = libmp.round_ceiling if up else libmp.round_floor
    return _mk(libmp.mpf_mul(x._mpf_, libmp.from_float(factor), 80, rnd))


def _midpoint(a: mpmath.mpf, b: mpmath.mpf) -> mpmath.mpf:
    return _mk(libmp.mpf_shift(libmp.mpf_add(a._mpf_, b._mpf_, 200, libmp.round_nearest), -1))


def _kl_point(q: mpmath.mpf, p: mpmath.mpf) -> "iv.mpf":
    """``kl(q || p)`` for exact points ``0 <= q <= 1``, ``0 <= p <= 1``, as an ``iv`` interval (``+inf`` allowed)."""
    qi, pi_ = iv.mpf([q, q]), iv.mpf([p, p])
    total = iv.mpf(0)
    if q > 0:
        if p == 0:
            return iv.mpf([mpmath.inf, mpmath.inf])
        total = total + qi * iv_log(qi / pi_, iv.prec)
    if q < 1:
        if p == 1:
            return iv.mpf([mpmath.inf, mpmath.inf])
        one_q = iv.mpf(1) - qi
        total = total + one_q * iv_log(one_q / (iv.mpf(1) - pi_), iv.prec)
    return total


def kl(q: object, p: object) -> Interval:
    """Binary KL divergence ``kl(q||p) = q ln(q/p) + (1-q) ln((1-q)/(1-p))`` (``0 ln 0 = 0``) for points in [0, 1]."""
    qq, pp = enclose(q, name="q"), enclose(p, name="p")
    if not (qq.is_point and pp.is_point):
        raise InvalidInput("kl(q, p) takes exact points: pass numbers, not intervals")
    with working_precision(prec()):
        r = _kl_point(qq.lo, pp.lo)
        return Interval(_mk(r._mpi_[0]), _mk(r._mpi_[1]))


def _bracket(
    in_set: Callable[[mpmath.mpf], bool],
    above: Callable[[mpmath.mpf], bool],
    a: mpmath.mpf,
    b: mpmath.mpf,
    guess: float | None,
    rtol: float,
) -> tuple[mpmath.mpf, mpmath.mpf]:
    """Shrink ``[a, b]`` (``in_set(a)`` and ``above(b)`` already known) around the sup of a down-closed set.

    ``in_set(p)`` must return True only when ``p <= sup`` is proven; ``above(p)`` only when ``p > sup`` is proven.
    Tries ``guess * (1 -/+ eps)`` first, then bisects; stops at relative width ``rtol`` or when neither fact can
    be proven at a midpoint (precision exhausted), always returning a proven bracket.
    """
    if guess is not None and math.isfinite(guess) and guess > 0:
        g = _exact_mpf(float(guess))
        for eps in (4 * rtol / 16, rtol, 1e-11, 1e-8, 1e-5):
            lo_c, hi_c = _scale(g, 1 - eps, up=False), _scale(g, 1 + eps, up=True)
            if a < lo_c < b and in_set(lo_c):
                a = lo_c
            if a < hi_c < b and above(hi_c):
                b = hi_c
            if b - a <= rtol * b:
                return a, b
    for _ in range(400):
        if b - a <= rtol * b:
            break
        if a > 0 and b > 16 * a:
            mid = _mk(libmp.mpf_sqrt(libmp.mpf_mul(a._mpf_, b._mpf_), 80))  # geometric: fast for tiny roots
        else:
            mid = _midpoint(a, b)
        if not (a < mid < b):
            break
        if in_set(mid):
            a = mid
        elif above(mid):
            b = mid
        else:
            break  # the defining inequality cannot be decided at this precision: keep the proven bracket
    return a, b


def _float_kl(q: float, p: float) -> float:
    out = 0.0
    if q > 0:
        out += q * math.log(q / p)
    if q < 1:
        out += (1 - q) * math.log((1 - q) / (1 - p))
    return out


def _kl_inv_guess(q: float, c: float) -> float | None:
    """Float bisection for ``kl_inv(q, c)``: a guess only (no rounding control); closed form at ``q = 0``."""
    if not (0 <= q < 1 and math.isfinite(c)):
        return None
    if q == 0:
        return -math.expm1(-c)  # kl(0||p) = -ln(1-p)
    lo, hi = q, 1.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        try:
            val = _float_kl(q, mid)
        except (ValueError, ZeroDivisionError):
            return None
        lo, hi = (mid, hi) if val <= c else (lo, mid)
    return 0.5 * (lo + hi)


#: cost bounds (refused, never computed): working bits of one kl inversion, terms of one binomial tail sum, and the
#: sample size of a tail (the checker refuses beyond the same k and m)
MAX_KL_BITS, MAX_TAIL_TERMS, MAX_TAIL_M = 20000, 100000, 2**64


def _prec_for(c: mpmath.mpf) -> int:
    """Working bits so that kl's absolute rounding error (~2^-prec) stays far below ``c``."""
    if c <= 0:
        return prec()
    bits_of_c = -int(mpmath.floor(mpmath.log(c, 2))) if c < 1 else 0
    if 64 + 2 * bits_of_c > MAX_KL_BITS:
        raise InvalidInput(f"kl_inv: the budget c={mpmath.nstr(c, 5)} is below 2^-{(MAX_KL_BITS - 64) // 2}: inverting "
                           f"kl that finely would need more than {MAX_KL_BITS} bits (cost bound); check m and delta")
    return max(prec(), 64 + 2 * bits_of_c)


def _kl_inv_point(q: mpmath.mpf, c: mpmath.mpf, rtol: float) -> tuple[mpmath.mpf, mpmath.mpf]:
    """Proven bracket ``[a, b]`` of ``kl_inv`` at exact points ``q in [0,1]``, ``c >= 0``."""
    if q >= 1 or mpmath.isinf(c):
        return _ONE, _ONE
    if c == 0:
        return q, q
    with working_precision(_prec_for(c)):
        cc = iv.mpf([c, c])

        def in_set(p: mpmath.mpf) -> bool:
            return bool(_kl_point(q, p).b <= cc.a)

        def above(p: mpmath.mpf) -> bool:
            return p >= 1 or bool(_kl_point(q, p).a > cc.b)

        guess = _kl_inv_guess(float(q), float(c))
        return _bracket(in_set, above, q, _ONE, guess, rtol)


def kl_inv(q: object, c: object, *, rtol: float = KL_INV_RTOL) -> Interval:
    """Upper inverse of the binary kl: an enclosure of ``sup{p in [q, 1] : kl(q||p) <= c}``.

    Args:
        q: empirical risk in [0, 1] (number or interval).
        c: the kl budget, >= 0 (number or interval).
    Returns:
        ``[a, b]`` with ``kl(q_lo||a) <= c_lo`` and (``kl(q_hi||b) > c_hi`` or ``b = 1``) proven in interval
        arithmetic, relative width <= ``rtol`` unless the precision limit is reached.
    """
    qq, cc = enclose(q, name="q"), enclose(c, name="c")
    if qq.lo < 0 or qq.hi > 1:
        raise InvalidInput(f"kl_inv: q={qq!r} must lie in [0, 1]")
    if cc.lo < 0:
        raise InvalidInput(f"kl_inv: c={cc!r} must be >= 0")
    if qq.is_point and cc.is_point:
        a, b = _kl_inv_point(qq.lo, cc.lo, rtol)
    else:
        a, _ = _kl_inv_point(qq.lo, cc.lo, rtol)
        _, b = _kl_inv_point(qq.hi, cc.hi, rtol)
    return Interval(a, b)


def _tail_point(m: int, k: int, p: mpmath.mpf) -> "iv.mpf":
    """``Bin(m, k, p) = P[Binomial(m, p) <= k]`` as an ``iv`` interval, for an exact point ``p`` in [0, 1]."""
    if k >= m or p == 0:
        return iv.mpf(1)
    if p == 1:
        return iv.mpf(0)
    pi_ = iv.mpf([p, p])
    one_p = iv.mpf(1) - pi_
    ratio = pi_ / one_p
    term = iv_pow_int(one_p, m)
    total = term
    for j in range(1, k + 1):
        term = term * ratio * iv.mpf(m - j + 1) / iv.mpf(j)
        total = total + term
    return iv.mpf([max(total.a, 0), min(total.b, 1)])


def binom_tail(m: int, k: int, p: object) -> Interval:
    """Enclosure of ``P[Binomial(m, p) <= k]`` at an exact point ``p`` (Langford 2005, Def. 3.1)."""
    pp = enclose(p, name="p")
    if not pp.is_point:
        raise InvalidInput("binom_tail takes an exact point p")
    with working_precision(prec()):
        r = _tail_point(int(m), int(k), pp.lo)
        return Interval(_mk(r._mpi_[0]), _mk(r._mpi_[1]))


def _tail_guess(m: int, k: int, delta: float) -> float | None:
    try:
        from scipy.special import betaincinv

        # Bin(m, k, p) = I_{1-p}(m-k, k+1) = delta  <=>  1 - p = betaincinv(m-k, k+1, delta)
        return float(1.0 - betaincinv(m - k, k + 1, delta))
    except (ImportError, ArithmeticError, ValueError, TypeError):  # a guess only: a failure means bisection from scratch
        return None


def _binom_tail_inv_point(m: int, k: int, delta: mpmath.mpf, rtol: float) -> tuple[mpmath.mpf, mpmath.mpf]:
    if k >= m:
        return _ONE, _ONE
    with working_precision(prec()):
        d = iv.mpf([delta, delta])

        def in_set(p: mpmath.mpf) -> bool:
            return bool(_tail_point(m, k, p).a >= d.b)

        def above(p: mpmath.mpf) -> bool:
            return p >= 1 or bool(_tail_point(m, k, p).b < d.a)

        return _bracket(in_set, above, _ZERO, _ONE, _tail_guess(m, k, float(delta)), rtol)


def _as_count(x: object, name: str) -> int:
    v = enclose(x, name=name)
    if not v.is_point or v.lo != int(v.lo):
        raise InvalidInput(f"{name}={x!r} must be an exact integer")
    return int(v.lo)


def binom_tail_inv(m: object, k: object, delta: object, *, rtol: float = KL_INV_RTOL) -> Interval:
    """Langford's test-set bound ``max{p : Bin(m, k, p) >= delta}`` as a proven bracket.

    Args:
        m: number of held-out samples (integer >= 1).
        k: errors among them (integer, 0 <= k <= m).
        delta: confidence parameter in (0, 1) (number or interval).
    """
    mm, kk = _as_count(m, "m"), _as_count(k, "k")
    dd = enclose(delta, name="delta")
    if mm < 1 or not 0 <= kk <= mm:
        raise InvalidInput(f"binom_tail_inv: need m >= 1 and 0 <= k <= m, got m={mm}, k={kk}")
    if kk > MAX_TAIL_TERMS or mm >= MAX_TAIL_M:
        raise InvalidInput(f"binom_tail_inv: k={kk} or m={mm} is above the cost bound (k <= {MAX_TAIL_TERMS} tail "
                           "terms, m < 2^64): use test_set.kl_chernoff, whose cost does not grow with k")
    if dd.lo <= 0 or dd.hi >= 1:
        raise InvalidInput(f"binom_tail_inv: delta={dd!r} must lie in (0, 1)")
    # smaller delta -> larger set -> larger max: the upper end uses delta.lo, the lower end delta.hi
    if dd.is_point:
        a, b = _binom_tail_inv_point(mm, kk, dd.lo, rtol)
    else:
        a, _ = _binom_tail_inv_point(mm, kk, dd.hi, rtol)
        _, b = _binom_tail_inv_point(mm, kk, dd.lo, rtol)
    return Interval(a, b)
