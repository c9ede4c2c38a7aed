"""Lanczos on a float64 symmetric operator: top (or bottom) Ritz values with proven residual brackets.

Operator model. ``A`` is either

* an explicit symmetric float64 matrix (a numpy array, exactly symmetric): products are computed as ``fl(A y)`` and
  their error is paid, ``||fl(A y) - A y|| <= gamma_d ||A||_F ||y|| + sqrt(d) d eta`` (Higham Thm 3.5), so the
  brackets are proven for the stored matrix; or
* "the float64 operator": a callable ``matvec`` mapping a float64 vector of length ``dim`` to one of the same length,
  whose returned vector for ``y`` is taken to be *exactly* ``A y`` for a symmetric matrix ``A``. For a Hessian-vector
  product evaluated in float64 (``certify.landscape``) the brackets are proven for that operator, not for the real
  Hessian: the rounding error of the Hessian-vector product itself is not bounded here.

Bracket (Parlett, *The Symmetric Eigenvalue Problem*, Thm 4.5.1): for symmetric ``A``, any nonzero ``y`` and any
real ``theta``, some eigenvalue of ``A`` lies in ``[theta - r, theta + r]`` with ``r = ||A y - theta y|| / ||y||``.
Each Ritz vector ``y`` is applied to ``matvec`` once more (``z = A y``) and ``r`` is bounded from above in float64:
entrywise ``|fl(z_i - fl(theta y_i)) - (z_i - theta y_i)| <= gamma_2 (|z_i| + |theta y_i|) + 2 eta``, so
``||A y - theta y|| <= ||fl(res)|| + gamma_2 (||z|| + |theta| ||y||) + 2 eta sqrt(dim)`` with every norm bounded by
:func:`kernels._rounding.sumsq_bounds` (Higham, *Accuracy and Stability*, Thm 3.1 / 3.5) and directed scalar steps.

Extreme eigenvalue: ``lambda_max(A) >= y^T A y / y^T y`` for every ``y`` (Rayleigh), with
``|fl(y . z) - y . z| <= gamma_dim ||y|| ||z|| + dim eta``; also ``lambda_max >= lo`` of the top bracket. That lower
bound is proven; an *upper* bound on ``lambda_max`` is not (Lanczos cannot prove it missed no eigenvalue above its
largest Ritz value), so ``hi`` of the top bracket is the upper end of the enclosure of the eigenvalue nearest
``theta_1``, which is ``lambda_1`` unless the Krylov space missed one above it (nothing here proves it did not:
an eigenvector nearly orthogonal to the start vector is found late or never, in exact arithmetic too).
Pairwise disjoint brackets hold distinct eigenvalues, so then the ``i``-th largest eigenvalue is ``>= lo_i``.

Iteration: Lanczos with full re-orthogonalisation (classical Gram-Schmidt, twice), Ritz pairs from ``eigh`` of the
tridiagonal matrix (float, not certified: only the brackets are).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Literal

import numpy as np

from boundcert.errors import InvalidInput
from kernels._enclosure import Enclosure
from kernels._rounding import (
    ETA, add_up, div_down, div_up, gamma, mul_up, sqrt_down, sqrt_up, sub_down, sumsq_bounds, up,
)
from kernels._validation import as_float64, check_int, make_rng

__all__ = ["Matvec", "Operator", "as_operator", "LanczosBrackets", "lanczos_brackets", "residual_bracket",
           "rayleigh_lower", "tridiagonalize", "apply_operator"]

Matvec = Callable[[np.ndarray], np.ndarray]
_SOURCE = "kernel:lanczos_residual v1"


@dataclass(frozen=True, slots=True)
class LanczosBrackets:
    """Ritz values of ``A`` with proven brackets, for the float64 operator (module docstring).

    Attributes:
        eigenvalues: one :class:`Enclosure` per Ritz pair (largest first for ``which="largest"``, smallest first for
            ``"smallest"``); each contains *an* eigenvalue of the operator.
        ritz_values: the Ritz values ``theta_i`` (floats, the centres).
        residuals: proven upper bounds on ``||A y_i - theta_i y_i|| / ||y_i||`` (the half-widths).
        lambda_max_lower: proven lower bound on the largest eigenvalue (``which="largest"``), else ``-inf``.
        lambda_min_upper: proven upper bound on the smallest eigenvalue (``which="smallest"``), else ``inf``.
        disjoint: the brackets are pairwise disjoint (then the ``i``-th extreme eigenvalue lies beyond ``lo_i``
            / ``hi_i`` on the inner side, see the module docstring).
        n_iter: Lanczos steps taken; n_matvec: operator applications in all; exhausted: the iteration stopped
            because ``beta`` fell below ``1e-10 ||T||`` or the basis filled the space (a diagnostic, not a proof).
    """

    eigenvalues: tuple[Enclosure, ...]
    ritz_values: tuple[float, ...]
    residuals: tuple[float, ...]
    lambda_max_lower: float
    lambda_min_upper: float
    disjoint: bool
    n_iter: int
    n_matvec: int
    exhausted: bool
    which: str


@dataclass(frozen=True, slots=True)
class Operator:
    """A checked operator: ``matvec``, ``dim`` and ``err(y_norm_hi)``, a proven bound on ``||matvec(y) - A y||``
    (``0`` for a callable, by the operator model; the product error for an explicit matrix)."""

    matvec: Matvec
    dim: int
    frobenius_hi: float | None = None

    def err(self, y_norm_hi: float) -> float:
        if self.frobenius_hi is None:
            return 0.0
        d = self.dim
        return add_up(mul_up(mul_up(gamma(d), self.frobenius_hi), y_norm_hi), up(up(math.sqrt(d)) * up(d * ETA)))


def as_operator(A: object, dim: int | None) -> Operator:
    """An explicit symmetric matrix or a callable (then ``dim`` is needed) as an :class:`Operator`."""
    if callable(A):
        if dim is None:
            raise InvalidInput("dim is needed with a matvec callable: pass dim=<length of the vectors>")
        return Operator(A, check_int("dim", dim, 1))  # type: ignore[arg-type]
    M = as_float64(A, "A", ndim=2)
    if M.shape[0] != M.shape[1] or M.shape[0] == 0:
        raise InvalidInput(f"A.shape={M.shape}: a non-empty square matrix is needed")
    if not np.array_equal(M, M.T):
        raise InvalidInput("A is not exactly symmetric: pass the symmetric matrix you mean, e.g. np.triu(A) + "
                           "np.triu(A, 1).T")
    if dim is not None and dim != M.shape[0]:
        raise InvalidInput(f"dim={dim!r} does not match A.shape={M.shape}")
    f_hi = sqrt_up(sumsq_bounds(M)[1])
    return Operator(lambda v: M @ v, M.shape[0], f_hi)


def apply_operator(matvec: Matvec, v: np.ndarray, dim: int) -> np.ndarray:
    """``matvec(v)`` as a finite float64 vector of length ``dim`` (anything else is refused)."""
    z = np.asarray(matvec(v))
    if z.dtype != np.float64 or z.shape != (dim,):
        raise InvalidInput(f"matvec returned dtype={z.dtype}, shape={z.shape}: the operator must return a float64 "
                           f"vector of shape ({dim},); compute the product in float64")
    if not np.all(np.isfinite(z)):
        raise InvalidInput("matvec returned NaN or Inf: the operator is not finite at this point; check the model "
                           "and data (a loss that overflows)")
    return z


def tridiagonalize(matvec: Matvec, v0: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """``m`` Lanczos steps from ``v0`` with full re-orthogonalisation: ``(alpha, beta, Q, exhausted)``.

    ``Q`` has the orthonormalised Lanczos vectors as columns (float; nothing here is certified).
    """
    dim = v0.shape[0]
    q = v0 / np.linalg.norm(v0)
    Q = np.zeros((dim, m), dtype=np.float64)
    alpha, beta = [], []
    scale = 0.0
    exhausted = False
    for j in range(m):
        Q[:, j] = q
        w = apply_operator(matvec, q, dim)
        a = float(q @ w)
        alpha.append(a)
        basis = Q[:, : j + 1]
        for _ in range(2):
            w = w - basis @ (basis.T @ w)
        b = float(np.linalg.norm(w))
        scale = max(scale, abs(a) + b)
        if j == m - 1:
            break
        if b <= 1e-10 * max(scale, np.finfo(np.float64).tiny):
            exhausted = True
            break
        beta.append(b)
        q = w / b
    n = len(alpha)
    return np.asarray(alpha), np.asarray(beta[: n - 1]), Q[:, :n], exhausted or n == dim


def _norm_bounds(x: np.ndarray) -> tuple[float, float]:
    lo2, hi2 = sumsq_bounds(x)
    return sqrt_down(lo2), sqrt_up(hi2)


def residual_bracket(y: np.ndarray, z: np.ndarray, theta: float, z_err: float = 0.0) -> tuple[Enclosure, float]:
    """The proven bracket ``[theta - r, theta + r]`` holding an eigenvalue of any symmetric ``A`` with
    ``||A y - z|| <= z_err``, and ``r`` (the module docstring gives the error term)."""
    dim = y.shape[0]
    y_lo, y_hi = _norm_bounds(y)
    if y_lo <= 0.0:
        raise InvalidInput("the Ritz vector is zero: no bracket; run more Lanczos steps from another start vector")
    _, res_hi = _norm_bounds(z - theta * y)
    _, z_hi = _norm_bounds(z)
    err = mul_up(gamma(2), add_up(z_hi, mul_up(abs(theta), y_hi)))
    err = add_up(add_up(err, up(2.0 * ETA * up(math.sqrt(dim)))), z_err)
    r = div_up(add_up(res_hi, err), y_lo)
    return Enclosure(sub_down(theta, r), add_up(theta, r), _SOURCE), r


def rayleigh_lower(y: np.ndarray, z: np.ndarray, z_err: float = 0.0) -> float:
    """A proven lower bound of ``y^T A y / y^T y`` (so of ``lambda_max``) for any symmetric ``A`` with
    ``||A y - z|| <= z_err``."""
    dim = y.shape[0]
    y2_lo, y2_hi = sumsq_bounds(y)
    _, y_hi = _norm_bounds(y)
    _, z_hi = _norm_bounds(z)
    if y2_lo <= 0.0:
        return -math.inf
    err = add_up(mul_up(mul_up(gamma(dim), y_hi), z_hi), up(dim * ETA))
    err = add_up(err, mul_up(y_hi, z_err))
    num = sub_down(float(y @ z), err)
    return div_down(num, y2_hi if num >= 0.0 else y2_lo)


def lanczos_brackets(A: Matvec | np.ndarray, dim: int | None = None, k: int = 1, *, n_iter: int | None = None,
                     which: Literal["largest", "smallest"] = "largest", seed: int = 0,
                     v0: np.ndarray | None = None) -> LanczosBrackets:
    """The ``k`` largest (or smallest) Ritz values of the symmetric float64 operator ``matvec`` with proven brackets.

    Args:
        A: an exactly symmetric float64 matrix, or ``matvec``: ``y -> A y`` on float64 vectors of length ``dim``
            (the operator model of the module docstring).
        dim: the operator's dimension (needed with a callable).
        k: how many Ritz pairs to bracket (``1 <= k <= n_iter``).
        n_iter: Lanczos steps (default ``min(dim, max(2 k + 20, 40))``); more steps, narrower brackets.
        which: ``"largest"`` or ``"smallest"`` end of the spectrum.
        seed, v0: the start vector (``v0``, else Gaussian from ``seed``).
    Returns:
        :class:`LanczosBrackets`; ``n_iter + k`` operator applications.
    Raises:
        InvalidInput: bad sizes, a ``matvec`` that returns a wrong shape, dtype, NaN or Inf.
    """
    op = as_operator(A, dim)
    matvec, dim = op.matvec, op.dim
    k = check_int("k", k, 1)
    m = min(dim, max(2 * k + 20, 40)) if n_iter is None else check_int("n_iter", n_iter, 1)
    if m > dim:
        raise InvalidInput(f"n_iter={m} exceeds dim={dim}: the Krylov space has at most dim dimensions")
    if which not in ("largest", "smallest"):
        raise InvalidInput(f"which={which!r} is not 'largest' or 'smallest'")
    if v0 is None:
        v0 = make_rng(seed).standard_normal(dim)
    else:
        v0 = np.array(v0, dtype=np.float64).ravel()
        if v0.shape != (dim,) or not np.all(np.isfinite(v0)) or not np.any(v0):
            raise InvalidInput(f"v0 has shape {v0.shape} or is zero / not finite: give a nonzero vector of length "
                               f"{dim}")
    alpha, beta, Q, exhausted = tridiagonalize(matvec, v0, m)
    n = alpha.shape[0]
    if k > n:
        raise InvalidInput(f"k={k} Ritz pairs were asked for but Lanczos found an invariant space of dimension {n}: "
                           f"ask for k <= {n} or start from another vector (seed)")
    T = np.diag(alpha) + np.diag(beta, 1) + np.diag(beta, -1)
    theta, S = np.linalg.eigh(T)
    order = np.argsort(-theta if which == "largest" else theta, kind="stable")[:k]
    encl, centres, radii = [], [], []
    lam_max_lo, lam_min_hi = -math.inf, math.inf
    for i in order:
        y = Q @ S[:, i]
        z = apply_operator(matvec, y, dim)
        t = float(theta[i])
        z_err = op.err(_norm_bounds(y)[1])
        e, r = residual_bracket(y, z, t, z_err)
        encl.append(e)
        centres.append(t)
        radii.append(r)
        if which == "largest":
            lam_max_lo = max(lam_max_lo, e.lo, rayleigh_lower(y, z, z_err))
        else:
            lam_min_hi = min(lam_min_hi, e.hi, -rayleigh_lower(y, -z, z_err))
    srt = sorted(encl, key=lambda b: b.lo)
    disjoint = all(a.hi < b.lo for a, b in zip(srt, srt[1:]))
    return LanczosBrackets(tuple(encl), tuple(centres), tuple(radii), lam_max_lo, lam_min_hi, disjoint, n, n + k,
                           exhausted, which)
