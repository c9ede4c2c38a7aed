"""Certified logits: an enclosure of the exact real-valued network output at each stored input.

The forward pass is the network IR's (:func:`kernels.forward_enclosure` on :class:`kernels.network.Graph`): a float64
forward pass with proven elementwise and l2 error radii (each layer module states its rounding model; affine layers
carry their rounding through later layers by certified operator norms, so deep residual nets stay tight). Weights
and inputs are taken exactly (float32 -> float64 copies).
"""

from __future__ import annotations

import numpy as np

from kernels import forward_enclosure
from kernels._rounding import vdown

__all__ = ["logit_enclosure", "margin_lower"]


def logit_enclosure(net, x: np.ndarray, batch: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """``(lo, hi)`` with ``lo <= f(x) <= hi`` for the exact real network ``f`` at every stored input row (one pass
    over the batches, so each layer's certified operator norm is computed once)."""
    return forward_enclosure(net, np.asarray(x, dtype=np.float64), batch_size=batch, device="cpu")


def margin_lower(lo: np.ndarray, hi: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Lower ends of the multiclass margins ``f_y(x) - max_{j != y} f_j(x)`` (rounded down)."""
    idx = np.arange(len(y))
    others = hi.copy()
    others[idx, y] = -np.inf
    return vdown(lo[idx, y] - others.max(axis=1))
