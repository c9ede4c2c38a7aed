"""Argument checks of every kernel: arrays, point clouds, metric names and scalar options.

Each check either returns the value in the form the kernel computes with, or raises
:class:`~boundcert.errors.InvalidInput` naming the argument (``name=value!r``), what is wrong and the fix; no
other exception type reaches a caller from here. Conversions are exact: every binary16/bfloat16/binary32/binary64
number (and every integer below ``2**53``) is exactly a binary64 number, so the float64 copies below round nothing.
The ``device`` argument is checked by :func:`kernels._device.resolve_device`.
"""

from __future__ import annotations

import math
import sys
from typing import Any, Literal

import numba
import numpy as np

from boundcert.errors import InvalidInput

__all__ = [
    "Metric", "METRIC_CODES", "show", "all_finite", "as_array", "as_float64", "as_points", "check_metric", "check_int",
    "check_positive", "check_rtol", "check_seed", "make_rng", "is_choice", "check_choice", "as_sequence",
]

Metric = Literal["euclidean", "manhattan"]

METRIC_CODES: dict[str, int] = {"euclidean": 0, "manhattan": 1}

_MAX_ABS = 2.0**500  # keeps every squared difference and every sum of them finite


def show(value: object) -> str:
    """``repr(value)`` on one line (an array's repr spans lines), for the ``name=value`` part of a message."""
    return " ".join(repr(value).split())


def as_array(x: object, name: str, what: str = "a numeric array", dtype: type | None = None) -> np.ndarray:
    """``np.asarray(x, dtype)``, or InvalidInput when ``x`` is not array-like (ragged lists, unconvertible objects)."""
    try:
        return np.asarray(x, dtype=dtype)
    except Exception as exc:  # noqa: BLE001 - numpy raises ValueError/TypeError/... for what it cannot convert
        raise InvalidInput(f"{name} of type {type(x).__name__} is not array-like: pass {what}") from exc


def as_float64(x: Any, name: str, ndim: int | None = None, *, integers: bool = False) -> np.ndarray:
    """``x`` (numpy array or torch tensor of a float dtype) as a C-contiguous float64 copy, taken exactly.

    Every binary16/bfloat16/binary32/binary64 number is exactly a binary64 number, so the copy is exact.
    ``integers=True`` also takes integer arrays (token ids for an Embedding), exactly: refused unless every
    ``|v| <= 2^53``. Refuses other non-float dtypes, NaN/Inf and a wrong number of dimensions.
    """
    torch = sys.modules.get("torch")
    if integers and torch is not None and isinstance(x, torch.Tensor) and not x.is_floating_point() \
            and not x.is_complex() and x.dtype != torch.bool:
        x = x.detach().to("cpu").numpy()
    if integers and isinstance(x, np.ndarray) and x.dtype.kind in "iu":
        if x.size and max(abs(int(x.min())), abs(int(x.max()))) > 2**53:
            raise InvalidInput(f"{name}: integer values beyond 2^53 are not exact in float64: pass smaller ids")
        x = x.astype(np.float64)  # exact: every integer of magnitude <= 2^53 is a float64
    if torch is not None and isinstance(x, torch.Tensor):
        if not x.is_floating_point():
            raise InvalidInput(f"{name}.dtype={x.dtype!r}: a float tensor is needed; convert it with .double()")
        t = x.detach().to("cpu")
        if t.dtype == torch.bfloat16 or t.dtype == torch.float16:
            t = t.to(torch.float32)  # exact widening
        arr = t.numpy()
    else:
        arr = as_array(x, name)
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


def is_choice(value: object, choices: tuple[object, ...]) -> bool:
    """``value in choices``, False (not an exception) for values such as arrays whose comparison is ambiguous."""
    try:
        return bool(value in choices)
    except (TypeError, ValueError):
        return False


def check_choice(value: object, choices: tuple[object, ...], message: str) -> None:
    """InvalidInput(``message``, folded to one line) unless ``value`` is one of ``choices`` (an option such as
    ``method=``); the message echoes ``name=value!r``, which spans lines when the value is an array."""
    if not is_choice(value, choices):
        raise InvalidInput(" ".join(message.split()))


def as_sequence(x: object, name: str, what: str) -> tuple[Any, ...]:
    """``tuple(x)`` for an iterable ``x`` (e.g. a list of layers), or InvalidInput naming ``what`` is needed."""
    if isinstance(x, (str, bytes)):
        raise InvalidInput(f"{name}={show(x)}: {what} is needed")
    try:
        return tuple(x)  # type: ignore[call-overload]
    except TypeError:
        raise InvalidInput(f"{name} of type {type(x).__name__} is not a sequence: {what} is needed") from None


def check_metric(metric: object) -> int:
    """The integer code of ``metric``, or InvalidInput naming the valid names."""
    if not isinstance(metric, str) or metric not in METRIC_CODES:
        raise InvalidInput(f"metric={show(metric)} is not supported: use 'euclidean' or 'manhattan'")
    return METRIC_CODES[metric]


def as_points(points: object, name: str = "points", *, min_points: int = 1) -> np.ndarray:
    """``points`` as a C-contiguous float64 ``(n, d)`` array (an exact conversion from any float/int dtype).

    Raises InvalidInput for a wrong ndim, too few points, zero dimension, a non-numeric dtype,
    NaN/Inf, or coordinates so large (> 2**500 in absolute value) that squared distances could overflow.
    """
    arr = as_array(points, name, "an (n, d) array")
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


def check_int(name: str, value: object, minimum: int) -> int:
    """``value`` as an int ``>= minimum`` (bools refused), or InvalidInput."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or int(value) < minimum:
        raise InvalidInput(f"{name}={show(value)} must be an integer >= {minimum}")
    return int(value)


def check_positive(name: str, value: object, hint: str = "") -> float:
    """``value`` as a finite float ``> 0``, or InvalidInput (``hint`` is appended to the message)."""
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
        raise InvalidInput(f"{name}={show(value)} must be a finite number > 0{hint}")
    return float(value)


def check_seed(seed: object, name: str = "seed") -> int:
    """``int(seed)`` for a seed of ``numpy.random.default_rng``, or InvalidInput when it is not a whole number >= 0."""
    try:
        value = int(seed)  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError) as exc:
        raise InvalidInput(f"{name}={show(seed)} must be an integer >= 0 (a seed of numpy.random.default_rng)") from exc
    if value < 0:
        raise InvalidInput(f"{name}={show(seed)} must be an integer >= 0 (a seed of numpy.random.default_rng)")
    return value


def make_rng(seed: object, name: str = "seed") -> np.random.Generator:
    """``numpy.random.default_rng(seed)`` (anything it accepts), or InvalidInput naming ``name``."""
    try:
        return np.random.default_rng(seed)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"{name}={show(seed)} is not a seed of numpy.random.default_rng: pass an integer >= 0") from exc


def check_rtol(rtol: object, example: str) -> float:
    """A requested relative gap ``rtol`` in ``(0, 1)`` as a float, or InvalidInput suggesting ``example``."""
    if not (isinstance(rtol, (int, float)) and 0.0 < rtol < 1.0):
        raise InvalidInput(f"rtol={show(rtol)}: a relative gap in (0, 1) is needed, e.g. {example}")
    return float(rtol)
