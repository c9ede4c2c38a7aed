"""Directed-rounding primitives for batched linear forms, the arithmetic of every bound in :mod:`kernels.bounds`.

Rounding model (Higham, *Accuracy and Stability*, Thm. 3.5; :mod:`kernels._rounding`): binary64, round to nearest,
gradual underflow. A float sum of ``n`` products in any order (BLAS, FMA or not) satisfies
``|fl(sum a_i b_i) - sum a_i b_i| <= gamma_n sum |a_i b_i| + n eta``; a float sum ``t`` of ``n`` nonnegative
terms satisfies ``exact <= (t + n eta) / (1 - gamma_n)`` (:func:`kernels.network._state.nonneg_sum_up`). Each
elementwise result is pushed one ulp outward by ``nextafter`` (:func:`kernels._rounding.vup` / ``vdown``).

Shapes: a coefficient array ``L`` is ``(batch, rows, D)`` (``D`` the flattened node size); a vector ``v`` is
``(batch, D)`` or ``(D,)``; results are ``(batch, rows)``.
"""

from __future__ import annotations

import numpy as np

from kernels._rounding import ETA, gamma, up, vdown, vup
from kernels.network._state import nonneg_sum_up

__all__ = ["flat", "vec", "absdot_up", "dot_lower", "box_lower", "add_down", "REL_ONE"]

#: ``|fl(p) - p| <= REL_ONE |fl(p)| + eta`` for one product or one sum ``p`` (``u / (1 - u) < 2^-52``).
REL_ONE = 2.0**-52


def flat(a: np.ndarray, lead: int) -> np.ndarray:
    """``a`` with its trailing axes (after ``lead`` leading ones) flattened into one."""
    return a.reshape(a.shape[:lead] + (-1,))


def vec(v: np.ndarray, batch: int) -> np.ndarray:
    """A per-sample vector ``(batch, D)`` from ``(batch, ...)`` or a shared ``(...)`` array."""
    v = np.asarray(v, dtype=np.float64)
    if v.ndim >= 1 and v.shape[0] == batch and v.ndim > 1:
        return v.reshape(batch, -1)
    return np.broadcast_to(v.reshape(1, -1), (batch, v.size))


def absdot_up(L: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Upper bound of ``sum_d |L[b, r, d]| t[b, d]`` for ``t >= 0`` (``t`` ``(batch, D)``)."""
    n = L.shape[-1]
    with np.errstate(over="ignore", invalid="ignore"):
        s = np.einsum("brd,bd->br", np.abs(L), t)
        out = nonneg_sum_up(vup(s), n)
    return np.where(np.isnan(out), np.inf, out)


def dot_lower(L: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Lower bound of the exact ``sum_d L[b, r, d] v[b, d]`` (``v`` taken exactly)."""
    n = max(L.shape[-1], 1)
    with np.errstate(over="ignore", invalid="ignore"):
        c = np.einsum("brd,bd->br", L, v)
        err = vup(vup(gamma(n) * absdot_up(L, np.abs(v))) + up(n * ETA))
        out = vdown(c - err)
    return np.where(np.isnan(out), -np.inf, out)


def box_lower(L: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Lower bound of ``min_{lo <= z <= hi} sum_d L[b, r, d] z[b, d]`` (boxes ``(batch, D)``, rigorous ends)."""
    with np.errstate(over="ignore", invalid="ignore"):
        mid = lo * 0.5 + hi * 0.5
        mid = np.where(np.isfinite(mid), mid, 0.0)
        rad = vup(np.maximum(vup(hi - mid), vup(mid - lo)))
        rad = np.where(np.isnan(rad), np.inf, rad)
        # |L| rad with rad = inf where L = 0 must stay 0: absdot_up takes 0 * inf = nan -> inf; mask zero columns
        out = vdown(dot_lower(L, mid) - _absdot_masked(L, rad))
    return np.where(np.isnan(out), -np.inf, out)


def _absdot_masked(L: np.ndarray, t: np.ndarray) -> np.ndarray:
    if np.all(np.isfinite(t)):
        return absdot_up(L, t)
    fin = np.where(np.isfinite(t), t, 0.0)
    out = absdot_up(L, fin)
    hit = np.einsum("brd,bd->br", (L != 0).astype(np.float64), (~np.isfinite(t)).astype(np.float64)) > 0
    return np.where(hit, np.inf, out)


def add_down(*terms: np.ndarray) -> np.ndarray:
    """Lower bound of the exact sum of lower bounds (each addition rounded down; ``-inf`` absorbs)."""
    out = terms[0]
    with np.errstate(invalid="ignore"):
        for t in terms[1:]:
            out = vdown(out + t)
    return np.where(np.isnan(out), -np.inf, out)
