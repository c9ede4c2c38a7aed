"""A certified upper bound of a zero/circular-padded convolution's operator norm from its Fourier form alone
(no lower end, no banded certificate): the "tight" operator norms of the enclosed forward pass.

Rounding model: that of :func:`kernels.conv_spectral_norm`'s Fourier pass (:mod:`kernels._conv`): the per-frequency
blocks ``P_f`` of the power-of-two-scaled kernel with their uniform error ``delta``; every block is proven
``||P_f|| <= alpha`` by Rump's Cholesky certificate at one shared ``alpha`` (tried at ``(1 + t) sqrt(est)``,
``t = 1e-3, 4e-3, ...``, ``est`` the largest block eigenvalue estimate), so ``||T|| <= (alpha + delta) / sqrt(s)``
(``s`` the polyphase stride count; for zero padding the circular embedding on the padded grid bounds the layer).

:func:`cached` keeps every certified operator norm of the process under (what was computed, the weight's bytes
hash, shape and dtype, the geometry), so a layer's norm is never recomputed within a process, whichever graph,
call or frontend it comes from; a weight changed in place has another hash, hence another entry.
"""

from __future__ import annotations

import hashlib
import math
import threading
from typing import Any, Callable

import numpy as np

__all__ = ["conv_norm_fourier_upper", "weight_key", "cached"]

_NORMS: dict[tuple, Any] = {}
_LOCK = threading.Lock()


def weight_key(a: np.ndarray) -> tuple:
    """``(shape, dtype, sha256 of the bytes)``: the identity of a weight array's values."""
    c = np.ascontiguousarray(a)
    return (c.shape, c.dtype.str, hashlib.sha256(c.reshape(-1).view(np.uint8)).hexdigest())


def cached(kind: str, a: np.ndarray, geometry: tuple, compute: Callable[[], Any]) -> Any:
    """The process-wide value of ``compute()`` for ``(kind, weight_key(a), geometry)`` (computed once)."""
    key = (kind, weight_key(a), geometry)
    with _LOCK:
        if key in _NORMS:
            return _NORMS[key]
    val = compute()
    with _LOCK:
        return _NORMS.setdefault(key, val)


def conv_norm_fourier_upper(k: np.ndarray, hw: tuple[int, int], stride: tuple[int, int], padding: tuple[int, int],
                            mode: str) -> float:
    """Upper bound of ``||T||_2`` for the 4-D (dilated) kernel ``k`` on inputs ``hw`` (``inf`` if none proven)."""
    from kernels._conv import _block_estimates, _certify_all, _chunks, batched_gram, fourier_blocks
    from kernels._conv_ops import geometry
    from kernels._rounding import add_up, div_up, mul_up, sqrt_down, up
    from kernels._scaling import pow2_scale, unscale_up

    if not np.any(k):
        return 0.0
    g = geometry(k.shape, hw, stride, padding, mode)
    ks, e, err = pow2_scale(k)
    if err:  # entries lost to underflow when scaling: keep it simple, no bound from here
        return math.inf
    chunks = _chunks(ks, g)
    est, delta = 0.0, 0.0
    for freqs in chunks:
        r, d, _ = fourier_blocks(ks, g, freqs)
        delta = max(delta, d)
        gram, _ = batched_gram(r, None)
        est = max(est, float(np.max(_block_estimates(gram))))
    sq_s = sqrt_down(float(g.fourier_stride[0] * g.fourier_stride[1]))
    step = 1e-3
    for _ in range(12):
        alpha = mul_up(math.sqrt(max(est, 0.0)), up(1.0 + step))
        if _certify_all(ks, g, chunks, None, mul_up(alpha, alpha), None):
            return unscale_up(div_up(add_up(alpha, delta), sq_s), e)
        step *= 4.0
    return math.inf
