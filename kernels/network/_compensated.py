"""Compensated (double-double) midpoints for the enclosed forward pass: ``precision="compensated"``.

Why: in float64 each affine layer adds a rounding error ``~ n u sum |w| |x|`` to the midpoint, and the operator
norms of the later layers amplify it (~1e12 over a ResNet-18). Here the midpoint of a node is an unevaluated pair
``hi + lo`` (``|lo| <= u |hi|`` after every affine layer), computed by Ogita, Rump and Oishi's **Dot2** (Ogita,
Rump, Oishi, "Accurate sum and dot product", SIAM J. Sci. Comput. 26(6):1955-1988, 2005: TwoSum (Knuth) and
TwoProduct (with FMA: ``r = fma(a, b, -fl(a b))``) in Section 3, Dot2 (Algorithm 5.3) and its error bound
``u |x^T y| + gamma_n^2 |x^T| |y|`` in Section 5), so a layer's own error is ``~ 2 n^2 u^2 sum |w| |x|``.
The error radii propagate as in :mod:`kernels.network._state`.

State: :class:`kernels.network._state.Compensated` (``lo``, ``rad``, ``dist``) rides on an
:class:`~kernels.network._state.Enclosed`: ``|x - (mid + lo)| <= rad`` and ``||x - (mid + lo)||_2 <= dist``, while
the float64 fields keep their meaning w.r.t. ``mid`` alone (``rad_f = rad + |lo|``, rounded up), so that a layer
that does not read the pair stays sound (it loses the extra precision). Layers that keep the pair: Linear, Conv
(:mod:`kernels.network.affine`), eval-mode BatchNorm (:func:`batchnorm`), ReLU (:func:`relu`) and the residual Add
(:func:`add`); every other layer drops it (pooling, reshapes, other activations, norms, attention).

Rounding model (binary64, round to nearest, gradual underflow, ``u = 2^-53``, ``eta = 2^-1074`` per operation as in
:mod:`kernels._rounding`; additions are exact when they underflow; no overflow, else the radius is ``inf``).
One output ``b + sum_{k<=K} w_k x_k`` by Dot2 started at ``p_0 = b``: ``h_k = fl(w_k x_k)``, ``r_k =
fma(w_k, x_k, -h_k)`` (one rounding of ``w_k x_k - h_k``: ``|h_k + r_k - w_k x_k| <= u^2 |w_k x_k| + (1+u) eta``),
``(p_k, q_k) = TwoSum(p_{k-1}, h_k)`` (exact), ``s_k = fl(s_{k-1} + fma(l_k, w_k, fl(q_k + r_k)))`` (``l_k`` the
input's low part, 0 without one) and finally ``(hi, lo) = TwoSum(p_K, s_K)`` (exact). With ``A = |b| + sum
|w_k x_k|``, ``K`` the fan-in and ``N <= K`` the count of nonzero input positions (zero ones are skipped, their
steps exact): ``sum |q_k| <= gamma_K (A (1+u) + N eta)`` (``|q_k| <= u |p_k|`` with the recursive-sum bound on
``|p_k|``, as in ORO's analysis of Sum2),
``|s_K - sum (q_k + r_k + l_k w_k)| <= gamma_{K+2} sum (|q_k| + |r_k| + |l_k w_k|) + N eta`` (every term passes
through at most ``K + 2`` roundings: Higham, *Accuracy and Stability*, Lemma 3.1 per term; an FMA may underflow),
and ``|r_k| <= (1+u) u |w_k x_k| + 3 eta``, hence with ``L = sum |l_k w_k|``

    ``|hi + lo - (b + w^T (h + l))| <= 2 gamma_{K+2}^2 A + gamma_{K+2} L + 3 N eta``   (:func:`dot2_error_up`)

(ORO's term is ``gamma_K^2 |w|^T |x|`` plus the final rounding ``u |x^T y|``, which the pair does not perform;
the factor 2 and ``gamma_{K+2}`` cover the bias term, the FMA residual, the low parts and the eta terms). ``A`` is
bounded from the kernel's own float FMA sum of ``|b| + |w|^T |h|`` by :func:`kernels.network._state.nonneg_sum_up`
(``K + 1`` nonnegative terms, any order); ``L <= u A`` when ``|l| <= u |h|`` is checked exactly
(:func:`normalised`, true for every pair this module makes), else ``L`` from a float64 ``|W| |l|`` bounded the same
way; the constants are rounded up. The same kernel sums ``|W| rad`` (the input radius through ``|W|``) by FMA,
bounded the same way, so a layer whose input pairs are normalised needs no float64 BLAS product.
ReLU is exact on pairs (the sign of ``h + l`` is that of ``fl(h + l)``); Add is TwoSum plus one float sum of the
low parts and TwoSum errors (``gamma_{2k}`` times their magnitudes for ``k`` inputs). Eval-mode BatchNorm ``y = S x
+ C`` (``S = weight / sqrt(var + eps)``, ``C = bias - mean S``, enclosed in mpmath interval arithmetic at 200 bits
and split into pairs ``S = s_h + s_l + d_s``, ``C = c_h + c_l + d_c``): ``h = fl(x_h s_h)``, ``r = fma(x_h, s_h,
-h)``, ``(p, q) = TwoSum(h, c_h)``, ``v = fl(fl(fl(r + fl(x_h s_l)) + fl(x_l s_h)) + q) + c_l)``, ``(y_h, y_l) =
TwoSum(p, v)``; with ``T = |x_h||s_h| + |c_h|``: ``|y_h + y_l - (S X + C)| <= gamma_6 (2.03 u T + |x_h||s_l| +
|x_l||s_h| + |c_l|) + 1.01 u^2 |x_h||s_h| + |x_l||s_l| + |d_s| (|x_h| + |x_l|) + |d_c| + 12 eta``
(:func:`batchnorm`).

The kernels run on the CPU (Numba, serial, no fast-math: the compiled loop keeps IEEE order inside each output's
sum; FMA via the LLVM intrinsic, correctly rounded).
"""

