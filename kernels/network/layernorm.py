"""Normalisation over features: ``LayerNorm`` (over the last ``len(normalized_shape)`` axes, elementwise affine
of that shape) and ``GroupNorm`` (over ``(C / G, *spatial)`` per group, per-channel affine), as torch computes them:
``y = (x - mean) / sqrt(var + eps) * weight + bias`` with the biased variance.

Shape rule: the identity.

Enclosed forward: at the midpoints, every step in outward interval arithmetic (the mean and the variance as sums of
``d`` terms with error ``gamma_d sum |.|``; ``sqrt`` and ``/`` correctly rounded, one ``nextafter`` each), giving
``c`` and an error ``e``. The map of one group is ``x -> w g(P x) + b`` with ``P`` the centring projection and
``g(z) = z / sqrt(||z||^2 / d + eps)``, whose Jacobian has norm ``<= 1 / sqrt(||z||^2 / d + eps)``; on the ball
``||x - m||_2 <= delta`` (``delta``: the group's l2 radius) this gives the local constant
``L = max|w| / sqrt(max(0, ||P m|| - delta)^2 / d + eps)`` and ``|y(x) - c| <= L delta + e``. The box is then
intersected with the map's range ``|y_i - b_i| <= |w_i| sqrt(d - 1)`` (for centred ``z``, ``d z_i^2 <= (d - 1)
||z||^2`` by Cauchy-Schwarz on ``z_i = -sum_{j != i} z_j``), recentred where that cuts it, ``dist`` grown by the
shift.

Lipschitz rule: only on a bounded domain is it small; the global bound ``max|w| / sqrt(eps)`` (l2; l-inf times
``sqrt(d)``) is what :meth:`LayerNorm.lipschitz` returns, and it is sound everywhere. Local rule
(:meth:`LayerNorm.local_lipschitz`, on an input box only; driver :mod:`kernels.network._local_lipschitz`):
``max|w| / sqrt(var_lo + eps)`` with ``var_lo`` the box's lower bound of every group's biased variance (interval
arithmetic, one outward step per operation), never above the global value.

Linear relaxation: none yet (raises ``InvalidInput``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from boundcert.errors import InvalidInput
from kernels._enclosure import Enclosure
from kernels._rounding import gamma, mul_up, sqrt_up, vdown, vup
from kernels.network._state import Enclosed, l2_up, nonneg_sum_up, tighten

__all__ = ["LayerNorm", "GroupNorm"]


def _centred_box(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For every ``x`` in the box ``[lo, hi]`` (rows over the last axis, ``d`` entries): ``x - mean(x)`` lies in
    ``[a_lo, a_hi]`` and ``||x - mean(x)||_2^2`` in ``[ss_lo, ss_hi]`` (each ``(rows, 1)``). ``lo = hi``: a point."""
    d = lo.shape[-1]
    g = gamma(d)
    s_lo, s_hi = lo.sum(axis=-1, keepdims=True), hi.sum(axis=-1, keepdims=True)
    e_lo = vup(g * nonneg_sum_up(np.abs(lo).sum(axis=-1, keepdims=True), d))
    e_hi = e_lo if hi is lo else vup(g * nonneg_sum_up(np.abs(hi).sum(axis=-1, keepdims=True), d))
    mu_lo, mu_hi = vdown(vdown(s_lo - e_lo) / d), vup(vup(s_hi + e_hi) / d)
    a_lo, a_hi = vdown(lo - mu_hi), vup(hi - mu_lo)
    sq_hi = vup(np.maximum(a_lo * a_lo, a_hi * a_hi))
    sq_lo = np.where((a_lo <= 0) & (a_hi >= 0), 0.0, vdown(np.minimum(a_lo * a_lo, a_hi * a_hi)))
    ss_hi = nonneg_sum_up(vup(sq_hi.sum(axis=-1, keepdims=True)), d)
    ss_lo = np.maximum(vdown(vdown(vdown(sq_lo.sum(axis=-1, keepdims=True)) * (1 - 2 * g)) - d * 2.0**-1074), 0.0)
    return a_lo, a_hi, ss_lo, ss_hi


