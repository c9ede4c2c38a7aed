"""Providers of the network- and data-norm quantities of the catalogue's norm, margin and robustness bounds.

Every value is an enclosure of the exact real number for the stored float weights and inputs.

Rounding model. Sums of squares: each square of a float64 is rounded once (relative error <= u = 2^-53, plus an
absolute error <= 2^-1075 when it falls below the normal range; exact for float32 data) and ``math.fsum`` is
correctly rounded, so the exact sum lies in ``s * [1 - 2^-51, 1 + 2^-51] +- k 2^-1074``, ``k`` the number of
nonzero entries below ``2^-511`` (enclosed outward); square roots, products and sums of enclosures use the outward
interval arithmetic of :mod:`theorems`. Sums of absolute values (l1 norms, path norms) are non-negative float sums,
bounded the same way (``n`` terms: relative ``gamma_n``). Logit margins come from :mod:`certify.quantities.forward` (exact
real network).

Biases are folded in as the catalogue's norms prescribe (``[[W, b], [0, 1]]``, inputs ``(x, 1)``). A convolution is
the linear map ``T`` on the flattened input: ``||T||_F^2 <= P ||K||_F^2`` (``P`` output positions; each position
sees at most every kernel entry) and each row of ``T`` has l1 norm ``<=`` that of its output channel's kernel.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np

from boundcert.errors import HypothesisNotMet
from kernels import network as ir
from certify.quantities.registry import Provided, RunContext, register_provider
from theorems import Interval, enclose
from theorems._interval import isqrt

__all__ = ["chain_layers", "sum_enclosure", "frob_sq"]

#: what a successful :func:`chain_layers` proves about the network (the norm bounds' hypotheses)
_CHAIN = ("h_homogeneous_activation",)

_EPS2 = Fraction(1, 2**51)


def sum_enclosure(values: np.ndarray, squares: bool) -> Interval:
    """Enclosure of ``sum(values**2)`` (``squares``) or ``sum(|values|)`` for float64 ``values``."""
    v = np.abs(np.asarray(values, dtype=np.float64).ravel())
    n = max(v.size, 1)
    s = math.fsum((v * v).tolist()) if squares else math.fsum(v.tolist())
    rel = _EPS2 if squares else Fraction(n, 2**53 - n) + _EPS2  # |v| is exact; fsum adds one rounding
    # a square below the normal range is rounded with an absolute error <= 2^-1075 (it may even vanish)
    tiny = int(np.count_nonzero((v > 0) & (v < 2.0**-511))) if squares else 0  # squares of the rest are normal
    under = Fraction(tiny, 2**1074)
    f = Fraction(s)
    if not (s or under):
        return enclose(0)
    return Interval(enclose(max(f * (1 - rel) - under, Fraction(0))).lo, enclose(f * (1 + rel) + under).hi)


def chain_layers(ctx: RunContext) -> list[tuple[Any, tuple[int, ...]]]:
    """The weight layers of a plain chain (affine maps, 1-Lipschitz positively homogeneous activations, reshapes)
    with the input shape each sees; an eval-mode BatchNorm right after an affine map is folded into it (its
    magnitude bounds, :class:`_Folded`); refuses, naming the hypothesis, anything the norm bounds' hypotheses
    exclude (residual connections, pooling, other activations, a BatchNorm not after an affine map)."""
    if "chain" in ctx.cache:
        return ctx.cache["chain"]
    net = ctx.network()
    if not net.is_chain:
        raise HypothesisNotMet("the network has residual connections or concatenations: h_homogeneous_activation "
                               "(the norm bounds are proven for a plain chain of layers) is not met; the robust.* "
                               "and test_set.* bounds still apply")
    shapes = net.shapes(tuple(ctx.data.x.shape[1:]))
    out = []
    folded: dict[str, Any] = {}
    for i, node in enumerate(net.nodes):
        L = node.layer
        prev = net.nodes[i - 1] if i else None  # the node this one reads (a chain)
        if isinstance(L, (ir.Linear, ir.Conv)):
            out.append((L, shapes[node.inputs[0]]))
        elif isinstance(L, ir.BatchNorm) and prev is not None and isinstance(prev.layer, (ir.Linear, ir.Conv)):
            out[-1] = (_fold_bound(prev.layer, L), out[-1][1])  # eval BatchNorm after an affine map: one affine map
            folded[prev.name] = out[-1][0]
        elif isinstance(L, (ir.Flatten, ir.Reshape, ir.Unflatten)):
            continue
        elif isinstance(L, ir.Activation) and (L.kind in ("relu", "identity") or
                                               (L.kind == "leaky_relu" and 0 <= L.slope <= 1)):
            continue
        else:
            what = type(L).__name__ + ("" if not isinstance(L, ir.Activation) else " " + L.kind)
            raise HypothesisNotMet(f"layer {node.name} ({what}) is not an affine map or a 1-Lipschitz positively "
                                   "homogeneous activation: h_homogeneous_activation of the norm and margin bounds "
                                   "(norm.*) is not met; the robust.* and test_set.* bounds still apply")
    if not out or not isinstance(net.nodes[-1].layer, (ir.Linear, ir.Conv, ir.BatchNorm)) or \
            (isinstance(net.nodes[-1].layer, ir.BatchNorm) and not folded):
        raise HypothesisNotMet("the network does not end in an affine layer: norm bounds need logits = last affine map")
    ctx.cache["chain"] = out
    ctx.cache["folded"] = folded
    return out


class _Folded:
    """Magnitude bounds of an affine map with an eval BatchNorm folded in: ``weight >= |diag(s) W|`` and
    ``bias >= |s (b - mean) + beta|`` elementwise (``s = gamma / sqrt(var + eps)`` enclosed, every step rounded
    up). Only upper ends of norms are sound from these (providers give ``lo = 0``)."""

    def __init__(self, base: Any, weight: np.ndarray, bias: np.ndarray) -> None:
        self.base, self.weight, self.bias = base, weight, bias

    def out_shape(self, shapes: tuple[tuple[int, ...], ...]) -> tuple[int, ...]:
        return self.base.out_shape(shapes)


def _fold_bound(L: Any, bn: Any) -> _Folded:
    from kernels._rounding import vup

    smax = bn.smax()
    shape = (-1,) + (1,) * (L.weight.ndim - 1)
    w = vup(smax.reshape(shape) * np.abs(L.weight))
    b = np.zeros(L.weight.shape[0]) if L.bias is None else L.bias
    bb = vup(vup(smax * vup(np.abs(b - bn.mean))) + np.abs(bn.bias))
    return _Folded(L, w, bb)


def _positions(L: Any, shape: tuple[int, ...]) -> int:
    L = getattr(L, "base", L)
    if isinstance(L, ir.Linear):
        return int(np.prod(shape[:-1], dtype=np.int64)) if len(shape) > 1 else 1
    return int(np.prod(L.out_shape((shape,))[1:], dtype=np.int64))


def frob_sq(L: Any, shape: tuple[int, ...], last: bool) -> Interval:
    """Enclosure (upper end sound) of ``||[[T, b], [0, 1]]||_F^2`` for the layer's linear map ``T``."""
    total = sum_enclosure(L.weight, True) + (enclose(0) if L.bias is None else sum_enclosure(L.bias, True))
    out = total * enclose(_positions(L, shape)) + enclose(0 if last else 1)
    return Interval(enclose(0).lo, out.hi) if isinstance(L, _Folded) else out


