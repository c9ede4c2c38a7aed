"""Linear relaxations of elementwise activations on a box ``[l, u]``, sound in real arithmetic with float parameters:
``ls * y + lb <= f(y) <= us * y + ub`` for every real ``y`` in ``[l, u]`` (``l``, ``u`` rigorous float ends).

* relu / leaky_relu (negative slope ``a`` in ``[0, 1]``) (Zhang et al. 2018, CROWN): stable neurons exactly;
  unstable ones the upper line through ``(l, a l)`` and ``(u, u)``, its slope rounded up from
  ``(u - a l) / (u - l)`` (numerator up, denominator down) and its offset ``l (a - s)`` rounded up, which keeps it
  above ``f`` at both ends, hence on ``[l, u]``; the lower line ``alpha y`` with any ``alpha`` in ``[a, 1]``
  (CROWN's adaptive choice ``1`` if ``u >= -l`` else ``a``, or the caller's optimised slopes, alpha-CROWN).
* sigmoid / tanh (monotone, ``f'`` unimodal with its maximum at 0): on ``[l, u]`` ``f' >= s := min(f'(l), f'(u))``,
  so ``f(l) + s (y - l) <= f(y) <= f(u) + s (y - u)``; ``s`` is a rigorous lower bound (``sigmoid' = sigma
  (1 - sigma)``, ``tanh' = 1 - tanh^2`` from the mpmath enclosures of
  :func:`kernels.network._transcendental.enclose_values`), the offsets ``f(l) - s l`` rounded down and
  ``f(u) - s u`` rounded up.
* identity: itself.

Any other activation is refused by name (:class:`boundcert.errors.InvalidInput`).
"""

from __future__ import annotations

import numpy as np

from boundcert.errors import InvalidInput
from kernels._rounding import vdown, vup
from kernels.network._transcendental import enclose_values

__all__ = ["RELAXED", "relax_activation", "default_alpha"]

#: activation kinds with a relaxation here
RELAXED = ("relu", "leaky_relu", "identity", "sigmoid", "tanh")


def _neg_slope(layer) -> float:
    a = 0.0 if layer.kind == "relu" else float(layer.slope)
    if not 0.0 <= a <= 1.0:
        raise InvalidInput(f"leaky_relu negative_slope={a!r}: bound propagation needs a slope in [0, 1]")
    return a


def default_alpha(layer, l: np.ndarray, u: np.ndarray) -> np.ndarray:
    """CROWN's adaptive lower slope: 1 where ``u >= -l``, else the negative slope."""
    a = _neg_slope(layer)
    return np.where(u >= -l, 1.0, a)


def relax_activation(layer, l: np.ndarray, u: np.ndarray,
                     alpha: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(ls, lb, us, ub)`` of the module docstring for the IR :class:`kernels.network.Activation` ``layer``."""
    kind = layer.kind
    if kind == "identity":
        one, zero = np.ones_like(l), np.zeros_like(l)
        return one, zero, one, zero
    if kind in ("relu", "leaky_relu"):
        return _piecewise_linear(_neg_slope(layer), l, u, alpha)
    if kind in ("sigmoid", "tanh"):
        return _sigmoid_like(kind, l, u)
    raise InvalidInput(f"activation {kind!r} has no linear relaxation in kernels.bounds (relaxed: "
                       f"{', '.join(RELAXED)}): use method='ibp'")


def _piecewise_linear(a: float, l: np.ndarray, u: np.ndarray, alpha: np.ndarray | None):
    live, dead = l >= 0, u <= 0
    unstable = ~(live | dead)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        num = vup(u - vdown(a * l) if a else u)  # u - a l, rounded up (a l rounded down)
        den = vdown(u - l)
        s = np.where(unstable, vup(num / den), 1.0)
        s = np.where(np.isfinite(s), s, 1.0)
        # offset l (a - s) rounded up: l < 0, so the product is largest at the smallest (a - s)
        ams_lo = vdown(a - s)
        off = np.where(unstable, vup(l * ams_lo), 0.0)
    if alpha is None:
        alpha = np.where(u >= -l, 1.0, a)
    alpha = np.clip(np.asarray(alpha, dtype=np.float64), a, 1.0)
    ls = np.where(live, 1.0, np.where(dead, a, alpha))
    us = np.where(live, 1.0, np.where(dead, a, s))
    zero = np.zeros_like(l)
    ub = np.where(unstable, off, zero)
    ub = np.where(np.isfinite(ub), ub, np.inf)
    return ls, zero, us, ub


def _values(kind: str, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rigorous ``(lo, hi)`` of ``f(y)`` at float points (``y`` finite)."""
    c, e = enclose_values(kind, y)
    return vdown(c - e), vup(c + e)


def _deriv_lower(kind: str, f_lo: np.ndarray, f_hi: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        if kind == "sigmoid":  # sigma (1 - sigma), both factors in [0, 1]
            d = vdown(np.maximum(f_lo, 0.0) * np.maximum(vdown(1.0 - f_hi), 0.0))
        else:  # 1 - tanh^2
            sq = vup(np.maximum(f_lo * f_lo, f_hi * f_hi))
            d = vdown(1.0 - sq)
    return np.maximum(np.where(np.isnan(d), 0.0, d), 0.0)


def _sigmoid_like(kind: str, l: np.ndarray, u: np.ndarray):
    big = 1e300
    lc, uc = np.clip(l, -big, big), np.clip(u, -big, big)
    fl_lo, fl_hi = _values(kind, lc)
    fu_lo, fu_hi = _values(kind, uc)
    lim = (0.0, 1.0) if kind == "sigmoid" else (-1.0, 1.0)
    fl_lo = np.where(np.isfinite(l), fl_lo, lim[0])
    fu_hi = np.where(np.isfinite(u), fu_hi, lim[1])
    s = np.minimum(_deriv_lower(kind, fl_lo, fl_hi), _deriv_lower(kind, fu_lo, fu_hi))
    s = np.where(np.isfinite(l) & np.isfinite(u), s, 0.0)
    with np.errstate(invalid="ignore", over="ignore"):
        lb = np.where(s > 0, vdown(fl_lo - vup(s * lc)), fl_lo)  # f(l) - s l, rounded down
        ub = np.where(s > 0, vup(fu_hi - vdown(s * uc)), fu_hi)  # f(u) - s u, rounded up
    lb = np.where(np.isnan(lb), lim[0], lb)
    ub = np.where(np.isnan(ub), lim[1], ub)
    return s, lb, s, ub