def _normalize(m: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Enclosure ``[q_lo, q_hi]`` of ``(m - mean) / sqrt(var + eps)`` over the last axis, and the lower bound of
    ``||m - mean||_2`` per row. ``m``: (rows, d)."""
    d = m.shape[-1]
    a_lo, a_hi, ss_lo, ss_hi = _centred_box(m, m)
    r_hi = vup(np.sqrt(vup(vup(ss_hi / d) + eps)))
    r_lo = vdown(np.sqrt(np.maximum(vdown(vdown(ss_lo / d) + eps), 0.0)))
    with np.errstate(divide="ignore", invalid="ignore"):
        q = [a / r for a in (a_lo, a_hi) for r in (r_lo, r_hi)]
    q_lo, q_hi = vdown(np.minimum.reduce(q)), vup(np.maximum.reduce(q))
    return q_lo, q_hi, vdown(np.sqrt(ss_lo[..., 0]))


def _local_lip(x: Enclosed, groups_shape: tuple[int, ...], weight: np.ndarray, eps: float, norm: str) -> float:
    """Upper bound of ``sup ||J||`` over the box ``x`` (one sample) of the normalisation viewed as (groups..., d):
    per group ``||J||_2 <= max|w| / sqrt(ss_lo / d + eps)`` with ``ss_lo`` a lower bound of ``||x - mean(x)||^2``
    over the group's box: the larger of the interval bound (:func:`_centred_box`) and ``max(0, ||P m|| -
    delta)^2`` (``m`` the midpoints, ``delta >= ||x - m||_2`` on the group, ``P`` the centring projection, norm 1).
    The Jacobian is block diagonal over groups, so the largest group's bound; l-inf times ``sqrt(d)``. Rounding: one
    outward step per operation, sums by ``nonneg_sum_up``. ``ss_lo = 0``: the global rule's value."""
    d = groups_shape[-1]
    _, _, ss_box, _ = _centred_box(x.lo.reshape(-1, d), x.hi.reshape(-1, d))
    mm, rr = x.mid.reshape(-1, d), x.rad.reshape(-1, d)
    _, _, ss_m, _ = _centred_box(mm, mm)
    with np.errstate(over="ignore", invalid="ignore"):
        delta = np.minimum(vup(np.sqrt(nonneg_sum_up(vup((rr * rr).sum(axis=-1, keepdims=True)), 2 * d))),
                           x.dist.reshape(-1)[0])
        base = np.maximum(vdown(vdown(np.sqrt(ss_m)) - delta), 0.0)
        ss_lo = np.maximum(ss_box, vdown(base * base))
    wmax = np.float64(np.max(np.abs(weight), initial=0.0))
    denom = vdown(np.sqrt(np.maximum(vdown(vdown(np.min(ss_lo) / d) + np.float64(eps)), 0.0)))
    hi_l = float(vup(wmax / denom)) if denom > 0 else float("inf")
    return mul_up(hi_l, sqrt_up(float(d))) if norm == "linf" else hi_l


def _forward(x: Enclosed, groups_shape: tuple[int, ...], weight: np.ndarray, bias: np.ndarray,
             wshape: tuple[int, ...], eps: float) -> Enclosed:
    """Normalise ``x`` viewed as (batch, groups..., d) (``groups_shape`` = per-sample (groups, d)); the affine
    ``weight``/``bias`` broadcast against the per-sample shape via ``wshape``."""
    b = x.mid.shape[0]
    m = x.mid.reshape((b, *groups_shape))
    d = groups_shape[-1]
    q_lo, q_hi, pm_lo = _normalize(m, eps)
    q_lo, q_hi = q_lo.reshape(x.mid.shape), q_hi.reshape(x.mid.shape)
    w = weight.reshape(wshape)
    bb = bias.reshape(wshape)
    with np.errstate(invalid="ignore", over="ignore"):
        p = [q_lo * w, q_hi * w]
        y_lo, y_hi = vdown(vdown(np.minimum(*p)) + bb), vup(vup(np.maximum(*p)) + bb)
        c = y_lo * 0.5 + y_hi * 0.5
        e = vup(np.maximum(y_hi - c, c - y_lo))
        # per-group l2 radius: min(sample dist, ||rad over the group||)
        rg = x.rad.reshape((b, *groups_shape))
        delta = np.minimum(vup(np.sqrt(nonneg_sum_up(vup((rg * rg).sum(axis=-1)), d))),
                           x.dist.reshape((b,) + (1,) * (len(groups_shape) - 1)))
        wmax = float(np.max(np.abs(weight), initial=0.0))
        base = np.maximum(vdown(pm_lo - delta), 0.0)
        denom = vdown(np.sqrt(np.maximum(vdown(vdown(vdown(base * base) / d) + eps), 0.0)))
        lip = vup(wmax / denom)  # (b, groups)
        push = vup(lip * delta)
        rad = vup(np.broadcast_to(push[..., None], (b, *groups_shape)).reshape(x.mid.shape) + e)
        dist = vup(l2_up(push.reshape(b, -1)) + l2_up(e))
        # the range of the map: |z_i| <= sqrt((d - 1) / d) ||z|| for centred z, so |y_i - b_i| <= |w_i| sqrt(d - 1)
        span = vup(np.abs(w) * sqrt_up(float(d - 1)))
        out_lo, out_hi = vdown(c - rad), vup(c + rad)
        new_lo = np.maximum(out_lo, vdown(np.broadcast_to(bb, c.shape) - span))
        new_hi = np.minimum(out_hi, vup(np.broadcast_to(bb, c.shape) + span))
        clamp = ((new_lo > out_lo) | (new_hi < out_hi)) & (new_lo <= new_hi)
        if np.any(clamp):
            c2 = new_lo * 0.5 + new_hi * 0.5
            c2, rad = np.where(clamp, c2, c), np.where(clamp, vup(np.maximum(new_hi - c2, c2 - new_lo)), rad)
            dist = np.minimum(vup(dist + l2_up(vup(np.abs(c2 - c)))), l2_up(rad))
            c = c2
    return tighten(c, rad, dist)


