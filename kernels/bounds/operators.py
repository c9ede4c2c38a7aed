"""Affine operators of the IR's layers on a fixed input shape, as the backward pass applies them.

:func:`operator_of` returns an :class:`Operator` for ``Linear``, ``Conv``, average pooling (``Pool``/
``AdaptivePool`` kind ``avg``), eval-mode ``BatchNorm`` and ``Scale``; the backward step ``L -> L T`` of
:mod:`kernels.bounds.crown` is :meth:`Operator.back` with a rigorous bound on everything it does not compute exactly.

Rounding model. The exact operator is ``T = M + Delta`` with ``M`` the float matrix used and
``|Delta| <= R`` (elementwise) ``+ r0`` (every entry): for ``Linear`` ``M = W`` (exact, ``R = 0``); for convolutions
and average pooling ``M`` and ``R`` are the IR's own enclosed forward pass applied to the unit vectors
(:meth:`layer.forward` on exact points, bias removed: each column of ``T`` is ``T e_i``, enclosed as
``mid +- rad``; zero entries' radii are folded into ``r0``), kept sparse, and also dense when the matrix has at most
:data:`DENSE_MAX` entries (one BLAS product: a product with an exact zero entry is an exact zero, and adding it is
exact, so each entry of ``fl(L M)`` is still a float sum of at most ``n`` nonzero products, in whatever order and
blocking the BLAS uses). ``L T z`` is then
``fl(L M) z + (L M - fl(L M)) z + L Delta z`` with
``|L M - fl(L M)| <= gamma_n |L| |M| + n eta`` (``n`` the most nonzeros in a column of ``M``), so for ``|z| <= zmax``
the error is at most ``gamma_n |L| (|M| zmax) + n eta sum zmax + |L| (R zmax) + r0 sum|L| sum zmax`` (each
nonnegative product computed upward). A point bias ``b`` adds ``fl(L b)`` with the error term
``gamma_m |L| |b| + m eta`` (``m`` = ``len(b)``), taken in the same pass over ``|L|`` as ``gamma_n |L| (|M| zmax)``.
A zero-padded ``Conv`` has ``M = T`` exactly (``R = 0``) and is applied by torch float64 convolutions
(:mod:`kernels.bounds.convop`), with the same terms. ``BatchNorm``: ``T = diag(s)`` with ``s`` enclosed by
:meth:`BatchNorm.scale` (``M = s_mid``, ``R = s_rad``) and the product ``L s_mid`` rounded (``2^-52 |.| + eta``
per entry); its bias ``bias - mean s`` enclosed in interval arithmetic.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from boundcert.errors import InvalidInput
from kernels._rounding import ETA, gamma, up, vdown, vup
from kernels.bounds._arith import REL_ONE, absdot_up, add_down, box_lower, flat
from kernels.bounds.convop import abs_apply, adjoint_rows, conv_counts, conv_eligible, conv_weights
from kernels.network._state import nonneg_sum_up, point
from kernels.network.affine import Conv, Linear
from kernels.network.elementwise import BatchNorm, Scale
from kernels.network.graph import ForwardContext
from kernels.network.pool import AdaptivePool, Pool

__all__ = ["Operator", "operator_of", "is_affine", "window_incidence", "DENSE_MAX"]

#: a sparse operator with at most this many entries is also kept dense (BLAS products; 4M entries = 32 MB)
DENSE_MAX = 1 << 22


def is_affine(layer: Any) -> bool:
    """True for the layers :func:`operator_of` handles."""
    if isinstance(layer, (Linear, Conv, BatchNorm, Scale)):
        return True
    return isinstance(layer, (Pool, AdaptivePool)) and layer.kind == "avg"


def _sum_up(z: np.ndarray) -> np.ndarray:
    """Per-sample upper bound of ``sum z`` (``z >= 0``, (batch, ...))."""
    f = flat(z, 1)
    return nonneg_sum_up(vup(f.sum(axis=1)), f.shape[1])


@dataclass(frozen=True, slots=True, eq=False)
class Operator:
    """``z_out = T z_in + bias`` on per-sample shapes ``in_shape -> out_shape`` (see the module docstring)."""

    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    kind: str  # "dense" (Linear on the last axis), "sparse", "diag", "conv" (zero-padded Conv: convop)
    M: Any
    R: Any = None
    r0: float = 0.0
    n_col: int = 1
    n_row: int = 1
    bias_lo: np.ndarray | None = None  # per-sample-shape bias enclosure (broadcastable to out_shape)
    bias_hi: np.ndarray | None = None
    dense: Any = None  # "sparse": M as a dense (out, in) array when small enough; "conv": the torch kernel
    absdense: Any = None

    # ------------------------------------------------------------------ the backward step
    def back(self, L: np.ndarray, zmax: np.ndarray, negated: bool = False) -> tuple[np.ndarray, ...]:
        """``(L_in, c)``: ``L z_out >= L_in z_in + c`` for every real ``z_in`` with ``|z_in| <= zmax`` (``L``
        (batch, rows, *out_shape), ``zmax`` (batch, *in_shape)); ``c`` (batch, rows) a rigorous lower bound.
        With ``negated``, ``(L_in, c, c_neg)``: also ``-L z_out >= -L_in z_in + c_neg`` (the error terms depend on
        ``|L|`` only, so one product serves both signs)."""
        b, S = L.shape[:2]
        zf = flat(zmax, 1)
        with np.errstate(over="ignore", invalid="ignore"):
            if self.kind == "diag":
                s_mid, s_rad = self.M, self.R
                Lin = L * s_mid
                Lf, Linf = flat(L, 2), flat(Lin, 2)
                err = absdot_up(Lf, flat(vup(np.broadcast_to(s_rad, zmax.shape) * zmax), 1))
                err = vup(err + absdot_up(Linf, vup(REL_ONE * zf)))
                err = vup(err + vup(ETA * _sum_up(zmax))[:, None])
            else:
                Lf = flat(L, 2)
                if self.kind == "dense":
                    W = self.M
                    Lin = L @ W
                    t = flat(nonneg_sum_up(vup(zmax @ np.abs(W).T), W.shape[1]), 1)  # |W| zmax
                elif self.kind == "conv":  # M is the Conv layer; dense/absdense its kernel and |kernel| (convop)
                    Lin = adjoint_rows(self.M, self.dense, L, self.in_shape, self.out_shape)
                    t = nonneg_sum_up(vup(abs_apply(self.M, self.absdense, zmax, self.in_shape)), self.n_row)
                elif self.dense is not None:
                    Lin = (Lf.reshape(b * S, -1) @ self.dense).reshape((b, S) + self.in_shape)
                    t = nonneg_sum_up(vup(zf @ self.absdense.T), self.n_row)
                else:
                    Lin = (Lf.reshape(b * S, -1) @ self.M).reshape((b, S) + self.in_shape)
                    t = nonneg_sum_up(vup(np.asarray((abs(self.M) @ zf.T).T)), self.n_row)
                w = vup(gamma(self.n_col) * t)
                eta = vup(up(self.n_col * ETA) * _sum_up(zmax))
                point = self.bias_lo is not None and np.array_equal(self.bias_lo, self.bias_hi)
                if point:  # dot_lower's error term of L bias folded into the same pass over |L|
                    bf = flat(np.broadcast_to(self.bias_lo, (b,) + self.out_shape), 1)
                    n_b = max(Lf.shape[2], 1)
                    w = vup(w + vup(gamma(n_b) * np.abs(bf)))
                    eta = vup(eta + up(n_b * ETA))
                err = vup(absdot_up(Lf, w) + eta[:, None])
                if self.R is not None:
                    tr = nonneg_sum_up(vup(np.asarray((self.R @ zf.T).T)), self.n_row)
                    err = vup(err + absdot_up(Lf, tr))
                if self.r0 > 0:
                    sL = nonneg_sum_up(vup(np.abs(Lf).sum(axis=2)), Lf.shape[2])
                    err = vup(err + vup(vup(self.r0 * sL) * _sum_up(zmax)[:, None]))
                if point:
                    err = np.where(np.isnan(err), np.inf, err)
                    dot = np.einsum("brd,bd->br", Lf, bf)
                    cs = [vdown(sgn * dot - err) for sgn in ((1.0, -1.0) if negated else (1.0,))]
                    return (Lin, *(np.where(np.isnan(c), -np.inf, c) for c in cs))
            c = -np.where(np.isnan(err), np.inf, err)
            cs = [add_down(c, self._bias_lower(sgn * flat(L, 2))) if self.bias_lo is not None else c
                  for sgn in ((1.0, -1.0) if negated else (1.0,))]
        return (Lin, *cs)

    def _bias_lower(self, Lf: np.ndarray) -> np.ndarray:
        """Lower bound of ``Lf bias`` over the bias enclosure (``Lf`` (batch, rows, D_out)); a point bias never gets
        here (:meth:`back` folds it into its own pass)."""
        full = (Lf.shape[0],) + self.out_shape
        return box_lower(Lf, flat(np.broadcast_to(self.bias_lo, full), 1), flat(np.broadcast_to(self.bias_hi, full), 1))


def _bias_of(bias: np.ndarray | None, shape: tuple[int, ...], spatial: int) -> tuple[Any, Any]:
    if bias is None:
        return None, None
    b = np.asarray(bias, dtype=np.float64).reshape((-1,) + (1,) * spatial)
    return b, b


def _basis(layer: Any, in_shape: tuple[int, ...], chunk: int = 512) -> tuple[sp.csr_matrix, sp.csr_matrix, float]:
    """``(M, R, r0)`` of the linear ``layer`` from its enclosed forward pass on the unit vectors."""
    D = int(np.prod(in_shape))
    ctx = ForwardContext()
    cols_m, cols_r, r0 = [], [], 0.0
    for s in range(0, D, chunk):
        k = min(chunk, D - s)
        e = np.zeros((k, D))
        e[np.arange(k), np.arange(s, s + k)] = 1.0
        out = layer.forward((point(e.reshape((k,) + in_shape)),), ctx)
        mid, rad = flat(out.mid, 1), flat(out.rad, 1)
        zero = mid == 0
        if np.any(zero):
            r0 = max(r0, float(np.max(np.where(zero, rad, 0.0))))
        cols_m.append(sp.csr_matrix(mid))
        cols_r.append(sp.csr_matrix(np.where(zero, 0.0, rad)))
    M = sp.vstack(cols_m).T.tocsr()  # (out, in)
    R = sp.vstack(cols_r).T.tocsr()
    if not (np.all(np.isfinite(M.data)) and np.all(np.isfinite(R.data)) and math.isfinite(r0)):
        raise InvalidInput(f"{type(layer).__name__}: its operator has non-finite entries; check the weights")
    return M, R, up(r0) if r0 > 0 else 0.0


def _counts(M: sp.csr_matrix) -> tuple[int, int]:
    nz = (M != 0).astype(np.int64)
    cols, rows = np.asarray(nz.sum(axis=0)).ravel(), np.asarray(nz.sum(axis=1)).ravel()
    return max(int(cols.max(initial=0)), 1), max(int(rows.max(initial=0)), 1)


def operator_of(layer: Any, in_shape: tuple[int, ...], out_shape: tuple[int, ...], cache: dict) -> Operator:
    """The :class:`Operator` of an affine IR layer on per-sample input shape ``in_shape`` (cached by layer)."""
    key = ("operator", id(layer), in_shape)
    if key in cache:
        return cache[key]
    if isinstance(layer, Linear):
        W = np.asarray(layer.weight, dtype=np.float64)
        lo, hi = (None, None) if layer.bias is None else (layer.bias, layer.bias)
        op = Operator(in_shape, out_shape, "dense", W, n_col=max(W.shape[0], 1), n_row=max(W.shape[1], 1),
                      bias_lo=lo, bias_hi=hi)
    elif isinstance(layer, (BatchNorm, Scale)):
        spatial = len(in_shape) - 1
        if isinstance(layer, Scale):
            f = float(layer.factor)
            op = Operator(in_shape, out_shape, "diag", np.float64(f), np.float64(0.0))
        else:
            s_lo, s_hi = layer.scale()
            if not (np.all(np.isfinite(s_lo)) and np.all(np.isfinite(s_hi))):
                raise InvalidInput("BatchNorm: its scale weight / sqrt(var + eps) is not finite; check var and eps")
            shape = (-1,) + (1,) * spatial
            s_mid = s_lo * 0.5 + s_hi * 0.5
            s_rad = vup(np.maximum(vup(s_hi - s_mid), vup(s_mid - s_lo)))
            mean = layer.mean.reshape(shape)
            p = [mean * s.reshape(shape) for s in (s_lo, s_hi)]
            p_lo, p_hi = vdown(np.minimum(*p)), vup(np.maximum(*p))
            b = layer.bias.reshape(shape)
            op = Operator(in_shape, out_shape, "diag", s_mid.reshape(shape), s_rad.reshape(shape),
                          bias_lo=vdown(b - p_hi), bias_hi=vup(b - p_lo))
    elif conv_eligible(layer, in_shape):
        n_col, n_row = conv_counts(layer)
        lo, hi = _bias_of(layer.bias, out_shape, len(out_shape) - 1)
        k, absk = conv_weights(layer)
        op = Operator(in_shape, out_shape, "conv", layer, None, 0.0, n_col, n_row, lo, hi, k, absk)
    elif isinstance(layer, Conv) or (isinstance(layer, (Pool, AdaptivePool)) and layer.kind == "avg"):
        lin = dataclasses.replace(layer, bias=None) if isinstance(layer, Conv) else layer
        M, R, r0 = _basis(lin, in_shape)
        n_col, n_row = _counts(M)
        lo, hi = _bias_of(getattr(layer, "bias", None), out_shape, len(out_shape) - 1)
        dense = M.toarray() if M.shape[0] * M.shape[1] <= DENSE_MAX else None
        op = Operator(in_shape, out_shape, "sparse", M, R if R.nnz else None, r0, n_col, n_row, lo, hi, dense,
                      None if dense is None else np.abs(dense))
    else:  # pragma: no cover - callers check is_affine first
        raise InvalidInput(f"layer {type(layer).__name__} is not affine")
    cache[key] = op
    return op


def window_incidence(layer: Any, in_shape: tuple[int, ...], cache: dict) -> np.ndarray:
    """For a max pooling ``layer``: ``(out, kmax)`` input indices of each output's window (-1 pads), from the IR's
    own forward pass on the unit vectors (``max`` of a unit vector is 1 exactly on the windows holding it)."""
    key = ("windows", id(layer), in_shape)
    if key not in cache:
        avg = dataclasses.replace(layer, kind="max")
        M, _, _ = _basis(avg, in_shape)
        M = M.tocsr()
        counts = np.diff(M.indptr)
        kmax = int(counts.max(initial=1))
        idx = np.full((M.shape[0], kmax), -1, dtype=np.int64)
        for o in range(M.shape[0]):
            cols = M.indices[M.indptr[o]:M.indptr[o + 1]][M.data[M.indptr[o]:M.indptr[o + 1]] == 1.0]
            idx[o, :cols.size] = cols
        cache[key] = idx
    return cache[key]
