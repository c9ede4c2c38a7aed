"""numba.cuda products for the enclosed forward pass of :func:`kernels.logit_margins` (Linear, groups-1 Conv).

The device computes the two kinds of sums of products the pass needs, for the midpoints (``W m``) and for the
radii (``|W| s``): dense layers ``C[b, o] = sum_k Z[b, k] W[o, k]`` and convolutions
``Y[b, o, y, x] = sum_{c, p, q} K[o, c, p, q] Xpad[b, c, y s_h + p, x s_w + q]``, one thread per output, float64,
left to right. The padding (zeros or circular) is applied on the host (exact copies).

Rounding model: the CPU one (:mod:`kernels.network.affine`): a sum of ``n`` products in any order, FMA or
not, has ``|fl(sum) - sum| <= gamma_n sum |x_i y_i| + n eta`` (Higham Lemma 3.1), so the radius
``|W| (r + gamma_{n+1} |m|) + gamma_{n+1} |b| + (n+1) eta`` of the CPU path is valid for the device sums; the
radius products (nonnegative data, bounded above by the same lemma) and every outward rounding are done by the
host code of :mod:`kernels.network.affine` on the returned arrays.
"""

from __future__ import annotations

import numpy as np
from numba import cuda

from kernels._device import cuda_simulated

__all__ = ["CudaOps"]

_TPB = 32 if cuda_simulated() else 256


@cuda.jit
def _dense_kernel(Z, W, C):
    t = cuda.grid(1)
    nb, no = Z.shape[0], W.shape[0]
    if t < nb * no:
        b = t // no
        o = t - b * no
        s = 0.0
        for k in range(W.shape[1]):
            s += Z[b, k] * W[o, k]
        C[b, o] = s


@cuda.jit
def _conv_kernel(XP, K, Y, sh, sw):
    t = cuda.grid(1)
    nb, co, oh, ow = Y.shape
    if t < nb * co * oh * ow:
        x = t % ow
        r = t // ow
        y = r % oh
        r //= oh
        o = r % co
        b = r // co
        s = 0.0
        for c in range(K.shape[1]):
            for p in range(K.shape[2]):
                for q in range(K.shape[3]):
                    s += K[o, c, p, q] * XP[b, c, y * sh + p, x * sw + q]
        Y[b, o, y, x] = s


class CudaOps:
    """The products of the forward pass on the CUDA device (numba.cuda); same interface as the CPU ops."""

    name = "cuda"

    @staticmethod
    def dense(w: np.ndarray, z: np.ndarray) -> np.ndarray:
        """``z @ w.T`` for ``z`` (batch, in) and ``w`` (out, in), each entry a float64 sum of ``in`` products."""
        nb, no = z.shape[0], w.shape[0]
        out = cuda.device_array((nb, no), dtype=np.float64)
        if nb * no:
            _dense_kernel[(nb * no + _TPB - 1) // _TPB, _TPB](
                cuda.to_device(np.ascontiguousarray(z, dtype=np.float64)),
                cuda.to_device(np.ascontiguousarray(w, dtype=np.float64)), out)
        return out.copy_to_host()

    @staticmethod
    def conv(k: np.ndarray, z: np.ndarray, g) -> np.ndarray:
        """``conv2d(pad(z), k, stride)`` for ``z`` (batch, c_in, H, W); each output a sum of ``c_in kh kw`` products."""
        (ph, pw), (oh, ow), (sh, sw) = g.padding, g.out_hw, g.stride
        mode = "wrap" if g.mode == "circular" else "constant"
        zp = np.pad(z, ((0, 0), (0, 0), (ph, ph), (pw, pw)), mode=mode)
        nb, co = z.shape[0], k.shape[0]
        out = cuda.device_array((nb, co, oh, ow), dtype=np.float64)
        total = nb * co * oh * ow
        if total:
            _conv_kernel[(total + _TPB - 1) // _TPB, _TPB](
                cuda.to_device(np.ascontiguousarray(zp, dtype=np.float64)),
                cuda.to_device(np.ascontiguousarray(k, dtype=np.float64)), out, sh, sw)
        return out.copy_to_host()
