"""kernels: quantities computed on weights and data, each returned as a proven :class:`Enclosure`.

Every public function states its rounding model in its docstring. ``kernels`` imports neither
``theorems`` nor ``certify``.
"""

from kernels._enclosure import Enclosure
from kernels._gaussian_kl import gaussian_kl_sums

__all__ = ["Enclosure", "gaussian_kl_sums"]
