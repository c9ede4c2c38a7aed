"""Elementwise activations: relu, relu6, leaky_relu, identity, tanh, sigmoid, gelu (exact erf form), elu, silu, softplus.

Shape rule: the identity on shapes.

Enclosed forward: ``relu`` is exact in floats: ``c = max(m, 0)``, radius unchanged where the input may be
positive and 0 where it is certainly <= 0 (there the output is exactly 0; a compensated midpoint pair, exactly
too: :func:`kernels.network._compensated.relu`); ``leaky_relu``: ``c = fl(a m)`` on the
negative side (error ``u |a m| + eta``); the others: ``c`` and its error ``e`` from
:func:`kernels.network._transcendental.enclose_values` (mpmath, 113 bits). In every case ``|f(x) - c| <=
L |x - m| + e`` with ``L`` the activation's Lipschitz constant, so ``rad -> L rad + e``, ``dist -> L dist +
||e||_2`` (rounded up).

Lipschitz rule (l2 and l-inf alike, elementwise): relu, relu6, identity, tanh, softplus 1; sigmoid 1/4; leaky_relu and
elu ``max(1, |slope|)``; gelu 1.13 (``max GELU' = GELU'(sqrt 2) = 1.12890...``); silu 1.1 (``max SiLU' =
1.0998...``). softplus is ``log(1 + exp(beta x)) / beta`` (torch's linear branch above its threshold differs from
it by less than ``exp(-threshold) / beta``).

Linear relaxation: relu (the triangle upper line and the adaptive lower line of CROWN) and identity.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from boundcert.errors import InvalidInput
from kernels._rounding import ETA, U, up, vup
from kernels.network import _compensated
from kernels.network._state import Enclosed, l2_up, tighten
from kernels.network._transcendental import enclose_values
from kernels.network.relaxation import ElementwiseRelaxation

__all__ = ["Activation", "KINDS", "LIPSCHITZ"]

KINDS = ("relu", "relu6", "leaky_relu", "identity", "tanh", "sigmoid", "gelu", "elu", "silu", "softplus")
#: exact upper bounds of the Lipschitz constants (``slope``-dependent ones computed in :meth:`Activation.constant`)
LIPSCHITZ = {"relu": 1.0, "relu6": 1.0, "identity": 1.0, "tanh": 1.0, "softplus": 1.0, "sigmoid": 0.25, "gelu": 1.13, "silu": 1.1}


@dataclass(frozen=True, slots=True)
class Activation:
    """One elementwise activation; ``slope`` is leaky_relu's negative slope, elu's alpha or softplus's beta."""

    kind: Literal["relu", "relu6", "leaky_relu", "identity", "tanh", "sigmoid", "gelu", "elu", "silu", "softplus"]
    slope: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise InvalidInput(f"Activation kind={self.kind!r}: one of {', '.join(KINDS)}")
        if self.kind == "softplus" and not self.slope > 0:
            raise InvalidInput(f"softplus beta={self.slope!r}: must be > 0")

    @property
    def homogeneous(self) -> bool:
        """Positively homogeneous (``f(t x) = t f(x)`` for ``t >= 0``): relu, leaky_relu, identity."""
        return self.kind in ("relu", "leaky_relu", "identity")

    def constant(self) -> float:
        """The Lipschitz constant's upper bound (a float >= the exact constant)."""
        if self.kind in ("leaky_relu", "elu"):
            return max(1.0, abs(float(self.slope)))
        return LIPSCHITZ[self.kind]

    def out_shape(self, shapes: tuple[tuple[int, ...], ...]) -> tuple[int, ...]:
        return shapes[0]

    def forward(self, xs: tuple[Enclosed, ...], ctx: Any) -> Enclosed:
        x = xs[0]
        m, r = x.mid, x.rad
        if self.kind == "identity":
            return x
        if self.kind == "relu":
            dead = vup(m + r) <= 0.0
            return _compensated.relu(x, tighten(np.maximum(m, 0.0), np.where(dead, 0.0, r), x.dist))
        if self.kind == "relu6":  # min(max(x, 0), 6): exact in floats, flat (error 0) where certainly clipped
            flat = (vup(m + r) <= 0.0) | (np.nextafter(m - r, -np.inf) >= 6.0)
            return tighten(np.clip(m, 0.0, 6.0), np.where(flat, 0.0, r), x.dist)
        if self.kind == "leaky_relu":
            a = float(self.slope)
            c = np.where(m >= 0, m, a * m)
            e = np.where(m >= 0, 0.0, vup(vup(U * np.abs(c)) + ETA))
        elif self.kind == "elu":
            c, e = enclose_values("elu", m, float(self.slope))
        elif self.kind == "softplus":
            c, e = enclose_values("softplus", m, float(self.slope))
        else:
            c, e = enclose_values(self.kind, m)
        L = self.constant()
        with np.errstate(over="ignore", invalid="ignore"):
            rad = vup(vup(L * r) + e)
            dist = vup(vup(L * x.dist) + l2_up(e))
        return tighten(c, rad, dist)

    def lipschitz(self, shape: tuple[int, ...], norm: str, cache: dict) -> float:
        return self.constant()

    def relaxation(self, lo: np.ndarray, hi: np.ndarray) -> ElementwiseRelaxation:
        """Sound affine bounds on ``[lo, hi]`` (real arithmetic; the caller rounds their evaluation outward)."""
        if self.kind == "identity":
            one, zero = np.ones_like(lo), np.zeros_like(lo)
            return ElementwiseRelaxation(one, zero, one, zero)
        if self.kind != "relu":
            raise InvalidInput(f"Activation {self.kind!r}: no linear relaxation yet (relu and identity have one)")
        lo, hi = np.asarray(lo, np.float64), np.asarray(hi, np.float64)
        dead, live = hi <= 0, lo >= 0
        with np.errstate(divide="ignore", invalid="ignore"):
            s = np.where(dead, 0.0, np.where(live, 1.0, hi / (hi - lo)))
        # the upper line through (lo, 0) and (hi, hi): slope rounded up keeps it above relu on [lo, hi] only with
        # the offset recomputed from the rounded slope: u(x) = s (x - lo) >= relu(x) for s >= hi / (hi - lo)
        s_up = np.where(dead | live, s, vup(s))
        off = np.where(dead | live, 0.0, vup(-s_up * lo))
        low = np.where(live, 1.0, np.where(dead, 0.0, (hi >= -lo).astype(np.float64)))
        return ElementwiseRelaxation(low, np.zeros_like(lo), s_up, off)
