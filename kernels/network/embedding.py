"""Token embedding (``torch.nn.Embedding``, ONNX ``Gather`` of a weight table on axis 0): ``y[..., :] = W[i, :]``
for every integer index ``i`` of the input.

Shape rule: integer indices of any per-sample shape ``s`` -> ``(*s, dim)``.

Enclosed forward: exact. The input must be exact integers in ``[0, num_embeddings)`` (a zero radius; the float64
values of ``int64`` indices are exact below ``2^53``); the output is the gathered rows of the stored float64 table
``W`` (exact copies of the model's weights: data movement, no rounding), with zero radii.

Lipschitz rule: none with respect to the input. An index is not a point of a normed space (there is no ``||i - j||``
whose multiple bounds ``||W_i - W_j||``), so an input-Lipschitz bound is not defined and is refused by hypothesis
name (``h_lipschitz_upper``); a Lipschitz statement holds only with respect to the embedding output, i.e. for the
network that starts after this layer. Input perturbations (``radius > 0``) are refused the same way.

Linear relaxation: none (the input is discrete).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from boundcert.errors import HypothesisNotMet, InvalidInput
from kernels.network._state import Enclosed

__all__ = ["Embedding"]


@dataclass(frozen=True, slots=True, eq=False)
class Embedding:
    """A lookup table ``weight`` of shape ``(num_embeddings, dim)`` (float64 exact copy of the stored weights)."""

    weight: np.ndarray

    def __post_init__(self) -> None:
        if self.weight.ndim != 2 or min(self.weight.shape) < 1:
            raise InvalidInput(f"Embedding weight.shape={self.weight.shape!r}: a (num_embeddings, dim) table is "
                               "needed")

    @property
    def bias(self) -> None:
        return None

    def out_shape(self, shapes: tuple[tuple[int, ...], ...]) -> tuple[int, ...]:
        return (*shapes[0], int(self.weight.shape[1]))

    def forward(self, xs: tuple[Enclosed, ...], ctx: Any) -> Enclosed:
        x = xs[0]
        n = self.weight.shape[0]
        if np.any(x.rad != 0) or np.any(x.dist != 0) or x.comp is not None and np.any(x.comp.lo != 0):
            raise HypothesisNotMet("Embedding reads integer token indices: an input box or perturbation (radius > 0)"
                                   " has no meaning for them (h_lipschitz_upper is not met); give exact indices")
        idx = x.mid
        if not np.all(np.isfinite(idx)) or np.any(idx != np.floor(idx)) or np.any(idx < 0) or np.any(idx >= n):
            raise InvalidInput(f"Embedding with {n} rows: its input must be integer indices in [0, {n}); "
                               "give token ids")
        mid = self.weight[idx.astype(np.int64)]
        zero = np.zeros(mid.shape)
        return Enclosed(mid, zero, np.zeros(mid.shape[0]))

    def lipschitz(self, shape: tuple[int, ...], norm: str, cache: dict) -> Any:
        raise HypothesisNotMet("Embedding: its input is an integer index, not a point of a normed space, so a "
                               "Lipschitz bound with respect to the input (h_lipschitz_upper) is not defined; a "
                               "Lipschitz statement holds only with respect to the embedding output (the network "
                               "after the Embedding layer)")

    def relaxation(self, lo: np.ndarray, hi: np.ndarray) -> Any:
        raise InvalidInput("Embedding: no linear relaxation (its input is discrete)")
