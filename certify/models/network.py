"""The normalised network is the one IR of :mod:`kernels.network`; these are its names as the certify side has
used them (``Network`` is :class:`kernels.network.Graph`). BatchNorm is kept as its own elementwise affine layer,
never folded into the preceding affine map, so that the certified norms of the affine layers are those of the
stored weights."""

from kernels.network import (
    Activation, AdaptivePool, Add, BatchNorm, Concat, Conv, Conv2d, Flatten, GroupNorm, LayerNorm, Linear, Network,
    Node, Permute, Pool, Reshape, Scale, Transpose, Unflatten, Unsupported,
)

__all__ = ["Linear", "Conv", "Conv2d", "BatchNorm", "Activation", "Flatten", "Pool", "AdaptivePool", "Add", "Concat",
           "Reshape", "Unflatten", "Permute", "Transpose", "Scale", "LayerNorm", "GroupNorm", "Unsupported", "Node",
           "Network"]
