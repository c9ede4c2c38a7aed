"""Property tests (hypothesis) for each layer type of the network IR: on random small layers and inputs, the
enclosed forward pass contains the exact real output (mpmath, 200 bits, :mod:`tests.network.reference`), on points
and on input boxes; the Lipschitz rule bounds exact difference quotients; shapes follow torch's rules."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import kernels
from boundcert.errors import InvalidInput
from kernels import network as ir
from tests.network.reference import PREC, exact_forward

SETTINGS = settings(max_examples=int(__import__("os").environ.get("NET_EXAMPLES", 25)), deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _q(v: float):
    return mpmath.mpf(float(v))


@st.composite
def layers(draw):
    """One layer with a fitting per-sample input shape (small), seeded weights, random scale."""
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    scale = draw(st.sampled_from([1.0, 1e-3, 1e3]))
    kind = draw(st.sampled_from(["linear", "conv", "conv1d", "bn", "act", "pool", "apool", "ln", "gn", "scale"]))
    if kind == "linear":
        n, o = draw(st.integers(1, 5)), draw(st.integers(1, 4))
        return ir.Linear(rng.standard_normal((o, n)) * scale, rng.standard_normal(o) if draw(st.booleans()) else None), (n,)
    if kind in ("conv", "conv1d"):
        g = draw(st.sampled_from([1, 2]))
        ci, co = g * draw(st.integers(1, 2)), g * draw(st.integers(1, 2))
        k = draw(st.integers(1, 3))
        mode = draw(st.sampled_from(["zeros", "circular", "reflect", "replicate"]))
        p = draw(st.integers(0, 1)) if mode != "zeros" else draw(st.integers(0, 2))
        s, d = draw(st.integers(1, 2)), draw(st.integers(1, 2))
        if kind == "conv":
            w = rng.standard_normal((co, ci // g, k, k)) * scale
            layer = ir.Conv(w, rng.standard_normal(co), (s, s), (p, p), (d, d), g, mode)
            return layer, (ci, 5, 4)
        w = rng.standard_normal((co, ci // g, k)) * scale
        return ir.Conv(w, None, (s,), (p,), (d,), g, mode), (ci, 6)
    if kind == "bn":
        c = draw(st.integers(1, 3))
        return ir.BatchNorm(rng.standard_normal(c), rng.random(c) + 0.1, rng.standard_normal(c) * scale,
                            rng.standard_normal(c), float(np.float32(1e-5))), (c, 2, 2)
    if kind == "act":
        a = draw(st.sampled_from(["relu", "relu6", "leaky_relu", "tanh", "sigmoid", "gelu", "elu", "silu",
                                  "softplus", "identity"]))
        slope = {"leaky_relu": 0.1, "elu": 1.5, "softplus": 2.0}.get(a, 0.0)
        return ir.Activation(a, slope), (draw(st.integers(1, 6)),)
    if kind == "pool":
        k, s = draw(st.integers(1, 3)), draw(st.integers(1, 2))
        p = draw(st.integers(0, k // 2))
        return ir.Pool(draw(st.sampled_from(["max", "avg"])), (k, k), (s, s), (p, p), draw(st.booleans())), (2, 5, 4)
    if kind == "apool":
        return ir.AdaptivePool(draw(st.sampled_from(["max", "avg"])), (draw(st.integers(1, 3)), 2)), (2, 5, 4)
    if kind == "ln":
        return ir.LayerNorm((4,), rng.standard_normal(4), rng.standard_normal(4), float(np.float32(1e-5))), (3, 4)
    if kind == "gn":
        return ir.GroupNorm(2, rng.standard_normal(4), rng.standard_normal(4), float(np.float32(1e-5))), (4, 3)
    return ir.Scale(float(rng.standard_normal())), (3,)


def _graph(layer, shape):
    return ir.Graph((ir.Node("l", layer, ("input",)),), shape)


@SETTINGS
@given(layers(), st.integers(0, 2**31), st.sampled_from([0.0, 1e-3]))
def test_enclosure_contains_exact_on_points_and_boxes(ls, seed, radius):
    layer, shape = ls
    g = _graph(layer, shape)
    try:
        g.shapes()
    except InvalidInput:
        assume(False)  # the drawn kernel does not fit the drawn input: torch refuses it too
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, *shape)) * rng.choice([1.0, 10.0])
    lo, hi = kernels.forward_enclosure(g, x, radius=radius)
    assert lo.shape[1:] == g.shapes()["l"]
    for i in range(2):
        pts = [x[i]] if radius == 0 else [x[i] + radius * rng.choice([-1.0, 0.0, 1.0], size=shape) for _ in range(2)]
        for p in pts:
            exact = exact_forward(g, p).reshape(-1)
            with mpmath.workprec(PREC):
                for e, a, b in zip(exact, lo[i].reshape(-1), hi[i].reshape(-1)):
                    assert _q(a) <= e <= _q(b)


@SETTINGS
@given(layers(), st.integers(0, 2**31), st.sampled_from(["l2", "linf"]))
def test_lipschitz_rule_bounds_difference_quotients(ls, seed, norm):
    layer, shape = ls
    g = _graph(layer, shape)
    try:
        g.shapes()
    except InvalidInput:
        assume(False)
    up = kernels.lipschitz_upper(g, norm=norm).upper
    rng = np.random.default_rng(seed)
    for _ in range(2):
        a = rng.standard_normal(shape)
        b = a + rng.standard_normal(shape) * rng.choice([1e-3, 1.0])
        fa, fb = exact_forward(g, a).reshape(-1), exact_forward(g, b).reshape(-1)
        with mpmath.workprec(PREC):
            d_in = [_q(u) - _q(v) for u, v in zip(a.ravel(), b.ravel())]
            d_out = [u - v for u, v in zip(fa, fb)]
            # The reference itself rounds at PREC bits (forward, differences, squares): a layer whose rule is an
            # equality (Scale: |factor|) can exceed it by a few units of 2^-PREC relative, after the difference's
            # cancellation (|a| / |a - b| <= 2^40 here). 2^-(PREC - 60) covers that; a wrong rule is off by far more.
            ref_slack = 1 + mpmath.mpf(2) ** (60 - PREC)
            if norm == "l2":  # squared: no square roots in the comparison
                assert sum(v * v for v in d_out) <= _q(up) ** 2 * sum(v * v for v in d_in) * ref_slack
            else:
                assert max(abs(v) for v in d_out) <= _q(up) * max(abs(v) for v in d_in) * ref_slack


def test_shape_errors_are_one_line_invalid_input():
    with pytest.raises(InvalidInput, match="Linear"):
        _graph(ir.Linear(np.ones((2, 3))), (4,)).shapes()
    with pytest.raises(InvalidInput, match="Conv"):
        _graph(ir.Conv(np.ones((2, 1, 3, 3))), (2, 4, 4)).shapes()
    with pytest.raises(InvalidInput, match="Add"):
        ir.Graph((ir.Node("a", ir.Add(), ("input",)),), (2,)).shapes()
    with pytest.raises(InvalidInput, match="topological"):
        ir.Graph((ir.Node("a", ir.Activation("relu"), ("b",)),))
    with pytest.raises(InvalidInput, match="kind"):
        ir.Activation("swish")


def test_relu_relaxation_is_sound():
    rng = np.random.default_rng(0)
    lo = rng.standard_normal(50)
    hi = lo + rng.random(50) * 2
    r = ir.Activation("relu").relaxation(lo, hi)
    for t in np.linspace(0, 1, 11):
        x = lo + t * (hi - lo)
        y = np.maximum(x, 0)
        assert np.all(r.lower_slope * x + r.lower_offset <= y + 1e-12)
        assert np.all(r.upper_slope * x + r.upper_offset >= y - 1e-12)
