"""A worst-case bound on the float32 evaluation error of the logits over the perturbation set.

Claim: for every float32 input ``x'`` of the set and every evaluation of the network in binary32 that sums each
dot product / convolution window in any order (direct summation, FMA or not; not Winograd or FFT convolution),
``|f32(x')_j - f(x')_j| <= e_j`` for the exact real network ``f``. Then a margin lower bound minus
``e_y + e_j`` is a margin lower bound of the float32 execution (Higham, Thm. 3.5; cf. Murray 2026).

Rounding model of the deployed evaluation (binary32, ``u = 2^-24``, ``eta = 2^-149``, ``gamma_n = n u / (1 - n u)``),
node by node with ``e`` the elementwise error of the node's float32 value ``z^`` and ``|z^| <= zmax + e``:

* ``Linear``/``Conv`` (weights float32-exact, checked): ``e' = |W| e + gamma_n (|W| |z^| + |b|) + n eta``,
  ``n = fan_in + 1``;
* average pooling: ``e' = A e + gamma_{k+1} A |z^|`` (``k`` terms then one division);
* eval-mode ``BatchNorm`` as torch's CPU kernel computes it, ``y = x alpha + beta`` with ``alpha = weight /
  sqrt(var + eps)`` and ``beta = bias - mean alpha`` in float32 (correctly rounded operations, at most 8 roundings
  on any path): ``e' = |alpha| e + 2 gamma_8 (|alpha| |z^| + |bias| + |mean| |alpha|)``; ``Scale``: ``|a| e + u |a z^|
  + eta``;
* relu and max pooling are exact in floats and 1-Lipschitz (l-inf): ``e' = e`` (max over the window);
  leaky_relu ``e' = e + u |a z^| + eta``; data movement ``e' = e``; ``Add`` of ``k`` inputs: ``sum e_i +
  gamma_{k-1} sum |z^_i|``; ``Concat``: concatenated.

Transcendental activations (sigmoid, tanh, gelu, ...) and normalisations over features have no stated float32
error bound in torch: refused by name (the float32 claim is then not made). All arithmetic here is float64,
rounded upward.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from boundcert.errors import InvalidInput
from kernels._rounding import vup
from kernels.bounds._arith import flat
from kernels.bounds.convop import abs_apply
from kernels.bounds.operators import is_affine, operator_of, window_incidence
from kernels.network._state import nonneg_sum_up
from kernels.network.activation import Activation
from kernels.network.affine import Conv, Linear
from kernels.network.elementwise import BatchNorm, Scale
from kernels.network.graph import Graph
from kernels.network.merge import Add, Concat
from kernels.network.pool import AdaptivePool, Pool

__all__ = ["float32_margin_error_upper", "U32", "ETA32", "gamma32"]

U32 = 2.0**-24
ETA32 = 2.0**-149


def gamma32(n: int) -> float:
    """Upper bound of binary32's ``gamma_n`` (needs ``n u < 1/2``)."""
    if n * U32 >= 0.5:
        raise InvalidInput(f"n={n}: a float32 sum of this length has no useful error bound; split the layer")
    return float(np.nextafter(n * U32 / np.nextafter(1.0 - n * U32, 0.0), np.inf))


def _f32_exact(a: np.ndarray | None, name: str) -> None:
    if a is not None and not np.array_equal(np.asarray(a, np.float64), np.asarray(a, np.float32).astype(np.float64)):
        raise InvalidInput(f"{name}: the stored weights are not float32 numbers, so a float32 execution would round "
                           "them; the float32 claim covers float32 weights only")


def _affine_abs(op: Any, v: np.ndarray) -> np.ndarray:
    """Upper bound of ``|T| v`` for ``v >= 0`` (per sample) with the operator's matrix and its radius."""
    b = v.shape[0]
    if op.kind == "dense":
        W = op.M
        return nonneg_sum_up(vup(v @ np.abs(W).T), W.shape[1])
    if op.kind == "conv":
        return nonneg_sum_up(vup(abs_apply(op.M, op.absdense, v, op.in_shape)), op.n_row).reshape((b,) + op.out_shape)
    vf = flat(v, 1)
    t = nonneg_sum_up(vup(np.asarray((abs(op.M) @ vf.T).T)), op.n_row)
    if op.R is not None:
        t = vup(t + nonneg_sum_up(vup(np.asarray((op.R @ vf.T).T)), op.n_row))
    if op.r0 > 0:
        t = vup(t + vup(op.r0 * nonneg_sum_up(vup(vf.sum(axis=1)), vf.shape[1]))[:, None])
    return t.reshape((b,) + op.out_shape)


