"""Exact minimum-spanning-tree total length of a point cloud, as a proven enclosure.

The total edge length of the Euclidean minimum spanning tree equals the sum of the finite death times of
the degree-0 persistence barcode of the Vietoris-Rips filtration (Birdal et al., NeurIPS 2021, sec. 3;
Schweinhart 2020), so ``mst_length`` is the exact ``E^1_0`` of Birdal et al. without a persistence solver.

Algorithms
----------
* direct path (Manhattan always; Euclidean for ``d < 32``): Prim's algorithm, O(n^2 d) work, the distances
  computed on the fly (no n x n matrix), the key update of each step parallel over the remaining points;
* GEMM path (Euclidean, ``d >= 32``): the Gram matrix of the centred points by float64 BLAS, from which a
  matrix ``L`` of *proven lower bounds* ``L_ij <= d_ij`` on all pairwise distances; Prim on ``L``.

The distance sums themselves and the centred Gram matrix are those of :mod:`kernels._distances`.

Rounding model and enclosure (binary64, round to nearest, ``u = 2**-53``, ``gamma_n = n u/(1 - n u)``,
``eta = 2**-1074``; any summation order, FMA or not: Higham, *Accuracy and Stability*, Lemma 3.1 and sec. 3.1):

* Euclidean, computed ``s^ = fl(sum (x_k - y_k)^2)`` satisfies ``|s^ - s| <= gamma_{d+2} s + 2 d eta``
  (one rounding per subtraction and per square, ``d - 1`` per addition, all terms non-negative; ``2 d eta``
  covers products that underflow), and the computed length ``c = fl(sqrt(s^))`` satisfies
  ``d_xy >= c (1 - gamma_{d+3}) - sqrt(2 d eta)`` and ``d_xy <= sqrt((s^ + 2 d eta)/(1 - gamma_{d+2}))``.
* Manhattan, ``c = fl(sum |x_k - y_k|)`` (a float difference that is subnormal is exact) satisfies
  ``c (1 - gamma_d) <= d_xy <= c / (1 - gamma_d)``.
* GEMM: with ``G = fl(X~ X~^T)`` for the centred ``X~ = fl(X - m)``, ``g_ij = G_ii + G_jj - 2 G_ij`` satisfies
  ``|g_ij - d~_ij^2| <= gamma_{d+4} (|x~_i| + |x~_j|)^2`` and ``|x~_i|^2 <= G_ii / (1 - gamma_d)``; centring moves
  each point by at most ``u |x~_i| / (1 - u)``. Hence ``L_ij = sqrt(max(0, g_ij - K (r_i + r_j)^2)) - 2u (r_i + r_j)``
  with ``K = gamma_{d+4}/(1 - gamma_d)`` and ``r_i >= sqrt(G_ii)`` is a lower bound on ``d_ij``; every operation
  computing ``L`` is followed by a step of one ulp in the safe direction. Where this bound is loose (pairs much
  closer than their norms), up to 32 such partners per point (closest first) get ``max(L_ij, c_ij (1 - rho) - a)``
  with the direct-sum bound below: the maximum of two lower bounds is one.

Why the result encloses the exact MST length ``W*`` (exact real distances of the stored float points):

* upper end: our tree ``T`` is a spanning tree, so ``W* <= sum_{e in T} d_e``; each ``d_e`` is bounded above
  as above and the sum is taken with ``math.fsum`` (correctly rounded) and one ulp up.
* lower end, direct path: ``T`` is a minimum spanning tree *for the computed lengths* ``c`` (Prim's comparisons
  of floats are exact). For the exact MST ``T*``: ``W* = sum_{T*} d_e >= (1 - rho) sum_{T*} c_e - (n-1) a
  >= (1 - rho) W_c(T) - (n - 1) a``, with ``(rho, a) = (gamma_{d+3}, sqrt(2 d eta))`` (Euclidean) or
  ``(gamma_d, 0)`` (Manhattan): lowering every edge length by a relative ``rho`` and an absolute ``a`` lowers
  the MST weight by at most ``rho W + (n - 1) a``.
* lower end, GEMM path: ``L <= d`` entrywise and the MST weight is monotone in the edge weights, so
  ``W* >= MST_L = W_L(T)`` where ``T`` is Prim's tree on ``L`` (exact for the stored ``L``).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from boundcert.errors import InternalError
from kernels._device import Device, resolve_device, tag_source
from kernels._distances import GEMM_MIN_DIM, centered_gram, dist, gram_diagonal, gram_sq, sq_or_l1
from kernels._enclosure import Enclosure
from kernels._rounding import ETA, U, down, fsum_down, fsum_up, gamma, up
from kernels._validation import Metric, as_points, check_metric

__all__ = ["mst_length", "mst_tree", "direct_enclosure"]

_SOURCE = "kernels.mst_length/1"
_SOURCE_CUDA = "kernels.mst_length/cuda-prim v1"


@numba.njit(fastmath=False, parallel=True, cache=True)
def _prim_onthefly(X, metric):
    """Prim's algorithm from vertex 0 with distances on the fly; returns parent[] (parent[0] = -1)."""
    n = X.shape[0]
    in_tree = np.zeros(n, dtype=np.bool_)
    key = np.full(n, np.inf)
    parent = np.full(n, -1, dtype=np.int64)
    cur = 0
    in_tree[0] = True
    for _ in range(n - 1):
        for v in numba.prange(n):
            if not in_tree[v]:
                dv = dist(X, cur, v, metric)
                if dv < key[v]:
                    key[v] = dv
                    parent[v] = cur
        best = -1
        bk = np.inf
        for v in range(n):
            if not in_tree[v] and (best == -1 or key[v] < bk):
                best = v
                bk = key[v]
        in_tree[best] = True
        cur = best
    return parent


