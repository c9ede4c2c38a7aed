"""Elementwise affine layers: eval-mode ``BatchNorm`` (``y = (x - mean) / sqrt(var + eps) * weight + bias`` per
channel, an exact affine map kept as its own layer so that the stored weights' norms stay those certified) and
``Scale`` (``y = factor * x``, a constant factor such as attention's ``1/sqrt(d)``).

Shape rule: the identity; BatchNorm's channel axis is the first per-sample axis.

Enclosed forward: BatchNorm's scale ``s = weight / sqrt(var + eps)`` is enclosed by one outward ``nextafter``
per correctly rounded IEEE operation; ``s (m - mean) + bias`` is evaluated at the midpoints in outward interval
arithmetic, giving ``c`` and an error ``e``; then ``|y(x) - c| <= |s| |x - m| + e``: ``rad -> |s|_hi rad + e``,
``dist -> max|s|_hi dist + ||e||_2`` (a compensated midpoint pair: :func:`kernels.network._compensated.batchnorm`,
``S`` and the shift as double-double pairs from mpmath). Scale: ``c = fl(a m)``, ``e = u |c| + eta``.

Lipschitz rule (l2 and l-inf): ``max |s|`` (upper end), ``|factor|``.

Linear relaxation: the layer itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from kernels._enclosure import Enclosure
from kernels._rounding import ETA, U, vdown, vup
from kernels.network import _compensated
from kernels.network._state import Enclosed, l2_up, tighten
from kernels.network.relaxation import AffineRelaxation

__all__ = ["BatchNorm", "Scale"]


@dataclass(frozen=True, slots=True, eq=False)
class BatchNorm:
    """Eval-mode batch normalisation with the stored running statistics (float64 exact copies)."""

    mean: np.ndarray
    var: np.ndarray
    weight: np.ndarray
    bias: np.ndarray
    eps: float

    def scale(self) -> tuple[np.ndarray, np.ndarray]:
        """Enclosure ``[s_lo, s_hi]`` of ``weight / sqrt(var + eps)`` per channel."""
        v_lo, v_hi = vdown(self.var + self.eps), vup(self.var + self.eps)
        r_lo, r_hi = vdown(np.sqrt(np.maximum(v_lo, 0.0))), vup(np.sqrt(v_hi))
        with np.errstate(divide="ignore", invalid="ignore"):
            a, b = self.weight / r_hi, self.weight / np.where(r_lo > 0, r_lo, 0.0)
        lo = vdown(np.minimum(a, b))
        hi = vup(np.maximum(a, b))
        return np.where(np.isnan(lo), -np.inf, lo), np.where(np.isnan(hi), np.inf, hi)

    def smax(self) -> np.ndarray:
        s_lo, s_hi = self.scale()
        return np.maximum(np.abs(s_lo), np.abs(s_hi))

    def out_shape(self, shapes: tuple[tuple[int, ...], ...]) -> tuple[int, ...]:
        from boundcert.errors import InvalidInput

        if not shapes[0] or shapes[0][0] != self.mean.shape[0]:
            raise InvalidInput(f"BatchNorm with {self.mean.shape[0]} channels: its input has shape {shapes[0]!r}")
        return shapes[0]

    def forward(self, xs: tuple[Enclosed, ...], ctx: Any) -> Enclosed:
        x = xs[0]
        m = x.mid
        shape = (1, -1) + (1,) * (m.ndim - 2)
        s_lo, s_hi = (v.reshape(shape) for v in self.scale())
        a_lo, a_hi = vdown(m - self.mean.reshape(shape)), vup(m - self.mean.reshape(shape))
        with np.errstate(invalid="ignore", over="ignore"):
            prods = [a * s for a in (a_lo, a_hi) for s in (s_lo, s_hi)]
            p_lo, p_hi = vdown(np.minimum.reduce(prods)), vup(np.maximum.reduce(prods))
            y_lo, y_hi = vdown(p_lo + self.bias.reshape(shape)), vup(p_hi + self.bias.reshape(shape))
            c = y_lo * 0.5 + y_hi * 0.5
            e = vup(np.maximum(y_hi - c, c - y_lo))
            sm = np.maximum(np.abs(s_lo), np.abs(s_hi))
            rad = vup(vup(sm * x.rad) + e)
            dist = vup(vup(float(np.max(sm, initial=0.0)) * x.dist) + l2_up(e))
        return _compensated.batchnorm(self, x, tighten(c, rad, dist))

    def lipschitz(self, shape: tuple[int, ...], norm: str, cache: dict) -> Enclosure:
        return Enclosure(0.0, float(np.max(self.smax(), initial=0.0)), "batchnorm: max |weight| / sqrt(var + eps)")

    def relaxation(self, lo: np.ndarray, hi: np.ndarray) -> AffineRelaxation:
        s = self.weight / np.sqrt(self.var + self.eps)  # float scale; #17 rounds its evaluation outward
        shape = (1, -1) + (1,) * (np.ndim(lo) - 2)
        return AffineRelaxation(lambda z: z * s.reshape(shape), (self.bias - self.mean * s).reshape(shape[1:]))


@dataclass(frozen=True, slots=True)
class Scale:
    """``y = factor * x`` for a float ``factor`` (taken exactly)."""

    factor: float

    def out_shape(self, shapes: tuple[tuple[int, ...], ...]) -> tuple[int, ...]:
        return shapes[0]

    def forward(self, xs: tuple[Enclosed, ...], ctx: Any) -> Enclosed:
        x = xs[0]
        a = float(self.factor)
        c = a * x.mid
        e = vup(vup(U * np.abs(c)) + ETA)
        with np.errstate(over="ignore"):
            return tighten(c, vup(vup(abs(a) * x.rad) + e), vup(vup(abs(a) * x.dist) + l2_up(e)))

    def lipschitz(self, shape: tuple[int, ...], norm: str, cache: dict) -> Enclosure:
        return Enclosure(0.0, abs(float(self.factor)), "scale: |factor|")

    def relaxation(self, lo: np.ndarray, hi: np.ndarray) -> AffineRelaxation:
        return AffineRelaxation(lambda z: z * float(self.factor), None)
