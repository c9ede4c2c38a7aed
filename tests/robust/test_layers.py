"""Every relaxed layer type against a 200-bit mpmath reference: convolution (stride, padding), BatchNorm, max and
average pooling, a residual Add, Flatten, relu / leaky_relu / sigmoid / tanh; the proven lower bound lies below the
reference margin at every sampled input of the set (corners and random points), and layers without a relaxation
are refused by name."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest

from boundcert.errors import InvalidInput
from kernels.bounds import InputSet, margin_bounds
from kernels.network import Activation, Add, BatchNorm, Conv, Flatten, Graph, LayerNorm, Linear, Node, Pool

mp = mpmath.mp


def _f32(a):
    return np.asarray(a, np.float32).astype(np.float64)


def cnn(act: str, seed: int = 0) -> Graph:
    rng = np.random.default_rng(seed)
    k1 = _f32(rng.normal(size=(3, 1, 3, 3)) / 2)
    k2 = _f32(rng.normal(size=(3, 3, 3, 3)) / 4)
    bn = BatchNorm(_f32(rng.normal(size=3) / 10), _f32(rng.uniform(0.5, 2, size=3)), _f32(rng.uniform(0.5, 1.5, 3)),
                   _f32(rng.normal(size=3) / 10), 1e-5)
    W = _f32(rng.normal(size=(3, 3 * 2 * 2)) / 2)
    slope = 0.1 if act == "leaky_relu" else 0.0
    nodes = (
        Node("c1", Conv(k1, _f32(rng.normal(size=3) / 10), (1, 1), (1, 1)), ("input",)),
        Node("bn", bn, ("c1",)),
        Node("a1", Activation(act, slope), ("bn",)),
        Node("c2", Conv(k2, None, (1, 1), (1, 1)), ("a1",)),
        Node("a2", Activation(act, slope), ("c2",)),
        Node("res", Add(), ("a1", "a2")),
        Node("mp", Pool("max", (2, 2), (2, 2)), ("res",)),
        Node("ap", Pool("avg", (2, 2), (1, 1), (0, 0)), ("mp",)),
        Node("fl", Flatten(), ("ap",)),
        Node("fc", Linear(W, _f32(rng.normal(size=3) / 10)), ("fl",)),
    )
    return Graph(nodes, (1, 6, 6))


def _act(kind, v, slope):
    if kind == "relu":
        return v if v > 0 else mp.mpf(0)
    if kind == "leaky_relu":
        return v if v > 0 else mp.mpf(slope) * v
    if kind == "sigmoid":
        return 1 / (1 + mp.exp(-v))
    return mp.tanh(v)


def forward_mp(g: Graph, x: np.ndarray) -> list:
    """The exact network at one input, at 200 bits (relative error ~1e-60: far below any bound's slack)."""
    with mp.workprec(200):
        vals = {"input": np.vectorize(mp.mpf, otypes=[object])(x)}
        for n in g.nodes:
            z = vals[n.inputs[0]]
            lay = n.layer
            if isinstance(lay, Conv):
                K = lay.weight
                p = lay.padding[0]
                C, H, W = z.shape
                zp = np.full((C, H + 2 * p, W + 2 * p), mp.mpf(0), dtype=object)
                zp[:, p:p + H, p:p + W] = z
                kh = K.shape[2]
                out = np.empty((K.shape[0], H + 2 * p - kh + 1, W + 2 * p - kh + 1), dtype=object)
                for o in range(out.shape[0]):
                    for i in range(out.shape[1]):
                        for j in range(out.shape[2]):
                            s = mp.mpf(0) if lay.bias is None else mp.mpf(float(lay.bias[o]))
                            for c in range(C):
                                for a in range(kh):
                                    for b in range(kh):
                                        s += mp.mpf(float(K[o, c, a, b])) * zp[c, i + a, j + b]
                            out[o, i, j] = s
            elif isinstance(lay, BatchNorm):
                out = np.empty_like(z)
                for c in range(z.shape[0]):
                    s = mp.mpf(float(lay.weight[c])) / mp.sqrt(mp.mpf(float(lay.var[c])) + mp.mpf(lay.eps))
                    for idx in np.ndindex(z.shape[1:]):
                        out[(c,) + idx] = (z[(c,) + idx] - mp.mpf(float(lay.mean[c]))) * s + mp.mpf(float(lay.bias[c]))
            elif isinstance(lay, Activation):
                out = np.vectorize(lambda v: _act(lay.kind, v, lay.slope), otypes=[object])(z)
            elif isinstance(lay, Add):
                out = z + vals[n.inputs[1]]
            elif isinstance(lay, Pool):
                k, s = lay.kernel[0], lay.stride[0]
                C, H, W = z.shape
                oh, ow = (H - k) // s + 1, (W - k) // s + 1
                out = np.empty((C, oh, ow), dtype=object)
                for c in range(C):
                    for i in range(oh):
                        for j in range(ow):
                            win = [z[c, i * s + a, j * s + b] for a in range(k) for b in range(k)]
                            out[c, i, j] = max(win) if lay.kind == "max" else sum(win) / len(win)
            elif isinstance(lay, Flatten):
                out = z.reshape(-1)
            elif isinstance(lay, Linear):
                out = np.array([sum((mp.mpf(float(w)) * v for w, v in zip(row, z)), mp.mpf(float(b)))
                                for row, b in zip(lay.weight, lay.bias)], dtype=object)
            vals[n.name] = out
        return list(vals[g.nodes[-1].name])


@pytest.mark.parametrize("act", ["relu", "leaky_relu", "sigmoid", "tanh"])
@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_cnn_bounds_below_reference_margin(act, norm):
    g = cnn(act)
    rng = np.random.default_rng(1)
    x = _f32(rng.uniform(0.1, 0.9, size=(2, 1, 6, 6)))
    eps = 0.03 if norm == "linf" else 0.1
    y = np.array([0, 1])
    S = InputSet(norm, eps)
    bounds = {m: margin_bounds(g, x, y, S, m) for m in ("ibp", "crown")}
    assert np.all(bounds["crown"].rows >= bounds["ibp"].rows)
    for i in range(2):
        pts = [x[i]]
        for _ in range(6):
            d = rng.choice([-1.0, 1.0], size=x[i].shape) * eps
            if norm == "l2":
                d = rng.normal(size=x[i].shape)
                d *= eps / np.linalg.norm(d) * (1 - 2.0**-20)
            pts.append(np.clip(x[i] + d, 0, 1))
        for p in pts:
            z = forward_mp(g, p)
            margin = min(z[y[i]] - z[j] for j in range(3) if j != y[i])
            for m in ("ibp", "crown"):
                assert mp.mpf(float(bounds[m].lower[i])) <= margin


def test_layers_without_a_relaxation_are_refused_by_name():
    g = Graph((Node("fc", Linear(np.eye(3), np.zeros(3)), ("input",)),
               Node("ln", LayerNorm((3,), np.ones(3), np.zeros(3), 1e-5), ("fc",)),
               Node("out", Linear(np.eye(3), np.zeros(3)), ("ln",))), (3,))
    x = np.full((1, 3), 0.5)
    with pytest.raises(InvalidInput, match="'ln'.*LayerNorm.*ibp"):
        margin_bounds(g, x, np.array([0]), InputSet("linf", 0.01), "crown")
    margin_bounds(g, x, np.array([0]), InputSet("linf", 0.01), "ibp")  # IBP covers it
    g2 = Graph((Node("fc", Linear(np.eye(3), np.zeros(3)), ("input",)), Node("g", Activation("gelu"), ("fc",)),
                Node("out", Linear(np.eye(3), np.zeros(3)), ("g",))), (3,))
    with pytest.raises(InvalidInput, match="gelu"):
        margin_bounds(g2, x, np.array([0]), InputSet("linf", 0.01), "crown")


@pytest.mark.parametrize("bad, match", [
    (dict(norm="l1"), "norm="), (dict(eps=-1.0), "eps="), (dict(eps=float("nan")), "eps="),
])
def test_bad_input_sets_are_refused(bad, match):
    args = dict(norm="linf", eps=0.1) | bad
    with pytest.raises(InvalidInput, match=match):
        InputSet(**args)


def test_bad_arrays_are_refused():
    g = cnn("relu")
    S = InputSet("linf", 0.01)
    with pytest.raises(InvalidInput, match="y"):
        margin_bounds(g, np.zeros((1, 1, 6, 6)), np.array([5]), S)
    with pytest.raises(InvalidInput, match="method"):
        margin_bounds(g, np.zeros((1, 1, 6, 6)), np.array([0]), S, "deeppoly")
    with pytest.raises(InvalidInput, match="x"):
        margin_bounds(g, np.full((1, 1, 6, 6), np.nan), np.array([0]), S)
