"""Interval bound propagation (Gowal et al. 2018) on the IR: the IR's own enclosed forward pass, node by node.

Each node's box is ``[mid - rad, mid + rad]`` of :meth:`layer.forward` (:mod:`kernels.network._state`: a float
pass with proven elementwise and l2 error radii, every layer module stating its rounding model), started from the
input set (:meth:`kernels.bounds.domain.InputSet.enclosed`); every IR layer type with an enclosed forward pass is
covered (LayerNorm, GELU and the other transcendental activations included). The margin of IBP folds the
specification into the last affine layer (one backward step of :func:`kernels.bounds.crown.backward`, then the
minimum over the boxes of that layer's inputs), as Gowal et al. do.
"""

from __future__ import annotations

import numpy as np

from kernels.bounds._arith import add_down, box_lower, flat
from kernels.bounds.crown import Boxes, backward
from kernels.bounds.domain import InputSet
from kernels.network.graph import ForwardContext, Graph

__all__ = ["ibp_boxes", "concretize_first_step"]


def ibp_boxes(graph: Graph, x0: np.ndarray, inputs: InputSet, ctx: ForwardContext | None = None) -> Boxes:
    """Rigorous boxes of every node (and ``"input"``) for all inputs of the set around each row of ``x0``."""
    ctx = ctx or ForwardContext()
    start = inputs.enclosed(x0)
    vals = {"input": start}
    boxes: Boxes = {"input": inputs.box(x0)}
    for n in graph.nodes:
        ins = tuple(vals[a] for a in n.inputs)
        n.layer.out_shape(tuple(v.mid.shape[1:] for v in ins))
        out = n.layer.forward(ins, ctx)
        vals[n.name] = out
        lo, hi = out.lo, out.hi
        boxes[n.name] = (np.where(np.isnan(lo), -np.inf, lo), np.where(np.isnan(hi), np.inf, hi))
    return boxes


def concretize_first_step(graph: Graph, C: np.ndarray, boxes: Boxes, shapes: dict, cache: dict) -> np.ndarray:
    """Lower bounds of ``C z_last``: one backward step through the last node, then the boxes of its inputs."""
    last = graph.nodes[-1].name
    lam, const = backward(graph, last, C, boxes, shapes, cache, stop_at_first=True)
    out = const
    for a, L in lam.items():
        lo, hi = boxes[a]
        b = lo.shape[0]
        out = add_down(out, box_lower(flat(L, 2), lo.reshape(b, -1), hi.reshape(b, -1)))
    return out
