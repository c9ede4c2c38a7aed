"""Certified entrywise and group norms of a weight matrix, distance to initialisation, counts, sparsity.

Rounding model (Higham, *Accuracy and Stability*, ch. 3): float64, round-to-nearest, gradual underflow.
A sum of ``n`` nonnegative terms, each a rounded square, computed in *any* order (numba's parallel
reduction included) satisfies ``|fl(s) - s| <= gamma_n s + n eta``; so ``s <= (fl(s) + n eta)/(1 - gamma_n)``
and ``s >= (fl(s) - n eta)/(1 + gamma_n)``. Sums of absolute values (no products) drop the ``eta`` term.
Square roots and the final unscaling by a power of two are rounded outward with ``math.nextafter``.
Matrices are ``(out, in)``: row ``i`` holds the incoming weights of unit ``i`` (torch's Linear layout).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numba
import numpy as np

from boundcert.errors import InvalidInput
from kernels._device import Device, resolve_device, tag_source
from kernels._enclosure import Enclosure
from kernels._environment import check_environment
from kernels._rounding import ETA, U, down, gamma, sqrt_down, sqrt_up, up
from kernels._scaling import abs_max, entry_exact, pow2_scale, scaled_entry, unscale_down, unscale_up
from kernels._validation import all_finite, as_float64, check_choice

__all__ = [
    "frobenius_norm", "norm_21", "norm_1_inf", "max_abs", "distance_to_init", "parameter_count",
    "nonzero_count", "sparsity", "MatrixNorms", "matrix_norms",
]

_V = "v1"
_ROW_BLOCKS = 16  # row blocks of matrix_norms' parallel sweep (a constant, so every end is the same for any
#                  number of numba threads: the certified inputs of a run do not depend on where it ran)


@numba.njit(cache=True, fastmath=False, parallel=True)  # cached: a fresh process (CLI, Dask worker) skips ~5 s of JIT
def _row_sums(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    """Per-row ``fl(sum a_ij^2)`` and ``fl(sum |a_ij|)`` (parallel over rows)."""
    m, n = a.shape
    sq = np.zeros(m)
    ab = np.zeros(m)
    for i in numba.prange(m):
        s = 0.0
        t = 0.0
        for j in range(n):
            x = a[i, j]
            s += x * x
            t += abs(x)
        sq[i] = s
        ab[i] = t
    return sq, ab


@numba.njit(cache=True, fastmath=False, parallel=True)
def _row_col_sums(a: np.ndarray, e: int, chunks: int) -> tuple[np.ndarray, ...]:  # pragma: no cover - compiled
    """Per-row and per-column ``fl(sum x^2)`` and ``fl(sum |x|)`` of the scaled entries ``x = fl(a_ij 2^-e)`` (as
    :func:`kernels._scaling.pow2_scale` forms them) in one sweep over a C-contiguous ``a``, and whether every
    ``x`` is exact.

    Rows are split into ``chunks`` blocks (parallel); each block keeps its own column partial sums, added at the end:
    every sum is still a sum of its terms in *some* order, which is all the error model needs."""
    m, n = a.shape
    f = math.ldexp(1.0, -e) if -1022 <= e <= 1022 else 1.0
    rsq = np.zeros(m)
    rab = np.zeros(m)
    csq = np.zeros((chunks, n))
    cab = np.zeros((chunks, n))
    inexact = np.zeros(chunks, dtype=np.bool_)
    step = (m + chunks - 1) // chunks
    for c in numba.prange(chunks):
        for i in range(c * step, min(m, (c + 1) * step)):
            s = 0.0
            t = 0.0
            for j in range(n):
                v = a[i, j]
                x = scaled_entry(v, e, f)
                if not entry_exact(v, x, e):
                    inexact[c] = True
                x2 = x * x
                ax = abs(x)
                s += x2
                t += ax
                csq[c, j] += x2
                cab[c, j] += ax
            rsq[i] = s
            rab[i] = t
    col_sq = np.zeros(n)
    col_ab = np.zeros(n)
    for c in range(chunks):
        for j in range(n):
            col_sq[j] += csq[c, j]
            col_ab[j] += cab[c, j]
    return rsq, rab, col_sq, col_ab, not np.any(inexact)


def _bounds_sumsq(s: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    g = gamma(max(n, 1))
    lo = np.maximum(np.nextafter(np.nextafter(s - up(n * ETA), -np.inf) / up(1.0 + g), -np.inf), 0.0)
    hi = np.nextafter(np.nextafter(s + up(n * ETA), np.inf) / down(1.0 - g), np.inf)
    return lo, hi


def _bounds_sum(s: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Bounds of an exact sum of ``n`` nonnegative floats from its rounded value (no products: no eta)."""
    g = gamma(max(n, 1))
    lo = np.maximum(np.nextafter(s / up(1.0 + g), -np.inf), 0.0)
    hi = np.nextafter(s / down(1.0 - g), np.inf)
    return lo, hi


