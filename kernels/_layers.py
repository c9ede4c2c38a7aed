"""A plain description of a feed-forward network for the network-level kernels (no torch.nn.Module).

Another package converts modules to this; the kernels only read numpy arrays. Layers apply in order;
a :class:`DenseLayer` after a :class:`ConvLayer` flattens ``(C, H, W)`` row-major (torch's ``flatten``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Union

import numpy as np

from kernels._validation import check_choice

__all__ = ["DenseLayer", "ConvLayer", "Activation", "Residual", "Layer", "ActivationName"]

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
