"""Minimum spanning trees of many subsets of one Euclidean point cloud, computing few distances exactly.

The PH-dimension schedule (:mod:`kernels._phdim`) needs the MST of every sample, and the samples together cover
nearly every pair of points: a dense distance matrix costs ``N^2 d`` multiply-adds, which dominates for large
``d``. For point clouds near a low-dimensional linear structure (training trajectories, the setting of Birdal
et al. 2021) most of that work can be skipped without changing any tree:

* a **lower bound** ``L_ij <= d_ij`` on every pair, cheap to compute: with ``P`` the orthogonal projector onto the
  span of ``k = 32`` evenly spaced points (centred on their mean ``m``),
  ``d_ij^2 = |P(x_i - x_j)|^2 + |(I - P)(x_i - x_j)|^2`` and the second term is at least ``(rho_i - rho_j)^2``
  with ``rho_i = |(I - P)(x_i - m)|`` (reverse triangle inequality). Cost: ``2 N d k`` (one BLAS pass over the
  points) plus ``N^2 k``.
* **certified Prim rounds**: Prim on the matrix ``M`` that holds the directly summed distance ``d^`` where it is
  known and ``L`` elsewhere; the tree edges that are not exact yet are computed directly (one pass, in parallel)
  and Prim is re-run on those samples, until every edge of every tree is exact. Such a tree is a minimum spanning
  tree for ``d^`` (**cut property**): each edge Prim added had ``d^_e = M_e <= M_f <= d^_f`` for every edge ``f``
  across the same cut, because ``M <= d^`` entrywise.

The trees do not depend on ``L`` or on the landmarks (only the speed does), up to exact ties of ``d^``, where
any minimum tree may come out. Rounding: ``L`` carries margins for the rounding of the projections (Higham's
``gamma_n`` on sums of ``d`` products, the measured loss of orthogonality of the landmark basis), of the norms
and of the scalar steps, and a final relative margin ``gamma_{d+16}`` below the directly computed length, which
is ``>= d (1 - gamma_{d+3})``. The lengths are a measure, as in :mod:`kernels._phdim`; were a margin ever short by
``e``, a tree's total could be off by at most ``(n - 1) e``.

When the bounds are loose (points spread over many directions at the scale of their nearest-neighbour distances,
e.g. i.i.d. Gaussian clouds) the rounds would compute most distances one by one; :func:`sample_msts` then gives up
early (a pre-check on the residual norms, a budget of exact pairs, a number of rounds) and returns ``None``: the
caller uses the dense distance matrix, so the speed-up needs the structure but the answer never does.

Threads: BLAS runs single-threaded here (its worker threads would otherwise keep spinning beside numba's), the one
large product split over Python threads instead.
"""

from __future__ import annotations

import functools
import math
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
from threadpoolctl import ThreadpoolController

from boundcert.errors import InternalError
from kernels._rounding import U, gamma

__all__ = ["sample_msts", "prim_blocks", "PRUNE_MIN_DIM"]

PRUNE_MIN_DIM = 2048  # below this the dense distance matrix is as fast (measured at N = 1000 and 3000)
N_LANDMARKS = 32
MAX_ROUNDS = 8
PAIR_BUDGET = 1.0 / 16.0  # fraction of all pairs computed one by one before falling back to the dense matrix
RESIDUAL_RATIO = 0.25  # pre-check: median (2 rho_i / nearest-neighbour L_i)^2 above this -> dense


