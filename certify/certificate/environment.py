"""The floating-point environment of a run: the one place that switches TF32 off in torch, the refusal of a
process that flushes subnormals to zero, the environment record of a certificate, and torch's thread count.

The certified error bounds assume IEEE binary32/binary64 arithmetic with gradual underflow and no reduced-precision
GEMM: :func:`strict_float_torch` turns TF32 off for matmul and cuDNN (kernels.check_environment then refuses a process
that turns it back on), :func:`check_environment` refuses flush-to-zero.
"""

from __future__ import annotations

import os
import platform
import sys
from typing import Any

import numpy as np

from boundcert import __version__
from boundcert.errors import UnsoundEnvironment

__all__ = ["environment", "check_environment", "strict_float_torch", "torch_threads"]


def strict_float_torch() -> None:
    """Switch TF32 off in torch (matmul and cuDNN): certified paths run float32/float64 GEMMs only."""
    import torch

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False


def environment() -> dict[str, Any]:
    """Versions and numeric flags of this run (recorded in the certificate)."""
    env: dict[str, Any] = {
        "boundcert": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "numpy": np.__version__,
    }
    import mpmath

    env["mpmath"] = mpmath.__version__
    if "torch" in sys.modules:
        import torch

        env["torch"] = torch.__version__
        env["torch_allow_tf32"] = bool(torch.backends.cuda.matmul.allow_tf32)
        env["torch_num_threads"] = torch.get_num_threads()
    return env


def check_environment() -> None:
    """Refuse an environment that voids the rounding model: subnormals flushed to zero (numpy or torch), TF32 on."""
    import torch

    strict_float_torch()
    tiny = np.float64(2.0**-1022)
    numpy_ftz = (np.array([tiny]) / 2.0)[0] == 0.0
    torch_ftz = bool((torch.tensor([float(tiny)], dtype=torch.float64) / 2.0)[0] == 0.0)
    if numpy_ftz or torch_ftz:
        raise UnsoundEnvironment(
            "this process flushes subnormal numbers to zero (e.g. torch.set_flush_denormal(True) or a -ffast-math "
            "library): the certified error bounds assume gradual underflow; run in a default floating-point mode"
        )


def torch_threads(max_threads: int = 2) -> int:
    """Threads for torch on this machine now: ``max_threads``, or 1 when the load average says the cores are busy.

    On a shared machine OpenMP threads spin-wait for each other while other processes hold the cores; measured
    here (2 cores, load ~10): one thread was 2-10x faster than two for the same MLP step.
    """
    try:
        busy = os.getloadavg()[0] > (os.cpu_count() or 1) - 0.5
    except OSError:
        busy = False
    return 1 if busy else max(1, max_threads)