def float32_margin_error_upper(graph: Graph, boxes: dict, shapes: dict, cache: dict | None = None) -> np.ndarray:
    """``e`` (batch, K): ``|f32(x')_j - f(x')_j| <= e_j`` over the set whose node boxes are ``boxes`` (module)."""
    cache = {} if cache is None else cache
    lo, _ = boxes["input"]
    errs: dict[str, np.ndarray] = {"input": np.zeros_like(lo)}
    with np.errstate(over="ignore", invalid="ignore"):
        for n in graph.nodes:
            lay, a = n.layer, n.inputs[0]
            e = errs[a]
            zlo, zhi = boxes[a]
            zhat = vup(np.maximum(np.abs(zlo), np.abs(zhi)) + e)
            if isinstance(lay, (Linear, Conv)):
                _f32_exact(lay.weight, f"layer {n.name!r} weight")
                _f32_exact(lay.bias, f"layer {n.name!r} bias")
                op = operator_of(lay, shapes[a], shapes[n.name], cache)
                fan = (lay.weight.shape[1] if isinstance(lay, Linear) else int(np.prod(lay.weight.shape[1:]))) + 1
                t = _affine_abs(op, zhat)
                if lay.bias is not None:
                    bshape = (-1,) + (1,) * (len(shapes[n.name]) - 1) if isinstance(lay, Conv) else (-1,)
                    t = vup(t + np.abs(lay.bias).reshape(bshape))
                out = vup(vup(_affine_abs(op, e) + vup(gamma32(fan) * t)) + fan * ETA32)
            elif isinstance(lay, (Pool, AdaptivePool)) and lay.kind == "avg":
                op = operator_of(lay, shapes[a], shapes[n.name], cache)
                out = vup(_affine_abs(op, e) + vup(gamma32(op.n_row + 1) * _affine_abs(op, zhat)))
            elif isinstance(lay, BatchNorm):
                for arr, nm in ((lay.mean, "mean"), (lay.var, "var"), (lay.weight, "weight"), (lay.bias, "bias")):
                    _f32_exact(arr, f"BatchNorm {n.name!r} {nm}")
                s_lo, s_hi = lay.scale()
                shape = (-1,) + (1,) * (len(shapes[a]) - 1)
                sa = np.maximum(np.abs(s_lo), np.abs(s_hi)).reshape(shape)
                mean_s = vup(np.abs(lay.mean).reshape(shape) * sa)
                rest = vup(vup(sa * zhat) + vup(np.abs(lay.bias).reshape(shape) + mean_s))
                out = vup(vup(sa * e) + vup(2 * gamma32(8) * rest))
            elif isinstance(lay, Scale):
                f = abs(float(lay.factor))
                out = vup(vup(vup(f * e) + vup(U32 * vup(f * zhat))) + ETA32)
            elif isinstance(lay, Activation) and lay.kind in ("relu", "identity"):
                out = e
            elif isinstance(lay, Activation) and lay.kind == "leaky_relu":
                f = abs(float(lay.slope))
                out = vup(vup(e + vup(U32 * vup(f * zhat))) + ETA32) if f != 0 else e
            elif isinstance(lay, (Pool, AdaptivePool)) and lay.kind == "max":
                idx = window_incidence(lay, shapes[a], cache)
                ef = flat(e, 1)
                out = np.where(idx[None] >= 0, ef[:, np.where(idx >= 0, idx, 0)], 0.0).max(axis=2)
                out = out.reshape((e.shape[0],) + shapes[n.name])
            elif hasattr(lay, "move"):
                out = lay.move(e)
            elif isinstance(lay, Add):
                k = len(n.inputs)
                tot = np.zeros_like(e)
                mag = np.zeros_like(e)
                for b_ in n.inputs:
                    tot = vup(tot + errs[b_])
                    bl, bh = boxes[b_]
                    mag = vup(mag + vup(np.maximum(np.abs(bl), np.abs(bh)) + errs[b_]))
                out = vup(tot + vup(gamma32(max(k - 1, 1)) * mag))
            elif isinstance(lay, Concat):
                d = lay.dim % len(shapes[n.name]) + 1
                out = np.concatenate([errs[b_] for b_ in n.inputs], axis=d)
            else:
                kind = getattr(lay, "kind", type(lay).__name__)
                raise InvalidInput(f"layer {n.name!r} ({kind}) has no stated float32 evaluation error bound: the "
                                   "float32 claim covers affine, BatchNorm, relu/leaky_relu, pooling and data movement")
            errs[n.name] = np.where(np.isnan(out), np.inf, out)
    last = errs[graph.nodes[-1].name]
    return last.reshape(last.shape[0], -1)
