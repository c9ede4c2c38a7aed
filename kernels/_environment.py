"""Refuse floating-point environments that would void the rounding model of the certified kernels.

The certified kernels assume IEEE 754 binary64 arithmetic with round-to-nearest and *gradual*
underflow (subnormals kept), and no reduced-precision accumulation (TF32, bf16, fp16).
:func:`check_environment` is called at the start of every certified path; it raises
:class:`~boundcert.errors.UnsoundEnvironment` when

* torch is already imported and ``torch.backends.cuda.matmul.allow_tf32`` is True, or
  ``torch.backends.cudnn.allow_tf32`` is True while CUDA is available (TF32 has a 10-bit mantissa).
  torch turns the cuDNN switch on by default; cuDNN cannot run without a CUDA device, so on a
  CPU-only machine that switch is inert and is not refused, or
* the CPU flushes subnormals to zero (FTZ/DAZ), detected by computing a subnormal at run time.
"""

from __future__ import annotations

import sys

import numpy as np

from boundcert.errors import UnsoundEnvironment

__all__ = ["check_environment", "subnormals_flushed", "tf32_enabled"]

_TINY = np.array([2.0**-1022], dtype=np.float64)  # smallest normal
_HALF = np.array([0.5], dtype=np.float64)


def subnormals_flushed() -> bool:
    """True if the CPU flushes subnormal results (FTZ) or subnormal inputs (DAZ) to zero.

    Computed at run time (arrays, so numpy's vectorised loops under the current MXCSR are used):
    ``2^-1022 * 0.5`` must be the subnormal ``2^-1023``, and ``2^-1023 * 2`` must come back as ``2^-1022``.
    """
    sub = _TINY * _HALF
    if float(sub[0]) != 2.0**-1023:
        return True
    back = sub * np.array([2.0])
    return float(back[0]) != 2.0**-1022


def tf32_enabled() -> bool:
    """True if torch is already imported and allows TF32 where it can act (never imports torch).

    ``torch.backends.cuda.matmul.allow_tf32`` counts always; ``torch.backends.cudnn.allow_tf32`` (True by
    torch's default) counts when ``torch.cuda.is_available()``, since cuDNN needs a CUDA device.
    """
    torch = sys.modules.get("torch")
    if torch is None:
        return False
    try:
        if bool(torch.backends.cuda.matmul.allow_tf32):
            return True
        return bool(torch.backends.cudnn.allow_tf32) and bool(torch.cuda.is_available())
    except AttributeError:  # a torch build without these switches cannot use TF32
        return False


def check_environment(where: str) -> None:
    """Raise :class:`UnsoundEnvironment` if the environment voids the rounding model of ``where``."""
    if tf32_enabled():
        raise UnsoundEnvironment(
            f"{where}: torch.backends.cuda.matmul.allow_tf32 or torch.backends.cudnn.allow_tf32 is True; "
            "TF32 rounds products to a 10-bit mantissa and voids the certified error bounds; "
            "set both to False before calling a certified kernel"
        )
    if subnormals_flushed():
        raise UnsoundEnvironment(
            f"{where}: the CPU flushes subnormals to zero (FTZ/DAZ is on, e.g. a library built with -ffast-math); "
            "the rounding model needs gradual underflow; run without the library that sets FTZ/DAZ"
        )