def _sums(a: np.ndarray, dev: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-row rounded sums of squares and of absolute values, on the CPU or the CUDA device (same model)."""
    if dev == "cuda":
        from kernels._cuda_norms import row_sums_cuda

        return row_sums_cuda(a)
    return _row_sums(a)


def _prepare(w: Any, name: str = "W") -> tuple[np.ndarray, int, bool]:
    check_environment("kernels norms")
    a = as_float64(w, name)
    a = a.reshape(a.shape[0], -1) if a.ndim >= 2 else a.reshape(1, -1)
    s, e, err = pow2_scale(a)
    return np.ascontiguousarray(s), e, err == 0.0


def _enc(lo: float, hi: float, e: int, exact: bool, slack: float, what: str, dev: str = "cpu") -> Enclosure:
    if slack:  # entries lost to underflow while scaling down: widen by their largest effect
        lo, hi = max(down(lo - slack), 0.0), up(hi + slack)
    return Enclosure(unscale_down(lo, e), unscale_up(hi, e), tag_source(f"kernels.{what} {_V}", dev))


def frobenius_norm(W: Any, *, device: Device = "auto") -> Enclosure:
    """Certified ``||W||_F`` (any shape, flattened to (rows, rest)); error term as in the module docstring.

    ``device``: ``"auto"``, ``"cpu"`` or ``"cuda"`` (row sums on the device, :mod:`kernels._cuda_norms`)."""
    dev = resolve_device(device, "kernels.frobenius_norm", has_cuda_path=True)
    a, e, exact = _prepare(W)
    if a.size == 0:
        return Enclosure(0.0, 0.0, tag_source(f"kernels.frobenius_norm {_V}", dev))
    sq, _ = _sums(a, dev)
    lo_r, hi_r = _bounds_sumsq(sq, a.shape[1])
    lo, _ = _bounds_sum(np.array([np.sum(lo_r)]), a.shape[0])
    _, hi = _bounds_sum(np.array([np.sum(hi_r)]), a.shape[0])
    slack = 0.0 if exact else up(up(math.sqrt(a.size)) * ETA)
    return _enc(sqrt_down(float(lo[0])), sqrt_up(float(hi[0])), e, exact, slack, "frobenius_norm", dev)


def norm_21(W: Any, *, over: Literal["columns", "rows"] = "columns", device: Device = "auto") -> Enclosure:
    """Certified ``||W||_{2,1} = sum_j ||W[:, j]||_2`` (``over="columns"``) or ``sum_i ||W[i, :]||_2`` (``"rows"``).

    Bartlett et al. (2017) use ``||A^T||_{2,1}``, i.e. ``norm_21(A, over="rows")`` for ``A`` of shape (out, in).
    """
    check_choice(over, ("columns", "rows"), f"over={over!r}: 'columns' or 'rows'")
    dev = resolve_device(device, "kernels.norm_21", has_cuda_path=True)
    a, e, exact = _prepare(W)
    if over == "columns":
        a = np.ascontiguousarray(a.T)
    if a.size == 0:
        return Enclosure(0.0, 0.0, tag_source(f"kernels.norm_21 {_V}", dev))
    sq, _ = _sums(a, dev)
    lo_r, hi_r = _bounds_sumsq(sq, a.shape[1])
    r_lo = np.maximum(np.nextafter(np.sqrt(lo_r), -np.inf), 0.0)
    r_hi = np.nextafter(np.sqrt(hi_r), np.inf)
    lo, _ = _bounds_sum(np.array([np.sum(r_lo)]), a.shape[0])
    _, hi = _bounds_sum(np.array([np.sum(r_hi)]), a.shape[0])
    slack = 0.0 if exact else up(a.shape[0] * up(math.sqrt(a.shape[1])) * ETA)
    return _enc(float(lo[0]), float(hi[0]), e, exact, slack, "norm_21", dev)


def norm_1_inf(W: Any, *, device: Device = "auto") -> Enclosure:
    """Certified ``max_i sum_j |W_ij|`` (largest l1 norm of a unit's incoming weights; Neyshabur et al. 2015)."""
    dev = resolve_device(device, "kernels.norm_1_inf", has_cuda_path=True)
    a, e, exact = _prepare(W)
    if a.size == 0:
        return Enclosure(0.0, 0.0, tag_source(f"kernels.norm_1_inf {_V}", dev))
    _, ab = _sums(a, dev)
    lo_r, hi_r = _bounds_sum(ab, a.shape[1])
    slack = 0.0 if exact else up(a.shape[1] * ETA)
    return _enc(float(np.max(lo_r)), float(np.max(hi_r)), e, exact, slack, "norm_1_inf", dev)


def max_abs(W: Any) -> Enclosure:
    """``max |W_ij|``: exact (a point enclosure)."""
    check_environment("kernels.max_abs")
    a = as_float64(W, "W")
    m = float(np.max(np.abs(a))) if a.size else 0.0
    return Enclosure(m, m, f"kernels.max_abs {_V}")


def distance_to_init(W: Any, W0: Any, *, norm: Literal["fro", "21"] = "fro",
                     over: Literal["columns", "rows"] = "columns", device: Device = "auto") -> Enclosure:
    """Certified ``||W - W0||`` (Frobenius or (2,1)). ``D~ = fl(W - W0)`` has ``|D - D~| <= u |D~|`` entrywise
    (round-to-nearest subtraction; exact on underflow), so the norm of the exact difference lies in
    ``[(1 - u) ||D~||_lo, (1 + u) ||D~||_hi]`` for both norms (they are absolute and monotone)."""
    check_choice(norm, ("fro", "21"), f"norm={norm!r}: 'fro' or '21'")
    a = as_float64(W, "W")
    b = as_float64(W0, "W0")
    if a.shape != b.shape:
        raise InvalidInput(f"W0.shape={b.shape!r}: must equal W.shape={a.shape!r}")
    with np.errstate(over="raise"):
        try:
            d = a - b
        except FloatingPointError:
            raise InvalidInput("W - W0 overflows float64; scale both by a power of two first") from None
    dev = resolve_device(device, "kernels.distance_to_init", has_cuda_path=True)
    enc = frobenius_norm(d, device=dev) if norm == "fro" else norm_21(d, over=over, device=dev)
    lo = max(down(enc.lo * down(1.0 - U)), 0.0)
    hi = up(enc.hi * up(1.0 + U))
    return Enclosure(lo, hi, tag_source(f"kernels.distance_to_init[{norm}] {_V}", dev))


def parameter_count(weights: Any) -> int:
    """Exact number of entries of one array or of a list of arrays."""
    if isinstance(weights, (list, tuple)):
        return sum(parameter_count(w) for w in weights)
    return int(np.prod(np.shape(weights)))


def nonzero_count(weights: Any) -> int:
    """Exact number of nonzero entries (one array or a list)."""
    if isinstance(weights, (list, tuple)):
        return sum(nonzero_count(w) for w in weights)
    return int(np.count_nonzero(as_float64(weights, "weights")))


def sparsity(weights: Any) -> Enclosure:
    """Fraction of exactly-zero entries, as an outward-rounded enclosure of the exact rational."""
    total = parameter_count(weights)
    if total == 0:
        raise InvalidInput("weights has no entries: sparsity of an empty set is undefined")
    zeros = total - nonzero_count(weights)
    if zeros in (0, total):
        q = float(zeros // total)
        return Enclosure(q, q, f"kernels.sparsity {_V}")
    q = zeros / total  # correctly rounded: the exact rational lies within one ulp
    return Enclosure(max(down(q), 0.0), min(up(q), 1.0), f"kernels.sparsity {_V}")


@dataclass(frozen=True, slots=True)
class MatrixNorms:
    """Certified norms of one matrix ``W`` (``(out, in)``), each an :class:`Enclosure` of the exact value.

    Attributes:
        frobenius: ``||W||_F``.
        max_row_l2, max_col_l2: ``max_i ||W[i, :]||_2`` and ``max_j ||W[:, j]||_2`` (each a lower bound of
            ``||W||_2``, since ``||W^T e_i||, ||W e_j|| <= ||W||_2``).
        max_row_l1, max_col_l1: ``||W||_inf = max_i sum_j |W_ij|`` and ``||W||_1 = max_j sum_i |W_ij|``
            (Schur: ``||W||_2 <= sqrt(||W||_1 ||W||_inf)``).
    """

    frobenius: Enclosure
    max_row_l2: Enclosure
    max_col_l2: Enclosure
    max_row_l1: Enclosure
    max_col_l1: Enclosure


def matrix_norms(W: Any) -> MatrixNorms:
    """:class:`MatrixNorms` of ``W`` (any shape, flattened to (rows, rest)) from one parallel sweep over the entries.

    Rounding model as in the module docstring: ``W`` is scaled by ``2^-e`` entry by entry inside the sweep (exact,
    else each entry moves by at most ``eta`` and every norm by at most that of an ``eta``-matrix of its shape); per
    row and per column the rounded sums ``fl(sum x^2)`` (``n`` terms, ``|error| <= gamma_n s + n eta``) and
    ``fl(sum |x|)`` (``|error| <= gamma_n s``) are bounded, square roots and the unscaling rounded outward. A maximum
    of lower (upper) bounds is a lower (upper) bound of the maximum. CPU only; a C-contiguous float64 ``W`` is read
    in place (no copy)."""
    what = "matrix_norms"
    check_environment(f"kernels.{what}")
    if isinstance(W, np.ndarray) and W.dtype == np.float64 and W.ndim >= 2 and W.flags.c_contiguous:
        a = W.reshape(W.shape[0], -1)
        if not all_finite(a):
            raise InvalidInput("W contains NaN or Inf: a norm of non-finite weights is undefined; clean the weights")
    else:
        a = as_float64(W, "W")
        a = a.reshape(a.shape[0], -1) if a.ndim >= 2 else a.reshape(1, -1)
    m, n = a.shape
    if a.size == 0:
        z = Enclosure(0.0, 0.0, f"kernels.{what} {_V}")
        return MatrixNorms(z, z, z, z, z)
    amax = float(abs_max(a.reshape(-1)))
    e = math.frexp(amax)[1] if amax else 0
    chunks = max(1, min(m, _ROW_BLOCKS))  # fixed: the column sums' order must not depend on the thread count
    rsq, rab, csq, cab, exact = _row_col_sums(a, e, chunks)
    r_lo, r_hi = _bounds_sumsq(rsq, n)
    c_lo, c_hi = _bounds_sumsq(csq, m)
    f_lo, _ = _bounds_sum(np.array([np.sum(r_lo)]), m)
    _, f_hi = _bounds_sum(np.array([np.sum(r_hi)]), m)
    ra_lo, ra_hi = _bounds_sum(rab, n)
    ca_lo, ca_hi = _bounds_sum(cab, m)

    def slack(k: float) -> float:
        return 0.0 if exact else up(k * ETA)

    return MatrixNorms(
        frobenius=_enc(sqrt_down(float(f_lo[0])), sqrt_up(float(f_hi[0])), e, exact, slack(up(math.sqrt(a.size))),
                       what),
        max_row_l2=_enc(sqrt_down(float(np.max(r_lo))), sqrt_up(float(np.max(r_hi))), e, exact,
                        slack(up(math.sqrt(n))), what),
        max_col_l2=_enc(sqrt_down(float(np.max(c_lo))), sqrt_up(float(np.max(c_hi))), e, exact,
                        slack(up(math.sqrt(m))), what),
        max_row_l1=_enc(float(np.max(ra_lo)), float(np.max(ra_hi)), e, exact, slack(float(n)), what),
        max_col_l1=_enc(float(np.max(ca_lo)), float(np.max(ca_hi)), e, exact, slack(float(m)), what),
    )
