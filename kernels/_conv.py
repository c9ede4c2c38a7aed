"""Certified spectral norm of a 2-D convolution layer (Sedghi, Gupta, Long, ICLR 2019).

Main statement: a circular convolution on an ``N_h x N_w`` grid is unitarily equivalent (2-D DFT) to
the block-diagonal matrix of the ``c_out x c_in`` blocks ``P_uv = sum_ab K[:, :, a, b] w_h^{ua} w_w^{vb}``.
With stride ``s`` dividing the grid, subsampling folds the ``s_h s_w`` aliases of each output frequency
into one ``c_out x (s_h s_w c_in)`` block divided by ``sqrt(s_h s_w)`` (polyphase form: ``S F^* =
s^{-1/2} F_{N/s}^* J``). Zero padding ``p`` embeds the layer in the circular convolution on the
``(n + 2p)`` grid, restricted to interior inputs and a subset of outputs, so the circular norm there is
an upper bound (a circular norm on ``n`` itself is *not*). Stride and padding that keep only a subset of
rows give an upper bound the same way; the lower end then comes from the layer itself.
"""

from __future__ import annotations

import functools
import math
import warnings
from typing import Any, Literal

import mpmath
import numpy as np
import scipy.linalg
import scipy.sparse.linalg as spla

from kernels._cholesky import batched_gram, certify_blocks
from kernels._conv_banded import band_certifies, band_plan, gram_band
from kernels._conv_ops import ConvGeometry, PaddingMode, adjoint, dilate, forward, geometry, pair, ratio_lower
from kernels._conv_ops import tap_norm_sum_upper
from kernels._device import Device, resolve_torch_device, tag_source
from kernels._enclosure import Enclosure
from kernels._environment import check_environment
from kernels._rounding import (
    ETA, add_up, div_down, div_up, gamma, mul_up, sqrt_down, sqrt_up, sub_down, sumsq_bounds, up, vsumsq_upper,
)
from kernels._scaling import pow2_scale, unscale_down, unscale_up
from kernels._spectral import RtolNotReached, norm_ratio_lower
from kernels._validation import as_float64, check_choice, check_int, check_rtol

__all__ = ["conv_spectral_norm", "conv_spectral_norm_estimate", "Method", "BANDED_MAX_BYTES"]

SOURCE = "kernels.conv_spectral_norm/sedghi-fourier-rump-cholesky v1"
BANDED_SOURCE = "kernels.conv_spectral_norm/banded-gram-rump-cholesky v1"
BANDED_MAX_BYTES = 6 * 2**30  # largest band ``method="auto"`` factors (two copies are held)
Method = Literal["auto", "fourier", "banded"]
TWIDDLE_ERR = 2.0**-52  # |float(cos(2 pi j / L)) - cos(2 pi j / L)|: nearest rounding of an 80-bit value


@functools.lru_cache(maxsize=16)
def _twiddles(length: int) -> tuple[np.ndarray, np.ndarray]:
    """cos and sin of ``2 pi j / length`` for ``j < length``, each within ``2^-52`` of the exact value."""
    with mpmath.workprec(80):
        ang = [2 * mpmath.pi * j / length for j in range(length)]
        c = np.array([float(mpmath.cos(t)) for t in ang])
        s = np.array([float(mpmath.sin(t)) for t in ang])
    return c, s


def _half_frequencies(nh: int, nw: int) -> np.ndarray:
    """One of each conjugate pair ``(u, v) ~ (-u, -v)`` on the ``nh x nw`` grid (same singular values)."""
    keep = [(u, v) for u in range(nh) for v in range(nw) if (u, v) <= ((-u) % nh, (-v) % nw)]
    return np.array(keep, dtype=np.int64)


