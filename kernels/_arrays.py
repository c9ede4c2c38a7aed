"""Input validation shared by the kernels: exact conversion to float64 and the ``device`` argument."""

from __future__ import annotations

import sys
from typing import Any, Literal

import numpy as np

from boundcert.errors import InvalidInput

__all__ = ["Device", "all_finite", "as_float64", "resolve_device"]

Device = Literal["auto", "cpu", "cuda"]


def as_float64(x: Any, name: str, ndim: int | None = None) -> np.ndarray:
    """``x`` (numpy array or torch tensor of a float dtype) as a C-contiguous float64 copy, taken exactly.

    Every binary16/bfloat16/binary32/binary64 number is exactly a binary64 number, so the copy is exact.
    Refuses non-float dtypes, NaN/Inf and a wrong number of dimensions.
    """
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(x, torch.Tensor):
        if not x.is_floating_point():
            raise InvalidInput(f"{name}.dtype={x.dtype!r}: a float tensor is needed; convert it with .double()")
        t = x.detach().to("cpu")
        if t.dtype == torch.bfloat16 or t.dtype == torch.float16:
            t = t.to(torch.float32)  # exact widening
        arr = t.numpy()
    else:
        arr = np.asarray(x)
        if arr.dtype.kind != "f" or arr.dtype.itemsize > 8:
            raise InvalidInput(
                f"{name}.dtype={arr.dtype!r}: float16, float32 or float64 is needed (long double would be "
                "rounded); convert with .astype(np.float64) if the values are exact"
            )
    if ndim is not None and arr.ndim != ndim:
        raise InvalidInput(f"{name}.shape={tuple(arr.shape)!r}: a {ndim}-D array is needed")
    out = np.array(arr, dtype=np.float64, order="C", copy=True)
    if not all_finite(out):
        raise InvalidInput(f"{name} contains NaN or Inf: a norm of non-finite weights is undefined; clean the weights")
    return out


def all_finite(a: np.ndarray) -> bool:
    """No NaN or Inf in the float array ``a`` (its max and min are finite: both propagate NaN; no temporary)."""
    return a.size == 0 or bool(np.isfinite(a.max()) and np.isfinite(a.min()))


def resolve_device(device: str, where: str, *, has_cuda_path: bool = False) -> Literal["cpu", "cuda"]:
    """Map ``device`` to the path that runs (see :mod:`kernels._device`)."""
    from kernels._device import resolve_device as _resolve

    return _resolve(device, where, has_cuda_path=has_cuda_path)
