"""A learned constant tensor as a graph value: the ViT's class token and positional embedding (a parameter or buffer
read by the forward code: ``torch.cat([cls.expand(n, -1, -1), x], 1)``, ``x + pos``; the lifted parameter inputs of
a torch.export program; an ONNX initializer feeding ``Concat``/``Add``).

A :class:`Constant` node reads the network input only for the batch size; its value is the same for every sample
(broadcast over the batch). Frontends store the per-sample value: a leading axis of size 1 (the batch axis of
``(1, T, D)``) is dropped, any other tensor is taken as it is (torch broadcasts it over the batch).

Shape rule: any input -> ``value.shape``.

Enclosed forward: exact. ``value`` is the float64 copy of the stored weights (exact for float16/bfloat16/float32/
float64; no rounding); the output is that point for every sample: zero elementwise and l2 radii.

Lipschitz rule: 0 with respect to the network input (in l2 and l-inf): the output does not depend on it. So a
``Concat`` of ``x`` with a constant keeps ``x``'s constant (``sqrt(L^2 + 0)``, ``max(L, 0)``) and ``x + c`` keeps
``L(x) + 0`` (:mod:`kernels.network.merge`).

Linear relaxation: the map itself (the zero linear part and the bias ``value``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from boundcert.errors import InvalidInput
from kernels._enclosure import Enclosure
from kernels.network._state import Enclosed
from kernels.network.relaxation import AffineRelaxation

__all__ = ["Constant"]

_ZERO = Enclosure(0.0, 0.0, "constant: independent of the input")


@dataclass(frozen=True, slots=True, eq=False)
class Constant:
    """The per-sample value ``value`` (float64, exact copy of a stored tensor), the same for every sample."""

    value: np.ndarray

    def __post_init__(self) -> None:
        v = self.value
        if not isinstance(v, np.ndarray) or v.dtype != np.float64 or not np.all(np.isfinite(v)):
            raise InvalidInput("Constant: a finite float64 array is needed (an exact copy of the stored tensor)")

    def out_shape(self, shapes: tuple[tuple[int, ...], ...]) -> tuple[int, ...]:
        return tuple(int(s) for s in self.value.shape)

    def forward(self, xs: tuple[Enclosed, ...], ctx: Any) -> Enclosed:
        b = xs[0].mid.shape[0]
        mid = np.broadcast_to(self.value, (b, *self.value.shape)).copy()
        return Enclosed(mid, np.zeros_like(mid), np.zeros(b))

    def lipschitz(self, shape: tuple[int, ...], norm: str, cache: dict) -> Enclosure:
        return _ZERO

    def relaxation(self, lo: np.ndarray, hi: np.ndarray) -> AffineRelaxation:
        def apply(z: np.ndarray) -> np.ndarray:
            return np.zeros((z.shape[0], *self.value.shape))

        return AffineRelaxation(apply, self.value)
