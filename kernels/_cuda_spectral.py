"""The Gram matrix of Rump's spectral-norm certificate kept on a torch device (CUDA: cuBLAS / cuSOLVER).

:func:`kernels.spectral_norm` with ``device="cuda"`` runs the CPU algorithm of :mod:`kernels._spectral` line for
line; only the three heavy operations move to the GPU, each with the error model the CPU path already uses:

* ``Gt = fl(A^T A)``: a float64 GEMM (cuBLAS dgemm; float64 GEMMs are never TF32, and the FP64 tensor-core
  path is IEEE binary64 FMA). Each entry is a sum of ``m`` products in some order, with or without FMA:
  ``|Gt - A^T A| <= gamma_m |A|^T |A| + m eta`` entrywise (Higham Lemma 3.1), the bound of
  :func:`kernels._gram.gram_error`. Only the lower triangle of ``Gt`` is read afterwards (the symmetric
  matrix it defines obeys the same entrywise bound), so ``Gt`` need not be exactly symmetric.
* the Cholesky factorisation of ``M = -Gt`` with the shifted diagonal computed on the host by
  :func:`kernels._cholesky.certify_with` (cuSOLVER potrf through ``torch.linalg.cholesky_ex``): Higham's
  Thm 10.3 holds for any order of the inner products (blocked, FMA), so a factorisation that runs to
  completion proves ``M >= -||dM||_2 I`` exactly as LAPACK's does on the CPU.
* the products ``Gt x`` of the Lanczos iteration that picks the test vector (a heuristic: any vector is valid;
  the lower end ``||A v|| / ||v||`` is then evaluated on the host with its a-priori bound).

TF32 is refused by :func:`kernels._environment.check_environment` (called with torch imported), and the
CUDA path is never chosen under the numba simulator (torch has no CUDA there). The class also accepts a torch
CPU device, which is how the test suite runs this code path without a GPU.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse.linalg as spla
import torch

from boundcert.errors import UnsoundEnvironment

__all__ = ["TorchGram"]


class TorchGram:
    """``fl(a^T a)`` on a torch device, with the operations :func:`kernels._spectral._enclose_scaled` needs."""

    def __init__(self, a: np.ndarray, device: str) -> None:
        if bool(torch.backends.cuda.matmul.allow_tf32):
            raise UnsoundEnvironment("kernels.spectral_norm: torch.backends.cuda.matmul.allow_tf32 is True; "
                                     "set it to False (TF32 voids the certified error bounds)")
        self.device = torch.device(device)
        t = torch.from_numpy(np.ascontiguousarray(a, dtype=np.float64)).to(self.device)
        if t.dtype != torch.float64:  # pragma: no cover - from_numpy of float64 is float64
            raise UnsoundEnvironment("kernels.spectral_norm: the Gram matrix must be formed in float64")
        self.g = t.T @ t  # float64 GEMM (cuBLAS dgemm on CUDA), conventional O(n^3)
        del t

    def diag(self) -> np.ndarray:
        return self.g.diagonal().to("cpu").numpy().copy()

    def factor(self, m_diag: np.ndarray) -> bool:
        """cuSOLVER (or LAPACK on a CPU device) Cholesky of ``-Gt`` with diagonal ``m_diag`` (lower triangle read)."""
        m = torch.neg(self.g)
        m.diagonal().copy_(torch.from_numpy(np.ascontiguousarray(m_diag, dtype=np.float64)).to(self.device))
        _, info = torch.linalg.cholesky_ex(m, upper=False, check_errors=False)
        ok = int(info.item()) == 0
        del m
        return ok

    def top_vector(self, tight: bool) -> np.ndarray:
        """Heuristic top eigenvector of ``Gt`` (Lanczos on the host, products on the device); any answer is fine."""
        n = self.g.shape[0]
        if n <= 256:
            g = self.g.to("cpu").numpy()
            g = np.tril(g) + np.tril(g, -1).T
            return np.linalg.eigh(g)[1][:, -1]
        gl = self.g

        def matvec(x: np.ndarray) -> np.ndarray:
            v = torch.from_numpy(np.ascontiguousarray(np.ravel(x), dtype=np.float64)).to(self.device)
            return (gl @ v).to("cpu").numpy()

        op = spla.LinearOperator((n, n), matvec=matvec, dtype=np.float64)
        v0 = np.random.default_rng(0).standard_normal(n)
        _, vec = spla.eigsh(op, k=1, which="LA", v0=v0, tol=0.0 if tight else 1e-11, ncv=40 if tight else 20)
        return vec[:, 0]
