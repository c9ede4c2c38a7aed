"""Argument checks shared by the topology kernels (point clouds, metric names, devices)."""

from __future__ import annotations

import math
from typing import Literal

import numba
import numpy as np

from boundcert.errors import InvalidInput

__all__ = ["Metric", "Device", "as_points", "check_metric", "check_device", "METRIC_CODES"]

Metric = Literal["euclidean", "manhattan"]
Device = Literal["auto", "cpu", "cuda"]

METRIC_CODES: dict[str, int] = {"euclidean": 0, "manhattan": 1}

_MAX_ABS = 2.0**500  # keeps every squared difference and every sum of them finite


@numba.njit(fastmath=False, parallel=True, cache=True)
def _max_abs(x):
    """max |x_i| in one pass without a temporary (NaN if any entry is NaN, inf if any is infinite)."""
    flat = x.reshape(-1)
    n = flat.shape[0]
    nchunks = 64
    part = np.zeros(nchunks)
    for c in numba.prange(nchunks):
        m = 0.0
        bad = False
        for i in range(c * n // nchunks, (c + 1) * n // nchunks):
            v = abs(flat[i])
            if v != v:
                bad = True
            elif v > m:
                m = v
        part[c] = np.nan if bad else m
    m = 0.0
    for c in range(nchunks):
        if part[c] != part[c]:
            return np.nan
        if part[c] > m:
            m = part[c]
    return m


def check_metric(metric: object) -> int:
    """The integer code of ``metric``, or InvalidInput naming the valid names."""
    if not isinstance(metric, str) or metric not in METRIC_CODES:
        raise InvalidInput(f"metric={metric!r} is not supported: use 'euclidean' or 'manhattan'")
    return METRIC_CODES[metric]


def check_device(device: object, where: str = "kernels", *, has_cuda_path: bool = False) -> Literal["cpu", "cuda"]:
    """Resolve ``device`` (see :mod:`kernels._device`)."""
    from kernels._device import resolve_device

    return resolve_device(device, where, has_cuda_path=has_cuda_path)


def as_points(points: object, name: str = "points", *, min_points: int = 1) -> np.ndarray:
    """``points`` as a C-contiguous float64 ``(n, d)`` array (an exact conversion from any float/int dtype).

    Raises InvalidInput for a wrong ndim, too few points, zero dimension, a non-numeric dtype,
    NaN/Inf, or coordinates so large (> 2**500 in absolute value) that squared distances could overflow.
    """
    try:
        arr = np.asarray(points)
    except Exception as exc:  # noqa: BLE001
        raise InvalidInput(f"{name} of type {type(points).__name__} is not array-like: pass an (n, d) array") from exc
    if arr.dtype.kind not in "fiub":
        raise InvalidInput(f"{name}.dtype={str(arr.dtype)!r} is not numeric: pass an (n, d) float array")
    if arr.ndim != 2:
        raise InvalidInput(f"{name}.ndim={arr.ndim!r} but an (n, d) array is needed: reshape to 2-D (one row per point)")
    if arr.shape[0] < min_points:
        raise InvalidInput(f"{name} has {arr.shape[0]} points but at least {min_points} are needed: pass more points")
    if arr.shape[1] < 1:
        raise InvalidInput(f"{name}.shape={arr.shape!r} has dimension 0: pass points with at least one coordinate")
    if arr.dtype.kind in "iu" and arr.size and int(np.max(np.abs(arr.astype(np.float64)))) >= 2**53:
        raise InvalidInput(f"{name} holds integers >= 2**53 that float64 cannot store exactly: pass floats")
    x = np.ascontiguousarray(arr, dtype=np.float64)
    amax = float(_max_abs(x)) if x.size else 0.0
    if not math.isfinite(amax):
        raise InvalidInput(f"{name} contains NaN or Inf: remove or fix those points")
    if amax > _MAX_ABS:
        raise InvalidInput(f"{name} has coordinates above 2**500 in absolute value: rescale the points")
    return x