from __future__ import annotations

from typing import Any, Callable

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from boundcert.errors import InvalidInput
from kernels._rounding import ETA, U, gamma, mul_up, up, vup
from kernels.network._state import Compensated, Enclosed, l2_up, nonneg_sum_up, tighten

__all__ = ["PRECISIONS", "is_compensated", "two_sum", "dot2", "dot2_error_up", "parts", "attach",
           "affine_step", "relu", "add", "scale_shift_pairs", "batchnorm"]

PRECISIONS = ("float64", "compensated")


def is_compensated(ctx: Any) -> bool:
    """Whether the forward pass of ``ctx`` runs with compensated midpoints (``cache["precision"]``)."""
    return getattr(ctx, "cache", {}).get("precision", "float64") == "compensated"


@intrinsic
def _fma(typingctx: Any, a: Any, b: Any, c: Any) -> Any:
    """``fma(a, b, c)``: ``a b + c`` rounded once (LLVM ``llvm.fma.f64``; correctly rounded, in hardware or libm)."""
    if not all(isinstance(t, types.Float) and t.bitwidth == 64 for t in (a, b, c)):
        return None
    sig = types.float64(types.float64, types.float64, types.float64)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        fnty = ir.FunctionType(ir.DoubleType(), [ir.DoubleType()] * 3)
        fn = builder.module.declare_intrinsic("llvm.fma", [ir.DoubleType()], fnty)
        return builder.call(fn, args)

    return sig, codegen


