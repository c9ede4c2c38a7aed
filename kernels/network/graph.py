"""The network IR: a graph of layer nodes in topological order, and the passes over it.

A :class:`Graph` is a tuple of :class:`Node` (``name``, ``layer``, ``inputs``: node names, ``"input"`` being the
network input); the last node's output is the network output. Each layer type lives in its own module with its
shape rule, enclosed forward pass, Lipschitz rule and linear relaxation (:mod:`kernels.network.affine`,
``elementwise``, ``activation``, ``pool``, ``shape``, ``merge``, ``layernorm``, ``constant``: a learned tensor read
by the forward code, a node that reads ``"input"`` only for the batch size); :class:`Unsupported` stands for an
operation a frontend could not translate (named, with the reason), so that data-free passes (the weight layers of
``certify analyze``) still run and every other pass refuses by name.

Passes: :meth:`Graph.shapes` (the per-sample shape of every node), :meth:`Graph.forward` (the enclosed forward
pass of :mod:`kernels.network._state`: a float pass plus proven elementwise and l2 error radii) and
:meth:`Graph.lipschitz` (an upper bound of the l2 or l-inf Lipschitz constant: per node ``L(node) = Lip(layer)
L(input)``, ``Add`` sums, ``Concat`` combines, every product and sum rounded up).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from boundcert.errors import HypothesisNotMet, InvalidInput
from kernels._enclosure import Enclosure
from kernels._rounding import mul_up
from kernels.network._ops import CPU, CpuOps
from kernels.network._state import Enclosed

__all__ = ["Node", "Graph", "Network", "Unsupported", "CpuOps", "CPU", "ForwardContext"]


@dataclass(slots=True)
class ForwardContext:
    """What a layer's forward pass may read: the product backend and a cache of certified operator norms."""

    ops: Any = CpuOps
    cache: dict = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Unsupported:
    """An operation with no translation: ``op`` names it, ``reason`` says why and what it rules out."""

    op: str
    reason: str

    def out_shape(self, shapes: tuple[tuple[int, ...], ...]) -> tuple[int, ...]:
        raise InvalidInput(f"operation {self.op} is not supported: {self.reason}")

    def forward(self, xs: tuple[Enclosed, ...], ctx: Any) -> Enclosed:
        raise InvalidInput(f"operation {self.op} is not supported: {self.reason}")

    def lipschitz(self, shape: tuple[int, ...], norm: str, cache: dict) -> Enclosure:
        raise HypothesisNotMet(f"operation {self.op} has no certified Lipschitz bound (h_lipschitz_upper): "
                               f"{self.reason}")


@dataclass(frozen=True, slots=True, eq=False)
class Node:
    """One step: ``layer`` applied to the outputs of ``inputs`` (node names; ``"input"`` is the network input)."""

    name: str
    layer: Any
    inputs: tuple[str, ...]


