"""A *local* Lipschitz upper bound of the network on a box input domain ``[lo, hi]`` (elementwise bounds on the
network input), for networks with self-attention (no global constant) or LayerNorm (global constant
``max|w| / sqrt(eps)``).

Argument: the domain ``X = [lo, hi]`` is convex. Node ``v``'s input ranges, over ``X``, inside the box ``B_v`` of the
enclosed forward pass of :mod:`kernels.network._state` (interval bounds of every node: :meth:`Graph.forward`'s rules
with the domain as the input box, every node's enclosure kept). For the composition,
``Lip_X(g o f) <= Lip_{f(X)}(g) Lip_X(f)`` and ``Lip_{f(X)}(g) <= Lip_{B}(g) <= sup_{z in B} ||J_g(z)||`` (``B``
convex, ``g`` C^1 on ``B``: the mean-value inequality along segments in ``B``). So the global rule's chaining
(product along chains, sums at ``Add``, ``Concat`` as :meth:`Graph.lipschitz`) stays sound with every layer's
constant replaced by a bound of ``sup_{B_v} ||J||``: a layer with ``local_lipschitz(x, norm, cache, ctx)``
(``Attention``, ``LayerNorm``, ``GroupNorm``; the rule is in its module) gets that, a merge node with
``local_combine_lipschitz`` (``ScaledDotProductAttention``) its local combination, and every other layer keeps its
global rule (sound on any set). The constant holds **only on the domain**; the result records it.

Rounding model: the forward enclosure's (binary64 round-to-nearest, outward ``nextafter`` steps, ``gamma_n`` sum
errors); the layers' local rules state theirs; products and sums of constants rounded up.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from boundcert.errors import HypothesisNotMet, InvalidInput
from kernels._enclosure import Enclosure
from kernels._rounding import mul_up
from kernels.network._ops import CpuOps
from kernels.network._state import Enclosed, point
from kernels.network.attention import box_to_midrad
from kernels.network.graph import ForwardContext, Graph

__all__ = ["local_lipschitz", "check_domain"]


def check_domain(lo: Any, hi: Any, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The domain's bounds broadcast to the per-sample input ``shape``; refuses empty, inverted or non-finite boxes."""
    try:
        lo_a = np.broadcast_to(np.asarray(lo, dtype=np.float64), shape).copy()
        hi_a = np.broadcast_to(np.asarray(hi, dtype=np.float64), shape).copy()
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"domain: (lo, hi) must be numbers or arrays broadcastable to the input shape {shape!r} "
                           f"({exc})") from None
    if not (np.all(np.isfinite(lo_a)) and np.all(np.isfinite(hi_a))):
        raise InvalidInput("domain: lo and hi must be finite")
    if np.any(lo_a > hi_a):
        raise InvalidInput("domain: empty (lo > hi somewhere); give lo <= hi elementwise")
    return lo_a, hi_a


def local_lipschitz(graph: Graph, lo: Any, hi: Any, norm: str = "l2", rtol: float = 1e-6,
                    input_shape: tuple[int, ...] | None = None) -> tuple[float, tuple[Enclosure, ...], np.ndarray,
                                                                         np.ndarray]:
    """``(upper, factors, lo, hi)``: ``upper >= sup_{a != b in [lo, hi]} ||f(a) - f(b)|| / ||a - b||`` in ``norm``
    (the module's argument), one factor per one-input node, and the domain as checked (per-sample shape)."""
    if norm not in ("l2", "linf"):
        raise InvalidInput(f"norm={norm!r}: Lipschitz bounds are certified for 'l2' and 'linf'")
    shape = input_shape if input_shape is not None else graph.input_shape
    if shape is None:
        raise InvalidInput("the network's input shape is unknown: give input_shape for a domain Lipschitz bound")
    shape = tuple(int(s) for s in shape)
    lo_a, hi_a = check_domain(lo, hi, shape)
    m, r = box_to_midrad(lo_a, hi_a)
    x = point(m[None], r[None])
    ctx = ForwardContext(CpuOps, {"tight": False, "precision": "float64"})
    shapes = graph.shapes(shape)
    vals: dict[str, Enclosed] = {"input": x}
    lips: dict[str, float] = {"input": 1.0}
    factors: list[Enclosure] = []
    cache: dict = {"rtol": rtol}
    for n in graph.nodes:
        ins = [vals[a] for a in n.inputs]
        vals[n.name] = n.layer.forward(tuple(ins), ctx)
        in_l = [lips[a] for a in n.inputs]
        if hasattr(n.layer, "local_combine_lipschitz"):
            lips[n.name] = n.layer.local_combine_lipschitz(tuple(ins), in_l, norm, cache)
            continue
        if hasattr(n.layer, "combine_lipschitz"):
            lips[n.name] = n.layer.combine_lipschitz(in_l, norm)
            continue
        if len(ins) != 1:
            raise InvalidInput(f"node {n.name!r} ({type(n.layer).__name__}) must have one input")
        if hasattr(n.layer, "local_lipschitz"):
            own = n.layer.local_lipschitz(ins[0], norm, cache, ctx)
        else:
            own = n.layer.lipschitz(shapes[n.inputs[0]], norm, cache)
        if not isinstance(own, Enclosure):
            own = Enclosure(0.0, float(own), f"{type(n.layer).__name__} ({norm})")
        if not np.isfinite(own.hi):
            raise HypothesisNotMet(f"node {n.name!r} ({type(n.layer).__name__}): its input's interval bounds over "
                                   "the domain are unbounded, so no local Lipschitz bound (h_lipschitz_upper); "
                                   "give a smaller domain")
        factors.append(own)
        lips[n.name] = mul_up(in_l[0], own.hi)
    return lips[graph.nodes[-1].name], tuple(factors), lo_a, hi_a
