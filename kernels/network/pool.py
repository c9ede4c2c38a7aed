"""Pooling: ``Pool`` (``max_pool{1,2}d``/``avg_pool{1,2}d`` with kernel, stride, padding, ``count_include_pad``)
and ``AdaptivePool`` (``adaptive_{max,avg}_pool{1,2}d``: torch's windows ``[floor(i n / o), ceil((i + 1) n / o))``).

Both are described by their windows per spatial axis (clipped to the real pixels: zero padding adds nothing to a
sum and ``-inf`` padding nothing to a max) and, for averages, a divisor per output (the kernel size, or the number
of real pixels with ``count_include_pad=False`` / adaptive pooling): separable, ``divisor = d_h d_w``.

Shape rule: torch's (``ceil_mode=False``).

Enclosed forward: max: ``c = max_window m`` (exact), ``|max x - max m| <= max_window |x - m|``: ``rad ->
max_window rad``, ``dist -> sqrt(overlap) dist`` (``overlap``: the most windows that contain one pixel).
Average: window sums by two products with 0/1 matrices (a sum of ``k`` terms in some order: error
``gamma_k sum |m|``; no underflow error in additions), then one division by the divisor (``u |c| + eta``):
``rad -> avg(rad)`` (rounded up), ``dist -> ||A||_2 dist + ||e||_2``, ``||A||_2 <= sqrt(||A||_1 ||A||_inf)``
per axis, computed in exact rationals and rounded up.

Lipschitz rule: max: l2 ``sqrt(overlap)``, l-inf 1; average: l2 ``||A_h||_2 ||A_w||_2`` as above, l-inf
``max_row ||A||_1`` (<= 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal

import numpy as np

from boundcert.errors import InvalidInput
from kernels._enclosure import Enclosure
from kernels._rounding import ETA, U, gamma, mul_up, sqrt_up, up, vup
from kernels.network._state import Enclosed, l2_up, nonneg_sum_up, tighten

__all__ = ["Pool", "AdaptivePool"]

Windows = tuple[tuple[tuple[int, int], ...], tuple[int, ...]]  # (start, end) per output, divisor per output


def _fixed(n: int, k: int, s: int, p: int, include_pad: bool) -> Windows:
    o = (n + 2 * p - k) // s + 1
    if o < 1 or 2 * p > k:
        raise InvalidInput(f"Pool kernel {k}, stride {s}, padding {p} on an axis of size {n}: no valid output "
                           "(padding must be <= kernel / 2); enlarge the input")
    wins = tuple((max(i * s - p, 0), min(i * s - p + k, n)) for i in range(o))
    divs = tuple(k if include_pad else e - b for b, e in wins)
    return wins, divs


def _adaptive(n: int, o: int) -> Windows:
    wins = tuple(((i * n) // o, -(-((i + 1) * n) // o)) for i in range(o))
    return wins, tuple(e - b for b, e in wins)


def _select(wins: tuple[tuple[int, int], ...], n: int) -> np.ndarray:
    s = np.zeros((len(wins), n))
    for i, (b, e) in enumerate(wins):
        s[i, b:e] = 1.0
    return s


def _axis_norms(w: Windows, n: int) -> tuple[Fraction, Fraction, int]:
    """(max row l1, max column l1) of the averaging matrix, and the overlap (most windows holding one pixel)."""
    wins, divs = w
    col = [Fraction(0)] * n
    cnt = [0] * n
    for (b, e), d in zip(wins, divs):
        for j in range(b, e):
            col[j] += Fraction(1, d)
            cnt[j] += 1
    rows = max((Fraction(e - b, d) for (b, e), d in zip(wins, divs)), default=Fraction(0))
    return rows, max(col, default=Fraction(0)), max(cnt, default=0)


def _frac_up(q: Fraction) -> float:
    f = float(q)
    return f if Fraction(f) >= q else up(f)


class _Pooling:
    kind: str

    def _windows(self, hw: tuple[int, int]) -> tuple[Windows, Windows]:
        raise NotImplementedError

    def _hw(self, shape: tuple[int, ...]) -> tuple[int, int]:
        if len(shape) == 2:
            return 1, shape[1]
        if len(shape) == 3:
            return shape[1], shape[2]
        raise InvalidInput(f"{type(self).__name__}: input of shape {shape!r}; (C, L) or (C, H, W) is needed")

    def out_shape(self, shapes: tuple[tuple[int, ...], ...]) -> tuple[int, ...]:
        s = shapes[0]
        wh, ww = self._windows(self._hw(s))
        return (s[0], len(ww[0])) if len(s) == 2 else (s[0], len(wh[0]), len(ww[0]))

    def forward(self, xs: tuple[Enclosed, ...], ctx: Any) -> Enclosed:
        x = xs[0]
        one_d = x.mid.ndim == 3
        m = x.mid[:, :, None, :] if one_d else x.mid
        r = x.rad[:, :, None, :] if one_d else x.rad
        wh, ww = self._windows(m.shape[2:])
        oh, ow = len(wh[0]), len(ww[0])
        if self.kind == "max":
            c = np.empty(m.shape[:2] + (oh, ow))
            rad = np.empty_like(c)
            for i, (hb, he) in enumerate(wh[0]):
                for j, (wb, we) in enumerate(ww[0]):
                    c[:, :, i, j] = m[:, :, hb:he, wb:we].max(axis=(2, 3))
                    rad[:, :, i, j] = r[:, :, hb:he, wb:we].max(axis=(2, 3))
            _, _, ch = _axis_norms(wh, m.shape[2])
            _, _, cw = _axis_norms(ww, m.shape[3])
            dist = vup(x.dist * sqrt_up(float(ch * cw)))
        else:
            sh, sw = _select(wh[0], m.shape[2]), _select(ww[0], m.shape[3])
            div = np.outer(np.array(wh[1], dtype=np.float64), np.array(ww[1], dtype=np.float64))  # exact integers
            k = max(e - b for b, e in wh[0]) * max(e - b for b, e in ww[0])  # terms per window sum
            sums = sh @ m @ sw.T
            c = sums / div
            abs_sum = nonneg_sum_up(sh @ np.abs(m) @ sw.T, k)
            with np.errstate(over="ignore"):
                e = vup(vup(vup(gamma(k) * abs_sum) / div) + vup(vup(U * np.abs(c)) * 2.0) + ETA)
                rad = vup(vup(nonneg_sum_up(sh @ r @ sw.T, k) / div) * (1 + 2.0**-50))
                dist = vup(vup(self._avg_l2(wh, ww, m.shape[2:]) * x.dist) + l2_up(e))
                rad = vup(rad + e)
        if one_d:
            c, rad = c[:, :, 0, :], rad[:, :, 0, :]
        return tighten(np.ascontiguousarray(c), np.ascontiguousarray(rad), dist)

    def _avg_l2(self, wh: Windows, ww: Windows, hw: tuple[int, int]) -> float:
        rh, ch, _ = _axis_norms(wh, hw[0])
        rw, cw, _ = _axis_norms(ww, hw[1])
        return mul_up(sqrt_up(_frac_up(rh * ch)), sqrt_up(_frac_up(rw * cw)))

    def lipschitz(self, shape: tuple[int, ...], norm: str, cache: dict) -> Enclosure:
        hw = self._hw(shape)
        wh, ww = self._windows(hw)
        if self.kind == "max":
            if norm == "linf":
                return Enclosure(1.0, 1.0, "max pooling (l-inf: 1)")
            ch, cw = _axis_norms(wh, hw[0])[2], _axis_norms(ww, hw[1])[2]
            return Enclosure(0.0, sqrt_up(float(ch * cw)), "max pooling: sqrt(overlap)")
        if norm == "linf":
            rh, rw = _axis_norms(wh, hw[0])[0], _axis_norms(ww, hw[1])[0]
            return Enclosure(0.0, _frac_up(rh * rw), "average pooling: max row l1 (exact rational)")
        return Enclosure(0.0, self._avg_l2(wh, ww, hw), "average pooling: sqrt(||A||_1 ||A||_inf) per axis")


def _n(v: Any, d: int) -> tuple[int, ...]:
    return tuple(int(a) for a in v) if isinstance(v, (tuple, list)) else (int(v),) * d


@dataclass(frozen=True, slots=True)
class Pool(_Pooling):
    """``max_pool``/``avg_pool`` with ``kernel``, ``stride``, ``padding`` (1-tuples for 1-D, pairs for 2-D)."""

    kind: Literal["max", "avg"]
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...] = (0, 0)
    count_include_pad: bool = True

    def _windows(self, hw: tuple[int, int]) -> tuple[Windows, Windows]:
        k, s, p = (_n(v, 2) for v in (self.kernel, self.stride, self.padding))
        if len(k) == 1:
            k, s, p = (1, k[0]), (1, s[0]), (0, p[0])
        inc = self.count_include_pad
        return _fixed(hw[0], k[0], s[0], p[0], inc), _fixed(hw[1], k[1], s[1], p[1], inc)


@dataclass(frozen=True, slots=True)
class AdaptivePool(_Pooling):
    """``adaptive_max_pool``/``adaptive_avg_pool`` to ``output_size`` (a 1-tuple for 1-D, a pair for 2-D)."""

    kind: Literal["max", "avg"]
    output_size: tuple[int, ...]

    def _windows(self, hw: tuple[int, int]) -> tuple[Windows, Windows]:
        o = tuple(int(v) for v in self.output_size)
        if len(o) == 1:
            return _adaptive(hw[0], 1), _adaptive(hw[1], o[0])
        return _adaptive(hw[0], o[0]), _adaptive(hw[1], o[1])

