"""The compressed-model format: a fixed decoder (architecture, kind, seed) and the rebuild of the float32 weights
from a code (:mod:`certify.models.codec`). The rebuild is bit-exact on any IEEE machine (see
:mod:`certify.training.compress` for the two decoders)."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Literal

import numpy as np

from boundcert.errors import InvalidInput
from certify.models.codec import Code, decode
from certify.models.posterior import mlp_init

__all__ = ["Decoder", "split_flat", "rebuild"]


@dataclass(frozen=True, slots=True)
class Decoder:
    """The fixed decoder: architecture, kind, and (for ``subspace``) dimension ``d`` and seed."""

    sizes: tuple[int, ...]
    kind: Literal["direct", "subspace"]
    d: int = 0
    seed: int = 0
    sparse: bool = True

    @property
    def n_params(self) -> int:
        return sum(a * b + b for a, b in zip(self.sizes[:-1], self.sizes[1:]))

    def w0(self) -> np.ndarray:
        return np.concatenate([t.ravel() for t in mlp_init(self.sizes, self.seed)])

    def projection(self) -> np.ndarray:
        """Rademacher ``D x d`` int8 matrix from PCG64(seed + 1) (integers: stable across numpy versions)."""
        rng = np.random.Generator(np.random.PCG64(self.seed + 1))
        return (rng.integers(0, 2, size=(self.n_params, self.d), dtype=np.int8) * 2 - 1).astype(np.int8)

    def describe(self) -> dict:
        return {"kind": self.kind, "sizes": list(self.sizes), "d": self.d, "seed": self.seed, "sparse": self.sparse,
                "format": "certify.models.codec v1 with one 32-bit prefix word (float32 scale)"}


def split_flat(sizes: tuple[int, ...], flat: np.ndarray) -> list[np.ndarray]:
    out, i = [], 0
    for a, b in zip(sizes[:-1], sizes[1:]):
        out.append(flat[i : i + a * b].reshape(b, a))
        i += a * b
        out.append(flat[i : i + b])
        i += b
    return out


def rebuild(decoder: Decoder, code: Code) -> list[np.ndarray]:
    """The decoder: the float32 weights ``[W1, b1, ...]`` that ``code`` stands for (bit-exact, see module doc)."""
    (word,), n = decode(code, 1)
    scale = np.float64(struct.unpack("<f", struct.pack("<I", word))[0])
    if decoder.kind == "direct":
        if n.size != decoder.n_params:
            raise InvalidInput(f"code holds {n.size} values but the architecture has {decoder.n_params} parameters")
        flat = (scale * n.astype(np.float64)).astype(np.float32)
    else:
        if n.size != decoder.d:
            raise InvalidInput(f"code holds {n.size} values but the subspace has d={decoder.d}")
        pn = decoder.projection().astype(np.int64) @ n  # exact integer product
        flat = (decoder.w0().astype(np.float64) + scale * pn.astype(np.float64)).astype(np.float32)
    return split_flat(decoder.sizes, flat)
