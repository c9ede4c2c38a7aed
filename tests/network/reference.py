"""An independent exact reference for the IR: a naive mpmath interpreter (numpy object arrays of ``mpf`` at 200 bits,
explicit loops for convolutions and pools, torch's window formulas written out again), used only by the tests."""

from __future__ import annotations

import mpmath
import numpy as np

from kernels import network as ir

__all__ = ["exact_forward", "PREC"]

PREC = 200


def _mp(a: np.ndarray) -> np.ndarray:
    out = np.empty(np.shape(a), dtype=object)
    flat = out.reshape(-1)
    for i, v in enumerate(np.asarray(a, dtype=np.float64).reshape(-1).tolist()):
        flat[i] = mpmath.mpf(v)
    return out


def _map(f, a: np.ndarray) -> np.ndarray:
    out = np.empty(a.shape, dtype=object)
    o, s = out.reshape(-1), a.reshape(-1)
    for i in range(s.size):
        o[i] = f(s[i])
    return out


def _act(L: ir.Activation, x):
    k, a = L.kind, mpmath.mpf(L.slope)
    if k == "relu":
        return x if x > 0 else mpmath.mpf(0)
    if k == "relu6":
        return min(max(x, mpmath.mpf(0)), mpmath.mpf(6))
    if k == "leaky_relu":
        return x if x >= 0 else a * x
    if k == "identity":
        return x
    if k == "tanh":
        return mpmath.tanh(x)
    if k == "sigmoid":
        return 1 / (1 + mpmath.exp(-x))
    if k == "silu":
        return x / (1 + mpmath.exp(-x))
    if k == "gelu":
        return x * mpmath.erfc(-x / mpmath.sqrt(2)) / 2
    if k == "elu":
        return x if x > 0 else a * (mpmath.exp(x) - 1)
    if k == "softplus":
        return mpmath.log(1 + mpmath.exp(a * x)) / a
    raise AssertionError(k)


def _conv(L: ir.Conv, x: np.ndarray) -> np.ndarray:
    w = _mp(L.weight)
    one_d = w.ndim == 3
    if one_d:
        w, x = w[:, :, None, :], x[:, None, :]
        st, pd, dl = (1, L.stride[0]), (0, L.padding[0]), (1, L.dilation[0])
    else:
        st, pd, dl = L.stride, L.padding, L.dilation
    mode = {"zeros": "constant", "circular": "wrap", "reflect": "reflect", "replicate": "edge"}[L.padding_mode]
    widths = ((0, 0), (pd[0], pd[0]), (pd[1], pd[1]))
    xp = np.pad(x, widths, mode=mode, **({"constant_values": mpmath.mpf(0)} if mode == "constant" else {}))
    co, cig, kh, kw = w.shape
    H = (xp.shape[1] - dl[0] * (kh - 1) - 1) // st[0] + 1
    W = (xp.shape[2] - dl[1] * (kw - 1) - 1) // st[1] + 1
    og = co // L.groups
    out = np.empty((co, H, W), dtype=object)
    for o in range(co):
        g = o // og
        for i in range(H):
            for j in range(W):
                s = mpmath.mpf(0) if L.bias is None else mpmath.mpf(float(L.bias[o]))
                for c in range(cig):
                    for p in range(kh):
                        for q in range(kw):
                            s += w[o, c, p, q] * xp[g * cig + c, i * st[0] + p * dl[0], j * st[1] + q * dl[1]]
                out[o, i, j] = s
    return out[:, 0, :] if one_d else out