@dataclass(frozen=True, slots=True, eq=False)
class LayerNorm:
    """``torch.nn.LayerNorm(normalized_shape, eps)`` in eval mode; ``weight``/``bias`` of ``normalized_shape``."""

    normalized_shape: tuple[int, ...]
    weight: np.ndarray
    bias: np.ndarray
    eps: float

    def out_shape(self, shapes: tuple[tuple[int, ...], ...]) -> tuple[int, ...]:
        s, k = shapes[0], len(self.normalized_shape)
        if tuple(s[len(s) - k:]) != tuple(self.normalized_shape):
            raise InvalidInput(f"LayerNorm normalized_shape={self.normalized_shape!r}: its input has shape {s!r}")
        return s

    def forward(self, xs: tuple[Enclosed, ...], ctx: Any) -> Enclosed:
        x = xs[0]
        per = x.mid.shape[1:]
        k = len(self.normalized_shape)
        d = int(np.prod(self.normalized_shape))
        lead = per[: len(per) - k]
        return _forward(x, (*lead, d), self.weight, self.bias, (1,) * (len(lead) + 1) + tuple(self.normalized_shape),
                        float(self.eps))

    def lipschitz(self, shape: tuple[int, ...], norm: str, cache: dict) -> Enclosure:
        wmax = float(np.max(np.abs(self.weight), initial=0.0))
        hi = vup(np.float64(wmax) / vdown(np.sqrt(vdown(np.float64(self.eps)))))
        if norm == "linf":
            hi = mul_up(float(hi), sqrt_up(float(np.prod(self.normalized_shape))))
        return Enclosure(0.0, float(hi), "layernorm: max|w| / sqrt(eps) (global; l-inf times sqrt(d))")

    def local_lipschitz(self, x: Enclosed, norm: str, cache: dict, ctx: Any) -> Enclosure:
        """``sup ||J||`` over the input box ``x`` (one sample; :func:`_local_lip`), at most the global rule's value;
        holds only on that box."""
        d = int(np.prod(self.normalized_shape))
        hi = min(_local_lip(x, (d,), self.weight, float(self.eps), norm), self.lipschitz((), norm, cache).hi)
        return Enclosure(0.0, hi, f"layernorm: max|w| / sqrt(var_lo + eps) on the input box ({norm}; local)")

    def relaxation(self, lo: np.ndarray, hi: np.ndarray) -> Any:
        raise InvalidInput("LayerNorm: no linear relaxation yet")


@dataclass(frozen=True, slots=True, eq=False)
class GroupNorm:
    """``torch.nn.GroupNorm(num_groups, C, eps)``; ``weight``/``bias`` per channel."""

    num_groups: int
    weight: np.ndarray
    bias: np.ndarray
    eps: float

    def out_shape(self, shapes: tuple[tuple[int, ...], ...]) -> tuple[int, ...]:
        s = shapes[0]
        if not s or s[0] != self.weight.shape[0] or s[0] % self.num_groups:
            raise InvalidInput(f"GroupNorm({self.num_groups} groups, {self.weight.shape[0]} channels): its input "
                               f"has shape {s!r}")
        return s

    def forward(self, xs: tuple[Enclosed, ...], ctx: Any) -> Enclosed:
        x = xs[0]
        per = x.mid.shape[1:]
        d = int(np.prod(per)) // self.num_groups
        return _forward(x, (self.num_groups, d), self.weight, self.bias, (1, -1) + (1,) * (len(per) - 1),
                        float(self.eps))

    def lipschitz(self, shape: tuple[int, ...], norm: str, cache: dict) -> Enclosure:
        wmax = float(np.max(np.abs(self.weight), initial=0.0))
        hi = float(vup(np.float64(wmax) / vdown(np.sqrt(vdown(np.float64(self.eps))))))
        if norm == "linf":
            hi = mul_up(hi, sqrt_up(float(int(np.prod(shape)) // self.num_groups)))
        return Enclosure(0.0, hi, "groupnorm: max|w| / sqrt(eps) (global; l-inf times sqrt(d))")

    def local_lipschitz(self, x: Enclosed, norm: str, cache: dict, ctx: Any) -> Enclosure:
        """``sup ||J||`` over the input box ``x`` (one sample; :func:`_local_lip` per group), at most the global
        rule's value; holds only on that box."""
        per = x.mid.shape[1:]
        d = int(np.prod(per)) // self.num_groups
        hi = min(_local_lip(x, (self.num_groups, d), self.weight, float(self.eps), norm),
                 self.lipschitz(per, norm, cache).hi)
        return Enclosure(0.0, hi, f"groupnorm: max|w| / sqrt(var_lo + eps) on the input box ({norm}; local)")

    def relaxation(self, lo: np.ndarray, hi: np.ndarray) -> Any:
        raise InvalidInput("GroupNorm: no linear relaxation yet")
