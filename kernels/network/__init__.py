"""kernels.network: THE network IR and the network-level certified quantities.

:class:`Graph` (:mod:`kernels.network.graph`) is a topologically ordered tuple of :class:`Node` s; each layer type
has one module holding its shape rule, enclosed forward pass, Lipschitz rule (l2, l-inf), linear relaxation and a
docstring with its rounding model:

* :mod:`~kernels.network.affine`: ``Linear``, ``Conv`` (1-D/2-D, stride, padding modes, dilation, groups);
* :mod:`~kernels.network.elementwise`: eval-mode ``BatchNorm``, ``Scale``;
* :mod:`~kernels.network.activation`: relu, relu6, leaky_relu, identity, tanh, sigmoid, gelu, elu, silu, softplus;
* :mod:`~kernels.network.pool`: ``Pool`` (max/avg), ``AdaptivePool``;
* :mod:`~kernels.network.shape`: ``Flatten``, ``Reshape``, ``Unflatten``, ``Permute``, ``Transpose``, ``Select``,
  ``Slice``;
* :mod:`~kernels.network.merge`: ``Add`` (residuals), ``Concat``;
* :mod:`~kernels.network.constant`: ``Constant`` (a learned tensor read by the forward code: class token,
  positional embedding);
* :mod:`~kernels.network.layernorm`: ``LayerNorm``, ``GroupNorm``;
* :mod:`~kernels.network.attention`: multi-head self-attention and the scaled dot-product attention product
  (forward enclosures; no global Lipschitz bound);
* :mod:`~kernels.network.embedding`: ``Embedding`` (integer token ids; exact gather; no input-Lipschitz bound).

:mod:`~kernels.network.quantities` computes forward enclosures, logit margins, Lipschitz upper bounds and path
norms on a graph; :mod:`~kernels.network.relaxation` is the interface bound propagation builds on;
:mod:`~kernels.network.legacy` turns the first kernels' layer lists into a graph. Frontends (torch.fx,
torch.export, ONNX) live in ``certify.models``; this package imports neither ``certify`` nor ``theorems``.
"""

from kernels.network.activation import Activation
from kernels.network.attention import Attention, ScaledDotProductAttention
from kernels.network.constant import Constant
from kernels.network.affine import Conv, Conv2d, Linear
from kernels.network.elementwise import BatchNorm, Scale
from kernels.network.embedding import Embedding
from kernels.network.graph import CPU, CpuOps, ForwardContext, Graph, Network, Node, Unsupported
from kernels.network.layernorm import GroupNorm, LayerNorm
from kernels.network.merge import Add, Concat
from kernels.network.pool import AdaptivePool, Pool
from kernels.network.quantities import (
    LipschitzUpper, Margins, forward_enclosure, lipschitz_upper, logit_margins, margins_from_logits, path_norm,
)
from kernels.network.relaxation import AffineRelaxation, ElementwiseRelaxation
from kernels.network.shape import Flatten, Permute, Reshape, Select, Slice, Transpose, Unflatten

__all__ = [
    "Graph", "Network", "Node", "Unsupported", "ForwardContext", "CpuOps", "CPU",
    "Linear", "Conv", "Conv2d", "BatchNorm", "Scale", "Activation", "Pool", "AdaptivePool", "Flatten", "Reshape",
    "Permute", "Transpose", "Unflatten", "Add", "Concat", "LayerNorm", "GroupNorm", "Attention", "ScaledDotProductAttention",
    "Embedding", "Constant", "Select", "Slice",
    "Margins", "LipschitzUpper", "forward_enclosure", "logit_margins", "lipschitz_upper", "path_norm",
    "margins_from_logits", "AffineRelaxation", "ElementwiseRelaxation",
]