@numba.njit(fastmath=False, cache=True)
def _prim_dense(D, idx):
    """Prim on the sub-matrix ``D[idx][:, idx]``; returns parent positions (into idx) and edge weights."""
    n = idx.shape[0]
    in_tree = np.zeros(n, dtype=np.bool_)
    key = np.full(n, np.inf)
    parent = np.full(n, -1, dtype=np.int64)
    w = np.zeros(n)
    cur = 0
    in_tree[0] = True
    for _ in range(n - 1):
        row = idx[cur]
        best = -1
        bk = np.inf
        for v in range(n):
            if not in_tree[v]:
                dv = D[row, idx[v]]
                if dv < key[v]:
                    key[v] = dv
                    parent[v] = cur
                if best == -1 or key[v] < bk:
                    best = v
                    bk = key[v]
        in_tree[best] = True
        w[best] = bk
        cur = best
    return parent, w


@numba.njit(fastmath=False, parallel=True, cache=True)
def _gemm_lower_inplace(G, r, K, c2):
    """Overwrite the Gram matrix G with the proven lower bounds L_ij (see module docstring)."""
    n = G.shape[0]
    diag = gram_diagonal(G)
    for i in numba.prange(n):
        for j in range(n):
            if i == j:
                G[i, j] = 0.0
                continue
            g = gram_sq(G, diag, i, j)
            t = np.nextafter(r[i] + r[j], np.inf)
            p = np.nextafter(np.nextafter(t * t, np.inf) * K, np.inf)
            a = np.nextafter(g - p, -np.inf)
            if a <= 0.0:
                G[i, j] = 0.0
                continue
            s = np.nextafter(math.sqrt(a), -np.inf)
            q = np.nextafter(c2 * t, np.inf)
            lo = np.nextafter(s - q, -np.inf)
            G[i, j] = lo if lo > 0.0 else 0.0
    return G


@numba.njit(fastmath=False, parallel=True, cache=True)
def _loose_pairs(G2, r, K, tau, kmax):
    """Per row, up to kmax partners j whose GEMM bound is loose (K (r_i + r_j)^2 > tau g_ij), smallest g first.

    G2 holds the computed squared distances g_ij (a measure, only used to choose pairs)."""
    n = G2.shape[0]
    out = np.full((n, kmax), -1, dtype=np.int64)
    for i in numba.prange(n):
        cand = np.empty(n, dtype=np.int64)
        m = 0
        for j in range(n):
            if j != i:
                t = r[i] + r[j]
                if K * t * t > tau * G2[i, j]:
                    cand[m] = j
                    m += 1
        if m > kmax:
            vals = np.empty(m)
            for q in range(m):
                vals[q] = G2[i, cand[q]]
            order = np.argsort(vals)
            for q in range(kmax):
                out[i, q] = cand[order[q]]
        else:
            for q in range(m):
                out[i, q] = cand[q]
    return out


