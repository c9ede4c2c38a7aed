"""The normalised network: an ordered graph of plain layers (numpy float64 copies of the stored weights).

Weights are stored in float32 (or float64) by torch; the float64 copies here are *exact* (every float32 is a
float64). BatchNorm is kept as its own elementwise affine layer (``BatchNorm``: ``y = (x - mean) / sqrt(var + eps)
* weight + bias``), never folded into the preceding affine map: folding would round the product, and this way
the certified norms of the affine layers are those of the stored weights; the BatchNorm layer's own scale is
enclosed where it is used (see :mod:`certify.quantities.forward`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Union

import numpy as np

__all__ = ["Linear", "Conv2d", "BatchNorm", "Activation", "Flatten", "Pool", "Add", "Node", "Network", "ACTIVATIONS"]

#: Activation -> (Lipschitz constant, positively homogeneous, monotone).
ACTIVATIONS = {
    "relu": ("1", True, True), "leaky_relu": ("max(1, slope)", True, True), "tanh": ("1", False, True),
    "sigmoid": ("1/4", False, True), "gelu": ("1.13", False, False), "elu": ("max(1, alpha)", False, True),
}


@dataclass(frozen=True, slots=True, eq=False)
class Linear:
    weight: np.ndarray  # (out, in), float64, exact copy
    bias: np.ndarray | None


@dataclass(frozen=True, slots=True, eq=False)
class Conv2d:
    weight: np.ndarray  # (out, in/groups, kh, kw)
    bias: np.ndarray | None
    stride: tuple[int, int]
    padding: tuple[int, int]
    dilation: tuple[int, int]
    groups: int


@dataclass(frozen=True, slots=True, eq=False)
class BatchNorm:
    mean: np.ndarray
    var: np.ndarray
    weight: np.ndarray
    bias: np.ndarray
    eps: float


@dataclass(frozen=True, slots=True)
class Activation:
    kind: Literal["relu", "leaky_relu", "tanh", "sigmoid", "gelu", "elu"]
    slope: float = 0.0  # leaky_relu negative slope, or elu alpha

    @property
    def homogeneous(self) -> bool:
        return ACTIVATIONS[self.kind][1]


@dataclass(frozen=True, slots=True)
class Flatten:
    start_dim: int = 1


@dataclass(frozen=True, slots=True)
class Pool:
    kind: Literal["max", "avg"]
    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]


@dataclass(frozen=True, slots=True)
class Add:
    pass


Layer = Union[Linear, Conv2d, BatchNorm, Activation, Flatten, Pool, Add]


@dataclass(frozen=True, slots=True, eq=False)
class Node:
    """One step: ``layer`` applied to the outputs of ``inputs`` (node names; ``"input"`` is the network input)."""

    name: str
    layer: Layer
    inputs: tuple[str, ...]


@dataclass(frozen=True, slots=True, eq=False)
class Network:
    """Nodes in topological order; the last node's output is the logits."""

    nodes: tuple[Node, ...]
    input_shape: tuple[int, ...] | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def weight_layers(self) -> tuple[Node, ...]:
        return tuple(n for n in self.nodes if isinstance(n.layer, (Linear, Conv2d)))

    @property
    def is_chain(self) -> bool:
        prev = "input"
        for n in self.nodes:
            if n.inputs != (prev,):
                return False
            prev = n.name
        return True

    def kinds(self) -> list[str]:
        return [type(n.layer).__name__ if not isinstance(n.layer, Activation) else n.layer.kind for n in self.nodes]

    def n_params(self) -> int:
        total = 0
        for n in self.weight_layers:
            total += n.layer.weight.size + (0 if n.layer.bias is None else n.layer.bias.size)
        return total
