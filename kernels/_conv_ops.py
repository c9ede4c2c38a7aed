"""Geometry of a 2-D convolution layer and its action in float64 (numpy), with rigorous evaluation.

The operator is the one ``torch.nn.functional.conv2d`` computes (cross-correlation, groups=1) after
padding ``x`` by ``padding`` with zeros or circularly; dilation is applied by inserting zeros into
the kernel (exact).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from boundcert.errors import InvalidInput
from kernels._rounding import add_up, product_ratio_lower, sqrt_up, sumsq_bounds
from kernels._validation import check_choice

__all__ = ["PaddingMode", "ConvGeometry", "geometry", "dilate", "forward", "adjoint", "ratio_lower", "tap_norm_sum_upper",
           "pair"]

PaddingMode = Literal["zeros", "circular"]


@dataclass(frozen=True, slots=True)
class ConvGeometry:
    """Sizes of one layer; ``grid`` is the circulant grid that embeds it, ``fourier_stride`` the strides
    used by the polyphase upper bound, ``exact`` whether the Fourier form *is* the operator."""

    c_out: int
    c_in: int
    kernel: tuple[int, int]  # dilated kernel size
    input_hw: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]
    mode: PaddingMode
    out_hw: tuple[int, int]
    grid: tuple[int, int]
    fourier_stride: tuple[int, int]
    exact: bool


def pair(x: object, name: str, least: int) -> tuple[int, int]:
    """``x`` (an int or a pair of ints, each ``>= least``) as a pair, or InvalidInput."""
    t = (x, x) if isinstance(x, (int, np.integer)) else tuple(x) if isinstance(x, (tuple, list)) else None
    if t is None or len(t) != 2 or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in t):
        raise InvalidInput(f"{name}={x!r}: an int or a pair of ints is needed")
    if min(t) < least:
        raise InvalidInput(f"{name}={x!r}: values must be >= {least}")
    return int(t[0]), int(t[1])


def dilate(k: np.ndarray, dilation: tuple[int, int]) -> np.ndarray:
    dh, dw = dilation
    co, ci, kh, kw = k.shape
    out = np.zeros((co, ci, dh * (kh - 1) + 1, dw * (kw - 1) + 1))
    out[:, :, ::dh, ::dw] = k
    return out


def geometry(shape: tuple[int, ...], input_hw: object, stride: object, padding: object, mode: str) -> ConvGeometry:
    check_choice(mode, ("zeros", "circular"), f"padding_mode={mode!r}: only 'zeros' and 'circular' are certified; "
                 "'reflect'/'replicate' are not yet supported")
    c_out, c_in, kh, kw = shape
    hw = pair(input_hw, "input_hw", 1)
    s = pair(stride, "stride", 1)
    p = pair(padding, "padding", 0)
    out, grid, fs, exact = [], [], [], True
    for n, k, st, pd in zip(hw, (kh, kw), s, p):
        o = (n + 2 * pd - k) // st + 1
        if o < 1:
            raise InvalidInput(f"input_hw={input_hw!r}: smaller than the (dilated) kernel {(kh, kw)} with "
                               f"padding={padding!r}; enlarge the input or pad more")
        if mode == "circular":
            if pd > n or st * (o - 1) > n - 1:
                raise InvalidInput(f"padding={padding!r}: circular padding wider than (kernel-1)/2 repeats "
                                   "output rows; use padding <= (kernel - 1) // 2")
            g = n
        else:
            g = n + 2 * pd
        out.append(o)
        grid.append(g)
        fs.append(st if g % st == 0 else 1)
        exact = exact and (o * st == g) and (mode == "circular" or pd == 0)
    return ConvGeometry(c_out, c_in, (kh, kw), hw, s, p, mode, (out[0], out[1]), (grid[0], grid[1]),
                        (fs[0], fs[1]), exact)


def _padded(x: np.ndarray, g: ConvGeometry) -> np.ndarray:
    ph, pw = g.padding
    return np.pad(x, ((0, 0), (ph, ph), (pw, pw)), mode="wrap" if g.mode == "circular" else "constant")


def _taps(k: np.ndarray) -> np.ndarray:
    """``k`` as contiguous (kh, kw, c_out, c_in) so each tap is a BLAS-ready matrix (same values, exact)."""
    return np.ascontiguousarray(np.transpose(k, (2, 3, 0, 1)))


def forward(k: np.ndarray, x: np.ndarray, g: ConvGeometry) -> np.ndarray:
    """``conv2d(pad(x), k, stride)`` in float64; ``x`` of shape (c_in, H, W). Each output is a sum of
    ``c_in kh kw`` products in some order."""
    xp = _padded(x, g)
    (oh, ow), (sh, sw) = g.out_hw, g.stride
    kt = _taps(k)
    y = np.zeros((g.c_out, oh * ow))
    for a in range(g.kernel[0]):
        for b in range(g.kernel[1]):
            patch = xp[:, a:a + sh * (oh - 1) + 1:sh, b:b + sw * (ow - 1) + 1:sw].reshape(g.c_in, -1)
            y += kt[a, b] @ patch
    return y.reshape(g.c_out, oh, ow)


def adjoint(k: np.ndarray, y: np.ndarray, g: ConvGeometry) -> np.ndarray:
    """The transpose of :func:`forward` (heuristic use only: power iteration / Lanczos)."""
    (h, w), (ph, pw), (oh, ow), (sh, sw) = g.input_hw, g.padding, g.out_hw, g.stride
    gp = np.zeros((g.c_in, h + 2 * ph, w + 2 * pw))
    y2 = np.ascontiguousarray(y.reshape(g.c_out, -1))
    kt = _taps(k)
    for a in range(g.kernel[0]):
        for b in range(g.kernel[1]):
            gp[:, a:a + sh * (oh - 1) + 1:sh, b:b + sw * (ow - 1) + 1:sw] += (kt[a, b].T @ y2).reshape(g.c_in, oh, ow)
    if g.mode == "zeros":
        return gp[:, ph:ph + h, pw:pw + w].copy()
    rows = np.zeros((g.c_in, h, w + 2 * pw))
    for i in range(h + 2 * ph):
        rows[:, (i - ph) % h] += gp[:, i]
    out = np.zeros((g.c_in, h, w))
    for j in range(w + 2 * pw):
        out[:, :, (j - pw) % w] += rows[:, :, j]
    return out


def tap_norm_sum_upper(k: np.ndarray) -> float:
    """Upper bound of ``sum_{a,b} ||k[:, :, a, b]||_F``, itself an upper bound of ``|| conv with |k| ||_2``
    (each tap acts as ``k_ab`` times a shift-and-select of norm <= 1)."""
    total = 0.0
    for a in range(k.shape[2]):
        for b in range(k.shape[3]):
            total = add_up(total, sqrt_up(sumsq_bounds(np.abs(k[:, :, a, b]))[1]))
    return total


def ratio_lower(k: np.ndarray, x: np.ndarray, g: ConvGeometry, tap_sum_hi: float) -> float:
    """Rigorous lower bound of ``||T x||_2 / ||x||_2`` for the exact operator ``T`` of kernel ``k``.

    ``|fl(T x) - T x| <= gamma_N (|T||x|) + N eta`` entrywise with ``N = c_in kh kw``, and
    ``|| |T| |x| ||_2 <= tap_sum_hi ||x||_2``.
    """
    return product_ratio_lower(forward(k, x, g), x, g.c_in * g.kernel[0] * g.kernel[1], tap_sum_hi)
