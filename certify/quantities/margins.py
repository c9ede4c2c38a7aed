"""Logit margins of the ``model`` context: the certified margins of every example, the margin of the norm bounds
and the empirical margin risk.

Rounding model: the margins are the lower ends of certified enclosures of the exact real network's multiclass
margins (:mod:`certify.quantities.forward`); ``emp_margin_risk`` at margin ``gamma`` is the exact fraction of examples
whose certified lower end is below ``gamma`` (decided exactly as rationals near ``gamma``), an upper bound on the
fraction whose true margin is. The margin is the user's (``--margin``, exact decimal) or chosen among quantiles of the
certified margins; the norm statements hold for all margins at once (a union over a ``2^(j/8)`` grid inside them).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

import theorems
from boundcert.errors import InvalidInput
from certify.quantities.forward import logit_enclosure, margin_lower
from certify.quantities.registry import Provided, RunContext, provide, register_provider
from theorems import Interval, enclose

__all__ = ["margins", "margin_candidates"]


def margins(ctx: RunContext) -> np.ndarray:
    """Lower ends of the certified multiclass logit margins of the exact real network (cached)."""
    if "margins" not in ctx.cache:
        lo, hi = logit_enclosure(ctx.network(), ctx.data.x)
        if lo.ndim != 2 or int(ctx.data.y.max()) >= lo.shape[1]:
            raise InvalidInput(f"data {ctx.data.name!r} has label {int(ctx.data.y.max())} but the model has "
                               f"{lo.shape[-1]} outputs: labels must be class indices below the number of outputs")
        ctx.cache["margins"] = margin_lower(lo, hi, ctx.data.y)
    return ctx.cache["margins"]


def margin_candidates(ctx: RunContext) -> list[str]:
    """Margins tried (exact decimals, 3 significant digits): quantiles of the positive certified margins."""
    pos = margins(ctx)[margins(ctx) > 0]
    if pos.size == 0:
        return ["1"]
    qs = np.quantile(pos, [0.01, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9])
    return sorted({f"{q:.3g}" for q in qs if q > 0}, key=float) or ["1"]


def _emp_at(ctx: RunContext, margin: str) -> Interval:
    """Exact count (as a fraction of m) of certified margin lower ends < margin: an upper bound on emp_margin_risk."""
    g, mg = Fraction(margin), margins(ctx)
    near = np.abs(mg - float(g)) <= abs(float(g)) * 2.0**-50 + 2.0**-1000
    bad = int(np.count_nonzero((mg < float(g)) & ~near))
    bad += sum(1 for v in mg[near] if Fraction(float(v)) < g)
    return enclose(Fraction(bad, ctx.data.n))


@register_provider("margin", per_theorem=True)
def _margin(ctx: RunContext) -> Provided:
    if "margin" not in ctx.cache:
        chosen = ctx.options.get("margin")
        if chosen is None:
            t = ctx.theorem
            names = [n for n in theorems.tree_symbols(t.tree()) if n not in ("margin", "emp_margin_risk")]
            others = {n: p.value for n, p in provide(ctx, names).items()}
            best = None
            for g in margin_candidates(ctx):
                vals = {**others, "margin": enclose(g), "emp_margin_risk": _emp_at(ctx, g)}
                hi = theorems.eval_tree(t.tree(), t.enclose_inputs(vals)).hi
                if best is None or hi < best[0]:
                    best = (hi, g)
            chosen = best[1]
        ctx.cache["margin"] = str(chosen)
    g = ctx.cache["margin"]
    how = "given" if ctx.options.get("margin") else "chosen among quantiles of the certified margins (the bound " \
        "holds for all margins at once)"
    return Provided(enclose(g), "user" if ctx.options.get("margin") else "derived", f"margin={g} ({how})")


@register_provider("emp_margin_risk", per_theorem=True)
def _emp_margin(ctx: RunContext) -> Provided:
    g = _margin(ctx).value
    return Provided(_emp_at(ctx, ctx.cache["margin"]), "kernel:certify.logit_margins v1",
                    f"fraction of examples whose certified margin lower end is < {ctx.cache['margin']} "
                    f"(upper bound on the fraction with margin < margin); margin enclosure {g!r}")
