"""Enclosures of the transcendental activations at float64 points, by mpmath.

Rounding model: each value is computed by mpmath at 113 bits, by formulas without cancellation (GELU as
``x erfc(-x / sqrt 2) / 2``, ELU by ``expm1``, softplus by ``log1p``; mpmath's functions are accurate to the working
precision; we assume a relative error below ``2^-100``, 13 guard bits) and rounded to the
nearest float ``c``; the exact value then lies within one ulp of ``c`` (``np.spacing(|c|)``, which also covers
results below the float range), the radius returned. Each distinct input value is evaluated once.
"""

from __future__ import annotations

from typing import Callable

import mpmath
import numpy as np

__all__ = ["FUNCTIONS", "enclose_values"]


def _gelu(x):
    return x * mpmath.erfc(-x / mpmath.sqrt(2)) / 2  # x Phi(x); erfc keeps the left tail accurate (no 1 + erf)


def _sigmoid(x):
    return 1 / (1 + mpmath.exp(-x))


FUNCTIONS: dict[str, Callable] = {
    "tanh": mpmath.tanh,
    "sigmoid": _sigmoid,
    "gelu": _gelu,
    "silu": lambda x: x * _sigmoid(x),
    "exp": mpmath.exp,
}


def enclose_values(kind: str, x: np.ndarray, param: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """``(c, e)`` with ``|f(x) - c| <= e`` elementwise for the exact real function ``kind`` (see the module)."""
    if kind == "elu":
        fn: Callable = lambda v: v if v > 0 else mpmath.mpf(param) * mpmath.expm1(v)  # noqa: E731
    elif kind == "softplus":
        fn = lambda v: mpmath.log1p(mpmath.exp(mpmath.mpf(param) * v)) / mpmath.mpf(param)  # noqa: E731
    else:
        fn = FUNCTIONS[kind]
    flat = np.asarray(x, dtype=np.float64).ravel()
    uniq, inv = np.unique(flat, return_inverse=True)
    vals = np.empty(uniq.shape)
    with mpmath.workprec(113):
        for i, v in enumerate(uniq.tolist()):
            vals[i] = float(fn(mpmath.mpf(v)))
    c = vals[inv].reshape(np.shape(x))
    return c, np.nextafter(np.spacing(np.abs(c)), np.inf)