def _l1inf(L: Any, last: bool) -> Interval:
    """Upper end of ``||[[W, b], [0, 1]]||_{1,inf}`` (largest row l1 norm; the unit row adds 1 except at the end),
    from :func:`kernels.matrix_norms` on ``[W, b]`` (a convolution: its kernel matrix, whose row l1 norms bound
    those of the operator's rows)."""
    import kernels

    W2 = L.weight.reshape(L.weight.shape[0], -1)
    aug = W2 if L.bias is None else np.concatenate([W2, L.bias.reshape(-1, 1)], axis=1)
    hi = enclose(kernels.matrix_norms(np.ascontiguousarray(aug, dtype=np.float64)).max_row_l1.hi).hi
    return Interval(enclose(0).lo, hi if last else max(hi, enclose(1).hi))


@register_provider("prod_frob", discharges=_CHAIN)
def _prod_frob(ctx: RunContext) -> Provided:
    chain = chain_layers(ctx)
    out = enclose(1)
    for i, (L, shape) in enumerate(chain):
        out = out * isqrt(frob_sq(L, shape, i == len(chain) - 1))
    return Provided(out, "kernel:certify.frobenius_fsum v1", f"product of {len(chain)} augmented Frobenius norms")


@register_provider("prod_l1inf", discharges=_CHAIN)
def _prod_l1inf(ctx: RunContext) -> Provided:
    chain = chain_layers(ctx)
    out = enclose(1)
    for i, (L, _) in enumerate(chain):
        out = out * _l1inf(L, i == len(chain) - 1)
    return Provided(out, "kernel:certify.l1inf v1", "product of augmented ||W||_{1,inf} (row l1 norms, upper end)")


