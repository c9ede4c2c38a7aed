"""The compressed-model format: a fixed decoder (architecture, kind, seed) and the rebuild of the float32 weights
from a code (:mod:`certify.models.codec`). The rebuild is bit-exact on any IEEE machine (see
:mod:`certify.training.compress` for the two decoders of the library's MLP, and :class:`ModuleDecoder` for a user's
torch module)."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Literal

import numpy as np

from boundcert.errors import InvalidInput
from certify.models.codec import Code, decode
from certify.models.posterior import mlp_init

__all__ = ["Decoder", "ModuleDecoder", "split_flat", "rebuild"]


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

    def arch_text(self) -> str:
        return f"MLP {'-'.join(map(str, self.sizes))} ReLU"

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


@dataclass(frozen=True, slots=True, eq=False)
class ModuleDecoder:
    """The fixed decoder of a user's module (``certify compress MODEL``): the module's structure and the order of
    its state dict, the kind, and (``subspace``) dimension ``d`` and seed. ``template`` is the module (structure
    only; its own tensors are never read).

    * ``direct``: the coded integers ``n`` are the parameters (:func:`posterior_parameters` order, flattened) as
      ``scale * n``; the prefix words are the float32 ``scale`` then every entry of every float buffer (BatchNorm
      running statistics) as float32 bit patterns: data-dependent statistics are coded, not assumed.
    * ``subspace``: parameters ``float32(float64(w0) + float64(scale) * (P n))`` with ``w0`` the seeded
      initialisation (:func:`certify.models.module_posterior.seeded_init`, which also fixes the buffers: running
      mean 0, variance 1) and ``P`` the ``D x d`` Rademacher matrix of PCG64(seed + 1); the prefix is ``scale``.

    Integer buffers (``num_batches_tracked``) are 0. Every step is IEEE elementwise or exact integer arithmetic.
    """

    kind: Literal["direct", "subspace"]
    keys: tuple[str, ...]
    names: tuple[str, ...]
    shapes: tuple[tuple[int, ...], ...]
    float_buffers: tuple[str, ...]
    d: int = 0
    seed: int = 0
    sparse: bool = True
    arch: str = ""
    template: object = None

    @classmethod
    def for_module(cls, template, kind: str, *, d: int = 0, seed: int = 0, sparse: bool = True,
                   arch: str = "") -> "ModuleDecoder":
        from certify.models.module_posterior import posterior_parameters

        if kind not in ("direct", "subspace"):
            raise InvalidInput(f"decoder kind={kind!r}: give direct or subspace")
        names = posterior_parameters(template)
        state = template.state_dict()
        if kind == "subspace" and not 1 <= d <= 10**6:
            raise InvalidInput(f"d={d}: the subspace dimension must be an integer in [1, 10^6]")
        fb = tuple(k for k, v in state.items() if k not in names and v.is_floating_point())
        return cls(kind, tuple(state), names, tuple(tuple(state[n].shape) for n in names), fb, d, seed, sparse, arch,
                   template)

    @property
    def n_params(self) -> int:
        return int(sum(int(np.prod(s)) for s in self.shapes))

    def n_prefix(self) -> int:
        if self.kind == "subspace":
            return 1
        state = self.template.state_dict()
        return 1 + int(sum(state[k].numel() for k in self.float_buffers))

    def arch_text(self) -> str:
        return self.arch or type(self.template).__name__

    def describe(self) -> dict:
        return {"kind": f"module-{self.kind}", "arch": self.arch_text(), "names": list(self.names),
                "shapes": [list(s) for s in self.shapes], "float_buffers": list(self.float_buffers), "d": self.d,
                "seed": self.seed, "sparse": self.sparse,
                "format": f"certify.models.codec v1 with {self.n_prefix()} 32-bit prefix words (float32 scale"
                          + (", float32 buffers)" if self.kind == "direct" else ")")}

    def w0(self) -> np.ndarray:
        from certify.models.module_posterior import seeded_init

        init = seeded_init(self.template, self.seed)
        return np.concatenate([init[n].ravel() for n in self.names])

    def projection(self) -> np.ndarray:
        """Rademacher ``D x d`` int8 matrix from PCG64(seed + 1) (integers: stable across numpy versions)."""
        rng = np.random.Generator(np.random.PCG64(self.seed + 1))
        return (rng.integers(0, 2, size=(self.n_params, self.d), dtype=np.int8) * 2 - 1).astype(np.int8)

    def rebuild(self, code: Code) -> list[np.ndarray]:
        """The float32 (and int64) state-dict arrays, in :attr:`keys` order, that ``code`` stands for."""
        from certify.models.module_posterior import seeded_init

        words, n = decode(code, self.n_prefix())
        f32 = lambda w: struct.unpack("<f", struct.pack("<I", w))[0]  # noqa: E731
        scale = np.float64(f32(words[0]))
        state = self.template.state_dict()
        if self.kind == "direct":
            if n.size != self.n_params:
                raise InvalidInput(f"code holds {n.size} values but the model has {self.n_params} parameters")
            flat = (scale * n.astype(np.float64)).astype(np.float32)
            bufs, i = {}, 1
            for k in self.float_buffers:
                cnt = int(state[k].numel())
                bufs[k] = np.array(words[i : i + cnt], dtype=np.uint32).view(np.float32).reshape(tuple(state[k].shape))
                i += cnt
        else:
            if n.size != self.d:
                raise InvalidInput(f"code holds {n.size} values but the subspace has d={self.d}")
            P = self.projection()
            pn = np.concatenate([P[i : i + 4096].astype(np.int64) @ n for i in range(0, P.shape[0], 4096)])
            flat = (self.w0().astype(np.float64) + scale * pn.astype(np.float64)).astype(np.float32)
            init = seeded_init(self.template, self.seed)
            bufs = {k: init[k] for k in self.float_buffers}
        out, i = {}, 0
        for name, shape in zip(self.names, self.shapes):
            size = int(np.prod(shape))
            out[name] = flat[i : i + size].reshape(shape)
            i += size
        for k in self.keys:
            if k not in out and k not in bufs:
                out[k] = np.zeros(tuple(state[k].shape), dtype=np.int64)
        out.update(bufs)
        return [np.ascontiguousarray(out[k]) for k in self.keys]

    def errors(self, weights: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> int:
        """Exact argmax errors of the module with the rebuilt ``weights`` on ``(x, y)`` (float32 CPU, TF32 off)."""
        import copy

        import torch

        from certify.models.predict import count_errors, predict

        net = copy.deepcopy(self.template)
        net.load_state_dict({k: torch.from_numpy(w.copy()) for k, w in zip(self.keys, weights)}, strict=True)
        return count_errors(predict(net, np.ascontiguousarray(x, dtype=np.float32)), y)
