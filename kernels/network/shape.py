"""Data movement: ``Flatten`` (``torch.flatten(x, start_dim, end_dim)``), ``Reshape`` (``view``/``reshape`` to a
per-sample shape), ``Unflatten``, ``Permute`` and ``Transpose`` (per-sample axes; the batch axis stays first);
``Select`` and ``Slice`` (part of each sample: ``x[:, 0]``, the ViT's class token).

Shape rule: torch's. Enclosed forward: exact (values are only moved or selected; radii moved or selected with
them, the l2 radius unchanged). Lipschitz rule: 1 (an isometry, or for a selection a projection, in l2 and
l-inf). Linear relaxation: the layer itself (a selection has none in kernels.bounds: it is not a permutation).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from boundcert.errors import InvalidInput
from kernels._enclosure import Enclosure
from kernels.network._state import Enclosed
from kernels.network.relaxation import AffineRelaxation

__all__ = ["Flatten", "Reshape", "Unflatten", "Permute", "Transpose", "Select", "Slice"]

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


class _Pick:
    """Selection of part of each sample: a projection, so Lipschitz 1 (l2 and l-inf) and the l2 radius carries over
    (``||P e||_2 <= ||e||_2``); elementwise radii selected with the values. No ``move`` method: a selection is not a
    permutation, and bound propagation refuses it by name rather than invert it."""

    def lipschitz(self, shape: tuple[int, ...], norm: str, cache: dict) -> Enclosure:
        return Enclosure(0.0, 1.0, "selection (a projection)")

    def forward(self, xs: tuple[Enclosed, ...], ctx: Any) -> Enclosed:
        x = xs[0]
        f = self.pick  # type: ignore[attr-defined]
        return Enclosed(np.ascontiguousarray(f(x.mid)), np.ascontiguousarray(f(x.rad)), x.dist)

    def _axis(self, rank: int) -> int:
        dim = self.dim  # type: ignore[attr-defined]
        d = dim % (rank + 1) if dim < 0 else dim
        if not 1 <= d <= rank:
            raise InvalidInput(f"{type(self).__name__}(dim={dim}): a per-sample axis (1..{rank}) is needed; the "
                               "batch axis must stay")
        return d


@dataclass(frozen=True, slots=True)
class Select(_Pick):
    """``x.select(dim, index)`` / ``x[:, index]`` with batch-axis numbering: the axis is removed."""

    dim: int
    index: int

    def out_shape(self, shapes: tuple[tuple[int, ...], ...]) -> tuple[int, ...]:
        s = shapes[0]
        d = self._axis(len(s))
        if not -s[d - 1] <= self.index < s[d - 1]:
            raise InvalidInput(f"Select(dim={self.dim}, index={self.index}): axis of size {s[d - 1]}")
        return (*s[: d - 1], *s[d:])

    def pick(self, z: np.ndarray) -> np.ndarray:
        return np.take(z, self.index, axis=self._axis(z.ndim - 1))


@dataclass(frozen=True, slots=True)
class Slice(_Pick):
    """``x[:, start:stop:step]`` on axis ``dim`` (batch-axis numbering; Python slice semantics, ``step >= 1``)."""

    dim: int
    start: int | None
    stop: int | None
    step: int = 1

    def out_shape(self, shapes: tuple[tuple[int, ...], ...]) -> tuple[int, ...]:
        s = shapes[0]
        d = self._axis(len(s))
        if self.step < 1:
            raise InvalidInput(f"Slice(step={self.step}): a positive step is needed")
        n = len(range(*slice(self.start, self.stop, self.step).indices(s[d - 1])))
        if n == 0:
            raise InvalidInput(f"Slice({self.start}:{self.stop}:{self.step}) of an axis of size {s[d - 1]} is empty")
        return (*s[: d - 1], n, *s[d:])

    def pick(self, z: np.ndarray) -> np.ndarray:
        idx = [slice(None)] * z.ndim
        idx[self._axis(z.ndim - 1)] = slice(self.start, self.stop, self.step)
        return z[tuple(idx)]