@numba.njit(fastmath=False, cache=True)
def _prim_sub(M, idx, par, w):
    """Prim on ``M[idx][:, idx]`` from position 0: ``par[v]`` (position of the parent, ``par[0] = -1``) and
    ``w[v]`` (the weight of the edge to the parent) for each position ``v``; O(n^2), the positions not yet in
    the tree kept compacted."""
    n = idx.shape[0]
    par[0] = -1
    w[0] = 0.0
    if n == 1:
        return
    m = n - 1
    rem = np.empty(m, dtype=np.int64)  # positions not in the tree yet
    col = np.empty(m, dtype=np.int64)  # their point indices
    key = np.empty(m)
    kp = np.empty(m, dtype=np.int64)
    buf = np.empty(m)
    row = M[idx[0]]
    for q in range(m):
        rem[q] = q + 1
        col[q] = idx[q + 1]
        key[q] = row[col[q]]
        kp[q] = 0
    while True:
        best = 0
        bk = key[0]
        for q in range(1, m):
            if key[q] < bk:
                bk = key[q]
                best = q
        v = rem[best]
        par[v] = kp[best]
        w[v] = bk
        m -= 1
        rem[best] = rem[m]
        col[best] = col[m]
        key[best] = key[m]
        kp[best] = kp[m]
        if m == 0:
            return
        row = M[idx[v]]
        for q in range(m):
            buf[q] = row[col[q]]
        for q in range(m):
            x = buf[q]
            k = key[q]
            kp[q] = v if x < k else kp[q]
            key[q] = min(x, k)


@numba.njit(fastmath=False, parallel=True, cache=True)
def _prim_bins(M, flat, offsets, order, bin_off, par, w):
    """:func:`_prim_sub` on the blocks ``flat[offsets[t]:offsets[t+1]]`` for ``t`` in ``order``; bin ``b``
    (``order[bin_off[b]:bin_off[b+1]]``) runs on one thread."""
    for b in numba.prange(bin_off.shape[0] - 1):
        for q in range(bin_off[b], bin_off[b + 1]):
            t = order[q]
            lo, hi = offsets[t], offsets[t + 1]
            _prim_sub(M, flat[lo:hi], par[lo:hi], w[lo:hi])


def prim_blocks(M: np.ndarray, flat: np.ndarray, offsets: np.ndarray, todo: np.ndarray, par: np.ndarray,
                w: np.ndarray) -> None:
    """:func:`_prim_sub` on each block ``t`` with ``todo[t]``, results into the slices of ``par`` and ``w``; the
    blocks are spread over the threads by cost ``n^2``, largest first (greedy balancing)."""
    ts = np.flatnonzero(todo)
    if ts.size == 0:
        return
    cost = np.diff(offsets)[ts].astype(np.float64) ** 2
    nbins = max(1, min(numba.get_num_threads(), ts.size))
    load = np.zeros(nbins)
    bins: list[list[int]] = [[] for _ in range(nbins)]
    for t, c in sorted(zip(ts.tolist(), cost.tolist()), key=lambda tc: -tc[1]):
        b = int(np.argmin(load))
        bins[b].append(t)
        load[b] += c
    order = np.array([t for b in bins for t in b], dtype=np.int64)
    bin_off = np.concatenate([[0], np.cumsum([len(b) for b in bins])]).astype(np.int64)
    _prim_bins(M, flat, offsets, order, bin_off, par, w)


@numba.njit(fastmath={"reassoc", "contract"}, parallel=True, cache=True)
def _norms(X, m):
    """Squared norms of ``x_i - m`` and of ``x_i`` (sums in any order: Higham's bounds hold for all)."""
    n, d = X.shape
    a2 = np.empty(n)
    x2 = np.empty(n)
    for i in numba.prange(n):
        s = 0.0
        r = 0.0
        for k in range(d):
            v = X[i, k]
            t = v - m[k]
            s += t * t
            r += v * v
        a2[i] = s
        x2[i] = r
    return a2, x2


@numba.njit(fastmath={"reassoc", "contract"}, parallel=True, cache=True)
def _pair_lengths(X, a, b):
    """Directly summed Euclidean lengths ``|x_a[p] - x_b[p]|`` (any order of summation: same error bound)."""
    P = a.shape[0]
    out = np.empty(P)
    for p in numba.prange(P):
        i, j = a[p], b[p]
        s = 0.0
        for k in range(X.shape[1]):
            t = X[i, k] - X[j, k]
            s += t * t
        out[p] = math.sqrt(s)
    return out


