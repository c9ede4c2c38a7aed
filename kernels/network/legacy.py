"""The plain chain description of the first network kernels (``DenseLayer``, ``ConvLayer``, ``Activation``,
``Residual``), kept as a convenience input: :func:`to_graph` turns a sequence of them into the IR
(:class:`kernels.network.graph.Graph`); a ``DenseLayer`` after a ``ConvLayer`` flattens ``(C, H, W)`` row-major.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Sequence, Union

import numpy as np

from boundcert.errors import InvalidInput
from kernels._validation import as_float64, as_sequence, check_choice

__all__ = ["DenseLayer", "ConvLayer", "Activation", "Residual", "Layer", "ActivationName", "to_graph"]

ActivationName = Literal["relu", "leaky_relu", "identity", "tanh", "sigmoid"]


@dataclass(frozen=True, slots=True)
class DenseLayer:
    """``y = W x + b`` with ``W`` of shape (out, in)."""

    weight: np.ndarray
    bias: np.ndarray | None = None


@dataclass(frozen=True, slots=True)
class ConvLayer:
    """``y = conv2d(pad(x), weight, stride, dilation) + bias`` on inputs of size ``input_hw``."""

    weight: np.ndarray
    input_hw: tuple[int, int]
    bias: np.ndarray | None = None
    stride: int | tuple[int, int] = 1
    padding: int | tuple[int, int] = 0
    padding_mode: Literal["zeros", "circular"] = "zeros"
    dilation: int | tuple[int, int] = 1


@dataclass(frozen=True, slots=True)
class Activation:
    """Elementwise activation; ``negative_slope`` is used by ``leaky_relu`` only."""

    name: ActivationName
    negative_slope: float = 0.01

    def __post_init__(self) -> None:
        check_choice(self.name, ("relu", "leaky_relu", "identity", "tanh", "sigmoid"),
                     f"Activation.name={self.name!r}: one of relu, leaky_relu, identity, tanh, sigmoid")

    @property
    def lipschitz(self) -> float:
        """Exact Lipschitz constant (a float): relu/identity/tanh 1, sigmoid 1/4, leaky max(1, |slope|)."""
        if self.name == "sigmoid":
            return 0.25
        if self.name == "leaky_relu":
            return max(1.0, abs(float(self.negative_slope)))
        return 1.0


@dataclass(frozen=True, slots=True)
class Residual:
    """``y = shortcut(x) + block(x)``; ``shortcut`` empty means the identity."""

    block: tuple["Layer", ...]
    shortcut: tuple["Layer", ...] = field(default=())


Layer = Union[DenseLayer, ConvLayer, Activation, Residual]


def _pair(v: Any) -> tuple[int, int]:
    from kernels._conv_ops import pair

    return pair(v, "stride/padding/dilation", 0)


def _chain(layers: Sequence[Any], src: str, shape: tuple[int, ...] | None, nodes: list, counter: list[int]) -> tuple[str, tuple[int, ...] | None]:
    from kernels.network import activation as act
    from kernels.network.affine import Conv, Linear
    from kernels.network.graph import Node
    from kernels.network.merge import Add
    from kernels.network.shape import Flatten

    def add(layer: Any, inputs: tuple[str, ...]) -> str:
        counter[0] += 1
        name = f"{type(layer).__name__.lower()}{counter[0]}"
        nodes.append(Node(name, layer, inputs))
        return name

    for lay in layers:
        if isinstance(lay, DenseLayer):
            w = as_float64(lay.weight, "weight", ndim=2)
            if shape is not None and len(shape) != 1:
                src = add(Flatten(1), (src,))
                shape = (int(np.prod(shape)),)
            b = None if lay.bias is None else as_float64(lay.bias, "bias", ndim=1)
            src = add(Linear(w, b), (src,))
            shape = (w.shape[0],)
        elif isinstance(lay, ConvLayer):
            k = as_float64(lay.weight, "weight", ndim=4)
            hw = _pair(lay.input_hw)
            want = (k.shape[1], *hw)
            if shape is not None and tuple(shape) != want:
                if int(np.prod(shape)) != int(np.prod(want)):
                    raise InvalidInput(f"ConvLayer.input_hw={lay.input_hw!r}: input has shape {tuple(shape)}")
                from kernels.network.shape import Reshape

                src = add(Reshape(want), (src,))
            b = None if lay.bias is None else as_float64(lay.bias, "bias", ndim=1)
            layer = Conv(k, b, _pair(lay.stride), _pair(lay.padding), _pair(lay.dilation), 1, lay.padding_mode)
            src = add(layer, (src,))
            shape = layer.out_shape((want,))
        elif isinstance(lay, Activation):
            slope = float(lay.negative_slope) if lay.name == "leaky_relu" else 0.0
            src = add(act.Activation(lay.name, slope), (src,))
        elif isinstance(lay, Residual):
            a, sa = _chain(lay.block, src, shape, nodes, counter)
            b_, sb = _chain(lay.shortcut, src, shape, nodes, counter) if lay.shortcut else (src, shape)
            if sa is not None and sb is not None and tuple(sa) != tuple(sb):
                raise InvalidInput(f"Residual: block gives shape {sa}, shortcut {sb}; they must agree")
            src = add(Add(), (a, b_))
            shape = sa
        else:
            raise InvalidInput(f"layer {type(lay).__name__!r} is not supported; use DenseLayer, ConvLayer, "
                               "Activation, Residual")
    return src, shape


def to_graph(layers: Any, input_shape: tuple[int, ...] | None = None) -> Any:
    """The IR graph of a sequence of the layers above (a :class:`Graph` is returned unchanged)."""
    from kernels.network.graph import Graph

    if isinstance(layers, Graph):
        return layers
    layers = as_sequence(layers, "layers", "a sequence of layers")
    nodes: list = []
    shape = tuple(input_shape) if input_shape is not None else None
    if shape is None and layers:
        first = layers[0]
        if isinstance(first, DenseLayer):
            shape = (as_float64(first.weight, "weight", ndim=2).shape[1],)
        elif isinstance(first, ConvLayer):
            shape = (as_float64(first.weight, "weight", ndim=4).shape[1], *_pair(first.input_hw))
    _chain(layers, "input", shape, nodes, [0])
    if not nodes:
        raise InvalidInput("layers: the network has no layers")
    return Graph(tuple(nodes), shape)
