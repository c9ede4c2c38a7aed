"""Layers with several inputs: ``Add`` (residual connections, ``a + b [+ ...]``) and ``Concat`` (``torch.cat``
along a per-sample axis, DenseNet blocks).

Shape rule: ``Add`` needs equal shapes (a learned constant is stored per sample, so ``x + pos`` qualifies);
``Concat`` equal shapes off its axis, sizes summed on it.

Enclosed forward: ``Add``: ``c = fl(sum m_i)`` (each addition one rounding, ``u |partial|``; bounded by
``(k - 1) 2^-52 max |partial|`` with the partial sums' magnitudes bounded by ``sum |m_i|``); radii add
(compensated midpoint pairs: :func:`kernels.network._compensated.add`).
``Concat``: exact; elementwise radii concatenated, l2 radii combined as ``sqrt(sum dist_i^2)`` (rounded up).

Lipschitz rule: ``Add``: the sum of its inputs' constants; ``Concat``: l2 ``sqrt(sum L_i^2)``, l-inf ``max L_i``.
A :class:`kernels.network.constant.Constant` input (class token, positional embedding) has constant 0, so
``x + c`` keeps ``L(x)`` and ``cat(c, x)`` keeps ``L(x)`` exactly (a single nonzero term is returned unrounded).

Linear relaxation: both are linear (exact).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from boundcert.errors import InvalidInput
from kernels._rounding import add_up, mul_up, sqrt_up, vup
from kernels.network import _compensated
from kernels.network._state import Enclosed, l2_up, tighten

__all__ = ["Add", "Concat"]


@dataclass(frozen=True, slots=True)
class Add:
    """The sum of the node's inputs (two or more, equal shapes)."""

    def out_shape(self, shapes: tuple[tuple[int, ...], ...]) -> tuple[int, ...]:
        if len(shapes) < 2 or any(s != shapes[0] for s in shapes):
            raise InvalidInput(f"Add: inputs of shapes {list(shapes)!r}; residual additions need >= 2 equal shapes "
                               "(broadcasting is not supported)")
        return shapes[0]

    def forward(self, xs: tuple[Enclosed, ...], ctx: Any) -> Enclosed:
        c = xs[0].mid
        mag = np.abs(xs[0].mid)
        for x in xs[1:]:
            c = c + x.mid
            mag = mag + np.abs(x.mid)
        k = len(xs) - 1
        with np.errstate(over="ignore"):
            e = vup(vup(mag) * (k * 2.0**-52))  # additions never underflow inexactly
            rad = e
            dist = l2_up(e)
            for x in xs:
                rad = vup(rad + x.rad)
                dist = vup(dist + x.dist)
        return _compensated.add(xs, tighten(c, rad, dist))

    def combine_lipschitz(self, lips: list[float], norm: str) -> float:
        out = 0.0
        for v in lips:
            out = add_up(out, v)
        return out


@dataclass(frozen=True, slots=True)
class Concat:
    """``torch.cat`` along per-sample axis ``dim`` (0-based, batch excluded)."""

    dim: int = 0

    def out_shape(self, shapes: tuple[tuple[int, ...], ...]) -> tuple[int, ...]:
        s0 = shapes[0]
        d = self.dim % len(s0) if s0 else 0
        if any(len(s) != len(s0) or s[:d] + s[d + 1 :] != s0[:d] + s0[d + 1 :] for s in shapes):
            raise InvalidInput(f"Concat(dim={self.dim}): inputs of shapes {list(shapes)!r} differ off that axis")
        return (*s0[:d], sum(s[d] for s in shapes), *s0[d + 1 :])

    def forward(self, xs: tuple[Enclosed, ...], ctx: Any) -> Enclosed:
        d = self.dim % (xs[0].mid.ndim - 1) + 1
        mid = np.concatenate([x.mid for x in xs], axis=d)
        rad = np.concatenate([x.rad for x in xs], axis=d)
        with np.errstate(over="ignore"):
            dist = vup(np.sqrt(vup(sum(vup(x.dist * x.dist) for x in xs) * (1 + 2.0**-50))))
        return tighten(mid, rad, dist)

    def combine_lipschitz(self, lips: list[float], norm: str) -> float:
        if norm == "linf":
            return max(lips)
        nonzero = [v for v in lips if v != 0.0]  # a Constant input (class token) contributes 0: exact, no rounding
        if len(nonzero) <= 1:
            return nonzero[0] if nonzero else 0.0
        s = 0.0
        for v in lips:
            s = add_up(s, mul_up(v, v))
        return sqrt_up(s) if math.isfinite(s) else math.inf