@numba.njit(fastmath={"reassoc"}, parallel=True, cache=True)
def _lower_matrix(Z, c, rho_lo, rho_hi, lo_z, shrink):
    """The lower bounds ``L`` (module docstring) from the computed projections ``Z`` and their error radii
    ``c``; returns ``(L, nearest)`` with each row's smallest off-diagonal ``L``. The k-term sums may be
    reordered (same error bound); every comparison is exact."""
    n, r = Z.shape
    L = np.empty((n, n))
    nearest = np.empty(n)
    for i in numba.prange(n):
        row = L[i]
        for j in range(n):
            s = 0.0
            for q in range(r):
                t = Z[i, q] - Z[j, q]
                s += t * t
            row[j] = s
        best = np.inf
        for j in range(n):  # a separate loop, so that it vectorises over j
            p = math.sqrt(row[j] * lo_z) - (c[i] + c[j])
            g = p * p if p > 0.0 else 0.0
            gap = max(rho_lo[i] - rho_hi[j], rho_lo[j] - rho_hi[i], 0.0)
            lij = math.sqrt(g + gap * gap) * shrink
            row[j] = lij
            best = min(best, lij if j != i else np.inf)
        row[i] = 0.0
        nearest[i] = best
    return L, nearest


def _matmul_rows(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """``A @ B`` with one single-threaded BLAS call per row block, the blocks on Python threads: all cores
    without BLAS worker threads that would keep spinning beside numba's threads afterwards."""
    nt = max(1, min(numba.get_num_threads(), A.shape[0]))
    out = np.empty((A.shape[0], B.shape[1]))
    cut = np.linspace(0, A.shape[0], nt + 1).astype(np.int64)
    if nt == 1:
        np.matmul(A, B, out=out)
        return out
    with ThreadPoolExecutor(nt) as ex:
        list(ex.map(lambda t: np.matmul(A[cut[t] : cut[t + 1]], B, out=out[cut[t] : cut[t + 1]]), range(nt)))
    return out


def _landmark_basis(A: np.ndarray) -> np.ndarray:
    """Orthonormal rows (up to rounding) spanning the numerically significant part of the row space of ``A``:
    two passes of ``Q <- Lambda^{-1/2} V^T Q`` with ``Q Q^T = V Lambda V^T``."""
    Q = A
    for _ in range(2):
        if Q.shape[0] == 0:
            break
        lam, V = np.linalg.eigh(Q @ Q.T)
        keep = lam > lam[-1] * 1e-12 if lam[-1] > 0 else np.zeros(lam.size, dtype=bool)
        Q = (V[:, keep] / np.sqrt(lam[keep])).T @ Q
    return Q


def _lower_bounds(X: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(L, rho_hi, nearest)``: the lower-bound matrix, upper bounds on the residual norms and each point's
    smallest ``L`` to another point."""
    N, d = X.shape
    S = np.unique(np.linspace(0, N - 1, k).round().astype(np.int64))
    m = X[S].mean(axis=0)
    Q = _landmark_basis(X[S] - m)  # (r, d)
    r = Q.shape[0]
    eps_w = (r * float(np.max(np.abs(Q @ Q.T - np.eye(r)))) + r * gamma(d)) if r else 0.0
    if eps_w > 0.5:
        raise InternalError(f"landmark basis lost orthogonality (eps_w={eps_w!r}); a kernel bug, please report")
    a2, x2 = _norms(X, m)
    Z = _matmul_rows(X, Q.T) - m @ Q.T  # the centred projections, without a centred copy of X
    zn = np.sqrt(np.einsum("ij,ij->i", Z, Z))
    # |z^_i - z_i| <= c_i: r sums of d products of x_i (resp. m) with a near-unit row, then the difference
    c = (math.sqrt(r) * gamma(d + 4) * (1.0 + eps_w)) * (np.sqrt(x2) + float(np.sqrt(m @ m))) * (1.0 + 8 * U)
    # |P x|^2 lies in |W^T x|^2 [1/(1 + e), 1/(1 - e)] (singular values of the basis), 1/sqrt(1 - e) <= 1 + e
    pz_lo = np.maximum(zn * (1.0 - gamma(r + 2)) - c, 0.0) / math.sqrt(1.0 + eps_w) * (1.0 - 8 * U)
    pz_hi = (zn * (1.0 + gamma(r + 2)) + c) * (1.0 + eps_w) * (1.0 + 8 * U)
    # rho_i^2 = |x_i - m|^2 - |P (x_i - m)|^2; each product below is rounded, hence the factors 1 -+ 4u
    a_lo2 = a2 * (1.0 - gamma(d + 4))
    a_hi2 = a2 * (1.0 + gamma(d + 4))
    rho_lo = np.sqrt(np.maximum(a_lo2 - pz_hi * pz_hi * (1.0 + 4 * U), 0.0)) * (1.0 - 8 * U)
    rho_hi = np.sqrt(np.maximum(a_hi2 - pz_lo * pz_lo * (1.0 - 4 * U), 0.0)) * (1.0 + 8 * U)
    lo_z = (1.0 - gamma(r + 4)) / (1.0 + eps_w)
    # the scalar steps of _lower_matrix round about 10 times; the computed direct length is >= d (1 - gamma_{d+3})
    L, nearest = _lower_matrix(Z, c, rho_lo, rho_hi, lo_z, 1.0 - gamma(d + 16))
    return L, rho_hi, nearest


def sample_msts(X: np.ndarray, flat: np.ndarray, offsets: np.ndarray, *, max_rounds: int = MAX_ROUNDS,
                pair_budget: float = PAIR_BUDGET, residual_ratio: float = RESIDUAL_RATIO) -> np.ndarray | None:
    """Edge lengths of exact Euclidean MSTs of the index blocks ``flat[offsets[t]:offsets[t+1]]`` of ``X``.

    Args:
        X: (N, d) float64 points (C-contiguous, finite; checked by the caller).
        flat, offsets: int64; block ``t`` is ``flat[offsets[t]:offsets[t+1]]`` (indices into ``X``).
        max_rounds, pair_budget, residual_ratio: when to give up (module docstring): after ``max_rounds`` Prim
            rounds, once more than ``pair_budget * N (N - 1) / 2`` distances were computed one by one, or when the
            median of ``(2 rho_i / nearest L_i)^2`` exceeds ``residual_ratio`` (``inf``, ``1.0`` and a large
            ``max_rounds`` never give up).

    Returns:
        ``w`` aligned with ``flat``: ``w[offsets[t] + v]`` is the directly summed length of the edge from position
        ``v`` of block ``t`` to its parent in a minimum spanning tree of the block (``0`` at the root, position 0);
        or ``None`` when it gave up (then use the dense distance matrix).
    """
    with _blas_controller().limit(limits=1, user_api="blas"):
        return _sample_msts(X, flat, offsets, max_rounds, pair_budget, residual_ratio)


@functools.cache
def _blas_controller() -> ThreadpoolController:
    return ThreadpoolController()  # inspecting the loaded libraries takes milliseconds: once


def _sample_msts(X: np.ndarray, flat: np.ndarray, offsets: np.ndarray, max_rounds: int, pair_budget: float,
                 residual_ratio: float) -> np.ndarray | None:
    N, d = X.shape
    M, rho_hi, nearest = _lower_bounds(X, min(N_LANDMARKS, N))
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        q = np.where(rho_hi == 0.0, 0.0, 2.0 * rho_hi / nearest)  # duplicates (nearest 0) count as loose
    if np.median(q) ** 2 > residual_ratio:
        return None
    exact = np.zeros((N, N), dtype=np.bool_)
    T = offsets.size - 1
    todo = np.ones(T, dtype=np.bool_)
    par = np.empty_like(flat)
    w = np.empty(flat.size)
    block = np.repeat(np.arange(T), np.diff(offsets))
    start = offsets[block]
    n_exact, budget = 0, pair_budget * N * (N - 1) / 2
    for _ in range(max_rounds):
        prim_blocks(M, flat, offsets, todo, par, w)
        child = np.flatnonzero(todo[block] & (par >= 0))
        u = flat[child]
        v = flat[start[child] + par[child]]
        bad = ~exact[u, v]
        if not bad.any():
            return w
        code = np.unique(np.minimum(u[bad], v[bad]) * N + np.maximum(u[bad], v[bad]))
        i, j = code // N, code % N
        n_exact += code.size
        if n_exact > budget:
            return None
        dij = _pair_lengths(X, i, j)
        M[i, j] = dij
        M[j, i] = dij
        exact[i, j] = True
        exact[j, i] = True
        todo = np.zeros(T, dtype=np.bool_)
        todo[np.unique(block[child[bad]])] = True
    return None
