"""kernels: quantities computed on weights and data, each returned as a proven :class:`Enclosure`.

Every public function states its rounding model in its docstring. ``kernels`` imports neither
``theorems`` nor ``certify``. Names ending in ``_estimate`` are uncertified plain floats.
"""

from kernels._enclosure import Enclosure
from kernels._conv import conv_spectral_norm, conv_spectral_norm_estimate
from kernels._spectral import RtolNotReached, spectral_norm, spectral_norm_estimate

__all__ = [
    "Enclosure", "conv_spectral_norm", "conv_spectral_norm_estimate", "RtolNotReached", "spectral_norm", "spectral_norm_estimate"]