@register_provider("path_norm_l1", discharges=_CHAIN)
def _path_norm(ctx: RunContext) -> Provided:
    import kernels

    chain = chain_layers(ctx)
    folded = ctx.cache.get("folded", {})
    nodes, prev = [], "input"
    for i, n in enumerate(ctx.network().nodes):  # the chain with |W|, |b| (activations act as the identity on
        L = n.layer                                # the nonnegative values of the all-ones pass)
        if n.name in folded:  # an eval BatchNorm folded in: its magnitude bounds
            f = folded[n.name]
            L = ir.Linear(f.weight, f.bias) if isinstance(L, ir.Linear) else ir.Conv(
                f.weight, f.bias, L.stride, L.padding, L.dilation, L.groups, L.padding_mode)
        elif isinstance(L, ir.BatchNorm):
            continue
        elif isinstance(L, ir.Linear):
            L = ir.Linear(np.abs(L.weight), None if L.bias is None else np.abs(L.bias))
        elif isinstance(L, ir.Conv):
            L = ir.Conv(np.abs(L.weight), None if L.bias is None else np.abs(L.bias), L.stride, L.padding,
                        L.dilation, L.groups, L.padding_mode)
        elif isinstance(L, ir.Activation):
            continue
        nodes.append(ir.Node(f"abs{i}", L, (prev,)))
        prev = f"abs{i}"
    _, hi = kernels.forward_enclosure(ir.Graph(tuple(nodes)), np.ones((1,) + tuple(ctx.data.x.shape[1:])))
    total = sum_enclosure(np.maximum(hi, 0.0), False)
    return Provided(Interval(enclose(0).lo, total.hi), "kernel:certify.path_norm_l1 v2",
                    f"all-ones input (and constant unit) through |W_j| of {len(chain)} layers, outputs summed "
                    "(upper end)")


@register_provider("depth", discharges=_CHAIN)
def _depth(ctx: RunContext) -> Provided:
    return Provided(enclose(len(chain_layers(ctx))), "model", "number of weight layers")


@register_provider("classes", discharges=_CHAIN + ("h_multiclass",))
def _classes(ctx: RunContext) -> Provided:
    L = chain_layers(ctx)[-1][0]
    return Provided(enclose(int(L.weight.shape[0])), "model", "outputs of the network")


def _aug(ctx: RunContext) -> bool:
    return any(L.bias is not None for L, _ in chain_layers(ctx))


@register_provider("input_dim", discharges=_CHAIN)
def _input_dim(ctx: RunContext) -> Provided:
    d = int(np.prod(ctx.data.x.shape[1:])) + (1 if _aug(ctx) else 0)
    return Provided(enclose(d), "model", "input dimension (+1 for the constant unit when biases are folded in)")


def _xfrob(x: np.ndarray, aug: bool) -> Interval:
    return isqrt(sum_enclosure(x, True) + enclose(x.shape[0] if aug else 0))


@register_provider("x_frob")
def _x_frob(ctx: RunContext) -> Provided:
    return Provided(_xfrob(ctx.data.x, _aug(ctx)), "kernel:certify.frobenius_fsum v1", "||X||_F of inputs (x, 1)")


def _class_sum(ctx: RunContext, norm: Any) -> Interval:
    """``sum_c norm(X_c)`` over the classes ``c`` of the sample (outward interval sum)."""
    out, aug = enclose(0), _aug(ctx)
    for c in np.unique(ctx.data.y):
        out = out + norm(ctx.data.x[ctx.data.y == c], aug)
    return out


@register_provider("x_frob_class_sum")
def _x_frob_class(ctx: RunContext) -> Provided:
    return Provided(_class_sum(ctx, _xfrob), "kernel:certify.frobenius_fsum v1",
                    "sum over classes of ||X_c||_F (inputs (x, 1))")


def _xcol(x: np.ndarray, aug: bool) -> Interval:
    """Upper end of the largest l2 norm of an input coordinate over the sample (a column of ``X``), from
    :func:`kernels.matrix_norms`; the constant unit's column (``aug``) has norm ``sqrt(n)``."""
    import kernels

    cols = np.ascontiguousarray(x.reshape(x.shape[0], -1), dtype=np.float64)
    hi = enclose(kernels.matrix_norms(cols).max_col_l2.hi).hi
    if aug:
        hi = max(hi, isqrt(enclose(x.shape[0])).hi)
    return Interval(enclose(0).lo, hi)


@register_provider("x_col_max")
def _x_col_max(ctx: RunContext) -> Provided:
    return Provided(_xcol(ctx.data.x, _aug(ctx)), "kernel:certify.col_norm v1", "max input-coordinate l2 norm")


@register_provider("x_col_max_class_sum")
def _x_col_class(ctx: RunContext) -> Provided:
    return Provided(_class_sum(ctx, _xcol), "kernel:certify.col_norm v1",
                    "sum over classes of max coordinate l2 norms")
