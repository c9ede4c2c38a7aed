"""kernels: quantities computed on weights and data, each returned as a proven :class:`Enclosure`.

Every public function states its rounding model in its docstring. ``kernels`` imports neither
``theorems`` nor ``certify``.
"""

from kernels._enclosure import Enclosure

__all__ = ["Enclosure"]
