"""The float-fooling suite (after Jia & Rinard 2021; Zombori et al. 2021): networks built so that a float
evaluation and the exact real value disagree in sign at the decision boundary. On every one of them the verifier
never calls a sample robust where exact rational arithmetic shows it is not, and the float32 claim is never made
where the float32 execution misclassifies. Plus: the float32 claim against float32 evaluations in several summation
orders on random networks."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kernels.bounds import InputSet, margin_bounds
from tests.robust.exact import chain, margin_exact

F = Fraction
X0 = 0.75


def _f32(v: float) -> float:
    return float(np.float32(v))


def cancellation_net(B: float, c: float, d: float):
    """``f_0 - f_1 = relu(B x + c) - relu(B x) - d``: exactly ``c - d`` for ``x >= 0``; in floats ``B x + c``
    rounds ``c`` to a multiple of the ulp of ``B x`` (up or down), so the float margin's sign can flip."""
    W1, b1 = np.array([[B], [B]]), np.array([_f32(c), 0.0])
    W2, b2 = np.array([[1.0, -1.0], [0.0, 0.0]]), np.array([0.0, _f32(d)])
    return chain([(W1, b1), (W2, b2)])


def _float_margin(g, x: float, dtype) -> float:
    W1, b1 = (np.asarray(a, dtype) for a in (g.nodes[0].layer.weight, g.nodes[0].layer.bias))
    W2, b2 = (np.asarray(a, dtype) for a in (g.nodes[2].layer.weight, g.nodes[2].layer.bias))
    h = np.maximum(W1[:, 0] * dtype(x) + b1, dtype(0))
    z = W2 @ h + b2
    return float(z[0] - z[1])


# (B, c, d, which evaluation the net fools): the premise is re-checked in the test
SUITE = [
    (2.0**40, 0.6 * 2**-13, 0.8 * 2**-13, "float64 says robust, exact says not"),
    (2.0**16, 0.6 * 2**-8, 0.8 * 2**-8, "float32 says robust, exact says not"),
    (2.0**40, 0.9 * 2**-14, 2**-15, "exact robust, float64 and float32 misclassify"),
    (2.0**16, 0.9 * 2**-9, 2**-10, "exact robust, float32 misclassifies"),
]


@pytest.mark.parametrize("B, c, d, what", SUITE)
@pytest.mark.parametrize("method", ["ibp", "crown"])
@pytest.mark.parametrize("eps", [0.0, 2.0**-30])
def test_fooling_networks_never_fool_the_verifier(B, c, d, what, method, eps):
    g = cancellation_net(B, c, d)
    exact = margin_exact(g, [F(X0)], 0)[1]
    f64, f32 = _float_margin(g, X0, np.float64), _float_margin(g, X0, np.float32)
    if what.startswith("float64 says"):
        assert f64 > 0 > exact  # the premise: a plain float64 evaluation is fooled
    elif what.startswith("float32 says"):
        assert f32 > 0 > exact
    else:
        assert exact > 0 > f32
    mb = margin_bounds(g, np.array([[X0]]), np.array([0]), InputSet("linf", eps), method, float32=True)
    assert F(float(mb.lower[0])) <= exact  # never above the exact margin at the centre
    if exact < 0:
        assert not mb.verified[0]
    assert mb.float32_lower is not None
    if f32 <= 0:  # the float32 execution misclassifies the centre: the float32 claim must not be made
        assert not mb.float32_lower[0] > 0


_w32 = st.floats(-2, 2, width=32, allow_nan=False)


@settings(max_examples=25)
@given(st.integers(0, 2**32 - 1), st.sampled_from([0.0, 0.01, 0.1]), st.sampled_from(["relu", "leaky_relu"]))
def test_float32_claim_holds_for_float32_evaluations_in_several_orders(seed, eps, act):
    rng = np.random.default_rng(seed)
    sizes = [4, int(rng.integers(2, 12)), int(rng.integers(2, 12)), 3]
    layers = [(rng.normal(size=(b, a)).astype(np.float32), (rng.normal(size=b) / 4).astype(np.float32))
              for a, b in zip(sizes[:-1], sizes[1:])]
    g = chain([(W.astype(np.float64), b.astype(np.float64)) for W, b in layers], act, 0.125)
    x = rng.uniform(0, 1, size=(3, 4)).astype(np.float32)
    y = np.zeros(3, dtype=np.int64)
    mb = margin_bounds(g, x.astype(np.float64), y, InputSet("linf", eps), "crown", float32=True)
    f32 = mb.float32_lower
    assert f32 is not None and np.all(f32 <= mb.lower)

    def run(z, order):
        for i, (W, b) in enumerate(layers):
            if order == "blas":
                z = z @ W.T + b
            else:  # one float32 addition at a time, forward or backward over the terms
                cols = range(W.shape[1]) if order == "forward" else reversed(range(W.shape[1]))
                acc = np.broadcast_to(b, (z.shape[0], W.shape[0])).astype(np.float32).copy()
                for j in cols:
                    acc = (acc + z[:, j:j + 1] * W[:, j]).astype(np.float32)
                z = acc
            if i < len(layers) - 1:
                z = np.maximum(z, 0) if act == "relu" else np.where(z > 0, z, np.float32(0.125) * z).astype(np.float32)
        return z

    pts = [x] + [np.clip(x + rng.choice([-1, 1], size=x.shape).astype(np.float32) * np.float32(eps), 0, 1)
                 .astype(np.float32) for _ in range(4)]
    for p in pts:
        if not np.all(np.abs(p.astype(np.float64) - x) <= eps):
            continue
        for order in ("blas", "forward", "backward"):
            z = run(p, order)
            z64 = z.astype(np.float64)  # the float32 logits, compared exactly (the decision is an argmax)
            margin = z64[:, 0] - np.max(z64[:, 1:], axis=1)  # exact for float32 operands
            assert np.all(margin >= f32)


@pytest.mark.parametrize("norm, eps", [("linf", 0.02), ("l2", 0.1)])
def test_float32_claim_holds_for_torch_float32_on_a_cnn_with_batchnorm(norm, eps):
    """The deployed evaluation itself: torch float32 on the CPU (conv, BatchNorm, relu, max pool, linear) never
    has a smaller margin than the float32 claim's bound, at the centre and at sampled points of the ball."""
    import torch
    import torch.nn as nn

    from certify.models import load_model

    torch.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                      nn.Flatten(), nn.Linear(64, 3)).eval()
    with torch.no_grad():
        m[1].running_mean.uniform_(-0.2, 0.2)
        m[1].running_var.uniform_(0.5, 2.0)
    graph = load_model(m).network
    rng = np.random.default_rng(0)
    x = rng.uniform(0.1, 0.9, size=(4, 1, 8, 8)).astype(np.float32)
    with torch.no_grad():
        y = m(torch.from_numpy(x)).argmax(1).numpy()
    mb = margin_bounds(graph, x.astype(np.float64), y, InputSet(norm, eps), "crown", float32=True)
    f32 = mb.float32_lower
    assert f32 is not None and np.all(f32 <= mb.lower)
    for _ in range(20):
        d = rng.uniform(-1, 1, size=x.shape)
        if norm == "l2":
            d *= eps * 0.999 / np.linalg.norm(d.reshape(4, -1), axis=1)[:, None, None, None]
        else:
            d *= eps * 0.999
        p = np.clip(x + d, 0, 1).astype(np.float32)
        with torch.no_grad():
            z = m(torch.from_numpy(p)).double().numpy()
        other = z.copy()
        other[np.arange(4), y] = -np.inf
        assert np.all(z[np.arange(4), y] - other.max(axis=1) >= f32)
