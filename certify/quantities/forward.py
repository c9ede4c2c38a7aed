"""Certified logits: an enclosure of the exact real-valued network output at each stored input.

Rounding model. Weights and inputs are taken exactly (float32 -> float64 copies). Activations travel as
midpoint-radius pairs ``(c, r)`` (float64 arrays, ``r >= 0``) meaning ``[c - r, c + r]``. An affine layer
(Linear, Conv2d via im2col) computes ``c' = W c + b`` in float64 BLAS (no Strassen; TF32 is irrelevant in numpy) and
``r' = |W| r + gamma_{n+1} (|W| |c| + |b|)`` (Higham Thm. 3.5, ``gamma_n = n u / (1 - n u)``, ``u = 2^-53``, ``n``
the dot-product length); ``r'`` is itself computed in floating point from non-negative terms, so it is multiplied by
``1 + 2 gamma_{n+2}`` and increased by ``n * 2^-1074 * 4`` (underflow) to be an upper bound. Elementwise maps work on
``[lo, hi]`` ends: ReLU, leaky ReLU, max pooling and additions are monotone and rounded outward with ``nextafter``;
tanh, sigmoid, ELU and GELU use numpy's libm, assumed accurate to 2^20 ulps, widened by the relative 2^-32 plus
2^-1000 (GELU's interior minimum -0.1700 is used when an interval straddles its argmin). BatchNorm's scale
``weight / sqrt(var + eps)`` is enclosed with one ``nextafter`` per correctly rounded IEEE operation.
"""

from __future__ import annotations

import numpy as np

from boundcert.errors import InvalidInput
from certify.models.network import Activation, Add, BatchNorm, Conv2d, Flatten, Linear, Network, Pool
from kernels._rounding import ETA, gamma, vdown, vup

__all__ = ["logit_enclosure", "margin_lower"]

_TINY = ETA


