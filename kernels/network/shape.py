"""Data movement: ``Flatten`` (``torch.flatten(x, start_dim, end_dim)``), ``Reshape`` (``view``/``reshape`` to a
per-sample shape), ``Unflatten``, ``Permute`` and ``Transpose`` (per-sample axes; the batch axis stays first).

Shape rule: torch's. Enclosed forward: exact (values are only moved; both radii unchanged). Lipschitz rule: 1
(an isometry in l2 and l-inf). Linear relaxation: the layer itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from boundcert.errors import InvalidInput
from kernels._enclosure import Enclosure
from kernels.network._state import Enclosed
from kernels.network.relaxation import AffineRelaxation

__all__ = ["Flatten", "Reshape", "Unflatten", "Permute", "Transpose"]

_ONE = Enclosure(1.0, 1.0, "data movement (isometry)")


class _Movement:
    def lipschitz(self, shape: tuple[int, ...], norm: str, cache: dict) -> Enclosure:
        return _ONE

    def forward(self, xs: tuple[Enclosed, ...], ctx: Any) -> Enclosed:
        x = xs[0]
        f = self.move  # type: ignore[attr-defined]
        return Enclosed(f(x.mid), f(x.rad), x.dist)

    def relaxation(self, lo: np.ndarray, hi: np.ndarray) -> AffineRelaxation:
        return AffineRelaxation(self.move, None)  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Flatten(_Movement):
    """``torch.flatten(x, start_dim, end_dim)`` with batch-axis numbering (``start_dim >= 1``)."""

    start_dim: int = 1
    end_dim: int = -1

    def out_shape(self, shapes: tuple[tuple[int, ...], ...]) -> tuple[int, ...]:
        s = shapes[0]
        full = len(s) + 1
        a = self.start_dim % full
        b = self.end_dim % full
        if a < 1 or b < a:
            raise InvalidInput(f"Flatten(start_dim={self.start_dim}, end_dim={self.end_dim}): the batch axis must "
                               "stay; flatten from dim 1 or later")
        return (*s[: a - 1], int(np.prod(s[a - 1 : b], dtype=np.int64)), *s[b:])

    def move(self, z: np.ndarray) -> np.ndarray:
        return z.reshape((z.shape[0], *self.out_shape((z.shape[1:],))))


@dataclass(frozen=True, slots=True)
class Reshape(_Movement):
    """Reshape each sample to ``shape`` (one entry may be -1)."""

    shape: tuple[int, ...]

    def out_shape(self, shapes: tuple[tuple[int, ...], ...]) -> tuple[int, ...]:
        n = int(np.prod(shapes[0], dtype=np.int64))
        try:
            return tuple(int(v) for v in np.empty(n, dtype=np.int8).reshape(self.shape).shape)
        except ValueError:
            raise InvalidInput(f"Reshape to {self.shape!r}: a sample of shape {shapes[0]!r} has {n} entries") from None

    def move(self, z: np.ndarray) -> np.ndarray:
        return z.reshape((z.shape[0], *self.out_shape((z.shape[1:],))))


@dataclass(frozen=True, slots=True)
class Permute(_Movement):
    """Permute the per-sample axes: output axis ``i`` is input axis ``dims[i]`` (0-based, batch excluded)."""

    dims: tuple[int, ...]

    def out_shape(self, shapes: tuple[tuple[int, ...], ...]) -> tuple[int, ...]:
        s = shapes[0]
        if sorted(self.dims) != list(range(len(s))):
            raise InvalidInput(f"Permute dims={self.dims!r}: a permutation of the {len(s)} per-sample axes is needed")
        return tuple(s[d] for d in self.dims)

    def move(self, z: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(np.transpose(z, (0, *(d + 1 for d in self.dims))))


@dataclass(frozen=True, slots=True)
class Unflatten(_Movement):
    """``torch.unflatten(x, dim, sizes)`` with batch-axis numbering (``dim >= 1`` or negative)."""

    dim: int
    sizes: tuple[int, ...]

    def out_shape(self, shapes: tuple[tuple[int, ...], ...]) -> tuple[int, ...]:
        s = shapes[0]
        d = self.dim % (len(s) + 1)
        if d < 1:
            raise InvalidInput(f"Unflatten(dim={self.dim}): the batch axis must stay")
        inner = Reshape(tuple(self.sizes)).out_shape(((s[d - 1],),))
        return (*s[: d - 1], *inner, *s[d:])

    def move(self, z: np.ndarray) -> np.ndarray:
        return z.reshape((z.shape[0], *self.out_shape((z.shape[1:],))))


@dataclass(frozen=True, slots=True)
class Transpose(_Movement):
    """``x.transpose(a, b)`` with batch-axis numbering (both axes >= 1 or negative)."""

    a: int
    b: int

    def _dims(self, rank: int) -> tuple[int, ...]:
        a, b = self.a % (rank + 1), self.b % (rank + 1)
        if a < 1 or b < 1:
            raise InvalidInput(f"Transpose({self.a}, {self.b}): the batch axis must stay")
        dims = list(range(rank))
        dims[a - 1], dims[b - 1] = dims[b - 1], dims[a - 1]
        return tuple(dims)

    def out_shape(self, shapes: tuple[tuple[int, ...], ...]) -> tuple[int, ...]:
        return Permute(self._dims(len(shapes[0]))).out_shape(shapes)

    def move(self, z: np.ndarray) -> np.ndarray:
        return Permute(self._dims(z.ndim - 1)).move(z)
