"""Robustness quantities of the ``model`` context: an l2 Lipschitz upper bound of the network and the number of
examples certified robust at radius ``eps`` by the Lipschitz margin criterion (Tsuzuku, Sato & Sugiyama 2018).

Rounding model: the Lipschitz constant is :func:`kernels.lipschitz_upper` on the network IR (each layer's certified
constant from its module's Lipschitz rule: certified spectral norms of Linear layers, certified operator norms of
convolutions on the data's input size, exact activation constants, BatchNorm scales and pooling norms rounded up;
residual additions sum, concatenations combine), composed along the graph with upward rounding. An example is
certified iff its certified margin lower end exceeds a float upper bound of ``sqrt(2) * L * eps`` (``eps`` the
user's decimal, enclosed exactly).
"""

from __future__ import annotations

import numpy as np

from certify.quantities.margins import margins
from certify.quantities.registry import Provided, RunContext, register_provider
from theorems import Interval, enclose
from theorems._interval import isqrt

__all__: list[str] = []

_LIPSCHITZ = ("h_lipschitz_upper",)


@register_provider("lipschitz", discharges=_LIPSCHITZ)
def _lipschitz(ctx: RunContext) -> Provided:
    if "lipschitz" not in ctx.cache:
        import kernels

        net = ctx.network()
        lip = kernels.lipschitz_upper(net, input_shape=tuple(ctx.data.x.shape[1:]))
        ctx.cache["lipschitz"] = Provided(Interval(enclose(0).lo, enclose(lip.upper).hi), f"kernel:{lip.source}",
                                          f"l2 Lipschitz upper bound over the network graph ({len(lip.factors)} "
                                          "certified per-layer constants; residual additions summed)")
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
