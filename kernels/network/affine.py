"""Affine layers: ``Linear`` (``y = W x + b``) and ``Conv`` (1-D/2-D convolution with stride, padding mode,
dilation and groups, as ``torch.nn.functional.conv1d/conv2d`` compute it after padding).

Shape rule: ``Linear``: ``(..., in) -> (..., out)`` on the last axis; ``Conv``: ``(C, [H,] W) -> (C_out, [H',] W')``
with ``H' = (H + 2 p - d (k - 1) - 1) // s + 1``.

Enclosed forward (rounding model, Higham Thm. 3.5): the midpoints ``c = fl(W m + b)`` are a float64 sum of
``n = fan_in + 1`` terms in any order (BLAS, FMA or not), so ``|c - (W m + b)| <= E := gamma_n (|W||m| + |b|) + n eta``;
the elementwise radius becomes ``|W| rad + E`` and the l2 radius ``||W||_2 dist + ||E||_2``, each computed upward
(nonnegative float sums bounded by :func:`kernels.network._state.nonneg_sum_up`), ``||W||_2`` a certified upper bound:
:func:`kernels.spectral_norm` for ``Linear``; for ``Conv`` ``max_g ||K_g||_2 sqrt(overlap * copies)``
(``K_g`` the kernel matrix of group ``g``; ``overlap`` the most output windows that read one padded pixel,
``copies`` the most padded copies of one input pixel), since ``||T x||^2 = sum_p ||K patch_p(x)||^2``; with
``op_norms="tight"`` the smaller of that and the Fourier-form bound of :mod:`kernels.network._opnorm` (groups 1).

With ``precision="compensated"`` (:mod:`kernels.network._compensated`) the midpoint is a double-double pair
``m + m_lo`` from Ogita-Rump-Oishi's Dot2 (a convolution as im2col + a Dot2 GEMM per group), with the error
``2 gamma_{K+2}^2 (|W||m| + |b|) + gamma_{K+2} |W||m_lo| + 3 N eta`` (``K`` the fan-in, ``N <= K`` the nonzero
inputs) in place of ``E``; the radii propagate the same way (``|W| rad`` summed in the same kernel). Certified
operator norms are kept process-wide per (weight bytes hash, geometry) (:func:`kernels.network._opnorm.cached`).

Lipschitz rule: l2: the operator norm above (``Conv`` with zero/circular padding, groups 1 and a moderate size:
the smaller of it and :func:`kernels.conv_spectral_norm`, the certified norm of the operator on that input); l-inf:
the largest row l1 norm of ``W`` (``Conv``: of an output channel's kernel, which bounds the l1 norm of every row of
the operator's matrix, whatever the padding).

Linear relaxation: the layer itself (:class:`kernels.network.relaxation.AffineRelaxation`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from boundcert.errors import InvalidInput
from kernels._enclosure import Enclosure
from kernels._rounding import ETA, gamma, mul_up, up, vup
from kernels.network import _compensated
from kernels.network._opnorm import cached
from kernels.network._state import Enclosed, l2_up, nonneg_sum_up, tighten
from kernels.network.relaxation import AffineRelaxation

__all__ = ["Linear", "Conv", "Conv2d", "PaddingMode"]

PaddingMode = Literal["zeros", "circular", "reflect", "replicate"]
_NP_MODE = {"circular": "wrap", "reflect": "reflect", "replicate": "edge"}


def _affine_step(x: Enclosed, lin: Any, abslin: Any, n: int, bias: np.ndarray | None, op_l2: float) -> Enclosed:
    """The affine rounding model of the module docstring; ``lin``/``abslin`` apply ``W``/``|W|`` to a batch."""
    m = x.mid
    c = lin(m)
    if bias is not None:
        c = c + bias
    both = abslin(np.concatenate([np.abs(m), x.rad], axis=0))
    b = m.shape[0]
    t = both[:b] if bias is None else both[:b] + np.abs(bias)
    g = gamma(n)
    with np.errstate(over="ignore", invalid="ignore"):
        e = vup(vup(g * nonneg_sum_up(t, n)) + up(n * ETA))
        rad = vup(nonneg_sum_up(both[b:], n) + e)
        dist = vup(vup(op_l2 * x.dist) + l2_up(e)) if op_l2 < math.inf else np.full(b, np.inf)
    return tighten(c, rad, dist)


@dataclass(frozen=True, slots=True, eq=False)
class Linear:
    """``y = x W^T + b`` on the last axis; ``weight`` (out, in) float64 (an exact copy of the stored weights)."""

    weight: np.ndarray
    bias: np.ndarray | None = None

    def out_shape(self, shapes: tuple[tuple[int, ...], ...]) -> tuple[int, ...]:
        s = shapes[0]
        if not s or s[-1] != self.weight.shape[1]:
            raise InvalidInput(f"Linear weight.shape={self.weight.shape!r}: its input has shape {s!r}; the last axis "
                               f"must have {self.weight.shape[1]} features")
        return (*s[:-1], self.weight.shape[0])

    def op_norm_l2(self, shape: tuple[int, ...], cache: dict) -> float:
        key = ("l2", id(self))
        if key not in cache:
            from kernels._spectral import spectral_norm

            w = self.weight  # acting on each row of (..., in): the same norm whatever the leading axes
            cache[key] = cached("linear_l2", w, (), lambda: spectral_norm(w).hi) if w.size else 0.0
        return cache[key]

    def forward(self, xs: tuple[Enclosed, ...], ctx: Any) -> Enclosed:
        x = xs[0]
        w = self.weight
        aw = np.abs(w)
        shp = x.mid.shape
        lin = lambda z: ctx.ops.dense(w, z.reshape(-1, shp[-1])).reshape(z.shape[:-1] + (w.shape[0],))  # noqa: E731
        alin = lambda z: ctx.ops.dense(aw, z.reshape(-1, shp[-1])).reshape(z.shape[:-1] + (w.shape[0],))  # noqa: E731
        op = self.op_norm_l2(shp[1:], ctx.cache)
        if _compensated.is_compensated(ctx):
            wt = np.ascontiguousarray(w.T)

            def d2(z: np.ndarray, zl: np.ndarray | None, zr: np.ndarray | None) -> tuple[np.ndarray, ...]:
                flat = (lambda v: None if v is None else v.reshape(-1, shp[-1]))  # noqa: E731
                out = z.shape[:-1] + (w.shape[0],)
                return tuple(v.reshape(out) for v in _compensated.dot2(flat(z), wt, self.bias, flat(zl), flat(zr)))

            return _compensated.affine_step(x, d2, alin, w.shape[1], op)
        return _affine_step(x, lin, alin, w.shape[1] + 1, self.bias, op)

    def lipschitz(self, shape: tuple[int, ...], norm: str, cache: dict) -> Enclosure:
        if norm == "l2":
            from kernels._spectral import spectral_norm

            if not self.weight.size:
                return Enclosure(0.0, 0.0, "empty weight")
            rtol = cache.get("rtol", 1e-6)
            e = cached("linear_spectral", self.weight, (rtol,), lambda: spectral_norm(self.weight, rtol=rtol))
            cache[("l2", id(self))] = min(cache.get(("l2", id(self)), e.hi), e.hi)
            return e
        from kernels._norms import matrix_norms

        return matrix_norms(self.weight).max_row_l1 if self.weight.size else Enclosure(0.0, 0.0, "empty weight")

    def relaxation(self, lo: np.ndarray, hi: np.ndarray) -> AffineRelaxation:
        return AffineRelaxation(lambda z: z @ self.weight.T, self.bias)


def _tuple(v: Any, n: int) -> tuple[int, ...]:
    return tuple(int(a) for a in v) if isinstance(v, (tuple, list)) else (int(v),) * n


@dataclass(frozen=True, slots=True, eq=False)
class Conv:
    """``conv{1,2}d(pad(x), weight, stride, dilation, groups) + bias``; ``weight`` (out, in/groups, [kh,] kw)."""

    weight: np.ndarray
    bias: np.ndarray | None = None
    stride: tuple[int, ...] = (1, 1)
    padding: tuple[int, ...] = (0, 0)
    dilation: tuple[int, ...] = (1, 1)
    groups: int = 1
    padding_mode: PaddingMode = "zeros"

    def __post_init__(self) -> None:
        if self.weight.ndim not in (3, 4):
            raise InvalidInput(f"Conv weight.shape={self.weight.shape!r}: (out, in/groups, [kh,] kw) is needed")
        if self.padding_mode not in ("zeros", "circular", "reflect", "replicate"):
            raise InvalidInput(f"Conv padding_mode={self.padding_mode!r}: one of zeros, circular, reflect, replicate")
        if self.groups < 1 or self.weight.shape[0] % self.groups:
            raise InvalidInput(f"Conv groups={self.groups!r}: must divide the {self.weight.shape[0]} output channels")

    @property
    def spatial(self) -> int:
        return self.weight.ndim - 2

    def _geom(self) -> tuple[np.ndarray, tuple[int, int], tuple[int, int], tuple[int, int]]:
        """Everything as 2-D: kernel (out, in/g, kh, kw), stride, padding, dilation."""
        d = self.spatial
        s, p, dl = (_tuple(v, d) for v in (self.stride, self.padding, self.dilation))
        if d == 1:
            return self.weight[:, :, None, :], (1, s[0]), (0, p[0]), (1, dl[0])
        return self.weight, s[:2], p[:2], dl[:2]  # type: ignore[return-value]

    def out_shape(self, shapes: tuple[tuple[int, ...], ...]) -> tuple[int, ...]:
        s = shapes[0]
        k, st, pd, dl = self._geom()
        if len(s) != self.spatial + 1 or s[0] != k.shape[1] * self.groups:
            raise InvalidInput(f"Conv weight.shape={self.weight.shape!r} (groups={self.groups}): its input has shape "
                               f"{s!r}; expected ({k.shape[1] * self.groups}, {'H, ' if self.spatial == 2 else ''}W)")
        hw = (1, s[1]) if self.spatial == 1 else (s[1], s[2])
        out = []
        for n, kk, a, b, c in zip(hw, k.shape[2:], st, pd, dl):
            o = (n + 2 * b - c * (kk - 1) - 1) // a + 1
            if o < 1:
                raise InvalidInput(f"Conv: input size {n} is smaller than the dilated kernel with padding {b}; "
                                   "enlarge the input")
            out.append(o)
        return (k.shape[0], out[1]) if self.spatial == 1 else (k.shape[0], out[0], out[1])

    def _pad(self, x: np.ndarray, pd: tuple[int, int]) -> np.ndarray:
        widths = ((0, 0), (0, 0), (pd[0], pd[0]), (pd[1], pd[1]))
        if self.padding_mode == "zeros":
            return np.pad(x, widths)
        return np.pad(x, widths, mode=_NP_MODE[self.padding_mode])  # exact copies

    def _apply(self, k: np.ndarray, x: np.ndarray, ops: Any) -> np.ndarray:
        """``conv(pad(x), k)`` for x (batch, C, H, W) (k 4-D): one float64 sum of ``C/g kh kw`` products per output."""
        _, st, pd, dl = self._geom()
        if ops.name != "cpu" and self.groups == 1 and self.padding_mode in ("zeros", "circular") and dl == (1, 1):
            from kernels._conv_ops import geometry

            g = geometry(k.shape, x.shape[2:], st, pd, self.padding_mode)
            return ops.conv(k, x, g)
        cols, (nb, oh, ow) = self._cols(k, x)
        g, og = self.groups, k.shape[0] // self.groups
        out = np.matmul(cols, k.reshape(g, og, -1).transpose(0, 2, 1))  # (g, nb*oh*ow, og)
        return self._uncols(out, nb, oh, ow)

    def _cols(self, k: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, tuple[int, int, int]]:
        """im2col of x (batch, C, H, W) for the 4-D kernel ``k``: (groups, batch*oh*ow, C/g kh kw) (exact copies)."""
        _, st, pd, dl = self._geom()
        xp = self._pad(x, pd)
        kh, kw = k.shape[2:]
        eh, ew = dl[0] * (kh - 1) + 1, dl[1] * (kw - 1) + 1
        win = sliding_window_view(xp, (eh, ew), axis=(2, 3))[:, :, ::st[0], ::st[1], ::dl[0], ::dl[1]]
        nb, c, oh, ow = win.shape[:4]
        g = self.groups
        cg = c // g
        cols = win.reshape(nb, g, cg, oh, ow, kh, kw).transpose(1, 0, 3, 4, 2, 5, 6).reshape(g, nb * oh * ow, -1)
        return cols, (nb, oh, ow)

    @staticmethod
    def _uncols(out: np.ndarray, nb: int, oh: int, ow: int) -> np.ndarray:
        """(groups, batch*oh*ow, out/g) -> (batch, out, oh, ow)."""
        g, og = out.shape[0], out.shape[2]
        return np.ascontiguousarray(out.reshape(g, nb, oh, ow, og).transpose(1, 0, 4, 2, 3).reshape(nb, g * og, oh, ow))

    def _dot2(self, k: np.ndarray, x: np.ndarray, xl: np.ndarray | None,
              xr: np.ndarray | None) -> tuple[np.ndarray, ...]:
        """:func:`kernels.network._compensated.dot2` of ``conv(pad(x + xl), k) + bias`` and ``conv(pad(xr), |k|)``
        (x 4-D): ``(hi, lo, mag, rmag, nz)``, one compensated GEMM per group on the im2col (padding copies values and
        zeros: exact)."""
        cols, (nb, oh, ow) = self._cols(k, x)
        more = [None if v is None else self._cols(k, v)[0] for v in (xl, xr)]
        g, og = self.groups, k.shape[0] // self.groups
        wts = k.reshape(g, og, -1)
        bias = np.zeros(k.shape[0]) if self.bias is None else self.bias
        res = [_compensated.dot2(cols[j], wts[j].T, bias[j * og:(j + 1) * og], *(None if v is None else v[j]
                                                                                   for v in more))
               for j in range(g)]
        return tuple(self._uncols(np.stack([r[i] for r in res]), nb, oh, ow) for i in range(5))

    def _copies_overlap(self, hw: tuple[int, int]) -> int:
        k, st, pd, dl = self._geom()
        total = 1
        for n, kk, s, p, d in zip(hw, k.shape[2:], st, pd, dl):
            step = s // math.gcd(d, s)
            overlap = min(kk, -(-kk // step))
            copies = 1 if self.padding_mode == "zeros" else (-(-(n + 2 * p) // n) if self.padding_mode == "circular"
                                                            else p + 1)
            total *= overlap * copies
        return total

    def _kernel_norm_up(self, cache: dict) -> float:
        key = ("kernel", id(self))
        if key not in cache:
            from kernels._spectral import spectral_norm

            k = self._geom()[0]
            g = self.groups
            mats = k.reshape(g, k.shape[0] // g, -1)

            def compute() -> float:
                if mats.shape[1] == 1:  # one row per group: the row l2 norm is the matrix norm
                    return float(np.max(l2_up(np.abs(mats[:, 0, :])))) if mats.size else 0.0
                return max((spectral_norm(mg).hi for mg in mats), default=0.0)

            cache[key] = cached("conv_kernel_l2", k, (g,), compute)
        return cache[key]

    def op_norm_l2(self, shape: tuple[int, ...] | None, cache: dict) -> float:
        """Certified upper bound of the operator's l2 norm on inputs of per-sample ``shape`` (module docstring)."""
        if shape is None:
            raise InvalidInput("Conv: the operator norm depends on the input size; give the input shape")
        hw = (1, shape[1]) if self.spatial == 1 else (shape[1], shape[2])
        key = ("l2cheap", id(self), hw, bool(cache.get("tight")))
        if key not in cache:
            cheap = mul_up(self._kernel_norm_up(cache), up(math.sqrt(self._copies_overlap(hw))))
            k, st, pd, dl = self._geom()
            if cache.get("tight") and self.groups == 1 and self.padding_mode in ("zeros", "circular"):
                from kernels._conv_ops import dilate
                from kernels.network._opnorm import conv_norm_fourier_upper

                def fourier() -> float:
                    try:
                        return conv_norm_fourier_upper(dilate(k, dl), hw, st, pd, self.padding_mode)
                    except InvalidInput:  # a geometry the Fourier form does not take: the kernel-matrix bound
                        return math.inf

                cheap = min(cheap, cached("conv_fourier_l2", k, (hw, st, pd, dl, self.padding_mode), fourier))
            cache[key] = cheap
        return cache[key]

    def forward(self, xs: tuple[Enclosed, ...], ctx: Any) -> Enclosed:
        x = xs[0]
        k = self._geom()[0]
        ak = np.abs(k)
        in_shape = x.mid.shape[1:]
        to2 = (lambda z: z[:, :, None, :]) if self.spatial == 1 else (lambda z: z)
        fr2 = (lambda z: z[:, :, 0, :]) if self.spatial == 1 else (lambda z: z)
        b = None if self.bias is None else self.bias.reshape((-1,) + (1,) * self.spatial)
        n = k.shape[1] * k.shape[2] * k.shape[3] + 1
        lin = lambda z: fr2(self._apply(k, to2(z), ctx.ops))  # noqa: E731
        alin = lambda z: fr2(self._apply(ak, to2(z), ctx.ops))  # noqa: E731
        op = self.op_norm_l2(in_shape, ctx.cache)
        if _compensated.is_compensated(ctx):
            def d2(z: np.ndarray, zl: np.ndarray | None, zr: np.ndarray | None) -> tuple[np.ndarray, ...]:
                return tuple(fr2(v) for v in self._dot2(k, to2(z), *(None if v is None else to2(v) for v in (zl, zr))))

            return _compensated.affine_step(x, d2, alin, n - 1, op)
        return _affine_step(x, lin, alin, n, b, op)

    def lipschitz(self, shape: tuple[int, ...], norm: str, cache: dict) -> Enclosure:
        if norm == "linf":  # a row of the operator sums taps onto pixels: its l1 norm <= the kernel's (any padding)
            k = self._geom()[0]
            rows = np.abs(k).reshape(k.shape[0], -1)
            hi = float(np.max(nonneg_sum_up(vup(rows.sum(axis=1)), rows.shape[1]))) if rows.size else 0.0
            return Enclosure(0.0, hi, "conv: largest kernel row l1 norm")
        key = ("l2op", id(self), shape)
        if key not in cache:
            cheap = self.op_norm_l2(shape, cache)
            best = Enclosure(0.0, cheap, "conv: max_g ||K_g||_2 sqrt(overlap) (kernel matrices certified)")
            k, st, pd, dl = self._geom()
            circ_ok = self.padding_mode == "zeros" or (self.padding_mode == "circular" and
                                                       all(2 * p <= kk - 1 for p, kk in zip(pd, k.shape[2:])))
            if (self.groups == 1 and self.spatial == 2 and circ_ok
                    and k.shape[0] * k.shape[1] * shape[1] * shape[2] <= 2**22):
                import warnings

                from kernels._conv import conv_spectral_norm

                def certified() -> Enclosure | None:
                    try:
                        with warnings.catch_warnings():
                            warnings.simplefilter("ignore")  # a missed rtol still returns a proven enclosure
                            return conv_spectral_norm(self.weight, (shape[1], shape[2]), stride=st, padding=pd,
                                                      padding_mode=self.padding_mode, dilation=dl)
                    except InvalidInput:  # a geometry the Fourier/banded certificate does not take: the (sound)
                        return None       # kernel-matrix bound stands

                got = cached("conv_spectral", self.weight, ((shape[1], shape[2]), st, pd, dl, self.padding_mode),
                             certified)
                e = best if got is None else got
                if e.hi < cheap:
                    best = e
            cache[key] = best
        return cache[key]

    def relaxation(self, lo: np.ndarray, hi: np.ndarray) -> AffineRelaxation:
        from kernels.network._ops import CPU

        k = self._geom()[0]
        to2 = (lambda z: z[:, :, None, :]) if self.spatial == 1 else (lambda z: z)
        fr2 = (lambda z: z[:, :, 0, :]) if self.spatial == 1 else (lambda z: z)
        b = None if self.bias is None else self.bias.reshape((-1,) + (1,) * self.spatial)
        return AffineRelaxation(lambda z: fr2(self._apply(k, to2(z), CPU)), b)


Conv2d = Conv  # the name the torch translation and the analyze tables use