@dataclass(frozen=True, slots=True, eq=False)
class Graph:
    """Nodes in topological order; the last node's output is the network's output (the logits)."""

    nodes: tuple[Node, ...]
    input_shape: tuple[int, ...] | None = None
    notes: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        seen = {"input"}
        for n in self.nodes:
            missing = [a for a in n.inputs if a not in seen]
            if missing or not n.inputs:
                raise InvalidInput(f"node {n.name!r} reads {missing or 'nothing'}: nodes must come in topological "
                                   "order and read earlier nodes or 'input'")
            if n.name in seen:
                raise InvalidInput(f"node name {n.name!r} is used twice: give every node its own name")
            seen.add(n.name)
        if not self.nodes:
            raise InvalidInput("the network has no layers: give a classifier network")

    # ---------------------------------------------------------------- structure

    @property
    def weight_layers(self) -> tuple[Node, ...]:
        from kernels.network.affine import Conv, Linear
        from kernels.network.attention import Attention

        out: list[Node] = []
        for n in self.nodes:
            if isinstance(n.layer, (Linear, Conv)):
                out.append(n)
            elif isinstance(n.layer, Attention):  # its four projections, named after the node
                out += [Node(f"{n.name}.{p}_proj", getattr(n.layer, p), n.inputs) for p in ("q", "k", "v", "out")]
        return tuple(out)

    @property
    def unsupported(self) -> tuple[Node, ...]:
        return tuple(n for n in self.nodes if isinstance(n.layer, Unsupported))

    @property
    def is_chain(self) -> bool:
        prev = "input"
        for n in self.nodes:
            if n.inputs != (prev,):
                return False
            prev = n.name
        return True

    def kinds(self) -> list[str]:
        return [getattr(n.layer, "kind", None) if type(n.layer).__name__ == "Activation" else type(n.layer).__name__
                for n in self.nodes]

    def n_params(self) -> int:
        total = 0
        for n in self.weight_layers:
            total += n.layer.weight.size + (0 if n.layer.bias is None else n.layer.bias.size)
        return total

    def _inputs(self, node: Node, vals: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(vals[a] for a in node.inputs)

    # ---------------------------------------------------------------- passes

    def shapes(self, input_shape: tuple[int, ...] | None = None) -> dict[str, tuple[int, ...]]:
        """The per-sample output shape of every node (and ``"input"``)."""
        shape = input_shape if input_shape is not None else self.input_shape
        if shape is None:
            raise InvalidInput("the network's input shape is unknown: give it (e.g. --input-shape C,H,W)")
        out: dict[str, tuple[int, ...]] = {"input": tuple(int(v) for v in shape)}
        for n in self.nodes:
            out[n.name] = tuple(n.layer.out_shape(self._inputs(n, out)))
        return out

    def forward(self, x: Enclosed, ctx: ForwardContext | None = None) -> Enclosed:
        """The enclosed forward pass from the input enclosure ``x`` (batch first); returns the last node's."""
        ctx = ctx or ForwardContext()
        vals: dict[str, Enclosed] = {"input": x}
        last_use = {a: i for i, n in enumerate(self.nodes) for a in n.inputs}
        for i, n in enumerate(self.nodes):
            ins = self._inputs(n, vals)
            n.layer.out_shape(tuple(v.mid.shape[1:] for v in ins))  # the shape rule checks the input first
            vals[n.name] = n.layer.forward(ins, ctx)
            for a in n.inputs:  # free what no later node reads
                if last_use.get(a) == i and a != "input":
                    del vals[a]
        return vals[self.nodes[-1].name]

    def lipschitz(self, input_shape: tuple[int, ...] | None = None, norm: str = "l2",
                  cache: dict | None = None) -> tuple[float, tuple[Enclosure, ...]]:
        """``(upper, factors)``: ``upper >= Lip_norm(f)`` (``norm`` ``"l2"`` or ``"linf"``) and each node's own
        certified constant (one :class:`Enclosure` per node with one input, in node order)."""
        if norm not in ("l2", "linf"):
            raise InvalidInput(f"norm={norm!r}: Lipschitz bounds are certified for 'l2' and 'linf'")
        known = input_shape is not None or self.input_shape is not None
        shapes: dict[str, Any] = self.shapes(input_shape) if known else {}
        cache = {} if cache is None else cache
        lips: dict[str, float] = {"input": 1.0}
        factors: list[Enclosure] = []
        for n in self.nodes:
            ins = [lips[a] for a in n.inputs]
            if hasattr(n.layer, "combine_lipschitz"):
                lips[n.name] = n.layer.combine_lipschitz(ins, norm)
                continue
            if len(ins) != 1:
                raise InvalidInput(f"node {n.name!r} ({type(n.layer).__name__}) must have one input")
            own = n.layer.lipschitz(shapes.get(n.inputs[0]), norm, cache)
            if not isinstance(own, Enclosure):
                own = Enclosure(0.0, float(own), f"{type(n.layer).__name__} ({norm})")
            factors.append(own)
            lips[n.name] = mul_up(ins[0], own.hi)
        return lips[self.nodes[-1].name], tuple(factors)


Network = Graph  # the name the certify side has used for the normalised network
