"""Hutchinson's trace estimator for a float64 symmetric operator, with a confidence interval of stated delta.

Operator model: as in :mod:`kernels._lanczos`, the vector ``matvec(v)`` returns is taken to be exactly ``A v`` for a
symmetric matrix ``A`` (for a float64 Hessian-vector product: the float64 operator, not the real Hessian).

Estimator (Hutchinson 1990): ``tr(A) ~ (1/N) sum_j v_j^T A v_j`` with ``v_j`` i.i.d. Rademacher in ``{-1, 1}^d``.

Confidence interval (Theorem, proven below; holds with probability ``>= 1 - delta_trace - delta_frobenius`` over the
draws of ``v_1..v_N``):

1. *Frobenius step* (Maurer 2003, "A bound on the deviation probability for sums of non-negative random variables",
   JIPAM 4(1), Thm 1: ``P(E S - S >= t) <= exp(-t^2 / (2 sum E X_j^2))`` for independent ``X_j >= 0``). With
   ``Y_j = ||A v_j||^2 = v_j^T A^2 v_j >= 0``, ``E Y = tr(A^2) = ||A||_F^2 =: mu`` and
   ``E Y^2 = mu^2 + 2 sum_{a != b} (A^2)_ab^2 <= 3 mu^2`` (``||C||_F <= tr C`` for ``C = A^2 >= 0``), so with
   ``eps = sqrt(6 ln(1/delta_frobenius) / N) < 1``: ``mu <= mean(Y) / (1 - eps)`` with probability
   ``>= 1 - delta_frobenius``.
2. *Trace step* (Bonami's hypercontractive inequality, O'Donnell, *Analysis of Boolean Functions*, 2014, Thm 9.21:
   ``||f||_q <= (q - 1)^{k/2} ||f||_2`` for a degree-``k`` polynomial of Rademacher variables, ``q >= 2``). The error
   ``X = mean_j v_j^T A v_j - tr(A) = (1/N) sum_j sum_{a != b} A_ab v_ja v_jb`` is a degree-2 polynomial of the
   ``N d`` signs with ``||X||_2^2 = 2 ||offdiag(A)||_F^2 / N <= 2 mu / N``. Markov's inequality on ``|X|^q`` gives
   ``P(|X| >= (q - 1) delta_trace^{-1/q} ||X||_2) <= delta_trace``; ``q`` is the minimiser over ``{2, 2.25, ..., 40}``
   of ``(q - 1) delta_trace^{-1/q}`` (it depends on ``delta_trace`` only, not on the draws).

Union of the two events: ``|mean - tr(A)| <= c(delta_trace) sqrt(2 mean(Y) / ((1 - eps) N))``.

Rounding model: the signs are exact, so each ``v^T z`` is an exact sum of floats, enclosed by ``math.fsum`` (correctly
rounded) and one ``nextafter`` each way; ``||z||^2`` from :func:`kernels._rounding.sumsq_bounds`; means and the
half-width with directed scalar steps; ``c(delta)`` and ``ln(1/delta)`` by mpmath at 100 bits, assumed within
``2^20`` ulps (as :mod:`kernels._gaussian_kl`), widened by ``2^-78`` relative and rounded up. ``delta`` is the float
given (exactly a binary number).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import mpmath
import numpy as np

from boundcert.errors import InvalidInput
from kernels._lanczos import Matvec, apply_operator, as_operator
from kernels._rounding import (
    add_up, div_down, div_up, fsum_down, fsum_up, mul_up, sqrt_up, sub_down, sumsq_bounds, up,
)
from kernels._validation import check_int, make_rng

__all__ = ["TraceInterval", "hutchinson_trace", "trace_half_width_factor", "MIN_SAMPLES_NOTE"]

MIN_SAMPLES_NOTE = "N > 6 ln(1/delta_frobenius) samples are needed (Frobenius step)"
_Q_GRID = tuple(2.0 + 0.25 * i for i in range(153))  # 2, 2.25, ..., 40


@dataclass(frozen=True, slots=True)
class TraceInterval:
    """A confidence interval for ``tr(A)`` of the float64 operator: ``lo <= tr(A) <= hi`` with probability
    ``>= 1 - delta`` over the Rademacher draws (module docstring: the inequality and its two steps).

    Attributes:
        lo, hi: the interval ends (floats, rounded outward).
        delta: total failure probability, ``delta_trace + delta_frobenius``.
        delta_trace, delta_frobenius: the split between the two steps.
        trace_estimate: the plain Hutchinson mean (float; a measure, not a bound).
        frobenius_sq_upper: the step-1 upper confidence bound on ``||A||_F^2``.
        half_width: the proven half-width around the enclosed mean.
        q: the moment order used in step 2.
        n_samples: ``N``; inequality: the name of the inequality, for reports.
    """

    lo: float
    hi: float
    delta: float
    delta_trace: float
    delta_frobenius: float
    trace_estimate: float
    frobenius_sq_upper: float
    half_width: float
    q: float
    n_samples: int
    inequality: str = "Bonami hypercontractivity (degree-2 Rademacher chaos) + Maurer (Frobenius norm)"

    def contains(self, x: float) -> bool:
        return self.lo <= x <= self.hi


def _up100(value: mpmath.mpf) -> float:
    """A float upper bound of an mpmath value computed at 100 bits (2^20-ulp assumption, 2^-78 relative margin)."""
    x = value * (1 + mpmath.mpf(2) ** -78) if value >= 0 else value * (1 - mpmath.mpf(2) ** -78)
    return up(float(x))


def trace_half_width_factor(delta_trace: float) -> tuple[float, float]:
    """``(c, q)``: an upper bound of ``min_q (q - 1) delta_trace^{-1/q}`` over the fixed grid, and its ``q``."""
    best_q = min(_Q_GRID, key=lambda q: (q - 1.0) * math.exp(-math.log(delta_trace) / q))
    with mpmath.workprec(100):
        c = (mpmath.mpf(best_q) - 1) * mpmath.exp(-mpmath.log(mpmath.mpf(delta_trace)) / mpmath.mpf(best_q))
        return _up100(c), best_q


def _check_delta(name: str, value: object) -> float:
    if not (isinstance(value, (int, float)) and not isinstance(value, bool) and 0.0 < float(value) < 1.0):
        raise InvalidInput(f"{name}={value!r} must lie strictly between 0 and 1, e.g. 0.05")
    return float(value)


def hutchinson_trace(A: Matvec | np.ndarray, dim: int | None = None, n_samples: int = 100, *, delta: float = 0.05,
                     trace_share: float = 0.5, seed: int = 0) -> TraceInterval:
    """Hutchinson's estimate of ``tr(A)`` and its confidence interval at ``1 - delta`` (module docstring).

    Args:
        A: an exactly symmetric float64 matrix (its product errors are paid: ``|v^T (A v - fl(A v))| <= ||v|| e``,
            ``||A v|| <= ||fl(A v)|| + e`` with ``e`` from :class:`kernels._lanczos.Operator`), or ``matvec``:
            ``v -> A v`` on float64 vectors of length ``dim`` (one application per sample).
        dim: the dimension (needed with a callable); n_samples: ``N`` Rademacher vectors.
        delta: total failure probability in (0, 1); ``trace_share`` of it goes to the trace step, the rest to the
            Frobenius step.
        seed: the Rademacher draws (``numpy.random.default_rng(seed)``).
    Raises:
        InvalidInput: bad sizes or delta, too few samples for the Frobenius step, a bad ``matvec``.
    """
    op = as_operator(A, dim)
    matvec, dim = op.matvec, op.dim
    z_err = op.err(sqrt_up(float(dim)))  # ||v|| = sqrt(dim) for a sign vector
    n = check_int("n_samples", n_samples, 2)
    delta = _check_delta("delta", delta)
    share = _check_delta("trace_share", trace_share)
    d_t = delta * share
    d_f = float(np.nextafter(delta - d_t, 0.0))  # d_t + d_f <= delta despite the rounding of the subtraction
    if d_f <= 0.0 or Fraction(d_t) + Fraction(d_f) > Fraction(delta):
        raise InvalidInput(f"delta={delta!r} cannot be split with trace_share={share!r}: choose a share in (0, 1)")
    with mpmath.workprec(100):
        eps2 = _up100(6 * mpmath.log(1 / mpmath.mpf(d_f)) / n)
    eps = sqrt_up(eps2)
    if not eps < 1.0:
        need = math.ceil(6 * math.log(1 / d_f)) + 1
        raise InvalidInput(f"n_samples={n} is too few for delta={delta!r}: {MIN_SAMPLES_NOTE}; give n_samples >= "
                           f"{need}")
    rng = make_rng(seed)
    s_lo, s_hi, y_hi, plain = [], [], [], []
    for _ in range(n):
        v = rng.integers(0, 2, size=dim).astype(np.float64) * 2.0 - 1.0
        z = apply_operator(matvec, v, dim)
        prod = v * z  # exact: v_i = +-1
        s_err = mul_up(sqrt_up(float(dim)), z_err)
        s_lo.append(sub_down(fsum_down(prod), s_err))
        s_hi.append(add_up(fsum_up(prod), s_err))
        plain.append(math.fsum(prod.tolist()))
        z_hi = sqrt_up(sumsq_bounds(z)[1])
        y_hi.append(mul_up(add_up(z_hi, z_err), add_up(z_hi, z_err)))
    mean_lo = div_down(fsum_down(np.asarray(s_lo)), float(n))
    mean_hi = div_up(fsum_up(np.asarray(s_hi)), float(n))
    ybar_hi = div_up(fsum_up(np.asarray(y_hi)), float(n))
    mu_hi = div_up(ybar_hi, sub_down(1.0, eps))
    c, q = trace_half_width_factor(d_t)
    h = mul_up(c, sqrt_up(div_up(mul_up(2.0, mu_hi), float(n))))
    return TraceInterval(lo=sub_down(mean_lo, h), hi=add_up(mean_hi, h), delta=delta,
                         delta_trace=d_t, delta_frobenius=d_f, trace_estimate=math.fsum(plain) / n,
                         frobenius_sq_upper=mu_hi, half_width=h, q=q, n_samples=n)