def fourier_blocks(k: np.ndarray, g: ConvGeometry, freqs: np.ndarray) -> tuple[np.ndarray, float, int]:
    """Realified polyphase blocks ``R_f`` (shape (F, 2 c_out, 2 S c_in)), the uniform error ``delta`` with
    ``||R_f - R_f^exact||_2 <= delta``, and ``S = s_h s_w``; the operator norm is ``max_f ||R_f^exact|| / sqrt(S)``.

    Error term: each real or imaginary entry of ``P_uv`` is a sum of ``t = kh kw`` products with twiddles
    off by at most ``tau = 2^-52``: ``|err| <= (gamma_t (1 + tau) + tau) sum_ab |K| + t eta =: e``; a realified
    block holds each error twice per alias, so ``||dR||_2 <= ||dR||_F <= 2 sqrt(S) ||e||_F``.
    """
    co, ci, kh, kw = k.shape
    (nh, nw), (sh, sw) = g.grid, g.fourier_stride
    mh, mw = nh // sh, nw // sw
    length = nh * nw
    cos_t, sin_t = _twiddles(length)
    a = np.arange(kh)[:, None]
    b = np.arange(kw)[None, :]
    kmat = k.reshape(co * ci, kh * kw)
    cols_re, cols_im = [], []
    for i in range(sh):
        for j in range(sw):
            p = freqs[:, 0] + i * mh
            q = freqs[:, 1] + j * mw
            idx = ((p[None, None, :] * a[..., None] * nw + q[None, None, :] * b[..., None] * nh) % length)
            idx = idx.reshape(kh * kw, -1)
            cols_re.append((kmat @ cos_t[idx]).reshape(co, ci, -1))
            cols_im.append((kmat @ sin_t[idx]).reshape(co, ci, -1))
    re = np.concatenate(cols_re, axis=1).transpose(2, 0, 1)  # (F, co, S ci)
    im = np.concatenate(cols_im, axis=1).transpose(2, 0, 1)
    r = np.concatenate([np.concatenate([re, -im], axis=2), np.concatenate([im, re], axis=2)], axis=1)
    t = kh * kw
    c1 = add_up(mul_up(gamma(t), up(1.0 + TWIDDLE_ERR)), TWIDDLE_ERR)
    abs_sum = np.sum(np.abs(kmat), axis=1)
    abs_sum = np.nextafter(abs_sum / (1.0 - gamma(t)) * (1 + 2**-50), np.inf)  # upper bound of exact sums
    _, e2 = sumsq_bounds(np.nextafter(c1 * abs_sum + up(t * ETA), np.inf) * (1 + 2**-50))
    s_count = sh * sw
    delta = mul_up(mul_up(2.0, sqrt_up(float(s_count))), sqrt_up(e2))
    return r, delta, s_count


