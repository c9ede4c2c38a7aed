"""Banded Gram certificate for convolution layers whose Fourier form is only an embedding (zero padding).

Main statement: ``||T||_2^2 = lambda_max(T^T T) = lambda_max(T T^T)`` for the explicit layer operator ``T``
(rows: output pixels x c_out, columns: input pixels x c_in, as ``torch.nn.functional.conv2d`` computes it).
With pixels ordered row by row and channels innermost, two input pixels interact in ``T^T T`` only when
one output sees both, so ``T^T T`` is a band matrix of half-bandwidth about ``(k_h - 1) W c_in``; likewise
``T T^T`` with ``ceil((k_h - 1) / s_h)`` output rows. ``alpha^2 I - G >= 0`` is then proven by Rump's
Cholesky certificate (Rump, BIT 46 (2006) Cor. 2.4; Higham, *Accuracy and Stability*, Thm 10.3, any order
of the inner products, hence also LAPACK's blocked band Cholesky ``dpbtrf``) on the band, the same lemma
:func:`kernels._cholesky.certify_with` applies to dense Gram matrices.

Rounding model: binary64, round-to-nearest, gradual underflow. Each Gram entry is the sum of at most
``t = k_h k_w c`` products ``K[o, i, a, b] K[o', i', a', b']`` (``c`` the channels summed over), formed as
float GEMMs of kernel taps and then added in float; whatever the order, ``|fl(G) - G| <= gamma_t |T|^T|T| +
t eta`` entrywise, and ``|| |T|^T |T| ||_2 <= || |T| ||_2^2 <= (sum_ab ||K_ab||_F)^2``. The underflow
part is bounded by the largest row sum, ``(2 kd + 1) t eta``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numba
import numpy as np
import scipy.linalg

from boundcert.errors import InternalError
from kernels._cholesky import certify_with
from kernels._conv_ops import ConvGeometry, tap_norm_sum_upper
from kernels._rounding import ETA, add_up, gamma, mul_up, up

__all__ = ["BandPlan", "band_plan", "gram_band", "band_certifies"]

Side = Literal["input", "output"]


@dataclass(frozen=True, slots=True)
class BandPlan:
    """Which Gram matrix to factor: ``side`` ``"input"`` is ``T^T T`` (order ``n``), ``"output"`` is ``T T^T``.

    ``pos[shared, tap]`` is the pixel on ``side`` that ``tap`` joins to the shared pixel of the other side
    (-1: none); ``kd`` is the exact half-bandwidth this pattern gives with channels innermost."""

    side: Side
    n: int  # order of the Gram matrix
    kd: int  # half-bandwidth
    channels: int  # channels per pixel on that side
    terms: int  # products per Gram entry, at most
    pos: np.ndarray = field(repr=False, compare=False)

    @property
    def band_bytes(self) -> int:
        return 8 * (self.kd + 1) * self.n

    @property
    def flops(self) -> float:
        """Band Cholesky work, about ``n kd^2`` multiply-adds."""
        return float(self.n) * float(self.kd) ** 2


def _pixel_map(g: ConvGeometry, side: Side) -> np.ndarray:
    """``pos[shared, tap]`` of :class:`BandPlan`.

    ``side="input"``: shared = output pixel ``q``, value = input pixel ``q s + tap - p`` (wrapped for circular
    padding; -1 outside for zero padding). ``side="output"`` (zero padding): shared = input pixel ``x``, value =
    the output ``q`` with ``q s + tap - p = x`` (at most one), or -1.
    """
    (kh, kw), (h, w), (oh, ow), (sh, sw), (ph, pw) = g.kernel, g.input_hw, g.out_hw, g.stride, g.padding
    a = np.arange(kh)[:, None]
    b = np.arange(kw)[None, :]
    if side == "input":
        qi, qj = np.divmod(np.arange(oh * ow), ow)
        xi = qi[:, None, None] * sh + a[None] - ph
        xj = qj[:, None, None] * sw + b[None] - pw
        if g.mode == "circular":
            pos = (xi % h) * w + (xj % w)
        else:
            pos = np.where((xi >= 0) & (xi < h) & (xj >= 0) & (xj < w), xi * w + xj, -1)
    else:
        xi, xj = np.divmod(np.arange(h * w), w)
        qi, ri = np.divmod(xi[:, None, None] + ph - a[None], sh)
        qj, rj = np.divmod(xj[:, None, None] + pw - b[None], sw)
        ok = (ri == 0) & (rj == 0) & (qi >= 0) & (qi < oh) & (qj >= 0) & (qj < ow)
        pos = np.where(ok, qi * ow + qj, -1)
    return np.ascontiguousarray(pos.reshape(pos.shape[0], kh * kw), dtype=np.int64)


def _plan(g: ConvGeometry, side: Side) -> BandPlan:
    pos = _pixel_map(g, side)
    valid = pos >= 0
    hi = np.max(np.where(valid, pos, -1), axis=1)
    lo = np.min(np.where(valid, pos, np.iinfo(np.int64).max), axis=1)
    span = int(np.max(np.where(hi >= 0, hi - lo, 0))) if pos.size else 0
    c, other = (g.c_in, g.c_out) if side == "input" else (g.c_out, g.c_in)
    pixels = g.input_hw[0] * g.input_hw[1] if side == "input" else g.out_hw[0] * g.out_hw[1]
    n = c * pixels
    taps = g.kernel[0] * g.kernel[1]
    # products per entry: zero padding, one (output, tap pair) per tap; circular wrap may repeat a pixel
    terms = taps * other if g.mode == "zeros" else taps * taps * other
    return BandPlan(side, n, min(span * c + c - 1, n - 1), c, terms, pos)


def band_plan(g: ConvGeometry) -> BandPlan:
    """The cheaper of ``T^T T`` and ``T T^T`` in band-Cholesky work (``T T^T`` for zero padding only)."""
    plan_in = _plan(g, "input")
    if g.mode == "circular":
        return plan_in
    plan_out = _plan(g, "output")
    return plan_in if plan_in.flops <= plan_out.flops else plan_out


@numba.njit(cache=True)
def _fill_band(ab, pos, gblocks, c):  # pragma: no cover - numba
    """Add ``gblocks[t1, t2]`` (c x c) into the lower band ``ab[i - j, j]`` at pixel pair ``(pos[s,t1], pos[s,t2])``;
    False (and ``ab`` incomplete) if an entry falls outside the band (a planning bug)."""
    n_shared, n_taps = pos.shape
    kd = ab.shape[0] - 1
    for s in range(n_shared):
        for t1 in range(n_taps):
            p1 = pos[s, t1]
            if p1 < 0:
                continue
            for t2 in range(n_taps):
                p2 = pos[s, t2]
                if p2 < 0 or p2 > p1:
                    continue
                blk = gblocks[t1, t2]
                for c1 in range(c):
                    row = p1 * c + c1
                    for c2 in range(c):
                        col = p2 * c + c2
                        if col > row:
                            break
                        if row - col > kd:
                            return False
                        ab[row - col, col] += blk[c1, c2]
    return True


def gram_band(k: np.ndarray, g: ConvGeometry, plan: BandPlan) -> tuple[np.ndarray, float]:
    """``(ab, err)``: the lower band (LAPACK ``dpbtrf`` layout, ``ab[i - j, j] = G[i, j]``) of ``fl(G)`` for
    the plan's Gram matrix ``G``, and ``err >= ||G - fl(G)||_2`` (module docstring)."""
    kh, kw = g.kernel
    taps = np.ascontiguousarray(np.transpose(k, (2, 3, 0, 1)).reshape(kh * kw, g.c_out, g.c_in))
    if plan.side == "input":  # G[t1, t2] = K_t1^T K_t2 (c_in x c_in)
        blocks = np.matmul(np.swapaxes(taps, 1, 2)[:, None], taps[None, :])
    else:  # G[t1, t2] = K_t1 K_t2^T (c_out x c_out)
        blocks = np.matmul(taps[:, None], np.swapaxes(taps, 1, 2)[None, :])
    ab = np.zeros((plan.kd + 1, plan.n))
    if not _fill_band(ab, plan.pos, np.ascontiguousarray(blocks), plan.channels):
        raise InternalError(f"gram_band: a Gram entry lies outside the band kd={plan.kd!r}; a kernel bug, please report "
                            "the layer's shape, stride and padding")
    t = plan.terms
    abs_t = tap_norm_sum_upper(k)
    err = add_up(mul_up(gamma(t), mul_up(abs_t, abs_t)), up(up(float(2 * plan.kd + 1) * float(t)) * ETA))
    return ab, err


def band_certifies(ab: np.ndarray, err: float, alpha2: float) -> bool:
    """True only if ``alpha2 I - G >= 0`` is proven for every symmetric ``G`` with ``||G - Gt||_2 <= err``,
    ``Gt`` the band matrix ``ab`` (lower layout). ``ab`` is left unchanged."""
    diag = ab[0].copy()

    def factor(m_diag: np.ndarray) -> bool:
        m = np.negative(ab)
        m[0] = m_diag
        try:
            scipy.linalg.cholesky_banded(m, lower=True, overwrite_ab=True, check_finite=False)
        except np.linalg.LinAlgError:
            return False
        return True

    return certify_with(diag, alpha2, err, factor)
