"""Path norms, margins and Lipschitz bounds against exact rational arithmetic (Fraction)."""

from __future__ import annotations

import warnings

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kernels
from boundcert.errors import InvalidInput
from kernels import Activation, ConvLayer, DenseLayer, Residual

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
Q = Fraction


@st.composite
def dense_nets(draw, max_width: int = 4, depth: tuple[int, int] = (1, 3)):
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    widths = [draw(st.integers(1, max_width)) for _ in range(draw(st.integers(*depth)) + 1)]
    scale = draw(st.sampled_from([1.0, 1e-30, 1e30, 1e-160]))
    layers = []
    for i in range(len(widths) - 1):
        w = rng.standard_normal((widths[i + 1], widths[i])) * scale
        b = rng.standard_normal(widths[i + 1]) * scale if draw(st.booleans()) else None
        layers.append(DenseLayer(w, b))
        if i < len(widths) - 2:
            layers.append(Activation("relu"))
    return layers


def exact_path_norm_p(layers, p):
    dense = [l for l in layers if isinstance(l, DenseLayer)]
    x = [Q(1)] * dense[0].weight.shape[1]
    for l in dense:
        b = [Q(0)] * l.weight.shape[0] if l.bias is None else [abs(Q(float(v))) ** p for v in l.bias]
        x = [sum((abs(Q(float(wij))) ** p * xj for wij, xj in zip(row, x)), Q(0)) + bi for row, bi in zip(l.weight, b)]
    return sum(x, Q(0))


@SETTINGS
@given(dense_nets(), st.sampled_from([1, 2]))
def test_path_norm(layers, p):
    enc = kernels.path_norm(layers, p=p)
    s = exact_path_norm_p(layers, p)
    assert Q(enc.lo) ** p <= s
    assert enc.hi == float("inf") or s <= Q(enc.hi) ** p


