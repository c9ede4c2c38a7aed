"""Robustness quantities of the ``model`` context: an l2 Lipschitz upper bound of the network and the number of
examples certified robust at radius ``eps`` by the tightest sound method that applies: the Lipschitz margin criterion
(Tsuzuku, Sato & Sugiyama 2018) or CROWN bound propagation (:func:`kernels.margin_bounds`, outward-rounded), an
example counting when either proves it (the detail of the input says how many each certified). A network with no
certified Lipschitz bound (self-attention: ``h_lipschitz_upper`` refused) is counted by bound propagation alone:
CROWN, or IBP where a layer has no linear relaxation (attention, LayerNorm).

Rounding model: the Lipschitz constant is :func:`kernels.lipschitz_upper` on the network IR (each layer's certified
constant from its module's Lipschitz rule: certified spectral norms of Linear layers, certified operator norms of
convolutions on the data's input size, exact activation constants, BatchNorm scales and pooling norms rounded up;
residual additions sum, concatenations combine), composed along the graph with upward rounding. An example is
certified iff its certified margin lower end exceeds a float upper bound of ``sqrt(2) * L * eps`` (``eps`` the
user's decimal, enclosed exactly); for CROWN, the ball's float radius is the user's ``eps`` rounded up.
"""

from __future__ import annotations

import numpy as np

from boundcert.errors import HypothesisNotMet, InvalidInput
from certify.quantities.margins import margins
from certify.quantities.registry import Provided, RunContext, register_provider
from theorems import Interval, enclose
from theorems._interval import isqrt

__all__: list[str] = []

_LIPSCHITZ = ("h_lipschitz_upper",)
#: the counts are of points certified by a sound verifier (the Lipschitz criterion or CROWN; the detail says which)
_SOUND = ("h_certified_sound",)


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


def _float_up(hi: object) -> float:
    """The smallest float >= the mpf ``hi`` (``float`` rounds to nearest)."""
    t = float(hi)
    if enclose(t).hi < hi:
        t = float(np.nextafter(t, np.inf))
    return t


def _crown_verified(ctx: RunContext, eps: str, method: str = "crown") -> tuple[np.ndarray | None, str]:
    """Per example: CROWN's (or IBP's) outward-rounded lower bound of every margin over the l2 ball of radius
    ``eps`` (no input domain: the theorem's ball) is > 0 (:func:`kernels.margin_bounds`); ``None`` where a layer
    has no relaxation (the reason is returned)."""
    import kernels
    from kernels.bounds import InputSet

    key = f"{method}_verified:{eps}"
    if key not in ctx.cache:
        try:
            ball = InputSet("l2", _float_up(enclose(eps, name="eps").hi), lo=None, hi=None)
            mb = kernels.margin_bounds(ctx.network(), ctx.data.x, ctx.data.y, ball, method=method)
            ctx.cache[key] = (np.asarray(mb.verified, dtype=bool), "")
        except (InvalidInput, HypothesisNotMet) as exc:
            ctx.cache[key] = (None, str(exc).splitlines()[0])
    return ctx.cache[key]


def _certified_count(ctx: RunContext) -> tuple[int, str]:
    """Examples certified robust at radius eps by the tightest sound method that applies: the Lipschitz margin
    criterion (Tsuzuku et al. 2018) or CROWN (kernels.bounds), an example counting when either proves it."""
    eps = ctx.options.get("eps") or "0.1"
    try:
        lip = _lipschitz(ctx)
    except HypothesisNotMet as exc:  # no Lipschitz constant (self-attention): bound propagation alone
        return _propagation_count(ctx, eps, str(exc).splitlines()[0])
    t = _float_up((isqrt(enclose(2)) * lip.value * enclose(eps, name="eps")).hi)
    by_lip = margins(ctx) > t
    how = (f"eps={eps}: certified iff margin lower end > sqrt(2) * lipschitz * eps (<= {t!r}; lipschitz <= "
           f"{lip.value.hi_str(8)} from {lip.source})")
    by_crown, why = _crown_verified(ctx, eps)
    if by_crown is None:
        return int(np.count_nonzero(by_lip)), (f"{how}; CROWN does not apply ({why}); h_certified_sound "
                                               "discharged by the Lipschitz criterion with a certified l2 Lipschitz "
                                               "upper bound")
    both = by_lip | by_crown
    return int(np.count_nonzero(both)), (f"{how} or CROWN's outward-rounded margin lower bound over the l2 ball "
                                         f"of radius eps > 0 (kernels.margin_bounds): Lipschitz certifies "
                                         f"{int(by_lip.sum())}, CROWN {int(by_crown.sum())}, either "
                                         f"{int(both.sum())} (method: the tightest that applies per example; "
                                         "h_certified_sound discharged by the Lipschitz criterion with a certified "
                                         "l2 Lipschitz upper bound and by CROWN's soundness on the l2 ball)")


def _propagation_count(ctx: RunContext, eps: str, no_lipschitz: str) -> tuple[int, str]:
    """The count when the network has no certified Lipschitz bound: CROWN, or IBP where a layer has no linear
    relaxation (attention, LayerNorm); refused by name when neither applies."""
    by, why = _crown_verified(ctx, eps)
    method = "CROWN"
    if by is None:
        by, why2 = _crown_verified(ctx, eps, "ibp")
        method = f"IBP (CROWN does not apply: {why})"
        if by is None:
            raise HypothesisNotMet(f"{no_lipschitz}; and no bound propagation applies ({why2})")
    return int(np.count_nonzero(by)), (f"eps={eps}: the Lipschitz criterion does not apply ({no_lipschitz}); "
                                       f"certified iff {method}'s outward-rounded margin lower bound over the l2 "
                                       f"ball of radius eps > 0 (kernels.margin_bounds): {int(by.sum())} "
                                       "(h_certified_sound discharged by the method's soundness on the l2 ball)")


@register_provider("n_certified", discharges=_SOUND)
def _n_certified(ctx: RunContext) -> Provided:
    n, how = _certified_count(ctx)
    return Provided(enclose(n), "kernel:certify.logit_margins v1", f"points certified robust; {how}")


@register_provider("k_uncertified", discharges=_SOUND)
def _k_uncertified(ctx: RunContext) -> Provided:
    n, how = _certified_count(ctx)
    return Provided(enclose(ctx.data.n - n), "kernel:certify.logit_margins v1", f"points not certified; {how}")