def _windows(n, layer, axis, dims):
    if isinstance(layer, ir.AdaptivePool):
        o = layer.output_size[axis - (2 - dims)] if dims == 2 or axis == 1 else 1
        return [((i * n) // o, -((-(i + 1) * n) // o), None) for i in range(o)]
    k, s, p = (v[axis - (2 - dims)] if dims == 2 or axis == 1 else 1 for v in (layer.kernel, layer.stride,
                                                                             layer.padding))
    if dims == 1 and axis == 0:
        k, s, p = 1, 1, 0
    o = (n + 2 * p - k) // s + 1
    return [(max(i * s - p, 0), min(i * s - p + k, n), k) for i in range(o)]


def _pool(L, x: np.ndarray) -> np.ndarray:
    one_d = x.ndim == 2
    if one_d:
        x = x[:, None, :]
    dims = 1 if one_d else 2
    wh, ww = _windows(x.shape[1], L, 0, dims), _windows(x.shape[2], L, 1, dims)
    out = np.empty((x.shape[0], len(wh), len(ww)), dtype=object)
    include = getattr(L, "count_include_pad", True)
    for c in range(x.shape[0]):
        for i, (hb, he, kh) in enumerate(wh):
            for j, (wb, we, kw) in enumerate(ww):
                vals = list(x[c, hb:he, wb:we].reshape(-1))
                if L.kind == "max":
                    out[c, i, j] = max(vals)
                else:
                    div = kh * kw if (kh is not None and include) else (he - hb) * (we - wb)
                    out[c, i, j] = sum(vals, mpmath.mpf(0)) / div
    return out[:, 0, :] if one_d else out


def _norm(x: np.ndarray, eps: float) -> np.ndarray:
    d = x.size
    mu = sum(x.reshape(-1), mpmath.mpf(0)) / d
    var = sum(((v - mu) ** 2 for v in x.reshape(-1)), mpmath.mpf(0)) / d
    r = mpmath.sqrt(var + mpmath.mpf(eps))
    return _map(lambda v: (v - mu) / r, x)


def _layer(L, xs):
    x = xs[0]
    if isinstance(L, ir.Linear):
        w = _mp(L.weight)
        y = np.tensordot(x, w.T, axes=([-1], [0]))
        return y if L.bias is None else y + _mp(L.bias)
    if isinstance(L, ir.Conv):
        return _conv(L, x)
    if isinstance(L, ir.BatchNorm):
        shape = (-1,) + (1,) * (x.ndim - 1)
        s = np.array([mpmath.mpf(float(w)) / mpmath.sqrt(mpmath.mpf(float(v)) + mpmath.mpf(L.eps))
                      for w, v in zip(L.weight, L.var)], dtype=object).reshape(shape)
        return (x - _mp(L.mean).reshape(shape)) * s + _mp(L.bias).reshape(shape)
    if isinstance(L, ir.Scale):
        return x * mpmath.mpf(L.factor)
    if isinstance(L, ir.Activation):
        return _map(lambda v: _act(L, v), x)
    if isinstance(L, (ir.Pool, ir.AdaptivePool)):
        return _pool(L, x)
    if isinstance(L, ir.LayerNorm):
        k = len(L.normalized_shape)
        lead = x.shape[: x.ndim - k]
        out = np.empty(x.shape, dtype=object)
        for idx in np.ndindex(*lead) if lead else [()]:
            out[idx] = _norm(x[idx], L.eps) * _mp(L.weight) + _mp(L.bias)
        return out
    if isinstance(L, ir.GroupNorm):
        g = L.num_groups
        parts = [_norm(p, L.eps) for p in np.split(x, g, axis=0)]
        shape = (-1,) + (1,) * (x.ndim - 1)
        return np.concatenate(parts, axis=0) * _mp(L.weight).reshape(shape) + _mp(L.bias).reshape(shape)
    if isinstance(L, (ir.Flatten, ir.Reshape, ir.Unflatten, ir.Permute, ir.Transpose)):
        return L.move(x[None])[0]
    if isinstance(L, ir.Add):
        out = xs[0]
        for v in xs[1:]:
            out = out + v
        return out
    if isinstance(L, ir.Attention):
        q, k, v = (_layer(lay, [x]) for lay in (L.q, L.k, L.v))
        t, d = q.shape
        h = L.num_heads
        dh = d // h
        out = np.empty((t, d), dtype=object)
        for hh in range(h):
            sl = slice(hh * dh, (hh + 1) * dh)
            s = np.dot(q[:, sl], k[:, sl].T) / mpmath.sqrt(dh)
            for i in range(t):
                e = [mpmath.exp(v_) for v_ in s[i]]
                z = sum(e, mpmath.mpf(0))
                p = np.array([v_ / z for v_ in e], dtype=object)
                out[i, sl] = np.dot(p, v[:, sl])
        return _layer(L.out, [out])
    if isinstance(L, ir.ScaledDotProductAttention):
        q, k, v = xs
        out = np.empty((*q.shape[:-1], v.shape[-1]), dtype=object)
        for lead in np.ndindex(*q.shape[:-2]) if q.ndim > 2 else [()]:
            s = np.dot(q[lead], k[lead].T) / mpmath.sqrt(q.shape[-1])
            for i in range(s.shape[0]):
                e = [mpmath.exp(v_) for v_ in s[i]]
                z = sum(e, mpmath.mpf(0))
                out[lead + (i,)] = np.dot(np.array([v_ / z for v_ in e], dtype=object), v[lead])
        return out
    if isinstance(L, ir.Embedding):
        w = _mp(L.weight)
        out = np.empty((*x.shape, w.shape[1]), dtype=object)
        for idx in np.ndindex(*x.shape):
            i = int(x[idx])
            assert x[idx] == i and 0 <= i < w.shape[0]
            out[idx] = w[i]
        return out
    if isinstance(L, ir.Constant):
        return _mp(L.value)
    if isinstance(L, (ir.Select, ir.Slice)):
        return L.pick(x[None])[0]
    if isinstance(L, ir.Concat):
        return np.concatenate(xs, axis=L.dim % x.ndim)
    raise AssertionError(type(L).__name__)


def exact_forward(graph: ir.Graph, x: np.ndarray) -> np.ndarray:
    """The exact real output (mpf object array) of the graph at one float input sample ``x`` (per-sample shape)."""
    with mpmath.workprec(PREC):
        vals = {"input": _mp(x)}
        for n in graph.nodes:
            vals[n.name] = _layer(n.layer, [vals[a] for a in n.inputs])
        return vals[graph.nodes[-1].name]
