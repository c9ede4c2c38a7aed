"""The Hessian of the training loss as a float64 operator, its top eigenvalues with brackets, trace and density.

``H = d^2/dw^2 (1/n) sum_i CE(f_w(x_i), y_i)`` at the trained parameters, applied through Hessian-vector products
(double backward of torch autograd) in float64 on the CPU, TF32 off. The product is full (``block="all"``) or
restricted to the diagonal block of one layer's parameters (the Hessian of the loss in those parameters, the others
fixed).

What is proven, and for what (the operator model of :mod:`kernels._lanczos`): the eigenvalue brackets
(:func:`kernels.lanczos_brackets`) and the trace confidence interval (:func:`kernels.hutchinson_trace`, probability
``>= 1 - delta`` over its Rademacher draws) hold for the *float64 operator*, the symmetric matrix whose products are
the float64 Hessian-vector products computed here; they are not enclosures for the real Hessian of the float32
model (the rounding error of the double backward pass is not bounded). The spectral density is an estimate.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Literal, Sequence

import numpy as np

from boundcert.errors import InvalidInput
from certify.landscape.params import FlatModel, flat_model, layer_blocks
from kernels import (
    LanczosBrackets, SpectralDensityEstimate, TraceInterval, hutchinson_trace, lanczos_brackets, slq_density_estimate,
)

_CACHE_EXAMPLES = 4096

__all__ = ["HessianOperator", "BlockSpectrum", "HessianReport", "hessian_operator", "hessian_report"]

@dataclass(frozen=True, slots=True, eq=False)
class HessianOperator:
    """``v -> H_BB v`` for the block ``B = [start, stop)`` of the flat parameters (``"all"``: the full Hessian).

    ``matvec`` takes and returns float64 numpy vectors of length ``dim``; ``calls`` counts its applications.
    """

    flat: FlatModel
    block: str
    start: int
    stop: int
    calls: list[int]
    graph: dict[str, Any]

    @property
    def dim(self) -> int:
        return self.stop - self.start

    def _gradient(self, i: int) -> tuple[Any, Any]:
        """``(w_B, grad)`` of batch ``i``'s share of the loss, with its graph (kept for at most
        :data:`_CACHE_EXAMPLES` examples; larger data recomputes it for every product)."""
        import torch

        if i in self.graph:
            return self.graph[i]
        fm = self.flat
        wb = fm.w[self.start : self.stop].clone().requires_grad_(True)
        full = torch.cat([fm.w[: self.start], wb, fm.w[self.stop :]])
        xb, yb = fm.x[i : i + fm.batch], fm.y[i : i + fm.batch]
        loss = torch.nn.functional.cross_entropy(fm.logits(full, xb), yb, reduction="sum") / fm.n
        (g,) = torch.autograd.grad(loss, wb, create_graph=True)
        if fm.n <= _CACHE_EXAMPLES:
            self.graph[i] = (wb, g)
        return wb, g

    def matvec(self, v: np.ndarray) -> np.ndarray:
        import torch

        self.calls[0] += 1
        fm = self.flat
        vt = torch.from_numpy(np.ascontiguousarray(v, dtype=np.float64))
        out = torch.zeros(self.dim, dtype=torch.float64)
        for i in range(0, fm.n, fm.batch):
            wb, g = self._gradient(i)
            (hv,) = torch.autograd.grad(g, wb, grad_outputs=vt, retain_graph=True)
            out += hv.detach()
        return out.numpy()

def hessian_operator(module: Any, x: np.ndarray, y: np.ndarray, *, block: str = "all",
                     batch: int = 1024) -> HessianOperator:
    """The float64 Hessian operator of the mean cross-entropy of ``module`` on ``(x, y)``, full or one layer block.

    Raises:
        InvalidInput: an unknown block name (the message lists the layers), or a model/data mismatch.
    """
    fm = flat_model(module, x, y, dtype="float64", batch=batch)
    if block == "all":
        return HessianOperator(fm, "all", 0, fm.dim, [0], {})
    blocks = layer_blocks(fm.names, fm.shapes)
    if block not in blocks:
        raise InvalidInput(f"block={block!r} is not a layer of the model: give 'all' or one of {sorted(blocks)}")
    a, b = blocks[block]
    return HessianOperator(fm, block, a, b, [0], {})

@dataclass(frozen=True, slots=True)
class BlockSpectrum:
    """The spectrum information of one block: brackets, trace interval and density (each ``None`` when not asked).

    Attributes:
        block, dim: the block's name (``"all"``: full Hessian) and its number of parameters.
        brackets: :class:`kernels.LanczosBrackets` of the top eigenvalues (float64 operator).
        trace: :class:`kernels.TraceInterval` (probability ``>= 1 - delta`` over its draws), or ``None``.
        density: :class:`kernels.SpectralDensityEstimate`, or ``None``.
        n_hvp: Hessian-vector products spent; seconds: wall time.
    """

    block: str
    dim: int
    brackets: LanczosBrackets | None
    trace: TraceInterval | None
    density: SpectralDensityEstimate | None
    n_hvp: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"block": self.block, "dim": self.dim, "n_hvp": self.n_hvp,
                               "seconds": round(self.seconds, 3),
                               "operator": "float64 Hessian-vector products of the mean cross-entropy (the brackets "
                                           "and the trace interval are proven for this operator, not for the real "
                                           "Hessian)"}
        if self.brackets is not None:
            b = self.brackets
            eig = {}
            for i, (e, t, r) in enumerate(zip(b.eigenvalues, b.ritz_values, b.residuals), start=1):
                eig[f"lambda_{i}"] = {"lo": repr(e.lo), "hi": repr(e.hi), "ritz_value": repr(t),
                                      "residual_upper": repr(r)}
            out["eigenvalues"] = eig
            out["eigenvalue_claim"] = ("each lambda_i bracket contains an eigenvalue of the operator; "
                                       "lambda_max_lower is a proven lower bound on its largest eigenvalue; the "
                                       "bracket holds the i-th largest one unless Lanczos missed an eigenvalue "
                                       "above it")
            out["lambda_max_lower"] = repr(b.lambda_max_lower)
            out["brackets_disjoint"] = b.disjoint
            out["lanczos_steps"] = b.n_iter
            out["krylov_exhausted"] = b.exhausted
        if self.trace is not None:
            t = self.trace
            out["trace"] = {"lo": repr(t.lo), "hi": repr(t.hi), "delta": repr(t.delta),
                            "delta_trace": repr(t.delta_trace), "delta_frobenius": repr(t.delta_frobenius),
                            "trace_estimate": repr(t.trace_estimate), "n_samples": t.n_samples, "q": t.q,
                            "frobenius_sq_upper": repr(t.frobenius_sq_upper), "inequality": t.inequality,
                            "claim": "with probability >= 1 - delta over the Rademacher draws, lo <= tr(H) <= hi"}
        if self.density is not None:
            d = self.density
            out["spectral_density_estimate"] = {"grid": list(d.grid), "density": list(d.density), "width": d.width,
                                                "n_iter": d.n_iter, "n_vectors": len(d.nodes)}
        return out

@dataclass(frozen=True, slots=True)
class HessianReport:
    """One :class:`BlockSpectrum` per block asked for (``"all"`` first)."""

    blocks: tuple[BlockSpectrum, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"blocks": [b.to_dict() for b in self.blocks]}

def hessian_report(module: Any, x: np.ndarray, y: np.ndarray, *, blocks: Sequence[str] | Literal["all", "layers"]
                   = "all", top_k: int = 3, n_iter: int | None = None, trace_samples: int | None = 100,
                   delta: float = 0.05, density: bool = False, density_vectors: int = 4, density_iter: int = 40,
                   seed: int = 0, batch: int = 1024, progress: bool = False) -> HessianReport:
    """Top-``top_k`` eigenvalue brackets, the trace interval and (``density``) the SLQ density, per block.

    Args:
        blocks: ``"all"`` (full Hessian), ``"layers"`` (full and every layer block) or a list of block names.
        top_k, n_iter: Lanczos (``n_iter`` default: ``min(dim, max(2 top_k + 20, 40))``).
        trace_samples, delta: Hutchinson samples (``None``: no trace) and the interval's failure probability.
        density, density_vectors, density_iter: the SLQ density estimate.
        seed: every random draw; batch: examples per forward pass; progress: a bar over the blocks
            (:mod:`certify.reports.progress`).
    """
    if isinstance(blocks, str):
        if blocks not in ("all", "layers"):
            raise InvalidInput(f"blocks={blocks!r}: give 'all', 'layers' or a list of layer names")
        names: list[str] = ["all"]
        if blocks == "layers":
            fm = flat_model(module, x[:1], y[:1], dtype="float64")
            names += list(layer_blocks(fm.names, fm.shapes))
    else:
        names = list(blocks)
    from certify.reports.progress import progress as bar

    out = []
    for name in bar(names, desc="hessian blocks", unit="block", enabled=progress):
        op = hessian_operator(module, x, y, block=name, batch=batch)
        t0 = time.perf_counter()
        k = min(top_k, op.dim)
        m = None if n_iter is None else min(n_iter, op.dim)
        br = lanczos_brackets(op.matvec, op.dim, k, n_iter=m, seed=seed)
        tr = None
        if trace_samples is not None:
            tr = hutchinson_trace(op.matvec, op.dim, trace_samples, delta=delta, seed=seed + 1)
        de = None
        if density:
            de = slq_density_estimate(op.matvec, op.dim, n_vectors=density_vectors,
                                      n_iter=min(density_iter, op.dim), seed=seed + 2)
        out.append(BlockSpectrum(name, op.dim, br, tr, de, op.calls[0], time.perf_counter() - t0))
    return HessianReport(tuple(out))

