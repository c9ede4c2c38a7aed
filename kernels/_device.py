"""Where a kernel runs: ``device="auto" | "cpu" | "cuda"``, resolved once, recorded in the enclosure's ``source``.

* ``"cpu"``: the numba/numpy/LAPACK path.
* ``"cuda"``: the numba.cuda path (a real GPU, or numba's CUDA simulator when ``NUMBA_ENABLE_CUDASIM=1``,
  which is how CI runs every CUDA kernel); refused with :class:`InvalidInput` when neither is present.
* ``"auto"``: ``"cuda"`` when a *real* GPU is visible to numba, otherwise ``"cpu"``. The simulator is never
  picked by ``"auto"`` (it is a test harness, thousands of times slower than the CPU path), so a test suite run
  under the simulator exercises CUDA only where a test asks for ``device="cuda"``.

The CUDA kernels keep the CPU rounding model (see each kernel's module): device binary64 ``+ - * /`` and
``sqrt`` are IEEE round-to-nearest; the compiler may contract ``a * b + c`` into one FMA (one rounding instead of
two); binary64 subnormals are always kept on the device (flush-to-zero applies to float32 only) and ``sqrt``
is correctly rounded. Higham's ``gamma_n`` bounds (Lemma 3.1, sec. 3.1) hold with or without FMA and for any
summation order, so the device computes float sums whose error is bounded a priori, and the outward rounding of
the enclosure's ends is done on the host (no directed rounding on the device). float32 never accumulates.
"""

from __future__ import annotations

import contextlib
import functools
from typing import Any, Literal

from boundcert.errors import InvalidInput

__all__ = [
    "Device", "Resolved", "resolve_device", "resolve_torch_device", "cuda_simulated", "gpu_present", "cuda_usable",
    "torch_cuda_available", "tag_source", "single_blas_thread", "single_thread",
]

Device = Literal["auto", "cpu", "cuda"]
Resolved = Literal["cpu", "cuda"]


def cuda_simulated() -> bool:
    """True when numba runs CUDA kernels in its simulator (``NUMBA_ENABLE_CUDASIM=1`` at numba's import)."""
    try:
        import numba

        return bool(numba.config.ENABLE_CUDASIM)
    except Exception:  # noqa: BLE001 - no numba: nothing simulated
        return False


def cuda_usable() -> bool:
    """True when numba.cuda can launch kernels here (a real GPU with a working driver, or the simulator)."""
    try:
        from numba import cuda

        return bool(cuda.is_available())
    except Exception:  # noqa: BLE001 - any failure to probe CUDA means it is unusable
        return False


def gpu_present() -> bool:
    """True when a real CUDA GPU is usable through numba (the simulator does not count)."""
    return not cuda_simulated() and cuda_usable()


def _check(device: object, where: str) -> None:
    """InvalidInput unless ``device`` is one of the :data:`Device` names."""
    if not isinstance(device, str) or device not in ("auto", "cpu", "cuda"):
        shown = " ".join(repr(device).split())  # one line, also for an array
        raise InvalidInput(f"{where}: device={shown} is not supported: use 'auto', 'cpu' or 'cuda'")


def resolve_device(device: object, where: str, *, has_cuda_path: bool = True) -> Resolved:
    """``"cpu"`` or ``"cuda"`` for the argument ``device`` of kernel ``where`` (module docstring).

    ``has_cuda_path=False`` marks a kernel without a CUDA path: ``"auto"`` gives ``"cpu"`` and ``"cuda"`` is refused.
    This is the one check of every kernel's ``device`` argument.
    """
    _check(device, where)
    if device == "cpu":
        return "cpu"
    if device == "auto":
        return "cuda" if has_cuda_path and gpu_present() else "cpu"
    if not has_cuda_path:
        raise InvalidInput(f"{where}: device='cuda' has no certified CUDA path for this kernel yet; "
                           "use device='cpu' or 'auto'")
    if not cuda_usable():
        raise InvalidInput(f"{where}: device='cuda' but no CUDA GPU is usable here (numba.cuda.is_available() is "
                           "False and NUMBA_ENABLE_CUDASIM is not set); use device='cpu' or 'auto'")
    return "cuda"


def tag_source(source: str, device: Resolved) -> str:
    """``source`` with the device that ran it, e.g. ``"kernels.mst_length/1 [device=cuda]"``."""
    return f"{source} [device={device}]"


def torch_cuda_available() -> bool:
    """True when torch is installed with CUDA and sees a GPU (imports torch)."""
    try:
        import torch

        return bool(torch.cuda.is_available())
    except Exception:  # noqa: BLE001 - no torch or a broken CUDA runtime: unavailable
        return False


def resolve_torch_device(device: object, where: str) -> Resolved:
    """Like :func:`resolve_device` for the kernels whose CUDA path is torch/cuBLAS/cuSOLVER float64 (the
    spectral-norm certificate): ``"auto"`` picks CUDA only when numba sees a real GPU and torch has CUDA;
    ``"cuda"`` is refused when torch has no CUDA device (always so under the numba simulator)."""
    _check(device, where)
    if device == "cpu":
        return "cpu"
    if device == "auto":
        return "cuda" if gpu_present() and torch_cuda_available() else "cpu"
    if not torch_cuda_available():
        raise InvalidInput(f"{where}: device='cuda' needs torch built with CUDA and a visible GPU "
                           "(torch.cuda.is_available() is False; the numba CUDA simulator does not provide one); "
                           "use device='cpu' or 'auto'")
    return "cuda"


@functools.lru_cache(maxsize=1)
def _threadpools() -> Any:
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        return None
    return ThreadpoolController()  # finds the BLAS libraries once (numpy's and scipy's are loaded by now)


def single_blas_thread() -> contextlib.AbstractContextManager[object]:
    """Run the block with one BLAS/LAPACK thread: for the latency-bound calls (matrix-vector products, Cholesky,
    the tridiagonal reduction of ``eigvalsh``) that gain little from threads and lose badly on shared, loaded cores.
    Only the speed changes: the rounding model of every kernel holds for any number of threads."""
    ctl = _threadpools()
    return contextlib.nullcontext() if ctl is None else ctl.limit(limits=1, user_api="blas")


@contextlib.contextmanager
def single_thread() -> Any:
    """Run the block with one BLAS/LAPACK thread *and* one thread for numba's parallel loops (restored after):
    for a sequence of many mid-sized kernel calls (``certify analyze`` over the layers of a network), where worker
    threads of three runtimes (torch's OpenMP, OpenBLAS, numba's) spin against each other on shared cores and each
    parallel region waits on a descheduled thread. Only the speed changes: every rounding model holds for any
    number of threads and any summation order."""
    import numba

    n = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        with single_blas_thread():
            yield
    finally:
        numba.set_num_threads(n)