@numba.njit(fastmath=False, parallel=True, cache=True)
def _refine_lower(L, X, a, b, one_minus_rho, abs_err):
    """L[a_e, b_e] = L[b_e, a_e] = max(L, direct lower bound c (1 - rho) - abs_err), every step rounded down."""
    for e in numba.prange(a.shape[0]):
        i, j = a[e], b[e]
        c = math.sqrt(sq_or_l1(X, i, j, 0))
        lo = np.nextafter(np.nextafter(c * one_minus_rho, -np.inf) - abs_err, -np.inf)
        if lo > L[i, j]:
            L[i, j] = lo
            L[j, i] = lo
    return L


@numba.njit(fastmath=False, parallel=True, cache=True)
def _edge_values(X, a, b, metric):
    out = np.empty(a.shape[0])
    for e in numba.prange(a.shape[0]):
        out[e] = sq_or_l1(X, a[e], b[e], metric)
    return out


def _gemm_lower_matrix(X: np.ndarray) -> np.ndarray:
    d = X.shape[1]
    G = centered_gram(X)
    gd = gamma(d)
    K = up(up(gamma(d + 4)) / down(1.0 - gd))
    K = up(K * up(1.0 + 8 * U))  # slack for the products in the kernel (already stepped, kept as margin)
    c2 = up(2.0 * U * up(1.0 + 4 * gd))
    r = np.nextafter(np.sqrt(np.maximum(np.diag(G), 0.0)), np.inf)
    # where the GEMM bound is loose (pairs much closer than the points' norms), take the larger of it and the
    # direct-sum bound (both are proven lower bounds, so is their maximum); the smallest candidates per row first
    diag = np.diag(G).copy()
    G2 = np.maximum(diag[:, None] + diag[None, :] - 2.0 * G, 0.0)
    tau = max(1e-13, 4.0 * gamma(d + 5))
    pairs = _loose_pairs(G2, r, K, tau, 32)
    del G2
    L = _gemm_lower_inplace(G, r, K, c2)
    i = np.repeat(np.arange(X.shape[0], dtype=np.int64), pairs.shape[1])
    j = pairs.ravel()
    keep = j >= 0
    i, j = i[keep], j[keep]
    code = np.unique(np.minimum(i, j) * X.shape[0] + np.maximum(i, j))
    a, b = code // X.shape[0], code % X.shape[0]
    rho, abs_err = _direct_slack(d)
    return _refine_lower(L, X, a.astype(np.int64), b.astype(np.int64), down(1.0 - rho), abs_err)


def _direct_slack(d: int) -> tuple[float, float]:
    """(rho, a) with d_xy >= c (1 - rho) - a for a directly computed Euclidean length c (module docstring);
    rho = gamma_{d+3} plus two roundings of slack, in case the compiler contracted a multiply-add differently
    in two loops computing the same length (the values would then differ by an ulp or two)."""
    return gamma(d + 5), up(math.sqrt(d) * 2.0**-537 * math.sqrt(2.0)) * 2.0


def mst_tree(points: np.ndarray, metric: Metric = "euclidean", *, path: str = "auto") -> tuple[np.ndarray, np.ndarray]:
    """A minimum spanning tree of the points: ``(parent, length)`` with ``parent[0] = -1``.

    ``length[v]`` is the directly computed float64 length of edge ``(v, parent[v])`` (``length[0] = 0``).
    The tree is exactly minimal for the lengths Prim compared (see the module docstring); the lengths are
    measures, their enclosure is :func:`mst_length`.
    """
    X = as_points(points)
    code = check_metric(metric)
    parent, _, _ = _tree(X, code, path)
    n = X.shape[0]
    length = np.zeros(n)
    if n > 1:
        v = np.arange(1, n)
        vals = _edge_values(X, v, parent[1:], code)
        length[1:] = np.sqrt(vals) if code == 0 else vals
    return parent, length


