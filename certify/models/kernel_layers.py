"""Convert a :class:`certify.models.network.Network` to the kernels package's plain layer description
(``kernels.DenseLayer``, ``ConvLayer``, ``Activation``) for the network-level kernels (``lipschitz_upper``,
``logit_margins``, ``path_norm``). Returns ``None`` when the network is not a plain chain of layers the kernels
describe (BatchNorm, pooling, grouped convolutions, GELU/ELU and residual adds are not converted yet); the caller
then uses its own certified fallback (:mod:`certify.quantities.norms`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from certify.models.network import Activation, Conv2d, Flatten, Linear, Network

__all__ = ["to_kernel_layers"]


def to_kernel_layers(net: Network, input_shape: tuple[int, ...]) -> list[Any] | None:
    """The network as a list of kernels layers, given the per-example input shape; ``None`` if not expressible."""
    import kernels

    if not net.is_chain:
        return None
    out: list[Any] = []
    shape = tuple(input_shape)
    for node in net.nodes:
        L = node.layer
        if isinstance(L, Linear):
            if len(shape) != 1:
                return None
            out.append(kernels.DenseLayer(L.weight, L.bias))
            shape = (L.weight.shape[0],)
        elif isinstance(L, Conv2d):
            if L.groups != 1 or len(shape) != 3:
                return None
            out.append(kernels.ConvLayer(L.weight, (shape[1], shape[2]), L.bias, L.stride, L.padding, "zeros",
                                         L.dilation))
            kh, kw = L.weight.shape[2:]
            shape = (L.weight.shape[0],) + tuple(
                (shape[1 + i] + 2 * L.padding[i] - L.dilation[i] * ((kh, kw)[i] - 1) - 1) // L.stride[i] + 1
                for i in range(2))
        elif isinstance(L, Activation) and L.kind in ("relu", "leaky_relu", "tanh", "sigmoid"):
            out.append(kernels.Activation(L.kind, L.slope if L.kind == "leaky_relu" else 0.01))
        elif isinstance(L, Flatten):
            shape = (int(np.prod(shape)),)
        else:
            return None
    return out