def _to_ends(c: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return vdown(c - r), vup(c + r)


def _to_midrad(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    c = lo * 0.5 + hi * 0.5
    return c, vup(np.maximum(hi - c, c - lo))


def _affine(c: np.ndarray, r: np.ndarray, W: np.ndarray, b: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """``x -> x @ W.T + b`` on rows of ``c`` with the radius bound of the module docstring."""
    n = W.shape[1] + 1
    aW = np.abs(W)
    mid = c @ W.T + (0.0 if b is None else b)
    err = np.abs(c) @ aW.T + (0.0 if b is None else np.abs(b))
    rad = r @ aW.T + gamma(n) * err
    rad = rad * (1 + 2 * gamma(n + 2)) + 4 * n * _TINY
    return mid, rad


def _im2col(x: np.ndarray, L: Conv2d) -> tuple[np.ndarray, int, int]:
    import torch
    import torch.nn.functional as F

    kh, kw = L.weight.shape[2:]
    cols = F.unfold(torch.from_numpy(x), (kh, kw), dilation=L.dilation, padding=L.padding, stride=L.stride)
    h = (x.shape[2] + 2 * L.padding[0] - L.dilation[0] * (kh - 1) - 1) // L.stride[0] + 1
    w = (x.shape[3] + 2 * L.padding[1] - L.dilation[1] * (kw - 1) - 1) // L.stride[1] + 1
    return cols.numpy(), h, w  # (N, C*kh*kw, h*w); unfold only copies values (exact)


def _conv(c: np.ndarray, r: np.ndarray, L: Conv2d) -> tuple[np.ndarray, np.ndarray]:
    N, g, out = c.shape[0], L.groups, L.weight.shape[0]
    cc, h, w = _im2col(c, L)
    rc, _, _ = _im2col(r, L)
    per_in, per_out = cc.shape[1] // g, out // g
    mids, rads = [], []
    for j in range(g):
        W = L.weight[j * per_out : (j + 1) * per_out].reshape(per_out, -1)
        b = None if L.bias is None else L.bias[j * per_out : (j + 1) * per_out]
        xs = cc[:, j * per_in : (j + 1) * per_in].transpose(0, 2, 1).reshape(-1, per_in)
        rs = rc[:, j * per_in : (j + 1) * per_in].transpose(0, 2, 1).reshape(-1, per_in)
        m, rr = _affine(xs, rs, W, b)
        mids.append(m), rads.append(rr)
    mid = np.concatenate(mids, 1).reshape(N, h, w, out).transpose(0, 3, 1, 2)
    rad = np.concatenate(rads, 1).reshape(N, h, w, out).transpose(0, 3, 1, 2)
    return np.ascontiguousarray(mid), np.ascontiguousarray(rad)


def _widen(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    eps = 2.0**-32
    return vdown(lo - np.abs(lo) * eps - 2.0**-1000), vup(hi + np.abs(hi) * eps + 2.0**-1000)


def _activation(lo: np.ndarray, hi: np.ndarray, a: Activation) -> tuple[np.ndarray, np.ndarray]:
    if a.kind == "relu":
        return np.maximum(lo, 0.0), np.maximum(hi, 0.0)
    if a.kind == "leaky_relu":
        f = lambda x, rnd: np.where(x >= 0, x, rnd(x * a.slope))  # noqa: E731
        return f(lo, vdown), f(hi, vup)
    if a.kind == "tanh":
        return _widen(np.tanh(lo), np.tanh(hi))
    if a.kind == "sigmoid":
        return _widen(1 / (1 + np.exp(-lo)), 1 / (1 + np.exp(-hi)))
    if a.kind == "elu":
        f = lambda x: np.where(x > 0, x, a.slope * np.expm1(np.minimum(x, 0)))  # noqa: E731
        return _widen(f(lo), f(hi))
    if a.kind == "gelu":
        from math import erf, sqrt

        g = np.vectorize(lambda x: 0.5 * x * (1 + erf(x / sqrt(2))))
        glo, ghi = g(lo), g(hi)
        straddle = (lo < -0.7518) & (hi > -0.7517)
        return _widen(np.where(straddle, -0.1700, np.minimum(glo, ghi)), np.maximum(glo, ghi))
    raise InvalidInput(f"activation {a.kind!r} has no certified enclosure")


def _pool(lo: np.ndarray, hi: np.ndarray, p: Pool) -> tuple[np.ndarray, np.ndarray]:
    import torch
    import torch.nn.functional as F

    if p.kind == "max":
        f = lambda x: F.max_pool2d(torch.from_numpy(x), p.kernel, p.stride, p.padding).numpy()  # noqa: E731
        return f(lo), f(hi)  # max is exact and monotone
    k = p.kernel[0] * p.kernel[1]
    avg = lambda x: F.avg_pool2d(torch.from_numpy(x), p.kernel, p.stride, p.padding).numpy()  # noqa: E731
    err = avg(np.maximum(np.abs(lo), np.abs(hi))) * (2 * gamma(k + 2)) + 4 * k * _TINY
    return vdown(avg(lo) - err), vup(avg(hi) + err)


def _batchnorm(lo: np.ndarray, hi: np.ndarray, L: BatchNorm) -> tuple[np.ndarray, np.ndarray]:
    shape = (1, -1) + (1,) * (lo.ndim - 2)
    v = L.var + L.eps
    s_lo = vdown(L.weight / vup(np.sqrt(vup(v))))
    s_hi = vup(L.weight / vdown(np.sqrt(vdown(v))))
    s_lo, s_hi = np.minimum(s_lo, s_hi), np.maximum(s_lo, s_hi)
    a_lo, a_hi = vdown(lo - L.mean.reshape(shape)), vup(hi - L.mean.reshape(shape))
    prods = [x * s.reshape(shape) for x in (a_lo, a_hi) for s in (s_lo, s_hi)]
    p_lo, p_hi = vdown(np.minimum.reduce(prods)), vup(np.maximum.reduce(prods))
    return vdown(p_lo + L.bias.reshape(shape)), vup(p_hi + L.bias.reshape(shape))


def logit_enclosure(net: Network, x: np.ndarray, batch: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """``(lo, hi)`` with ``lo <= f(x) <= hi`` for the exact real network ``f`` at every stored input row."""
    from tqdm import tqdm

    los, his = [], []
    starts = range(0, x.shape[0], batch)
    for i in tqdm(starts, desc="certified logits", unit="batch", leave=False, disable=None if len(starts) > 8 else True):
        los_b, his_b = _forward(net, np.asarray(x[i : i + batch], dtype=np.float64))
        los.append(los_b), his.append(his_b)
    return np.concatenate(los), np.concatenate(his)


def _forward(net: Network, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    vals: dict[str, tuple[np.ndarray, np.ndarray]] = {"input": (x, x.copy())}
    for node in net.nodes:
        lo, hi = vals[node.inputs[0]]
        L = node.layer
        if isinstance(L, (Linear, Conv2d)):
            c, r = _to_midrad(lo, hi)
            if isinstance(L, Linear):
                if c.ndim != 2 or c.shape[1] != L.weight.shape[1]:
                    raise InvalidInput(f"layer {node.name} expects {L.weight.shape[1]} features, gets shape "
                                       f"{c.shape[1:]}: give data that matches the model's input")
                c, r = _affine(c, r, L.weight, L.bias)
            else:
                c, r = _conv(c, r, L)
            lo, hi = _to_ends(c, r)
        elif isinstance(L, Activation):
            lo, hi = _activation(lo, hi, L)
        elif isinstance(L, Flatten):
            lo, hi = lo.reshape(lo.shape[0], -1), hi.reshape(hi.shape[0], -1)
        elif isinstance(L, Pool):
            lo, hi = _pool(lo, hi, L)
        elif isinstance(L, BatchNorm):
            lo, hi = _batchnorm(lo, hi, L)
        elif isinstance(L, Add):
            lo2, hi2 = vals[node.inputs[1]]
            lo, hi = vdown(lo + lo2), vup(hi + hi2)
        vals[node.name] = (lo, hi)
    return vals[net.nodes[-1].name]


def margin_lower(lo: np.ndarray, hi: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Lower ends of the multiclass margins ``f_y(x) - max_{j != y} f_j(x)`` (rounded down)."""
    idx = np.arange(len(y))
    others = hi.copy()
    others[idx, y] = -np.inf
    return vdown(lo[idx, y] - others.max(axis=1))