def _tree(X: np.ndarray, code: int, path: str) -> tuple[np.ndarray, str, float]:
    """Parent array, the path used, and (GEMM path) a proven lower bound on the MST length."""
    n, d = X.shape
    if path == "auto":
        path = "gemm" if (code == 0 and d >= GEMM_MIN_DIM and 3 <= n <= 20000) else "direct"  # two n x n float64 matrices
    if n == 1:
        return np.array([-1], dtype=np.int64), path, 0.0
    if path == "gemm":
        L = _gemm_lower_matrix(X)
        parent, w = _prim_dense(L, np.arange(n, dtype=np.int64))
        return parent, path, fsum_down(w[1:])
    return _prim_onthefly(X, code), "direct", -math.inf


def mst_length(points: object, metric: Metric = "euclidean", *, device: Device = "auto") -> Enclosure:
    """Enclosure of the exact total length of a minimum spanning tree of ``points`` (rows of an (n, d) array).

    The exact value is for the real distances (Euclidean or Manhattan) between the float points as stored.
    The combinatorics are found in float64 (Prim, O(n^2 d)); the length is enclosed as proven in the module
    docstring: the upper end from the exact lengths of our (spanning) tree, the lower end from the minimality
    of the tree for the computed (direct path) or lower-bounded (GEMM path) lengths.

    Args:
        points: (n, d) array of finite numbers, n >= 1 (one point: length 0).
        metric: ``"euclidean"`` or ``"manhattan"``.
        device: ``"auto"``, ``"cpu"`` or ``"cuda"`` (numba.cuda Prim with the direct path's error model,
            :mod:`kernels._cuda_mst`); the device that ran is recorded in ``source``.

    Returns:
        ``Enclosure(lo, hi)`` with ``lo <= W* <= hi``.
    """
    dev = resolve_device(device, "kernels.mst_length", has_cuda_path=True)
    code = check_metric(metric)
    X = as_points(points)
    n, d = X.shape
    source = _SOURCE if dev == "cpu" else _SOURCE_CUDA
    if n == 1:
        return Enclosure(0.0, 0.0, tag_source(source, dev))
    if dev == "cuda":
        from kernels._cuda_mst import prim_cuda

        parent, c = prim_cuda(X, code)
        lo, hi = direct_enclosure(X, code, parent, c[1:])
        return Enclosure(lo, hi, tag_source(source, dev))
    parent, path, gemm_lo = _tree(X, code, "auto")
    lo, hi = direct_enclosure(X, code, parent, None, gemm_lo if path == "gemm" else None)
    return Enclosure(lo, hi, tag_source(source, dev))


def direct_enclosure(X: np.ndarray, code: int, parent: np.ndarray, compared: np.ndarray | None,
                     lower: float | None = None) -> tuple[float, float]:
    """``(lo, hi)`` of the exact MST length from a spanning tree ``parent`` (module docstring).

    ``compared``: the lengths of the tree's edges ``(v, parent[v])``, ``v >= 1``, that Prim compared when it
    found the tree (None: recompute them here with the CPU loop, the same order of operations as Prim's);
    ``lower``: a proven lower bound found otherwise (GEMM path), used instead of the direct one.
    """
    n, d = X.shape
    a = np.arange(1, n, dtype=np.int64)
    vals = _edge_values(X, a, parent[1:], code)
    if code == 0:
        g2 = gamma(d + 2)
        tiny = up(2.0 * d * ETA)
        hi_e = np.nextafter(np.sqrt(np.nextafter(np.nextafter(vals + tiny, np.inf) / down(1.0 - g2), np.inf)), np.inf)
        if lower is not None:
            lo = lower
        else:
            c = np.sqrt(vals) if compared is None else np.asarray(compared, dtype=np.float64)
            rho, abs_err = _direct_slack(d)
            lo = down(down(fsum_down(c) * down(1.0 - rho)) - up((n - 1) * abs_err))
    else:
        gd = gamma(d)
        hi_e = np.nextafter(vals / down(1.0 - gd), np.inf)
        c = vals if compared is None else np.asarray(compared, dtype=np.float64)
        lo = down(fsum_down(c) * down(1.0 - gamma(d + 2)))  # two roundings of slack, as above
    hi = fsum_up(hi_e)
    lo = max(lo, 0.0)
    if lo > hi:
        raise InternalError(f"mst_length: lo={lo!r} > hi={hi!r}; a kernel bug, please report the points")
    return lo, hi
