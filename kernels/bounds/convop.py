"""The backward step of a zero-padded convolution as torch float64 convolutions (im2col + GEMM), for
:meth:`kernels.bounds.operators.Operator.back` (kind ``"conv"``).

The exact operator ``T`` of a ``Conv`` with zero padding has as entries the stored float weights or exact zeros
(one output reads one input pixel through at most one kernel tap), so ``M = T`` with no radius. ``L T`` is the
adjoint convolution (``conv_transpose2d`` of the rows of ``L``), ``|T| z`` the convolution of ``z`` with ``|W|``;
each entry of either is a float64 sum of at most ``n`` nonzero products (``n`` <= ``C_out/g kh kw`` for a column,
``C_in/g kh kw`` for a row) in whatever order and blocking the GEMM uses, so Higham's bound
``gamma_n sum |products| + n eta`` applies as for any BLAS product (:mod:`kernels.bounds.operators`). oneDNN is
switched off for these calls (torch's native float64 path: im2col/col2im copies and a GEMM; no Winograd or FFT),
and so is TF32.

Rounding model: binary64, round to nearest; the caller adds the error terms.
"""

from __future__ import annotations

import contextlib
import warnings
from typing import Any

import numpy as np

from kernels.network.affine import Conv

__all__ = ["conv_eligible", "conv_counts", "conv_weights", "adjoint_rows", "abs_apply"]


def conv_eligible(layer: Any, in_shape: tuple[int, ...]) -> bool:
    """True for a ``Conv`` with zero padding and finite weights (1-D or 2-D): the case handled here."""
    return (isinstance(layer, Conv) and layer.padding_mode == "zeros" and len(in_shape) == layer.spatial + 1
            and bool(np.all(np.isfinite(layer.weight))))


def conv_counts(layer: Conv) -> tuple[int, int]:
    """``(n_col, n_row)``: upper bounds of the nonzeros in a column / a row of ``T``."""
    k = layer._geom()[0]
    taps = int(k.shape[2] * k.shape[3])
    return max(k.shape[0] // layer.groups * taps, 1), max(k.shape[1] * taps, 1)


@contextlib.contextmanager
def _native():
    import torch

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="TF32 acceleration on top of oneDNN")
        with torch.backends.mkldnn.flags(enabled=False):
            yield torch


def conv_weights(layer: Conv) -> tuple[Any, Any]:
    """The 2-D kernel ``W`` and ``|W|`` as float64 torch tensors (exact copies)."""
    import torch

    k = np.ascontiguousarray(layer._geom()[0], dtype=np.float64)
    return torch.from_numpy(k), torch.from_numpy(np.abs(k))


def _hw(shape: tuple[int, ...]) -> tuple[int, int, int]:
    return (shape[0], 1, shape[1]) if len(shape) == 2 else (shape[0], shape[1], shape[2])


def adjoint_rows(layer: Conv, k: Any, L: np.ndarray, in_shape: tuple[int, ...],
                 out_shape: tuple[int, ...]) -> np.ndarray:
    """``fl(L T)``: ``L`` (batch, rows, *out_shape) -> (batch, rows, *in_shape), float64 (error terms: caller)."""
    _, st, pd, dl = layer._geom()
    b, S = L.shape[:2]
    c_in, h, w = _hw(in_shape)
    c_out, oh, ow = _hw(out_shape)
    opad = tuple(n - ((o - 1) * s - 2 * p + d * (kk - 1) + 1) for n, o, s, p, d, kk in
                 zip((h, w), (oh, ow), st, pd, dl, k.shape[2:]))
    with _native() as torch:
        g = torch.from_numpy(np.ascontiguousarray(L, dtype=np.float64).reshape(b * S, c_out, oh, ow))
        out = torch.nn.functional.conv_transpose2d(g, k, None, st, pd, opad, layer.groups, dl)
    return out.numpy().reshape((b, S) + in_shape)


def abs_apply(layer: Conv, absk: Any, z: np.ndarray, in_shape: tuple[int, ...]) -> np.ndarray:
    """``fl(|T| z)`` for ``z >= 0`` (batch, *in_shape) -> (batch, D_out) float64 (the caller rounds it up)."""
    _, st, pd, dl = layer._geom()
    b = z.shape[0]
    with _native() as torch:
        x = torch.from_numpy(np.ascontiguousarray(z, dtype=np.float64).reshape((b,) + _hw(in_shape)))
        out = torch.nn.functional.conv2d(x, absk, None, st, pd, dl, layer.groups)
    return out.numpy().reshape(b, -1)
