"""The value that travels through the graph: a float forward pass with a proven bound on its distance to the truth.

:class:`Enclosed` holds, for a batch, the float64 midpoints ``mid`` (a float forward pass), elementwise radii
``rad`` and per-sample l2 radii ``dist``. Invariant: for every exact real value ``x`` of the node (for every input
in the input box, exact real arithmetic), ``|x - mid| <= rad`` elementwise and ``||x - mid||_2 <= dist`` per sample.
Both radii are carried because they are complementary: ``rad`` grows by ``|W|`` at an affine layer (tight for shallow
nets and wide boxes), ``dist`` by the certified operator norm ``||W||_2`` (tight for deep nets, where ``|W|``
amplification explodes); after each layer each is intersected with the other (``rad <= dist``,
``dist <= ||rad||_2``), which is sound because both bound the same error.

With ``precision="compensated"`` a node may also carry a :class:`Compensated` part: a low word ``lo`` and radii
``rad``/``dist`` around the better midpoint ``mid + lo`` (:mod:`kernels.network._compensated`); the float64 fields
keep their meaning around ``mid`` alone, so a layer that ignores the pair stays sound.

Rounding model (Higham ch. 3): binary64 round-to-nearest with gradual underflow (checked by the callers);
a float sum of ``n`` nonnegative terms ``t`` satisfies ``exact <= (fl(t) + n eta) / (1 - gamma_n)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kernels._rounding import ETA, down, gamma, up, vup

__all__ = ["Enclosed", "Compensated", "nonneg_sum_up", "l2_up", "tighten", "point"]


@dataclass(frozen=True, slots=True, eq=False)
class Compensated:
    """The low word ``lo`` of the midpoint pair ``mid + lo`` and radii around it: ``|x - (mid + lo)| <= rad``
    elementwise, ``||x - (mid + lo)||_2 <= dist`` per sample (``lo``, ``rad`` shaped like ``mid``)."""

    lo: np.ndarray
    rad: np.ndarray
    dist: np.ndarray


@dataclass(frozen=True, slots=True, eq=False)
class Enclosed:
    """``mid`` (batch, *shape) float64, ``rad`` the same shape (>= 0), ``dist`` (batch,) (>= 0), optionally a
    :class:`Compensated` pair ``comp``; see the module."""

    mid: np.ndarray
    rad: np.ndarray
    dist: np.ndarray
    comp: Compensated | None = None

    @property
    def lo(self) -> np.ndarray:
        """Elementwise lower ends (rounded down; with a pair, the larger of both enclosures' lower ends)."""
        out = np.nextafter(self.mid - self.rad, -np.inf)
        if self.comp is not None:  # mid + (lo - rad), each step rounded down
            with np.errstate(invalid="ignore", over="ignore"):
                c = np.nextafter(self.mid + np.nextafter(self.comp.lo - self.comp.rad, -np.inf), -np.inf)
            out = np.where(c > out, c, out)  # NaN in c keeps out
        return out

    @property
    def hi(self) -> np.ndarray:
        """Elementwise upper ends (rounded up; with a pair, the smaller of both enclosures' upper ends)."""
        out = np.nextafter(self.mid + self.rad, np.inf)
        if self.comp is not None:
            with np.errstate(invalid="ignore", over="ignore"):
                c = np.nextafter(self.mid + np.nextafter(self.comp.lo + self.comp.rad, np.inf), np.inf)
            out = np.where(c < out, c, out)
        return out

    def reshaped(self, shape: tuple[int, ...]) -> "Enclosed":
        """The same values under a per-sample shape ``shape`` (data movement: exact)."""
        b = self.mid.shape[0]
        c = self.comp
        cr = None if c is None else Compensated(c.lo.reshape((b, *shape)), c.rad.reshape((b, *shape)), c.dist)
        return Enclosed(self.mid.reshape((b, *shape)), self.rad.reshape((b, *shape)), self.dist, cr)


def nonneg_sum_up(t: np.ndarray, n: int) -> np.ndarray:
    """Upper bound of the exact value of sums of ``n`` nonnegative terms whose float result is ``t``."""
    n = max(int(n), 1)
    with np.errstate(over="ignore"):
        return vup(vup(t + up(n * ETA)) / down(1.0 - gamma(n)))


def l2_up(a: np.ndarray) -> np.ndarray:
    """Per-sample upper bound of ``||a_i||_2`` for a nonnegative array ``a`` of shape (batch, ...)."""
    b = a.shape[0]
    flat = a.reshape(b, -1)
    with np.errstate(over="ignore"):
        s = nonneg_sum_up(vup(np.einsum("ij,ij->i", flat, flat)), 2 * flat.shape[1])
        return vup(np.sqrt(s))


def tighten(mid: np.ndarray, rad: np.ndarray, dist: np.ndarray) -> Enclosed:
    """Intersect the two radii (``rad <= dist`` elementwise, ``dist <= ||rad||_2``); NaN radii become inf."""
    rad = np.where(np.isnan(rad), np.inf, rad)
    dist = np.where(np.isnan(dist), np.inf, dist)
    rad = np.minimum(rad, dist.reshape((-1,) + (1,) * (rad.ndim - 1)))
    dist = np.minimum(dist, l2_up(rad))
    return Enclosed(mid, rad, dist)


def point(x: np.ndarray, radius: np.ndarray | float = 0.0) -> Enclosed:
    """The input box ``x +- radius`` (``radius`` 0: the exact points ``x``)."""
    rad = np.broadcast_to(np.asarray(radius, dtype=np.float64), x.shape).copy()
    return tighten(np.asarray(x, dtype=np.float64), rad, l2_up(rad) if np.any(rad) else np.zeros(x.shape[0]))
