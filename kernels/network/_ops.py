"""The CPU products of the enclosed forward pass (float64 BLAS): each output a sum of ``n`` products, any order.
:class:`kernels._cuda_network.CudaOps` is the CUDA twin (Linear layers and groups-1 convolutions)."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["CpuOps", "CPU"]


class CpuOps:
    """``dense(w, z) = z @ w.T``; ``conv(k, z, g)``: the convolution of geometry ``g`` (kernels._conv_ops)."""

    name = "cpu"

    @staticmethod
    def dense(w: np.ndarray, z: np.ndarray) -> np.ndarray:
        return z @ w.T

    @staticmethod
    def conv(k: np.ndarray, z: np.ndarray, g: Any) -> np.ndarray:
        from kernels._conv_ops import forward

        return np.stack([forward(k, zi, g) for zi in z])


CPU = CpuOps
