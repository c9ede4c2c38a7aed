"""Robustness quantities of the ``model`` context: an l2 Lipschitz upper bound of the network and the number of
examples certified robust at radius ``eps`` by the Lipschitz margin criterion (Tsuzuku, Sato & Sugiyama 2018).

Rounding model: the Lipschitz constant is the product of per-layer upper bounds (certified spectral norms from
:func:`kernels.lipschitz_upper` where the network converts to kernel layers, else the per-layer enclosures of
:mod:`certify.quantities.spectral` with the convolution overlap factor, activation constants, BatchNorm scales rounded
up), multiplied in outward interval arithmetic. An example is certified iff its certified margin lower end exceeds a
float upper bound of ``sqrt(2) * L * eps`` (``eps`` the user's decimal, enclosed exactly).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

from boundcert.errors import HypothesisNotMet
from certify.models.network import Activation, BatchNorm, Conv2d, Flatten, Linear, Pool
from certify.quantities.margins import margins
from certify.quantities.registry import Provided, RunContext, register_provider
from certify.quantities.spectral import spectral_enclosure
from theorems import Interval, enclose
from theorems._interval import isqrt

__all__: list[str] = []

_LIPSCHITZ = ("h_lipschitz_upper",)


def _lip_layer(node: Any, shape: tuple[int, ...]) -> tuple[Interval, tuple[int, ...]]:
    """Upper bound on the l2 Lipschitz constant of one layer, and its output shape."""
    L = node.layer
    if isinstance(L, (Linear, Conv2d)):
        W2 = L.weight.reshape(L.weight.shape[0], -1)
        spec, _ = spectral_enclosure(W2)
        if isinstance(L, Linear):
            return spec, (L.weight.shape[0],)
        kh, kw = L.weight.shape[2:]
        overlap = kh * kw if L.dilation != (1, 1) else -(-kh // L.stride[0]) * -(-kw // L.stride[1])
        out = (L.weight.shape[0],) + tuple(
            (shape[1 + i] + 2 * L.padding[i] - L.dilation[i] * ((kh, kw)[i] - 1) - 1) // L.stride[i] + 1
            for i in range(2))
        return spec * isqrt(enclose(overlap)), out  # ||Tx||^2 <= ||K||^2 sum_p ||patch_p||^2 <= overlap ||K||^2 ||x||^2
    if isinstance(L, Activation):
        lip = {"relu": 1, "tanh": 1, "sigmoid": Fraction(1, 4), "gelu": Fraction(113, 100),
               "leaky_relu": max(1, Fraction(L.slope)), "elu": max(1, Fraction(L.slope))}[L.kind]
        return enclose(lip), shape
    if isinstance(L, Flatten):
        return enclose(1), (int(np.prod(shape)),)
    if isinstance(L, Pool) and L.kind == "max":
        over = -(-L.kernel[0] // L.stride[0]) * -(-L.kernel[1] // L.stride[1])
        out = (shape[0],) + tuple((shape[1 + i] + 2 * L.padding[i] - L.kernel[i]) // L.stride[i] + 1 for i in range(2))
        return isqrt(enclose(over)), out
    if isinstance(L, BatchNorm):
        s = np.abs(L.weight) / np.sqrt(L.var + L.eps)
        return enclose(float(s.max()) * (1 + 2.0**-40) + 1e-300), shape
    raise HypothesisNotMet(f"layer {node.name} ({type(L).__name__}) has no certified Lipschitz bound here: the "
                           "robust.* bounds do not apply")


@register_provider("lipschitz", discharges=_LIPSCHITZ)
def _lipschitz(ctx: RunContext) -> Provided:
    if "lipschitz" not in ctx.cache:
        net = ctx.network()
        from certify.models.kernel_layers import to_kernel_layers

        layers = to_kernel_layers(net, tuple(ctx.data.x.shape[1:]))
        if layers is not None:
            import kernels

            lip = kernels.lipschitz_upper(layers)
            ctx.cache["lipschitz"] = Provided(Interval(enclose(0).lo, enclose(lip.upper).hi), f"kernel:{lip.source}",
                                              "product of certified per-layer spectral norms (upper ends) and "
                                              "activation Lipschitz constants")
            return ctx.cache["lipschitz"]
        if not net.is_chain:
            raise HypothesisNotMet("the network has residual connections: no certified Lipschitz bound here")
        out, shape = enclose(1), tuple(ctx.data.x.shape[1:])
        for node in net.nodes:
            lip, shape = _lip_layer(node, shape)
            out = out * lip
        ctx.cache["lipschitz"] = Provided(Interval(enclose(0).lo, out.hi), "kernel:certify.lipschitz_product v1",
                                          "product of per-layer l2 Lipschitz upper bounds (spectral upper ends: "
                                          "min(Frobenius, Schur), conv overlap factor; activation constants)")
    return ctx.cache["lipschitz"]


def _certified_count(ctx: RunContext) -> tuple[int, str]:
    eps = ctx.options.get("eps") or "0.1"
    thr = (isqrt(enclose(2)) * _lipschitz(ctx).value * enclose(eps, name="eps")).hi
    t = float(thr)
    if enclose(t).hi < thr:  # the float nearest to the upper end fell below it
        t = float(np.nextafter(t, np.inf))
    n = int(np.count_nonzero(margins(ctx) > t))
    lip = _lipschitz(ctx)
    return n, (f"eps={eps}: certified iff margin lower end > sqrt(2) * lipschitz * eps (<= {t!r}); lipschitz <= "
               f"{lip.value.hi_str(8)} from {lip.source}")


@register_provider("n_certified", discharges=_LIPSCHITZ)
def _n_certified(ctx: RunContext) -> Provided:
    n, how = _certified_count(ctx)
    return Provided(enclose(n), "kernel:certify.logit_margins v1", f"points certified robust; {how}")


@register_provider("k_uncertified", discharges=_LIPSCHITZ)
def _k_uncertified(ctx: RunContext) -> Provided:
    n, how = _certified_count(ctx)
    return Provided(enclose(ctx.data.n - n), "kernel:certify.logit_margins v1", f"points not certified; {how}")
