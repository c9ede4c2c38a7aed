"""Counts and user inputs of the ``model`` context: ``m`` (examples), ``k`` (misclassified examples), ``delta``.

Rounding model: ``m`` and ``k`` are exact integers; ``k`` counts the argmax errors of the network as evaluated by
torch in float32 on the CPU (TF32 off, eval mode; :mod:`certify.models.predict`). ``delta`` is the user's decimal
string enclosed exactly.
"""

from __future__ import annotations

from certify.models.predict import count_errors
from certify.quantities.registry import Provided, RunContext, register_provider
from theorems import enclose

__all__: list[str] = []


@register_provider("m")
def _m(ctx: RunContext) -> Provided:
    return Provided(enclose(ctx.data.n), "data", f"number of examples in {ctx.data.name}:{ctx.data.split}")


@register_provider("k")
def _k(ctx: RunContext) -> Provided:
    wrong = count_errors(ctx.predictions(), ctx.data.y)
    return Provided(enclose(wrong), "data", f"misclassified examples of {ctx.data.name}:{ctx.data.split} (argmax)")


@register_provider("delta", per_theorem=True)
def _delta(ctx: RunContext) -> Provided:
    return Provided(ctx.delta, "user", f"delta={ctx.delta_text}")
