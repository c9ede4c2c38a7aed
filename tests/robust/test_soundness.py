"""Soundness of kernels.bounds against exact rationals: the proven margin lower bound never exceeds the exact
minimum of the margin over the set (zero tolerance, Fractions), for IBP and CROWN, l-inf and l2, relu and leaky_relu,
on tiny networks with hypothesis-drawn float32 weights; and a verified sample has no exact counterexample."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kernels.bounds import InputSet, margin_bounds
from tests.robust.exact import chain, margin_exact, min_margin_1d, min_margin_2d

F = Fraction

# float32 weights with ties and exact zeros (rounding at the decision boundary is likely)
_w = st.one_of(st.sampled_from([0.0, 1.0, -1.0, 0.5, -0.5, 0.25]),
               st.floats(-2, 2, width=32, allow_nan=False, allow_infinity=False))


@st.composite
def nets(draw, n_in: int, depth: int, max_width: int = 6, act: str | None = None):
    widths = [n_in] + [draw(st.integers(1, max_width)) for _ in range(depth)] + [draw(st.integers(2, 3))]
    layers = []
    for a, b in zip(widths[:-1], widths[1:]):
        W = np.array([[draw(_w) for _ in range(a)] for _ in range(b)])
        bias = np.array([draw(_w) for _ in range(b)])
        layers.append((W, bias))
    kind = act or draw(st.sampled_from(["relu", "leaky_relu"]))
    slope = draw(st.sampled_from([0.0, 0.125, 0.3])) if kind == "leaky_relu" else 0.0
    return chain(layers, kind, slope)


_x = st.floats(0, 1, width=32)
_eps = st.sampled_from([0.0, 2.0**-20, 0.01, 0.05, 0.2, 0.5])


@settings(max_examples=60)
@given(nets(1, 2), _x, _eps, st.sampled_from(["ibp", "crown"]))
def test_margin_lower_bound_below_exact_minimum_1d(g, x0, eps, method):
    """1-D input, two hidden layers: exact minimum over [x0 - eps, x0 + eps] cap [0, 1] from every breakpoint."""
    x = np.array([[x0]])
    k = g.nodes[-1].layer.weight.shape[0]
    for y in range(k):
        mb = margin_bounds(g, x, np.array([y]), InputSet("linf", eps), method)
        lo, hi = max(F(x0) - F(eps), F(0)), min(F(x0) + F(eps), F(1))
        exact = min_margin_1d(g, lo, hi, y)
        assert F(float(mb.lower[0])) <= exact  # zero tolerance
        for j in range(k):
            if j != y:
                assert mb.rows[0, j] == -np.inf or F(float(mb.rows[0, j])) <= min_margin_1d_row(g, lo, hi, y, j)


def min_margin_1d_row(g, lo, hi, y, j):
    from tests.robust.exact import breakpoints_1d

    return min(margin_exact(g, [p], y)[j] for p in breakpoints_1d(g, lo, hi))


@settings(max_examples=60)
@given(nets(2, 1, max_width=8), _x, _x, _eps, st.sampled_from(["ibp", "crown"]), st.sampled_from(["linf", "l2"]))
def test_margin_lower_bound_below_exact_lp_2d(g, a, b, eps, method, norm):
    """2-D input, one hidden layer of <= 8 units: the exact minimum over the box (vertex enumeration = the exact LP
    of every activation pattern). For l2 the box [x0 - eps, x0 + eps] contains the disc, so the disc's minimum is
    >= the box's; checked against the disc's own exact points below."""
    x = np.array([[a, b]])
    k = g.nodes[-1].layer.weight.shape[0]
    y = 0  # any label is a specification
    mb = margin_bounds(g, x, np.array([y]), InputSet(norm, eps), method)
    box = ((max(F(a) - F(eps), F(0)), min(F(a) + F(eps), F(1))), (max(F(b) - F(eps), F(0)), min(F(b) + F(eps), F(1))))
    lower = F(float(mb.lower[0])) if np.isfinite(mb.lower[0]) else None
    if norm == "linf":
        exact = min_margin_2d(g, box, y)
        assert lower is None or lower <= exact
    else:  # exact rational points of the disc cap box: a grid, and the centre
        pts = [(F(a), F(b))]
        n = 6
        for i in range(-n, n + 1):
            for j in range(-n, n + 1):
                dx, dy = F(i, n) * F(eps), F(j, n) * F(eps)
                p = (F(a) + dx, F(b) + dy)
                if dx * dx + dy * dy <= F(eps) ** 2 and all(0 <= v <= 1 for v in p):
                    pts.append(p)
        for p in pts:
            m = margin_exact(g, list(p), y)
            assert lower is None or lower <= min(m[j] for j in range(k) if j != y)
    if mb.verified[0] and norm == "linf":
        assert min_margin_2d(g, box, y) > 0


@settings(max_examples=30)
@given(nets(1, 3, max_width=4), _x, _eps)
def test_crown_at_least_ibp_and_verified_means_no_counterexample(g, x0, eps):
    x = np.array([[x0]])
    lo, hi = max(F(x0) - F(eps), F(0)), min(F(x0) + F(eps), F(1))
    ib = margin_bounds(g, x, np.array([0]), InputSet("linf", eps), "ibp")
    cr = margin_bounds(g, x, np.array([0]), InputSet("linf", eps), "crown")
    assert np.all(cr.rows >= ib.rows)
    if cr.verified[0]:
        assert min_margin_1d(g, lo, hi, 0) > 0


def test_zero_radius_encloses_the_exact_margin_at_the_point():
    """eps = 0: the lower bound is at most the exact margin and within 1e-12 of it (a sanity check of tightness)."""
    rng = np.random.default_rng(3)
    layers = [(rng.normal(size=(5, 2)).astype(np.float32), rng.normal(size=5).astype(np.float32)),
              (rng.normal(size=(3, 5)).astype(np.float32), rng.normal(size=3).astype(np.float32))]
    g = chain(layers)
    x = rng.uniform(0, 1, size=(4, 2)).astype(np.float32).astype(np.float64)
    for method in ("ibp", "crown"):
        mb = margin_bounds(g, x, np.zeros(4, dtype=np.int64), InputSet("linf", 0.0), method)
        for i in range(4):
            m = margin_exact(g, [F(float(v)) for v in x[i]], 0)
            ex = min(m[1:])
            assert F(float(mb.lower[i])) <= ex
            assert float(ex) - mb.lower[i] < 1e-12


@pytest.mark.parametrize("method", ["ibp", "crown"])
def test_l2_bound_is_tighter_than_linf_box_for_the_same_radius(method):
    rng = np.random.default_rng(4)
    layers = [(rng.normal(size=(20, 10)) / 3, rng.normal(size=20)), (rng.normal(size=(3, 20)) / 4, np.zeros(3))]
    g = chain(layers)
    x = rng.uniform(0.3, 0.7, size=(5, 10))
    y = np.zeros(5, dtype=np.int64)
    l2 = margin_bounds(g, x, y, InputSet("l2", 0.05), method)
    li = margin_bounds(g, x, y, InputSet("linf", 0.05), method)
    assert np.all(l2.lower >= li.lower)


@settings(max_examples=20)
@given(nets(1, 2, max_width=4), _x, st.sampled_from([0.05, 0.2, 0.5]))
def test_alpha_crown_sound_and_at_least_crown(g, x0, eps):
    """alpha-CROWN with the torch slope search: never above the exact minimum, never below CROWN."""
    from certify.robust.alpha import optimise_slopes

    x = np.array([[x0]])
    S = InputSet("linf", eps)
    cr = margin_bounds(g, x, np.array([0]), S, "crown")
    al = margin_bounds(g, x, np.array([0]), S, "alpha-crown", slopes=optimise_slopes(steps=5))
    assert np.all(al.rows >= cr.rows)
    lo, hi = max(F(x0) - F(eps), F(0)), min(F(x0) + F(eps), F(1))
    assert F(float(al.lower[0])) <= min_margin_1d(g, lo, hi, 0)


@pytest.mark.parametrize("bad", [5.0, -3.0, np.nan, np.inf])
def test_any_slopes_a_search_returns_stay_sound(bad):
    """The kernel clips whatever slopes it is handed to [a, 1] (NaN: no bound): a wrong search cannot break it."""
    rng = np.random.default_rng(7)
    g = chain([(rng.normal(size=(6, 1)), rng.normal(size=6)), (rng.normal(size=(5, 6)), rng.normal(size=5)),
               (rng.normal(size=(3, 5)), rng.normal(size=3))])

    def slopes(graph, C, boxes, shapes, cache, x0, inputs):
        return {n.name: np.full(C.shape[:2] + shapes[n.name], bad) for n in graph.nodes if n.name.startswith("act")}

    for x0 in (0.1, 0.5, 0.9):
        mb = margin_bounds(g, np.array([[x0]]), np.array([0]), InputSet("linf", 0.3), "alpha-crown", slopes=slopes)
        lo, hi = max(F(x0) - F(0.3), F(0)), min(F(x0) + F(0.3), F(1))
        assert F(float(mb.lower[0])) <= min_margin_1d(g, lo, hi, 0)
