"""Scaling by a power of two: bring an array's largest entry into ``[0.5, 1)`` and undo it on a bound, outward.

Shared by the certified norms (:mod:`kernels._norms`), the dense and convolution spectral norms
(:mod:`kernels._spectral`, :mod:`kernels._conv`) and the ESD (:mod:`kernels._esd`), so that all of them scale
a matrix in exactly the same way (``kernels.esd`` and ``kernels.spectral_norm_and_esd`` agree bit for bit).

Rounding model (binary64, gradual underflow, ``eta = 2**-1074``): ``fl(v 2^-e)`` is exact unless it falls below
the normal range when scaling down; then each entry moves by at most ``eta`` and a norm of the array by at most
that of an ``eta``-matrix of its shape (``sqrt(size) eta`` for the Frobenius and spectral norms). Unscaling a
float bound by ``2^e`` is exact unless it underflows or overflows; then it is stepped one ulp outward (an upper
end that overflows is ``inf``, a lower end the largest finite float).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from boundcert.errors import InternalError
from kernels._rounding import ETA, down, up

__all__ = ["pow2_scale", "pow2_scale_inplace", "abs_max", "scaled_entry", "entry_exact", "unscale_up",
           "unscale_down"]


def pow2_scale(a: np.ndarray) -> tuple[np.ndarray, int, float]:
    """``(a * 2^-e, e, err)`` with ``max|a 2^-e|`` in ``[0.5, 1)``; ``err`` bounds ``||a 2^-e - fl(a 2^-e)||_2``.

    Multiplying by a power of two is exact unless the result underflows; then each entry loses at
    most ``eta`` and the spectral norm moves by at most ``||E||_F <= sqrt(size) eta``. ``a`` is not modified.
    """
    s = np.array(a, dtype=np.float64, copy=True)
    e, err = pow2_scale_inplace(s)
    return s, e, err


def pow2_scale_inplace(s: np.ndarray) -> tuple[int, float]:
    """:func:`pow2_scale` of a contiguous float64 array, overwriting it: returns ``(e, err)``."""
    if s.dtype != np.float64 or not (s.flags.c_contiguous or s.flags.f_contiguous) or not s.flags.writeable:
        raise InternalError("pow2_scale_inplace needs a writeable contiguous float64 array: a kernel bug")
    flat = s.ravel(order="K")  # a view (contiguous)
    m = float(abs_max(flat)) if flat.size else 0.0
    if m == 0.0:
        return 0, 0.0
    e = math.frexp(m)[1]
    exact = _scale_pow2(flat, e)
    return e, (0.0 if exact else up(up(math.sqrt(s.size)) * ETA))


@numba.njit(cache=True, fastmath=False)
def abs_max(x: np.ndarray) -> float:  # pragma: no cover - compiled
    """``max |x_k|`` of a finite 1-D float64 array (0 for an empty one), serial."""
    m = 0.0
    for k in range(x.size):
        v = abs(x[k])
        if v > m:
            m = v
    return m


@numba.njit(cache=True, fastmath=False, inline="always")
def scaled_entry(v: float, e: int, f: float) -> float:  # pragma: no cover - compiled
    """``fl(v 2^-e)``: one correctly rounded product by ``f = 2^-e`` when that is a normal float, else ``ldexp``."""
    return v * f if -1022 <= e <= 1022 else math.ldexp(v, -e)


@numba.njit(cache=True, fastmath=False, inline="always")
def entry_exact(v: float, y: float, e: int) -> bool:  # pragma: no cover - compiled
    """``y = fl(v 2^-e)`` equals ``v 2^-e`` exactly (always when scaling up; when scaling down unless ``y`` is
    below the normal range and ``y 2^e != v``)."""
    return e <= 0 or abs(y) >= 2.2250738585072014e-308 or math.ldexp(y, e) == v


@numba.njit(cache=True, fastmath=False)
def _scale_pow2(x: np.ndarray, e: int) -> bool:  # pragma: no cover - compiled
    f = math.ldexp(1.0, -e) if -1022 <= e <= 1022 else 1.0
    exact = True
    for k in range(x.size):
        v = x[k]
        y = scaled_entry(v, e, f)
        if not entry_exact(v, y, e):
            exact = False
        x[k] = y
    return exact


def unscale_up(x: float, e: int) -> float:
    """An upper bound of ``x 2^e`` (exact when the product is representable; ``inf`` when it overflows)."""
    try:
        y = math.ldexp(x, e)
    except OverflowError:  # math.ldexp raises instead of returning inf
        return math.inf
    return y if math.isinf(y) or math.ldexp(y, -e) == x else up(y)


def unscale_down(x: float, e: int) -> float:
    """A lower bound of ``x 2^e`` for ``x >= 0`` (exact when representable; never ``inf``, never below 0)."""
    try:
        y = math.ldexp(x, e)
    except OverflowError:  # math.ldexp raises instead of returning inf
        y = math.inf
    if math.isinf(y):
        return math.nextafter(math.inf, 0.0)
    return y if math.ldexp(y, -e) == x else max(down(y), 0.0)
