"""Independent exact references for the bound-propagation tests: the IR networks evaluated in rationals
(fractions.Fraction), and the exact minimum of a ReLU network's margin over an input box by enumerating the
linear pieces (1-D inputs: every breakpoint of every layer; 2-D inputs, one hidden layer: every vertex of the
hyperplane arrangement inside the box, i.e. the optimum of the exact LP of each activation pattern)."""

from __future__ import annotations

from fractions import Fraction
from itertools import combinations

import numpy as np

from kernels.network import Activation, Flatten, Graph, Linear

F = Fraction


def _act(kind: str, slope: float, v: Fraction) -> Fraction:
    if kind == "identity" or v >= 0:
        return v
    return F(0) if kind == "relu" else F(slope) * v


def forward_exact(g: Graph, x: list[Fraction]) -> list[Fraction]:
    """Logits of a chain of Linear / relu / leaky_relu / identity / Flatten layers, in exact rationals."""
    z = list(x)
    for n in g.nodes:
        lay = n.layer
        if isinstance(lay, Linear):
            W = [[F(float(w)) for w in row] for row in lay.weight]
            b = [F(0)] * len(W) if lay.bias is None else [F(float(v)) for v in lay.bias]
            z = [sum((wi * zi for wi, zi in zip(row, z)), F(0)) + bi for row, bi in zip(W, b)]
        elif isinstance(lay, Activation):
            z = [_act(lay.kind, lay.slope, v) for v in z]
        elif isinstance(lay, Flatten):
            pass
        else:  # pragma: no cover
            raise TypeError(type(lay).__name__)
    return z


def margin_exact(g: Graph, x: list[Fraction], y: int) -> list[Fraction]:
    """``f_y - f_j`` for every ``j`` (``j = y`` gives 0)."""
    z = forward_exact(g, x)
    return [z[y] - zj for zj in z]


def _layers(g: Graph):
    return [n.layer for n in g.nodes]


def breakpoints_1d(g: Graph, lo: Fraction, hi: Fraction) -> list[Fraction]:
    """Every point of ``[lo, hi]`` where some layer's value is not locally affine in the (scalar) input, plus the ends:
    between consecutive points the whole network is affine, so extrema of the margin are attained at these points."""
    pts = [lo, hi]
    vals = [[lo], [hi]]
    for lay in _layers(g):
        if isinstance(lay, Linear):
            W = [[F(float(w)) for w in row] for row in lay.weight]
            b = [F(0)] * len(W) if lay.bias is None else [F(float(v)) for v in lay.bias]
            vals = [[sum((wi * zi for wi, zi in zip(row, z)), F(0)) + bi for row, bi in zip(W, b)] for z in vals]
        elif isinstance(lay, Activation) and lay.kind != "identity":
            new_pts, new_vals = [pts[0]], [vals[0]]
            for (p0, v0), (p1, v1) in zip(zip(pts, vals), zip(pts[1:], vals[1:])):
                cross = sorted({p0 + (p1 - p0) * (a / (a - c)) for a, c in zip(v0, v1) if a * c < 0})
                for t in cross:  # the layer is affine on [p0, p1] before it: interpolate exactly
                    lam = (t - p0) / (p1 - p0)
                    new_pts.append(t)
                    new_vals.append([a + lam * (c - a) for a, c in zip(v0, v1)])
                new_pts.append(p1)
                new_vals.append(v1)
            pts, vals = new_pts, new_vals
            vals = [[_act(lay.kind, lay.slope, v) for v in z] for z in vals]
    return pts


def min_margin_1d(g: Graph, lo: Fraction, hi: Fraction, y: int) -> Fraction:
    """Exact ``min_{x in [lo, hi]} min_{j != y} f_y(x) - f_j(x)`` for a 1-input chain network."""
    best = None
    for p in breakpoints_1d(g, lo, hi):
        m = margin_exact(g, [p], y)
        v = min(m[j] for j in range(len(m)) if j != y)
        best = v if best is None or v < best else best
    return best


def min_margin_2d(g: Graph, box: tuple[tuple[Fraction, Fraction], tuple[Fraction, Fraction]], y: int) -> Fraction:
    """Exact minimum over a 2-D box for ``Linear -> relu/leaky -> Linear``: the margin is affine on each cell of the
    arrangement of the hidden hyperplanes, so the minimum (the optimum of each pattern's LP) is at a vertex."""
    W1 = g.nodes[0].layer.weight
    b1 = g.nodes[0].layer.bias
    lines = [(F(float(w[0])), F(float(w[1])), F(float(b))) for w, b in zip(W1, b1)]  # a x + b y + c = 0
    (x0, x1), (y0, y1) = box
    lines += [(F(1), F(0), -x0), (F(1), F(0), -x1), (F(0), F(1), -y0), (F(0), F(1), -y1)]
    cand = {(x0, y0), (x0, y1), (x1, y0), (x1, y1)}
    for (a1, b1_, c1), (a2, b2, c2) in combinations(lines, 2):
        det = a1 * b2 - a2 * b1_
        if det == 0:
            continue
        px, py = (b1_ * c2 - b2 * c1) / det, (c1 * a2 - c2 * a1) / det
        if x0 <= px <= x1 and y0 <= py <= y1:
            cand.add((px, py))
    best = None
    for p in cand:
        m = margin_exact(g, list(p), y)
        v = min(m[j] for j in range(len(m)) if j != y)
        best = v if best is None or v < best else best
    return best


def chain(weights: list[tuple[np.ndarray, np.ndarray]], act: str = "relu", slope: float = 0.0) -> Graph:
    """``Linear -> act -> ... -> Linear`` from ``(W, b)`` pairs."""
    from kernels.network import Node

    nodes, prev = [], "input"
    for i, (W, b) in enumerate(weights):
        nodes.append(Node(f"fc{i}", Linear(np.asarray(W, np.float64), np.asarray(b, np.float64)), (prev,)))
        prev = f"fc{i}"
        if i < len(weights) - 1:
            nodes.append(Node(f"act{i}", Activation(act, slope), (prev,)))
            prev = f"act{i}"
    return Graph(tuple(nodes), (np.asarray(weights[0][0]).shape[1],))
