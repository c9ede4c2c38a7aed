"""The perturbation set: an l-inf or l2 ball around each sample, intersected with the input domain box.

``InputSet(norm, eps, lo, hi)``: for a sample ``x0`` the set ``{x : ||x - x0||_norm <= eps, lo <= x <= hi}``
(``lo``/``hi`` ``None``: unbounded). ``eps`` is a float taken exactly; a caller with a decimal radius passes a float
>= it (a larger set is sound).

Rounding model: the box ``[x0 - eps, x0 + eps]`` is rounded outward (``nextafter``) and clipped to the domain
(exact); the minimum of a linear form over the set is bounded below by :func:`kernels.bounds._arith.box_lower`
(l-inf: the box is the set) or, for l2, by the larger of the box bound and ``L x0 - eps ||L||_2`` (Cauchy-Schwarz:
both are lower bounds of the minimum over a superset), ``||L||_2`` rounded up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from boundcert.errors import InvalidInput
from kernels._rounding import vdown, vup
from kernels.bounds._arith import add_down, box_lower, dot_lower, flat
from kernels.network._state import Enclosed, l2_up, tighten

__all__ = ["InputSet", "Norm"]

Norm = Literal["linf", "l2"]


@dataclass(frozen=True, slots=True)
class InputSet:
    """``{x : ||x - x0||_norm <= eps} intersected with [lo, hi]`` for each sample ``x0`` (see the module)."""

    norm: Norm
    eps: float
    lo: float | None = 0.0
    hi: float | None = 1.0

    def __post_init__(self) -> None:
        if self.norm not in ("linf", "l2"):
            raise InvalidInput(f"norm={self.norm!r}: one of 'linf', 'l2'")
        if not (isinstance(self.eps, (int, float)) and math.isfinite(self.eps) and self.eps >= 0):
            raise InvalidInput(f"eps={self.eps!r}: a finite radius >= 0 is needed, e.g. eps=0.01")
        if self.lo is not None and self.hi is not None and not self.lo <= self.hi:
            raise InvalidInput(f"domain [{self.lo!r}, {self.hi!r}]: lo must be <= hi (e.g. 0 and 1 for pixels)")

    def box(self, x0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rigorous elementwise ends of the set around each row of ``x0``."""
        with np.errstate(over="ignore"):
            lo, hi = vdown(x0 - self.eps), vup(x0 + self.eps)
        if self.eps == 0:
            lo, hi = x0.copy(), x0.copy()
        if self.lo is not None:
            lo = np.maximum(lo, self.lo)
        if self.hi is not None:
            hi = np.minimum(hi, self.hi)
        if np.any(lo > hi):
            raise InvalidInput("x: a sample lies farther than eps outside the input domain; give inputs inside "
                               f"[{self.lo}, {self.hi}] or change the domain")
        return lo, hi

    def enclosed(self, x0: np.ndarray) -> Enclosed:
        """The set as an :class:`Enclosed` (midpoints, elementwise and l2 radii) for the IR's forward pass."""
        lo, hi = self.box(x0)
        if self.norm == "l2":  # centre x0 keeps the l2 radius eps; the elementwise radius min(eps, box)
            mid = x0.astype(np.float64)
            rad = vup(np.maximum(vup(hi - mid), vup(mid - lo)))
            return tighten(mid, rad, np.full(x0.shape[0], vup(np.float64(self.eps))))
        mid = lo * 0.5 + hi * 0.5
        rad = vup(np.maximum(vup(hi - mid), vup(mid - lo)))
        return tighten(mid, rad, l2_up(rad))

    def linear_lower(self, A: np.ndarray, const: np.ndarray, x0: np.ndarray) -> np.ndarray:
        """Lower bound of ``min_x A x + const`` over the set (``A`` (batch, rows, *in_shape), ``const`` lower
        bounds (batch, rows))."""
        b = x0.shape[0]
        L = flat(A, 2)
        lo, hi = self.box(x0)
        best = box_lower(L, lo.reshape(b, -1), hi.reshape(b, -1))
        if self.norm == "l2":
            norms = l2_up(np.abs(L.reshape(-1, L.shape[-1]))).reshape(L.shape[:2])
            ball = vdown(dot_lower(L, x0.reshape(b, -1)) - vup(norms * self.eps))
            best = np.maximum(best, np.where(np.isnan(ball), -np.inf, ball))
        return add_down(best, const)
