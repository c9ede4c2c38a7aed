"""Compatibility names: the network-level kernels now live in :mod:`kernels.network` (the one network IR).

``CpuOps`` (the CPU products of the enclosed forward pass) and the functions of
:mod:`kernels.network.quantities` are re-exported here for callers of the first network kernels.
"""

from kernels.network._ops import CpuOps
from kernels.network.quantities import LipschitzUpper, Margins, lipschitz_upper, logit_margins, path_norm

__all__ = ["CpuOps", "LipschitzUpper", "Margins", "lipschitz_upper", "logit_margins", "path_norm"]
