"""The value every kernel returns: an enclosure ``[lo, hi]`` of an exact real quantity.

Containment claim: for the exact inputs (the float weights as stored), the exact real value of the
quantity lies in ``[lo, hi]``. ``lo`` and ``hi`` are Python floats, i.e. exact binary numbers, so the
claim is about two exactly known numbers; kernels round outward to make it true.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from boundcert.errors import InternalError

__all__ = ["Enclosure"]


@dataclass(frozen=True, slots=True)
class Enclosure:
    """A proven enclosure ``lo <= exact <= hi`` of one real quantity.

    Attributes:
        lo: rigorous lower end (a float, taken exactly).
        hi: rigorous upper end (a float, taken exactly; may be ``inf`` when nothing finite is proven).
        source: which kernel (and its version) produced it, recorded in certificates.
    """

    lo: float
    hi: float
    source: str = ""

    def __post_init__(self) -> None:
        lo, hi = float(self.lo), float(self.hi)
        if math.isnan(lo) or math.isnan(hi) or lo > hi:
            raise InternalError(f"Enclosure(lo={self.lo!r}, hi={self.hi!r}) is not an interval: a kernel bug")
        object.__setattr__(self, "lo", lo)
        object.__setattr__(self, "hi", hi)

    @property
    def width(self) -> float:
        """``hi - lo`` rounded up (an upper bound on the true width)."""
        return math.nextafter(self.hi - self.lo, math.inf) if self.hi != self.lo else 0.0

    @property
    def rel_gap(self) -> float:
        """Relative gap ``(hi - lo) / hi`` (0 for a point, ``inf`` when ``hi`` is 0 < width or infinite)."""
        if self.hi == self.lo:
            return 0.0
        if self.hi == 0.0 or math.isinf(self.hi):
            return math.inf
        return self.width / abs(self.hi)

    def contains(self, x: float) -> bool:
        """Whether the float (or exact number) ``x`` lies in ``[lo, hi]``."""
        return self.lo <= x <= self.hi