def conv_spectral_norm(weight: Any, input_hw: tuple[int, int] | int, *, stride: int | tuple[int, int] = 1,
                       padding: int | tuple[int, int] = 0, padding_mode: PaddingMode = "zeros",
                       dilation: int | tuple[int, int] = 1, rtol: float = 1e-4, method: Method = "auto",
                       device: Device = "auto") -> Enclosure:
    """Certified enclosure of the spectral norm of the linear map ``x -> conv2d(pad(x), weight, stride, dilation)``.

    Args:
        weight: (c_out, c_in, kh, kw) numpy array or torch tensor (groups=1), taken exactly.
        input_hw: input height and width (int for square).
        stride, padding, dilation: as in ``torch.nn.functional.conv2d``; padding_mode ``"zeros"`` or ``"circular"``.
        rtol: target relative gap. Reached by the Fourier form when it is the layer itself (circular padding
            with ``k = 2p + 1`` and stride dividing the input; ``p = 0`` zero padding with full output); otherwise
            the Fourier embedding only gives an upper bound and the banded certificate closes the gap.
        method: ``"fourier"``: the Fourier form only (fast; for zero padding the upper end is the circular norm on
            the ``(n + 2p)`` grid, often 1e-3..1e-1 above the true value); ``"banded"``: Rump's certificate on
            the band matrix ``T^T T`` or ``T T^T`` of the layer itself (:mod:`kernels._conv_banded`; host memory
            ``8 (kd + 1) n`` bytes twice, work about ``n kd^2``: ~1.2e12 flops, 1-3 min on 2 cores, for 64
            channels on 32x32), the Fourier form only if it falls short of ``rtol``; ``"auto"``: ``"banded"``
            where the Fourier form is only an embedding (or misses ``rtol``) and the band fits in
            ``BANDED_MAX_BYTES``, else ``"fourier"`` (a :class:`RtolNotReached` warning says why).
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``: on CUDA the per-frequency Gram blocks and their Cholesky
            certificates run in float64 through torch (batched cuBLAS GEMM, cuSOLVER potrf) with the same error
            model; the Fourier blocks, error terms, shifts and lower end stay on the host, and so does the banded
            certificate (LAPACK ``dpbtrf``).

    Rounding model: binary64, round-to-nearest, gradual underflow (checked). The kernel is scaled by a
    power of two; the blocks ``P_uv`` are formed by real GEMMs against twiddles computed at 80 bits and
    rounded (error ``2^-52``), with the uniform bound of :func:`fourier_blocks`; every block is then
    certified ``||R_f|| <= alpha`` with one shared ``alpha`` by Rump's Cholesky certificate (Rump, BIT 46
    (2006) Cor. 2.4; BIT 51 (2011) eq. 3.18) with Gram error ``gamma_m ||R_f||_F^2 + m n eta``. The lower
    end is ``||R_f v|| / ||v||`` on the top block (exact Fourier form) or ``||T x|| / ||x||`` on the layer
    (``N = c_in kh kw`` terms per output, ``gamma_N`` bound), ``x`` from Lanczos on ``T^T T``. Outward rounding.
    The banded certificate forms the Gram band by float GEMMs of kernel taps
    (error ``gamma_t || |T| ||_2^2``, ``t = kh kw c``) and proves ``alpha^2 I - G >= 0`` by the same lemma.
    Reference: Sedghi, Gupta, Long, "The singular values of convolutional layers", ICLR 2019.
    """
    check_environment("kernels.conv_spectral_norm")
    dev = resolve_torch_device(device, "kernels.conv_spectral_norm")
    check_rtol(rtol, "1e-4")
    check_choice(method, ("auto", "fourier", "banded"), f"method={method!r}: one of 'auto', 'fourier', 'banded'")
    k = as_float64(weight, "weight", ndim=4)
    k = dilate(k, pair(dilation, "dilation", 1))
    g = geometry(k.shape, input_hw, stride, padding, padding_mode)
    if k.size == 0 or not np.any(k):
        return Enclosure(0.0, 0.0, tag_source(SOURCE, dev))
    ks, e, _ = pow2_scale(k)
    # kernel entries lost to underflow (only when scaling down): each <= eta, operator norm <= t sqrt(co ci) eta
    kerr = 0.0 if np.array_equal(np.ldexp(ks, e), k) else up(up(k.shape[2] * k.shape[3] * math.sqrt(g.c_out * g.c_in)) * ETA)
    if dev == "cuda":
        check_environment("kernels.conv_spectral_norm")  # torch is imported now: TF32 switches checked again
    lo_s, hi_s, note, source = _enclose_both(ks, g, float(rtol), method, "cuda" if dev == "cuda" else None)
    lo = unscale_down(max(sub_down(lo_s, kerr), 0.0), e)
    hi = unscale_up(add_up(hi_s, kerr), e)
    if note:
        warnings.warn(f"kernels.conv_spectral_norm: rtol={rtol!r} not reached ({note.strip('; ')}); "
                      f"returning the proven enclosure [{lo!r}, {hi!r}]", RtolNotReached, stacklevel=2)
    return Enclosure(lo, hi, tag_source(source, dev) + note)


