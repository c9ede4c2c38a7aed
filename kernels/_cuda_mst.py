"""numba.cuda path of :func:`kernels.mst_length` and of the distance matrix of :func:`kernels.ph_dim`.

Prim's algorithm runs on the device with distances on the fly (no n x n matrix): per step one launch relaxes
the keys of all points outside the tree against the newest tree vertex (one thread per point, the distance a
left-to-right float64 sum as :func:`kernels._distances.dist` on the CPU), and one single-block launch selects the next vertex
(smallest key, ties to the smallest index, exactly as the CPU loop). The lengths Prim compared for the chosen
edges come back with the tree.

Rounding model: the CPU direct path's (:mod:`kernels._mst`). A device length ``c = fl(sqrt(fl(sum t_k^2)))``
or ``fl(sum |t_k|)`` obeys the same ``gamma`` bounds with or without FMA contraction (Higham Lemma 3.1), so the
enclosure is formed on the host by :func:`kernels._mst.direct_enclosure` from the tree and the device lengths:
the lower end from the minimality of the tree for the device lengths, the upper end from the chosen edges'
lengths recomputed on the host with their a-priori bounds.
"""

from __future__ import annotations

import math

import numpy as np
from numba import cuda

from kernels._device import cuda_simulated, torch_cuda_available
from kernels._distances import GEMM_MIN_DIM
from kernels._environment import check_environment

__all__ = ["prim_cuda", "distance_matrix_cuda", "gram_distances_torch"]

# threads per block of the relax kernel and of the single selection block (a power of two); the simulator runs
# each thread as a Python thread, so it gets small blocks (the result does not depend on the sizes)
_TPB = 32 if cuda_simulated() else 128
_SEL = 16 if cuda_simulated() else 256


@cuda.jit(device=True)
def _dist_dev(X, i, j, metric):
    s = 0.0
    if metric == 0:
        for k in range(X.shape[1]):
            t = X[i, k] - X[j, k]
            s += t * t
        return math.sqrt(s)
    for k in range(X.shape[1]):
        s += abs(X[i, k] - X[j, k])
    return s


@cuda.jit
def _relax(X, cur, in_tree, key, parent, metric):
    v = cuda.grid(1)
    if v < X.shape[0] and not in_tree[v]:
        c = cur[0]
        dv = _dist_dev(X, c, v, metric)
        if dv < key[v]:
            key[v] = dv
            parent[v] = c


@cuda.jit
def _select(key, in_tree, cur, w):
    """One block: argmin of key over points outside the tree (first index on ties); adds it to the tree."""
    bk = cuda.shared.array(_SEL, dtype=np.float64)
    bi = cuda.shared.array(_SEL, dtype=np.int64)
    t = cuda.threadIdx.x
    n = key.shape[0]
    best = -1
    bval = 0.0
    v = t
    while v < n:
        if not in_tree[v] and (best == -1 or key[v] < bval):
            best = v
            bval = key[v]
        v += _SEL
    bk[t] = bval
    bi[t] = best
    cuda.syncthreads()
    step = _SEL // 2
    while step > 0:
        if t < step:
            j = bi[t + step]
            if j != -1:
                i = bi[t]
                if i == -1 or bk[t + step] < bk[t] or (bk[t + step] == bk[t] and j < i):
                    bk[t] = bk[t + step]
                    bi[t] = j
        cuda.syncthreads()
        step //= 2
    if t == 0:
        b = bi[0]
        in_tree[b] = True
        cur[0] = b
        w[b] = bk[0]


def prim_cuda(X: np.ndarray, metric: int) -> tuple[np.ndarray, np.ndarray]:
    """Prim from vertex 0 on the device: ``(parent, c)`` with ``parent[0] = -1`` and ``c[v]`` the device length
    of edge ``(v, parent[v])`` that Prim compared (``c[0] = 0``). The tree is minimal for those lengths."""
    n = X.shape[0]
    dX = cuda.to_device(np.ascontiguousarray(X, dtype=np.float64))
    in_tree = np.zeros(n, dtype=np.bool_)
    in_tree[0] = True
    d_in = cuda.to_device(in_tree)
    d_key = cuda.to_device(np.full(n, np.inf))
    d_parent = cuda.to_device(np.full(n, -1, dtype=np.int64))
    d_cur = cuda.to_device(np.zeros(1, dtype=np.int64))
    d_w = cuda.to_device(np.zeros(n))
    blocks = (n + _TPB - 1) // _TPB
    for _ in range(n - 1):
        _relax[blocks, _TPB](dX, d_cur, d_in, d_key, d_parent, metric)
        _select[1, _SEL](d_key, d_in, d_cur, d_w)
    return d_parent.copy_to_host(), d_w.copy_to_host()


@cuda.jit
def _pairwise(X, D, metric):
    i, j = cuda.grid(2)
    n = X.shape[0]
    if i < n and j < n:
        D[i, j] = 0.0 if i == j else _dist_dev(X, min(i, j), max(i, j), metric)


def distance_matrix_cuda(X: np.ndarray, metric: int, *, method: str = "auto") -> np.ndarray:
    """Float64 pairwise distances computed on the device (a measure, used by :func:`kernels.ph_dim`).

    ``method="direct"``: the numba.cuda kernel (symmetric, each pair summed in the (min, max) order of the CPU
    direct matrix); ``"gemm"``: Euclidean through the float64 Gram matrix of the centred points on a torch CUDA
    device (cuBLAS dgemm, never TF32), the CPU GEMM estimate of :func:`kernels._distances.distance_matrix`.
    ``"auto"``: GEMM for Euclidean ``d >= 32`` when torch has CUDA, else direct.
    """
    if method == "auto":
        use_gemm = metric == 0 and X.shape[1] >= GEMM_MIN_DIM and torch_cuda_available()
        method = "gemm" if use_gemm else "direct"
    if method == "gemm":
        return gram_distances_torch(X, "cuda")
    n = X.shape[0]
    dX = cuda.to_device(np.ascontiguousarray(X, dtype=np.float64))
    dD = cuda.device_array((n, n), dtype=np.float64)
    tpb = (16, 16)
    grid = ((n + 15) // 16, (n + 15) // 16)
    _pairwise[grid, tpb](dX, dD, metric)
    return dD.copy_to_host()


def gram_distances_torch(X: np.ndarray, device: str) -> np.ndarray:
    """``sqrt(max(0, G_ii + G_jj - 2 G_ij))`` for ``G`` the float64 Gram matrix of the centred points, formed on
    a torch device (a measure; the tests run it on a torch CPU device)."""
    import torch

    check_environment("kernels.ph_dim")  # TF32 never reaches float64 GEMMs; refuse a TF32 environment anyway
    t = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float64)).to(device)
    t = t - t.mean(dim=0)
    g = t @ t.T
    del t
    diag = torch.diagonal(g).clone()
    d2 = (diag[:, None] + diag[None, :]) - 2.0 * g
    del g
    d = torch.sqrt(torch.clamp(d2, min=0.0))
    d.fill_diagonal_(0.0)
    return d.to("cpu").numpy()