@numba.njit(cache=True, fastmath=False, boundscheck=False, nogil=True)
def _gemm2(a: np.ndarray, al: np.ndarray, has_lo: bool, ar: np.ndarray, has_rad: bool, wt: np.ndarray,
           bias: np.ndarray, hi: np.ndarray, lo: np.ndarray, mag: np.ndarray, rmag: np.ndarray,
           nz: np.ndarray) -> None:
    """``hi + lo ~ Dot2(a[m] + al[m], wt[:, o]) + bias[o]``, ``mag ~ |bias[o]| + |a[m]| |wt[:, o]|`` and ``rmag ~
    ar[m] |wt[:, o]|`` (float FMA sums) for every ``(m, o)`` (module docstring); ``al``/``ar`` are read only when
    ``has_lo``/``has_rad``. Rows ``k`` with all inputs zero are skipped (their products, TwoSum steps and FMA
    terms are exact zeros: the same values as when included); ``nz[m, o]`` counts the rows that were not. The
    ``k`` loop is tiled (a tile of ``wt`` stays in cache across the rows ``m``); each output still sums its terms in
    the order ``k = 0, 1, ...``; ``hi``/``lo`` hold the running ``p``/``s`` until the final TwoSum."""
    m_rows, kdim = a.shape
    o_cols = wt.shape[1]
    cnt = np.zeros(m_rows, dtype=np.int64)
    for m in range(m_rows):
        for o in range(o_cols):
            hi[m, o] = bias[o]
            lo[m, o] = 0.0
            mag[m, o] = abs(bias[o])
            rmag[m, o] = 0.0
    tile = max(8, 32768 // max(o_cols, 1))
    for k0 in range(0, kdim, tile):
        k1 = min(kdim, k0 + tile)
        for m in range(m_rows):
            p = hi[m]
            s = lo[m]
            g = mag[m]
            gr = rmag[m]
            for k in range(k0, k1):
                x = a[m, k]
                xl = al[m, k] if has_lo else 0.0
                xr = ar[m, k] if has_rad else 0.0
                if x == 0.0 and xl == 0.0 and xr == 0.0:
                    continue
                cnt[m] += 1
                ax = abs(x)
                for o in range(o_cols):
                    w = wt[k, o]
                    aw = abs(w)
                    h = x * w
                    r = _fma(x, w, -h)
                    po = p[o]
                    t = po + h
                    bb = t - po
                    q = (po - (t - bb)) + (h - bb)
                    p[o] = t
                    s[o] = s[o] + _fma(xl, w, q + r)
                    g[o] = _fma(ax, aw, g[o])
                    gr[o] = _fma(xr, aw, gr[o])
    for m in range(m_rows):
        for o in range(o_cols):
            po = hi[m, o]
            so = lo[m, o]
            t = po + so
            bb = t - po
            hi[m, o] = t
            lo[m, o] = (po - (t - bb)) + (so - bb)
            nz[m, o] = cnt[m]


def two_sum(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Knuth's TwoSum, elementwise: ``s + e = a + b`` exactly, ``s = fl(a + b)`` (no overflow)."""
    with np.errstate(invalid="ignore", over="ignore"):
        s = a + b
        bb = s - a
        return s, (a - (s - bb)) + (b - bb)


def dot2(a: np.ndarray, wt: np.ndarray, bias: np.ndarray | None = None, a_lo: np.ndarray | None = None,
         a_rad: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    """``(hi, lo, mag, rmag, nz)`` (M, O): ``hi + lo`` is ``(a + a_lo) @ wt + bias`` to within
    :func:`dot2_error_up` (``K = a.shape[1]``, ``A <= nonneg_sum_up(mag, K + 1)``, ``L = |a_lo| @ |wt|``, ``nz``
    the count of nonzero input positions); ``mag`` and ``rmag`` are the float64 FMA sums of ``|bias| + |a| @ |wt|``
    and ``a_rad @ |wt|`` (``a_rad >= 0``; zeros without it)."""
    a = np.ascontiguousarray(a, dtype=np.float64)
    wt = np.ascontiguousarray(wt, dtype=np.float64)
    if a.ndim != 2 or wt.ndim != 2 or a.shape[1] != wt.shape[0]:
        raise InvalidInput(f"dot2: a.shape={a.shape!r} and wt.shape={wt.shape!r} must be (M, K) and (K, O)")
    b = np.zeros(wt.shape[1]) if bias is None else np.ascontiguousarray(bias, dtype=np.float64).reshape(-1)
    if b.shape[0] != wt.shape[1]:
        raise InvalidInput(f"dot2: bias has {b.shape[0]} entries; {wt.shape[1]} are needed")
    extra = []
    for name, v in (("a_lo", a_lo), ("a_rad", a_rad)):
        if v is not None and np.shape(v) != a.shape:
            raise InvalidInput(f"dot2: {name}.shape={np.shape(v)!r} must equal a.shape={a.shape!r}")
        extra.append(np.zeros((1, 1)) if v is None else np.ascontiguousarray(v, dtype=np.float64))
    hi = np.empty((a.shape[0], wt.shape[1]))
    lo, mag, rmag, nz = np.empty_like(hi), np.empty_like(hi), np.empty_like(hi), np.empty_like(hi)
    _gemm2(a, extra[0], a_lo is not None, extra[1], a_rad is not None, wt, b, hi, lo, mag, rmag, nz)
    return hi, lo, mag, rmag, nz


def dot2_error_up(a_up: np.ndarray, k: int, l_up: np.ndarray | float = 0.0,
                  nz: np.ndarray | None = None) -> np.ndarray:
    """Upper bound ``2 gamma_{K+2}^2 A + gamma_{K+2} L + 3 N eta`` of the Dot2 error (module docstring); ``a_up >=
    A = |b| + |W| |h|``, ``l_up >= L = |W| |l|`` (0: no low input part), ``N`` the nonzero terms (``nz``; default
    ``K``: the skipped zero terms are exact)."""
    g = gamma(int(k) + 2)
    c = mul_up(2.0, mul_up(g, g))
    eta = up(3.0 * max(int(k), 1) * ETA) if nz is None else (3.0 * ETA) * nz  # exact: integer multiples of eta
    with np.errstate(over="ignore"):
        e = vup(vup(c * a_up) + eta)
        return vup(e + vup(g * l_up)) if np.any(l_up) else e


def normalised(hi: np.ndarray, lo: np.ndarray) -> bool:
    """Whether ``|lo| <= u |hi|`` holds exactly everywhere (then ``|W| |lo| <= u |W| |hi|``); ``u |hi|`` is exact
    for ``|hi| >= 2^-960``, below that ``lo`` must be 0."""
    ah = np.abs(hi)
    return bool(np.all((np.abs(lo) <= U * ah) & ((ah >= 2.0**-960) | (lo == 0.0))))


def parts(x: Enclosed) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray]:
    """``(hi, lo, rad, dist)`` of ``x``'s best midpoint ``hi + lo`` (``lo`` None: the float64 midpoint alone)."""
    if x.comp is None:
        return x.mid, None, x.rad, x.dist
    return x.mid, x.comp.lo, x.comp.rad, x.comp.dist


def attach(hi: np.ndarray, lo: np.ndarray, rad: np.ndarray, dist: np.ndarray) -> Enclosed:
    """The node value with midpoint pair ``hi + lo`` and radii ``rad``/``dist`` around it; the float64 fields
    (around ``hi``) are ``rad + |lo|`` and ``dist + ||lo||_2`` (rounded up); both pairs of radii tightened. Where
    ``hi`` or ``lo`` is not finite (an overflow) the radii are infinite (and ``lo`` 0)."""
    bad = ~np.isfinite(hi) | ~np.isfinite(lo)
    if np.any(bad):
        lo = np.where(bad, 0.0, lo)
        rad = np.where(bad, np.inf, rad)
        dist = np.where(bad.reshape(bad.shape[0], -1).any(axis=1), np.inf, dist)
    c = tighten(hi, rad, dist)
    alo = np.abs(lo)
    with np.errstate(over="ignore", invalid="ignore"):
        f = tighten(hi, vup(c.rad + alo), vup(c.dist + l2_up(alo)))
    return Enclosed(f.mid, f.rad, f.dist, Compensated(lo, c.rad, c.dist))


def affine_step(x: Enclosed, dot2_apply: Callable[..., tuple[np.ndarray, ...]],
                abslin: Callable[[np.ndarray], np.ndarray], k: int, op_l2: float) -> Enclosed:
    """The compensated affine layer ``y = W x + b`` (module docstring). ``dot2_apply(h, l, r)``: :func:`dot2`'s
    ``(hi, lo, mag, rmag, nz)`` of ``W (h + l) + b`` and ``|W| r`` (``l``/``r`` None: none) shaped like the output;
    ``abslin``: the float64 ``|W| z`` (no bias) on a batch; ``k``: the fan-in. Radii: ``|W| rad + e`` (upward from
    ``rmag``) and ``||W||_2 dist + ||e||_2``, ``e`` the Dot2 error bound."""
    h, lo_in, rad, dist = parts(x)
    nb = h.shape[0]
    has_lo = lo_in is not None and bool(np.any(lo_in))
    has_rad = bool(np.any(rad))
    hi, lo, mag, rmag, nz = dot2_apply(h, lo_in if has_lo else None, rad if has_rad else None)
    n = int(k) + 1
    with np.errstate(over="ignore", invalid="ignore"):
        a_up = nonneg_sum_up(mag, n)
        if not has_lo:
            l_up: np.ndarray | float = 0.0
        elif normalised(h, lo_in):  # |W| |l| <= u |W| |h| <= u A
            l_up = vup(U * a_up)
        else:
            l_up = nonneg_sum_up(abslin(np.abs(lo_in)), n)
        e = dot2_error_up(a_up, k, l_up, nz)
        r_prop = nonneg_sum_up(rmag, n) if has_rad else 0.0  # |W| 0 = 0 exactly
        r_out = vup(r_prop + e)
        d_out = vup(vup(op_l2 * dist) + l2_up(e)) if op_l2 < np.inf else np.full(nb, np.inf)
    return attach(hi, lo, r_out, d_out)


def relu(x: Enclosed, out: Enclosed) -> Enclosed:
    """ReLU on the pair of ``x`` (exact) beside ``out``, the float64 ReLU of ``x`` (returned as is without a pair):
    ``relu(hi + lo)`` is ``(hi, lo)`` where ``fl(hi + lo) > 0`` and ``(0, 0)`` elsewhere; the radius is kept where
    the input may be positive (``fl(hi + lo) + rad`` rounded up ``> 0``) and 0 elsewhere (1-Lipschitz)."""
    if x.comp is None:
        return out
    h, lo, rad, dist = parts(x)
    with np.errstate(over="ignore", invalid="ignore"):
        s = h + lo
        pos = s > 0.0
        live = ~(vup(vup(s) + rad) <= 0.0)  # NaN (an overflow upstream) stays live, with its infinite radius
    return attach(np.where(pos, h, 0.0), np.where(pos, lo, 0.0), np.where(live, rad, 0.0), dist)


def add(xs: tuple[Enclosed, ...], out: Enclosed) -> Enclosed:
    """The residual sum on the pairs of ``xs`` (module docstring) beside ``out``, the float64 sum (returned as is
    when no input has a pair). Error: ``gamma_{2k}`` times the sum of the TwoSum errors' and low parts' magnitudes."""
    if all(x.comp is None for x in xs):
        return out
    ps = [parts(x) for x in xs]
    s = ps[0][0]
    lows: list[np.ndarray] = [p[1] for p in ps if p[1] is not None]
    for p in ps[1:]:
        s, e = two_sum(s, p[0])
        lows.append(e)
    with np.errstate(over="ignore", invalid="ignore"):
        t = lows[0]
        mag = np.abs(lows[0])
        for v in lows[1:]:
            t = t + v
            mag = vup(mag + np.abs(v))
        err = vup(gamma(2 * len(xs)) * mag)
        hi, lo = two_sum(s, t)
        rad, dist = err, l2_up(err)
        for p in ps:
            rad = vup(rad + p[2])
            dist = vup(dist + p[3])
    return attach(hi, lo, rad, dist)


@numba.njit(cache=True, fastmath=False, boundscheck=False, nogil=True)
def _scale_shift2(xh: np.ndarray, xl: np.ndarray, sh: np.ndarray, sl: np.ndarray, ch: np.ndarray, cl: np.ndarray,
                  yh: np.ndarray, yl: np.ndarray) -> None:
    """``yh + yl ~ (sh + sl)(xh + xl) + ch + cl`` per (batch, channel, rest) (module docstring, BatchNorm)."""
    nb, nc, nr = xh.shape
    for b in range(nb):
        for c in range(nc):
            s0, s1, c0, c1 = sh[c], sl[c], ch[c], cl[c]
            for i in range(nr):
                x0 = xh[b, c, i]
                x1 = xl[b, c, i]
                h = x0 * s0
                r = _fma(x0, s0, -h)
                p = h + c0
                bb = p - h
                q = (h - (p - bb)) + (c0 - bb)
                v = (((r + x0 * s1) + x1 * s0) + q) + c1
                t = p + v
                bb = t - p
                yh[b, c, i] = t
                yl[b, c, i] = (p - (t - bb)) + (v - bb)


def _pair(v: Any) -> tuple[float, float, float]:
    """An mpmath interval ``v`` as ``(hi, lo, err)``: ``|v' - hi - lo| <= err`` for every ``v'`` in ``v``."""
    hi = float(v.mid)
    d = v - hi
    lo = float(d.mid)
    return hi, lo, float(np.nextafter(float(abs(d - lo).b), np.inf))


def scale_shift_pairs(mean: np.ndarray, var: np.ndarray, weight: np.ndarray, bias: np.ndarray,
                      eps: float) -> tuple[np.ndarray, ...] | None:
    """Pairs ``(s_h, s_l, d_s, c_h, c_l, d_c)`` per channel of ``S = weight / sqrt(var + eps)`` and ``C = bias -
    mean S`` (mpmath interval arithmetic at 200 bits); None where ``var + eps > 0`` is not proven or a value is not
    finite (the caller keeps the float64 pass)."""
    import mpmath

    out = np.empty((6, mean.shape[0]))
    iv = mpmath.iv
    saved = iv.prec
    iv.prec = 200
    try:
        for j in range(mean.shape[0]):
            den = iv.mpf(float(var[j])) + iv.mpf(float(eps))
            if not den.a > 0:
                return None
            sv = iv.mpf(float(weight[j])) / iv.sqrt(den)
            cv = iv.mpf(float(bias[j])) - iv.mpf(float(mean[j])) * sv
            out[0:3, j] = _pair(sv)
            out[3:6, j] = _pair(cv)
    finally:
        iv.prec = saved
    return tuple(out) if np.all(np.isfinite(out)) else None


def batchnorm(layer: Any, x: Enclosed, out: Enclosed) -> Enclosed:
    """Eval-mode BatchNorm on the pair of ``x`` (module docstring) beside ``out``, the float64 pass (returned as
    is without a pair or when the scale pairs are not available); ``layer``: :class:`kernels.network.BatchNorm`."""
    if x.comp is None:
        return out
    from kernels.network._opnorm import cached

    stats = np.concatenate([layer.mean, layer.var, layer.weight, layer.bias, [float(layer.eps)]]).astype(np.float64)
    got = cached("batchnorm_pairs", stats, (), lambda: scale_shift_pairs(layer.mean, layer.var, layer.weight,
                                                                         layer.bias, float(layer.eps)))
    if got is None:
        return out
    sh, sl, ds, ch, cl, dc = got
    xh, xl, rad, dist = parts(x)
    xl = np.zeros_like(xh) if xl is None else xl
    shp = xh.shape
    flat = (shp[0], shp[1], -1)
    yh = np.empty((shp[0], shp[1], int(np.prod(shp[2:], dtype=np.int64))))
    yl = np.empty_like(yh)
    _scale_shift2(np.ascontiguousarray(xh).reshape(flat), np.ascontiguousarray(xl).reshape(flat),
                  sh, sl, ch, cl, yh, yl)
    bshape = (1, -1) + (1,) * (len(shp) - 2)
    ash, asl, ach, acl = (np.abs(v).reshape(bshape) for v in (sh, sl, ch, cl))
    dsv, dcv = ds.reshape(bshape), dc.reshape(bshape)
    axh, axl = np.abs(xh), np.abs(xl)
    g6 = gamma(6)
    with np.errstate(over="ignore", invalid="ignore"):
        xs = vup(axh * ash)
        t = vup(xs + ach)
        inner = vup(vup(vup(vup(mul_up(2.03, U) * t) + vup(axh * asl)) + vup(axl * ash)) + acl)
        e = vup(vup(g6 * inner) + vup(mul_up(1.01, U * U) * xs))
        e = vup(e + vup(axl * asl))
        e = vup(e + vup(dsv * vup(axh + axl)))
        e = vup(vup(e + dcv) + 12 * ETA)
        sm = layer.smax().reshape(bshape)
        r_out = vup(vup(sm * rad) + e)
        d_out = vup(vup(float(np.max(sm, initial=0.0)) * dist) + l2_up(e))
    return attach(yh.reshape(shp), yl.reshape(shp), r_out, d_out)
