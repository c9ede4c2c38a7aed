"""numba.cuda row sums for the group norms of :mod:`kernels._norms` (Frobenius, (2,1), (1,inf)).

One thread per row computes ``fl(sum_j a_ij^2)`` and ``fl(sum_j |a_ij|)`` left to right in float64, the loop of
the CPU kernel. Rounding model: the CPU one. ``s += x * x`` may be contracted to an FMA on the device (one
rounding instead of two); ``|fl(s) - s| <= gamma_n s + n eta`` holds either way and in any order (Higham
Lemma 3.1), and the sums of absolute values have no products. The bounds of each row and the final outward
rounding are applied on the host by the same code as the CPU path (:func:`kernels._norms._bounds_sumsq`).
"""

from __future__ import annotations

import numpy as np
from numba import cuda

__all__ = ["row_sums_cuda"]

from kernels._device import cuda_simulated

_TPB = 32 if cuda_simulated() else 128


@cuda.jit
def _row_sums_kernel(a, sq, ab):
    i = cuda.grid(1)
    if i < a.shape[0]:
        s = 0.0
        t = 0.0
        for j in range(a.shape[1]):
            x = a[i, j]
            s += x * x
            t += abs(x)
        sq[i] = s
        ab[i] = t


def row_sums_cuda(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-row ``fl(sum a_ij^2)`` and ``fl(sum |a_ij|)`` of the float64 matrix ``a``, computed on the device."""
    m = a.shape[0]
    da = cuda.to_device(np.ascontiguousarray(a, dtype=np.float64))
    sq = cuda.device_array(m, dtype=np.float64)
    ab = cuda.device_array(m, dtype=np.float64)
    if m:
        _row_sums_kernel[(m + _TPB - 1) // _TPB, _TPB](da, sq, ab)
    return sq.copy_to_host(), ab.copy_to_host()
