"""A subset-sum lottery-ticket finder for one linear layer, with an exactly certified approximation error.

Construction (Pensia et al., NeurIPS 2020, Sec. 3). The random two-layer ReLU network ``g(x) = B relu(A x)`` has
``H = D n`` hidden units; unit ``h = i n + k`` is *assigned* to input ``i``. Pruning keeps ``A[h, i]`` only, so unit
``h`` computes ``relu(u_h x_i)`` with ``u_h = A[h, i]``: for ``u_h > 0`` it passes ``u_h x_i`` when ``x_i > 0``, for
``u_h < 0`` it passes ``u_h x_i`` when ``x_i < 0``. Output ``j`` keeps a subset ``S+`` of the positive units of input
``i`` and a subset ``S-`` of the negative ones, so that both ``sum_{h in S+} B[j,h] u_h`` and ``sum_{h in S-} B[j,h]
u_h`` approximate the target weight ``W[j, i]`` (two random subset-sum instances; Lueker: ``O(log 1/eps)`` values
suffice). Then ``g_j(x) = sum_i (a+_{ji} [x_i > 0] + a-_{ji} [x_i < 0]) x_i``.

Certified error. With ``p = a+ - W`` and ``q = a- - W`` (exact rationals: float weights are binary rationals and all
arithmetic is done in :class:`fractions.Fraction`), on the box ``||x||_inf <= r``

    ``sup_x (g_j(x) - (W x)_j) = r sum_i max(0, p_ji, -q_ji)``,
    ``sup_x ((W x)_j - g_j(x)) = r sum_i max(0, -p_ji, q_ji)``

(each coordinate independently picks its sign and size), so the sup-norm error over the box is the maximum over ``j``
of the larger of the two: an exact value, attained at a vertex of the box. The subset search runs in floats (meet in
the middle); only its *result* is certified, exactly, afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from boundcert.errors import InvalidInput
from theorems._interval import Interval, enclose

__all__ = [
    "SubsetSumTicket",
    "SubsetSumTicketNetwork",
    "find_subset_sum_ticket",
    "find_subset_sum_ticket_network",
    "subset_sum_nearest",
]

_MAX_VALUES = 40


def subset_sum_nearest(values: np.ndarray, target: float) -> np.ndarray:
    """A boolean mask selecting a subset of ``values`` whose sum is closest to ``target`` (meet in the middle).

    Exact search over all ``2^len(values)`` subsets in float64 (ties broken arbitrarily); ``len(values) <= 40``.
    """
    vals = np.asarray(values, dtype=np.float64).ravel()
    if vals.size > _MAX_VALUES:
        raise InvalidInput(f"len(values)={vals.size} is too many for exhaustive subset sum: give at most {_MAX_VALUES}")
    if not np.all(np.isfinite(vals)) or not np.isfinite(target):
        raise InvalidInput("subset sum needs finite values and target")
    half = vals.size // 2
    a, b = vals[:half], vals[half:]

    def sums(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        bits = ((np.arange(2 ** v.size)[:, None] >> np.arange(v.size)[None, :]) & 1).astype(bool)
        return bits @ v if v.size else np.zeros(1), bits

    sa, bits_a = sums(a)
    sb, bits_b = sums(b)
    order = np.argsort(sb)
    sb_sorted = sb[order]
    pos = np.clip(np.searchsorted(sb_sorted, target - sa), 1, sb_sorted.size - 1) if sb.size > 1 else np.zeros(
        sa.size, dtype=int)
    best_err, best = np.inf, (0, 0)
    for cand in (pos - 1, pos) if sb.size > 1 else (pos,):
        err = np.abs(sa + sb_sorted[cand] - target)
        i = int(np.argmin(err))
        if err[i] < best_err:
            best_err, best = err[i], (i, int(order[cand[i]]))
    return np.concatenate([bits_a[best[0]], bits_b[best[1]]])


@dataclass(frozen=True, slots=True)
class SubsetSumTicket:
    """A pruned two-layer ReLU network approximating the linear map ``x -> W x`` on ``||x||_inf <= radius``.

    ``mask_first`` and ``mask_second`` select the kept entries of the given random matrices; ``error`` is the exact
    ``sup_{||x||_inf <= radius} max_j |g_j(x) - (W x)_j|`` of the pruned network ``g`` (weights taken exactly).
    """

    mask_first: np.ndarray
    mask_second: np.ndarray
    radius: Fraction
    error: Fraction

    def error_interval(self) -> Interval:
        """An enclosure of the certified error (for certificates)."""
        return enclose(self.error)

    @property
    def kept(self) -> int:
        """Number of non-pruned weights."""
        return int(self.mask_first.sum() + self.mask_second.sum())


def find_subset_sum_ticket(
    target: np.ndarray, first: np.ndarray, second: np.ndarray, *, radius: int | str | Fraction = 1
) -> SubsetSumTicket:
    """Prune ``g(x) = second @ relu(first @ x)`` to approximate ``x -> target @ x`` on ``||x||_inf <= radius``.

    Args:
        target: ``(out, D)`` target weights.
        first: ``(D n, D)`` random first layer; hidden unit ``i n + k`` is assigned to input ``i``.
        second: ``(out, D n)`` random second layer.
        radius: half-width of the input box, read exactly (int, decimal string or Fraction).

    Returns:
        The ticket with its exact sup-norm error on the box.

    Raises:
        InvalidInput: shapes that do not fit, non-finite weights, more than 80 units per input.
    """
    w = np.asarray(target, dtype=np.float64)
    a = np.asarray(first, dtype=np.float64)
    b = np.asarray(second, dtype=np.float64)
    if w.ndim != 2 or a.ndim != 2 or b.ndim != 2:
        raise InvalidInput("target, first and second must be 2-d arrays")
    out, dim = w.shape
    if a.shape[1] != dim or a.shape[0] % dim or b.shape != (out, a.shape[0]):
        raise InvalidInput(f"shapes target={w.shape}, first={a.shape}, second={b.shape} do not fit: need "
                           "first (D n, D) and second (out, D n) for target (out, D)")
    if not (np.all(np.isfinite(w)) and np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise InvalidInput("target, first and second must be finite")
    n = a.shape[0] // dim
    if n > 2 * _MAX_VALUES:
        raise InvalidInput(f"{n} hidden units per input: at most {2 * _MAX_VALUES} are supported")
    r = Fraction(radius)
    if r <= 0:
        raise InvalidInput(f"radius={radius!r} must be > 0")

    mask_a = np.zeros_like(a, dtype=bool)
    mask_b = np.zeros_like(b, dtype=bool)
    err = Fraction(0)
    for i in range(dim):
        units = np.arange(i * n, (i + 1) * n)
        u = a[units, i]
        mask_a[units, i] = u != 0
        groups = (units[u > 0], units[u < 0])
        for j in range(out):
            for g in groups:
                if g.size:
                    keep = subset_sum_nearest(b[j, g] * a[g, i], w[j, i])
                    mask_b[j, g[keep]] = True
    for j in range(out):
        up = down = Fraction(0)
        for i in range(dim):
            units = np.arange(i * n, (i + 1) * n)
            kept = units[mask_b[j, units]]
            ap = sum((Fraction(float(b[j, h])) * Fraction(float(a[h, i])) for h in kept if a[h, i] > 0), Fraction(0))
            an = sum((Fraction(float(b[j, h])) * Fraction(float(a[h, i])) for h in kept if a[h, i] < 0), Fraction(0))
            p, q = ap - Fraction(float(w[j, i])), an - Fraction(float(w[j, i]))
            up += max(Fraction(0), p, -q)
            down += max(Fraction(0), -p, q)
        err = max(err, r * up, r * down)
    return SubsetSumTicket(mask_first=mask_a, mask_second=mask_b, radius=r, error=err)


@dataclass(frozen=True, slots=True)
class SubsetSumTicketNetwork:
    """Pensia's ticket for a whole target ReLU network ``W_l relu(... relu(W_1 x))``, one pruned block per layer.

    ``error`` bounds ``sup_{||x||_inf <= radius} ||g(x) - f(x)||_inf`` exactly in rationals (see
    :func:`find_subset_sum_ticket_network`).
    """

    blocks: tuple[SubsetSumTicket, ...]
    radius: Fraction
    error: Fraction

    def error_interval(self) -> Interval:
        """An enclosure of the certified error (for certificates)."""
        return enclose(self.error)


def _inf_norm(w: np.ndarray) -> Fraction:
    """``||W||_{inf -> inf}`` = largest row l1 norm, exactly."""
    return max(sum((abs(Fraction(float(v))) for v in row), Fraction(0)) for row in w)


def find_subset_sum_ticket_network(
    targets: list[np.ndarray], firsts: list[np.ndarray], seconds: list[np.ndarray], *,
    radius: int | str | Fraction = 1,
) -> SubsetSumTicketNetwork:
    """Prune one random two-layer block per target layer; certify the error of the whole pruned network.

    The target is ``f = W_l relu(W_{l-1} ... relu(W_1 x))``; the pruned network replaces each ``W_k`` by its block
    ``g_k`` (:func:`find_subset_sum_ticket`), with the same ReLUs in between. With ``e_k`` the error after layer
    ``k``, ``R_k`` a bound on ``||h_k||_inf`` for the target (``R_0 = radius``, ``R_k = ||W_k||_inf R_{k-1}``, ReLU
    does not increase magnitudes) and ``eps_k(r)`` the block's exact error on the box of radius ``r`` (linear in
    ``r``): ``e_k <= eps_k(R_{k-1} + e_{k-1}) + ||W_k||_inf e_{k-1}`` (the pruned input lies in the box of radius
    ``R_{k-1} + e_{k-1}``; ReLU is 1-Lipschitz in each coordinate). All in exact rationals.
    """
    if not (len(targets) == len(firsts) == len(seconds)) or not targets:
        raise InvalidInput("targets, firsts and seconds must be non-empty lists of the same length (one per layer)")
    r0 = Fraction(radius)
    if r0 <= 0:
        raise InvalidInput(f"radius={radius!r} must be > 0")
    blocks, bound, err = [], r0, Fraction(0)
    for w, a, b in zip(targets, firsts, seconds):
        unit = find_subset_sum_ticket(w, a, b, radius=1)
        blocks.append(unit)
        err = unit.error * (bound + err) + _inf_norm(np.asarray(w, dtype=np.float64)) * err
        bound = _inf_norm(np.asarray(w, dtype=np.float64)) * bound
    return SubsetSumTicketNetwork(blocks=tuple(blocks), radius=r0, error=err)