def exact_forward(layers, x):
    x = [Q(float(v)) for v in np.ravel(x)]
    for l in layers:
        if isinstance(l, DenseLayer):
            b = [Q(0)] * l.weight.shape[0] if l.bias is None else [Q(float(v)) for v in l.bias]
            x = [sum((Q(float(w)) * xj for w, xj in zip(row, x)), Q(0)) + bi for row, bi in zip(l.weight, b)]
        elif isinstance(l, ConvLayer):
            torch = pytest.importorskip("torch")
            from tests.kernels.test_conv import operator_matrix
            m = operator_matrix(l.weight, l.input_hw, l.stride, l.padding, l.padding_mode, l.dilation)
            co = l.weight.shape[0]
            per = m.shape[0] // co
            b = [Q(0)] * m.shape[0] if l.bias is None else [Q(float(l.bias[i // per])) for i in range(m.shape[0])]
            x = [sum((Q(float(w)) * xj for w, xj in zip(row, x) if w != 0.0), Q(0)) + bi for row, bi in zip(m, b)]
        elif isinstance(l, Activation):
            if l.name == "relu":
                x = [max(v, Q(0)) for v in x]
            elif l.name == "leaky_relu":
                a = Q(float(l.negative_slope))
                x = [v if v >= 0 else a * v for v in x]
        elif isinstance(l, Residual):
            x1 = exact_forward(l.block, x)
            x2 = exact_forward(l.shortcut, x) if l.shortcut else x
            x = [a + b for a, b in zip(x1, x2)]
    return x


@SETTINGS
@given(dense_nets(), st.integers(0, 2**31))
def test_logit_margins_contain_exact(layers, seed):
    rng = np.random.default_rng(seed)
    n_in = layers[0].weight.shape[1]
    k = layers[-1].weight.shape[0]
    if k < 2:
        return
    x = rng.standard_normal((3, n_in))
    y = rng.integers(0, k, size=3)
    m = kernels.logit_margins(layers, x, y)
    for i in range(3):
        f = exact_forward(layers, x[i])
        exact = f[y[i]] - max(v for j, v in enumerate(f) if j != y[i])
        assert Q(float(m.lo[i])) <= exact <= Q(float(m.hi[i]))


def test_margins_conv_residual_leaky():
    rng = np.random.default_rng(0)
    k1 = rng.standard_normal((2, 1, 3, 3))
    k2 = rng.standard_normal((2, 2, 3, 3))
    layers = [
        ConvLayer(k1, (4, 4), bias=rng.standard_normal(2), padding=1),
        Activation("leaky_relu", 0.125),
        Residual((ConvLayer(k2, (4, 4), padding=1, padding_mode="circular"), Activation("relu"))),
        DenseLayer(rng.standard_normal((3, 32)), rng.standard_normal(3)),
    ]
    x = rng.standard_normal((2, 1, 4, 4))
    y = np.array([0, 2])
    m = kernels.logit_margins(layers, x, y)
    for i in range(2):
        f = exact_forward(layers, x[i])
        exact = f[y[i]] - max(v for j, v in enumerate(f) if j != y[i])
        assert Q(float(m.lo[i])) <= exact <= Q(float(m.hi[i]))
        assert m[i].width < 1e-10 * max(1.0, abs(float(exact)))
    with warnings.catch_warnings():  # zero padding reaches rtol through the banded certificate
        warnings.simplefilter("error", kernels.RtolNotReached)
        lip = kernels.lipschitz_upper(layers)
    assert "banded-gram" in lip.factors[0].source
    # Lipschitz property on exact arithmetic for random pairs
    for _ in range(5):
        a, b = rng.standard_normal((2, 1, 4, 4))
        fa, fb = exact_forward(layers, a), exact_forward(layers, b)
        num = sum(((u - v) ** 2 for u, v in zip(fa, fb)), Q(0))
        den = sum(((Q(float(u)) - Q(float(v))) ** 2 for u, v in zip(a.ravel(), b.ravel())), Q(0))
        assert num <= Q(lip.upper) ** 2 * den


def test_lipschitz_of_linear_chain_bounds_the_product_norm():
    rng = np.random.default_rng(1)
    w1, w2 = rng.standard_normal((4, 3)), rng.standard_normal((2, 4))
    lip = kernels.lipschitz_upper([DenseLayer(w1), Activation("identity"), DenseLayer(w2)])
    prod = np.array([[float(v) for v in row] for row in (w2 @ w1)])  # only used as a lower reference below
    # exact: ||W2 W1|| <= L, decided in rationals via an enclosure with lo = 0
    exact_prod = [[sum((Q(float(w2[i, k])) * Q(float(w1[k, j])) for k in range(4)), Q(0)) for j in range(3)]
                  for i in range(2)]
    import flint

    from tests.kernels.references import _q, _shifted, is_psd
    g = [[sum((exact_prod[k][i] * exact_prod[k][j] for k in range(2)), Q(0)) for j in range(3)] for i in range(3)]
    g = [[flint.fmpq(v.numerator, v.denominator) for v in row] for row in g]
    assert is_psd(_shifted(g, _q(lip.upper) ** 2))
    assert len(lip.factors) == 3 and prod.shape == (2, 3)
    assert kernels.lipschitz_upper([Activation("sigmoid")]).upper == 0.25


def test_bad_network_inputs():
    with pytest.raises(InvalidInput, match="path_norm"):
        kernels.path_norm([ConvLayer(np.ones((1, 1, 3, 3)), (4, 4))])
    with pytest.raises(InvalidInput, match="p="):
        kernels.path_norm([DenseLayer(np.ones((2, 2)))], p=3)
    with pytest.raises(InvalidInput, match="labels"):
        kernels.logit_margins([DenseLayer(np.ones((2, 2)))], np.ones((1, 2)), np.array([5]))
    # tanh/sigmoid are certified now (mpmath enclosures; containment in tests/network); an operation without a
    # translation is refused by name
    from kernels.network import Graph, Node, Unsupported

    g = Graph((Node("u", Unsupported("aten.fft_fft", "no enclosure for it"), ("input",)),), (2,))
    with pytest.raises(InvalidInput, match="aten.fft_fft"):
        kernels.logit_margins(g, np.ones((1, 2)), np.array([0]))
    with pytest.raises(InvalidInput, match="Activation.name"):
        Activation("gelu")