def _enclose_both(k: np.ndarray, g: ConvGeometry, rtol: float, method: Method,
                  device: str | None) -> tuple[float, float, str, str]:
    """(lo, hi, note, source) for the scaled kernel. Where the Fourier form is only an embedding and the band fits
    (or ``method="banded"``), the banded certificate runs first on the Lanczos lower end of the layer and the
    Fourier pass only when it falls short of ``rtol``; the smaller proven upper end is kept."""
    banded_first = method == "banded" or (method == "auto" and not g.exact
                                          and band_plan(g).band_bytes <= BANDED_MAX_BYTES)
    lo_b, hi_b, why = 0.0, math.inf, ""
    if banded_first:
        lo_b = _spatial_lower(k, g)
        hi_b, why = _banded_upper(k, g, lo_b, math.inf, rtol, forced=True)
        if math.isfinite(hi_b) and hi_b - lo_b <= rtol * hi_b:
            return lo_b, hi_b, "", BANDED_SOURCE
    lo, hi, note = _enclose_scaled(k, g, rtol, device, lo_b if banded_first and not g.exact else None)
    source = SOURCE
    if not banded_first and method == "auto" and note and hi > 0.0:
        hi_b, why = _banded_upper(k, g, lo, hi, rtol, forced=False)
    if hi_b < hi:
        lo, hi, source = max(lo, lo_b), hi_b, BANDED_SOURCE
        note = "" if (hi - lo) <= rtol * hi else f"; rtol not reached: gap {(hi - lo) / hi:.3g}"
    if note and why:
        note += f" ({why})"
    return lo, hi, note, source


def _banded_upper(k: np.ndarray, g: ConvGeometry, lo: float, hi: float, rtol: float,
                  forced: bool) -> tuple[float, str]:
    """(upper end, reason if none): the banded certificate at ``alpha = lo (1 + f rtol)`` for ``f`` in
    ``0.5, 0.95, 4`` (the first that Cholesky proves), kept only if below the Fourier upper end ``hi``."""
    plan = band_plan(g)
    if not forced and plan.band_bytes > BANDED_MAX_BYTES:
        return math.inf, (f"banded certificate skipped: its band needs {plan.band_bytes / 2**30:.1f} GiB > "
                          f"BANDED_MAX_BYTES; pass method='banded' to force it")
    if not lo > 0.0:
        return math.inf, "banded certificate skipped: no positive lower end"
    ab, err = gram_band(k, g, plan)
    for f in (0.5, 0.95, 4.0):
        alpha = mul_up(lo, up(1.0 + f * rtol))
        if alpha >= hi:
            break
        alpha2 = mul_up(alpha, alpha)
        if band_certifies(ab, err, alpha2):
            return sqrt_up(alpha2), ""
    return math.inf, "banded certificate did not prove a smaller upper end"


EXACT_EIG_FLOPS = 2e10  # per chunk: below this every block's top eigenvalue is computed by eigvalsh


def _block_estimates(gram: np.ndarray) -> np.ndarray:
    """Heuristic largest eigenvalue of each Gram block (they only choose ``alpha``; soundness never rests on them).

    Exact (``eigvalsh``) when affordable; otherwise 60 power steps per block, then ``eigvalsh`` on every block whose
    estimate is within 10% of the largest (a power estimate is below the true value, so the top block may trail)."""
    nb, n = gram.shape[0], gram.shape[1]
    if n <= 96 or nb <= 4 or float(nb) * float(n) ** 3 <= EXACT_EIG_FLOPS:
        return np.linalg.eigvalsh(gram)[:, -1]
    rng = np.random.default_rng(0)
    v = rng.standard_normal((nb, n, 1))
    for _ in range(60):
        v = gram @ v
        v /= np.linalg.norm(v, axis=1, keepdims=True)
    est = np.einsum("bi,bi->b", v[..., 0], (gram @ v)[..., 0])
    top = np.flatnonzero(est >= 0.9 * np.max(est))
    top = top[np.argsort(est[top])[-32:]]
    est[top] = np.linalg.eigvalsh(gram[top])[:, -1]
    return est


CHUNK_BYTES = 192 * 2**20  # memory for one chunk of realified blocks


def _chunks(k: np.ndarray, g: ConvGeometry):
    """Frequency chunks of the half grid, sized so one chunk of blocks stays near CHUNK_BYTES."""
    (nh, nw), (sh, sw) = g.grid, g.fourier_stride
    freqs = _half_frequencies(nh // sh, nw // sw)
    per_block = 8 * (2 * k.shape[0]) * (2 * sh * sw * k.shape[1]) * 2  # blocks + Gram, roughly
    size = max(1, CHUNK_BYTES // max(per_block, 1))
    return [freqs[i:i + size] for i in range(0, len(freqs), size)]


def _enclose_scaled(k: np.ndarray, g: ConvGeometry, rtol: float, device: str | None = None,
                    spatial_lo: float | None = None) -> tuple[float, float, str]:
    """(lo, hi, note) of the Fourier form for the scaled kernel; ``device``: torch device of the Gram products and
    Cholesky factorisations (None: numpy/LAPACK on the host). Blocks, error terms, shifts and the lower end are
    computed on the host; ``spatial_lo``: a proven lower end of the layer already computed (non-exact geometry)."""
    chunks = _chunks(k, g)
    s_count = g.fourier_stride[0] * g.fourier_stride[1]
    sq_s = sqrt_down(float(s_count))
    sq_s_up = sqrt_up(float(s_count))
    best = (-1.0, None)
    cache = None
    for freqs in chunks:  # pass 1: heuristic top eigenvalue of every block
        r, delta, _ = fourier_blocks(k, g, freqs)
        gram, gerr = batched_gram(r, device)
        est2 = _block_estimates(gram)
        i = int(np.argmax(est2))
        if est2[i] > best[0]:
            best = (float(est2[i]), freqs[i:i + 1])
        if len(chunks) == 1:
            cache = (gram, gerr)
    top_r, delta, _ = fourier_blocks(k, g, best[1])
    top_gram, _ = batched_gram(top_r)
    est_top = best[0]
    # rigorous lower end
    if g.exact:
        r0 = top_r[0]
        rt = r0 if r0.shape[0] >= r0.shape[1] else r0.T
        gt = top_gram[0]
        _, vec = scipy.linalg.eigh(gt, subset_by_index=[gt.shape[0] - 1, gt.shape[0] - 1])
        fro_hi = sqrt_up(sumsq_bounds(rt)[1])
        lo_r = sub_down(norm_ratio_lower(rt, vec[:, 0], fro_hi), delta)
        lo = max(div_down(lo_r, sq_s_up), 0.0) if lo_r > 0 else 0.0
    else:
        lo = _spatial_lower(k, g) if spatial_lo is None else spatial_lo
    # one shared alpha for every block
    base = max(mul_up(lo, sq_s_up) if lo > 0 else 0.0, math.sqrt(max(est_top, 0.0)))
    hi = math.inf
    step = rtol / 2.0
    for _ in range(40):
        alpha = mul_up(base, up(1.0 + step))
        if _certify_all(k, g, chunks, cache, mul_up(alpha, alpha), device):
            hi = div_up(add_up(alpha, delta), sq_s)
            break
        step *= 4.0
    if math.isinf(hi):  # Cholesky never succeeded: fall back to the largest Frobenius norm of a block
        fro = 0.0
        for freqs in chunks:
            r, _, _ = fourier_blocks(k, g, freqs)
            fro = max(fro, float(np.max(vsumsq_upper(r, axis=(1, 2)))))
        hi = div_up(add_up(sqrt_up(fro), delta), sq_s)
    note = "" if hi == 0.0 or (hi - lo) <= rtol * hi else f"; rtol not reached: gap {(hi - lo) / hi:.3g}"
    if note and not g.exact:
        note += " (zero-padding / partial-output embedding)"
    return lo, hi, note


def _certify_all(k, g, chunks, cache, alpha2: float, device: str | None = None) -> bool:
    """Pass 2: every block of every chunk certified at the shared ``alpha2`` (recomputed unless cached)."""
    for freqs in chunks:
        gram, gerr = cache if cache is not None else batched_gram(fourier_blocks(k, g, freqs)[0], device)
        if not certify_blocks(gram, gerr, alpha2, device):
            return False
    return True


def _spatial_lower(k: np.ndarray, g: ConvGeometry, iters: int = 300) -> float:
    """Rigorous ``||T x|| / ||x||`` with ``x`` from Lanczos on ``T^T T`` of the layer itself."""
    h, w = g.input_hw
    n = g.c_in * h * w
    op = spla.LinearOperator(
        (n, n), dtype=np.float64,
        matvec=lambda v: adjoint(k, forward(k, np.reshape(v, (g.c_in, h, w)), g), g).ravel())
    v0 = np.random.default_rng(0).standard_normal(n)
    try:
        _, vec = spla.eigsh(op, k=1, which="LA", v0=v0, tol=1e-10, maxiter=iters, ncv=min(n, 30)) if n > 2 else (None, None)
        x = vec[:, 0] if vec is not None else v0
    except spla.ArpackNoConvergence as exc:  # any vector is a valid witness; take the best Ritz vector
        x = exc.eigenvectors[:, 0] if exc.eigenvectors.shape[1] else v0
    except spla.ArpackError:  # e.g. T = 0 (every output reads only padding): the witness does not matter
        x = v0
    if n <= 2:
        dense = np.stack([op.matvec(col) for col in np.eye(n)])
        x = np.linalg.eigh(dense)[1][:, -1]
    return ratio_lower(k, np.reshape(x, (g.c_in, h, w)), g, tap_norm_sum_upper(k))


def conv_spectral_norm_estimate(weight: Any, input_hw: tuple[int, int] | int, *,
                                stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] = 0,
                                padding_mode: PaddingMode = "zeros", dilation: int | tuple[int, int] = 1,
                                method: Literal["power", "reshape", "fft"] = "power", iters: int = 100) -> float:
    """Uncertified estimates users know; plain floats, *not* bounds.

    ``"power"``: power iteration on the layer operator (float64); ``"reshape"``: ``||K.reshape(c_out, -1)||_2``
    (neither a lower nor an upper bound in general); ``"fft"``: Sedghi et al.'s FFT + SVD on the circulant
    grid used by :func:`conv_spectral_norm` (exact for circular padding, an over-estimate for zero padding).
    """
    check_choice(method, ("power", "reshape", "fft"), f"method={method!r}: one of 'power', 'reshape', 'fft'")
    k = dilate(as_float64(weight, "weight", ndim=4), pair(dilation, "dilation", 1))
    g = geometry(k.shape, input_hw, stride, padding, padding_mode)
    if method == "reshape":
        return float(np.linalg.norm(as_float64(weight, "weight", ndim=4).reshape(k.shape[0], -1), 2))
    if method == "fft":
        (nh, nw), (sh, sw) = g.grid, g.fourier_stride
        kh = np.fft.fft2(k, s=(nh, nw), axes=(2, 3))  # (co, ci, nh, nw)
        mh, mw = nh // sh, nw // sw
        blocks = kh.reshape(k.shape[0], k.shape[1], sh, mh, sw, mw).transpose(3, 5, 0, 2, 4, 1)
        blocks = blocks.reshape(mh * mw, k.shape[0], sh * sw * k.shape[1])
        return float(np.max(np.linalg.svd(blocks, compute_uv=False)[:, 0]) / math.sqrt(sh * sw))
    iters = check_int("iters", iters, 0)
    h, w = g.input_hw
    x = np.random.default_rng(0).standard_normal((g.c_in, h, w))
    for _ in range(iters):
        x = adjoint(k, forward(k, x, g), g)
        nx = np.linalg.norm(x)
        if nx == 0.0:
            return 0.0
        x /= nx
    return float(np.linalg.norm(forward(k, x, g)))
