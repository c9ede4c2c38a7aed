"""Multi-head self-attention (``torch.nn.MultiheadAttention`` with ``batch_first=True``, query = key = value = x,
no masks, eval mode): ``softmax(Q K^T / sqrt(d_h)) V`` per head, heads concatenated, then the output projection.

:class:`ScaledDotProductAttention` is the attention product alone (``F.scaled_dot_product_attention(q, k, v)`` with
its defaults; three inputs), with the same enclosure rules.

Shape rule: ``(T, D) -> (T, D)``; the product: ``(..., T, d), (..., S, d), (..., S, d_v) -> (..., T, d_v)``.

Enclosed forward (a forward enclosure on the given input box; interval arithmetic throughout): ``Q, K, V`` by the
affine rule of :mod:`kernels.network.affine`; each bilinear product of boxes ``A = a +- r_a``, ``B = b +- r_b`` by
``c = fl(a b)``, radius ``|a| r_b + r_a |b| + r_a r_b + gamma_n |a||b| + n eta`` (rounded up); the exact
``1/sqrt(d_h)`` enclosed by one outward step; softmax on the score box ``[l, u]`` (shifted by the row maximum, exactly
in interval arithmetic) by ``p_i in [e^{l_i} / (e^{l_i} + sum_{j != i} e^{u_j}), e^{u_i} / (e^{u_i} + sum_{j != i}
e^{l_j})]`` with ``exp`` enclosed by mpmath (:mod:`kernels.network._transcendental`) and sums/quotients rounded
outward. The result is returned as midpoints and radii with ``dist = ||rad||_2``.

Lipschitz rule: attention is not globally Lipschitz (the scores are quadratic in ``x``): :meth:`Attention.lipschitz`
refuses by hypothesis name (``h_lipschitz_upper``). A bound holds only on a bounded input domain:
:meth:`Attention.local_lipschitz` bounds ``sup ||J(x)||`` over an input box (driver:
:mod:`kernels.network._local_lipschitz`). Per head, with ``s_ij = q_i . k_j / sqrt(d_h)``, ``p = softmax`` and
``o_i = sum_j p_ij v_j``, the exact identity ``d o_i / d x_m = p_im W_v + p_im (v_m - o_i) (W_k^T q_i)^T / sqrt(d_h)
+ [i = m] sum_j p_ij (v_j - o_i) (W_q^T k_j)^T / sqrt(d_h)`` (from ``d p_i = (diag p_i - p_i p_i^T) d s_i``) is
evaluated in midpoint-radius interval arithmetic on the boxes of ``q, k, v, p, o`` (the forward rules above; products
by the bilinear rule, sums and differences with one outward step each), then multiplied by ``W_out``; ``U`` = the
entrywise bound of ``|J|``, and ``||J||_2 <= ||U||_2`` (certified, :func:`kernels.spectral_norm`), ``||J||_inf <=``
the largest row sum of ``U`` rounded up. ScaledDotProductAttention (three inputs):
:meth:`ScaledDotProductAttention.local_combine_lipschitz`, the same identity with ``d q, d k, d v`` separate.

Linear relaxation: none (raises ``InvalidInput``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from boundcert.errors import HypothesisNotMet, InvalidInput
from kernels._enclosure import Enclosure
from kernels._rounding import ETA, add_up, gamma, mul_up, sqrt_up, up, vdown, vup
from kernels.network._state import Enclosed, l2_up, nonneg_sum_up, tighten
from kernels.network._transcendental import enclose_values
from kernels.network.affine import Linear

__all__ = ["Attention", "ScaledDotProductAttention", "box_to_midrad", "nonneg_matrix_norm_up"]


def _bilinear(a: np.ndarray, ra: np.ndarray, b: np.ndarray, rb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Box product ``A @ B`` (batched matmul over leading axes): midpoints and a radius bound."""
    n = a.shape[-1]
    c = a @ b
    aa, ab = np.abs(a), np.abs(b)
    with np.errstate(over="ignore", invalid="ignore"):
        t = nonneg_sum_up(aa @ rb + ra @ ab + ra @ rb, 3 * n)
        e = vup(vup(gamma(n) * nonneg_sum_up(aa @ ab, n)) + up(n * ETA))
        return c, vup(t + e)


def _softmax_box(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Enclosure of ``softmax`` over the last axis for every vector in the box ``[lo, hi]``."""
    m = np.max(hi, axis=-1, keepdims=True)
    sl, su = vdown(lo - m), vup(hi - m)  # softmax is shift invariant; the shifted box contains the shifted values
    cl, el = enclose_values("exp", sl)
    cu, eu = enclose_values("exp", su)
    xl = np.maximum(vdown(cl - el), 0.0)
    xu = vup(cu + eu)
    n = lo.shape[-1]
    tot_l = np.maximum(vdown(vdown(xl.sum(axis=-1, keepdims=True)) * (1 - 2 * gamma(n))), 0.0)
    tot_u = nonneg_sum_up(vup(xu.sum(axis=-1, keepdims=True)), n)
    # p_i >= xl_i / (xl_i + sum_{j != i} xu_j) = xl_i / (tot_u - xu_i + xl_i) ; p_i <= xu_i / (tot_l - xl_i + xu_i)
    with np.errstate(divide="ignore", invalid="ignore"):
        den_l = vup(vup(tot_u - xu) + xl)
        den_u = np.maximum(vdown(vdown(tot_l - xl) + xu), 0.0)
        p_lo = np.where(den_l > 0, vdown(xl / den_l), 0.0)
        p_hi = np.where(den_u > 0, np.minimum(vup(xu / den_u), 1.0), 1.0)
    return np.maximum(p_lo, 0.0), p_hi


def _inv_sqrt_box(d: int) -> tuple[float, float]:
    """``[sc_lo, sc_hi]`` containing the exact ``1/sqrt(d)``."""
    return vdown(1.0 / vup(math.sqrt(d))), vup(1.0 / vdown(math.sqrt(d)))


def _probs(qm: np.ndarray, qr: np.ndarray, km: np.ndarray, kr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Box (midpoints, radii) of ``softmax(Q K^T / sqrt(d))`` over the last axis (``d`` = the last axis of ``Q``;
    the rules of the module docstring)."""
    s, sr = _bilinear(qm, qr, np.swapaxes(km, -1, -2), np.swapaxes(kr, -1, -2))
    s_lo, s_hi = vdown(s - sr), vup(s + sr)
    sc_lo, sc_hi = _inv_sqrt_box(qm.shape[-1])
    s_lo = np.minimum(vdown(s_lo * sc_lo), vdown(s_lo * sc_hi))
    s_hi = np.maximum(vup(s_hi * sc_lo), vup(s_hi * sc_hi))
    return box_to_midrad(*_softmax_box(s_lo, s_hi))


def _sdpa(qm: np.ndarray, qr: np.ndarray, km: np.ndarray, kr: np.ndarray, vm: np.ndarray,
          vr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Box enclosure of ``softmax(Q K^T / sqrt(d)) V`` over the last two axes (``d`` = the last axis of ``Q``):
    midpoints and radii (the rules of the module docstring)."""
    return _bilinear(*_probs(qm, qr, km, kr), vm, vr)


def box_to_midrad(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Midpoints and radii ``m, r`` with ``[lo, hi] subset [m - r, m + r]`` (the radius rounded up)."""
    m = lo * 0.5 + hi * 0.5
    return m, vup(np.maximum(hi - m, m - lo))


def _add(am: np.ndarray, ar: np.ndarray, bm: np.ndarray, br: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sum of two midpoint-radius boxes, one outward step per operation."""
    return box_to_midrad(vdown(vdown(am - ar) + vdown(bm - br)), vup(vup(am + ar) + vup(bm + br)))


def _scale_box(m: np.ndarray, r: np.ndarray, c_lo: float, c_hi: float) -> tuple[np.ndarray, np.ndarray]:
    """The box ``[m - r, m + r]`` times the scalar interval ``[c_lo, c_hi]`` (``c_lo > 0``)."""
    lo, hi = vdown(m - r), vup(m + r)
    return box_to_midrad(np.minimum(vdown(lo * c_lo), vdown(lo * c_hi)), np.maximum(vup(hi * c_lo), vup(hi * c_hi)))


def nonneg_matrix_norm_up(u: np.ndarray, norm: str, rtol: float) -> float:
    """Upper bound of ``||J||`` for every ``J`` with ``|J| <= u`` entrywise (``u`` nonnegative, 2-D): l2:
    ``||J||_2 <= || |J| ||_2 <= ||u||_2`` (monotonicity of the spectral norm on nonnegative matrices), certified by
    :func:`kernels.spectral_norm`; l-inf: the largest row sum, rounded up."""
    if not np.all(np.isfinite(u)):
        return float("inf")
    if u.size == 0 or not np.any(u):
        return 0.0
    if norm == "linf":
        return float(np.max(nonneg_sum_up(vup(u.sum(axis=1)), u.shape[1])))
    from kernels._spectral import spectral_norm

    return float(spectral_norm(u, rtol=rtol, device="cpu").hi)


def _parts(q: tuple, k: tuple, v: tuple) -> tuple:
    """Boxes (midpoint, radius) of ``p`` ``(T, S)`` and ``c_ij = p_ij (v_j - o_i)`` ``(T, S, d_v)`` over the boxes
    ``q (T, d), k (S, d), v (S, d_v)``, and the enclosure ``[sc_lo, sc_hi]`` of ``1/sqrt(d)``."""
    (qm, qr), (km, kr), (vm, vr) = q, k, v
    pm, pr = _probs(qm, qr, km, kr)
    om, orr = _bilinear(pm, pr, vm, vr)
    dv = box_to_midrad(vdown(vdown(vm - vr)[None] - vup(om + orr)[:, None]),
                       vup(vup(vm + vr)[None] - vdown(om - orr)[:, None]))  # (T_i, S_j, d_v): v_j - o_i
    cm, cr = _bilinear(pm[..., None, None], pr[..., None, None], dv[0][:, :, None, :], dv[1][:, :, None, :])
    return (pm, pr), (cm[:, :, 0, :], cr[:, :, 0, :]), *_inv_sqrt_box(qm.shape[-1])


def _head_jacobian(q: tuple, k: tuple, v: tuple, wq: np.ndarray, wk: np.ndarray,
                   wv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Midpoint-radius enclosure ``(T, T, d_h, D)`` of ``d o_i / d x_m`` for one head (module docstring) from the
    boxes ``q, k, v`` (``(mid, rad)``, each ``(T, d_h)``) and the head's exact projection rows ``(d_h, D)``."""
    (qm, qr), (km, kr) = q, k
    t, dh = qm.shape
    d = wq.shape[1]
    zq = np.zeros_like(wq)
    (pm, pr), (cm, cr), sc_lo, sc_hi = _parts(q, k, v)
    am, ar = _scale_box(*_bilinear(km, kr, wq, zq), sc_lo, sc_hi)  # row j: (W_q^T k_j)^T / sqrt(d_h)
    bm, br = _scale_box(*_bilinear(qm, qr, wk, zq), sc_lo, sc_hi)  # row i: (W_k^T q_i)^T / sqrt(d_h)
    j1 = _bilinear(pm[..., None, None], pr[..., None, None], wv.reshape(1, -1), np.zeros((1, dh * d)))
    j1 = j1[0].reshape(t, t, dh, d), j1[1].reshape(t, t, dh, d)
    j2 = _bilinear(cm[..., None], cr[..., None], bm[:, None, None, :], br[:, None, None, :])
    jm, jr = _add(*j1, *j2)
    j3m, j3r = _bilinear(np.swapaxes(cm, 1, 2), np.swapaxes(cr, 1, 2), am, ar)  # (T, d_h, D)
    ii = np.arange(t)
    jm[ii, ii], jr[ii, ii] = _add(jm[ii, ii], jr[ii, ii], j3m, j3r)
    return jm, jr


def _sdpa_jacobian_bound(q: tuple, k: tuple, v: tuple) -> np.ndarray:
    """Entrywise bound ``(T d_v, T d + S d + S d_v)`` of ``|[d o / d q, d o / d k, d o / d v]|`` over the boxes
    (one slice of the leading axes): ``d o_i / d q_i = sum_j c_ij k_j^T / sqrt(d)``, ``d o_i / d k_m = c_im q_i^T /
    sqrt(d)``, ``d o_i / d v_m = p_im I``."""
    (qm, qr), (km, kr), (vm, _) = q, k, v
    t, d = qm.shape
    s_, dv = vm.shape
    (pm, pr), (cm, cr), sc_lo, sc_hi = _parts(q, k, v)
    ksm, ksr = _scale_box(km, kr, sc_lo, sc_hi)
    qsm, qsr = _scale_box(qm, qr, sc_lo, sc_hi)
    jq = _bilinear(np.swapaxes(cm, 1, 2), np.swapaxes(cr, 1, 2), ksm, ksr)  # (T, d_v, d)
    jk = _bilinear(cm[..., None], cr[..., None], qsm[:, None, None, :], qsr[:, None, None, :])  # (T, S, d_v, d)
    uq = np.zeros((t, dv, t, d))
    ii = np.arange(t)
    uq[ii, :, ii, :] = vup(np.abs(jq[0]) + jq[1])
    uk = vup(np.abs(jk[0]) + jk[1]).transpose(0, 2, 1, 3)
    uv = vup(np.abs(pm) + pr)[:, None, :, None] * np.eye(dv)[None, :, None, :]  # exact: products with 0 and 1
    return np.concatenate([u.reshape(t * dv, -1) for u in (uq, uk, uv)], axis=1)


_NO_LIPSCHITZ = ("is not globally Lipschitz (its scores are quadratic in the input): h_lipschitz_upper is not met; a "
                 "bound holds only on a bounded input domain, which is not claimed here")


@dataclass(frozen=True, slots=True)
class ScaledDotProductAttention:
    """``F.scaled_dot_product_attention(q, k, v)`` with its defaults (no mask, no dropout, not causal, scale
    ``1/sqrt(d)``): three inputs ``(..., T, d)``, ``(..., S, d)``, ``(..., S, d_v)`` -> ``(..., T, d_v)``."""

    def out_shape(self, shapes: tuple[tuple[int, ...], ...]) -> tuple[int, ...]:
        if len(shapes) != 3 or min(len(s) for s in shapes) < 2:
            raise InvalidInput(f"scaled_dot_product_attention reads (q, k, v), each (..., tokens, features); got "
                               f"shapes {shapes!r}")
        q, k, v = shapes
        if q[:-2] != k[:-2] or k[:-2] != v[:-2] or q[-1] != k[-1] or k[-2] != v[-2]:
            raise InvalidInput(f"scaled_dot_product_attention: q {q!r}, k {k!r}, v {v!r} do not fit (q and k share "
                               "the feature axis, k and v the token axis)")
        return (*q[:-1], v[-1])

    def forward(self, xs: tuple[Enclosed, ...], ctx: Any) -> Enclosed:
        q, k, v = xs
        o, orad = _sdpa(q.mid, q.rad, k.mid, k.rad, v.mid, v.rad)
        return tighten(o, orad, l2_up(orad))

    def combine_lipschitz(self, lips: list[float], norm: str) -> float:
        raise HypothesisNotMet(f"scaled dot-product attention {_NO_LIPSCHITZ}")

    def local_combine_lipschitz(self, xs: tuple[Enclosed, ...], lips: list[float], norm: str, cache: dict) -> float:
        """Local constant of the node on the boxes ``xs = (q, k, v)`` (one sample), given its inputs' constants
        ``lips``: with ``J_s = [J_q J_k J_v]`` of leading-axis slice ``s`` (block diagonal over slices),
        l2: ``max_s ||U_s||_2 sqrt(L_q^2 + L_k^2 + L_v^2)``; l-inf: ``max_s ||U_s||_inf max(L_q, L_k, L_v)``; rounded
        up. Holds only on the boxes."""
        q, k, v = xs
        if q.mid.shape[0] != 1:
            raise InvalidInput("scaled_dot_product_attention: one input box (batch 1) is needed")
        flat = [(z.mid[0].reshape(-1, *z.mid.shape[-2:]), z.rad[0].reshape(-1, *z.mid.shape[-2:])) for z in xs]
        rtol = float(cache.get("rtol", 1e-6))
        jn = max(nonneg_matrix_norm_up(_sdpa_jacobian_bound(*((f[0][i], f[1][i]) for f in flat)), norm, rtol)
                 for i in range(flat[0][0].shape[0]))
        if norm == "linf":
            return mul_up(jn, max(lips))
        sq = add_up(add_up(mul_up(lips[0], lips[0]), mul_up(lips[1], lips[1])), mul_up(lips[2], lips[2]))
        return mul_up(jn, sqrt_up(sq))

    def relaxation(self, lo: np.ndarray, hi: np.ndarray) -> Any:
        raise InvalidInput("scaled_dot_product_attention: no linear relaxation yet")


@dataclass(frozen=True, slots=True, eq=False)
class Attention:
    """Self-attention with ``num_heads`` heads: projections ``q, k, v, out`` (each a :class:`Linear`)."""

    num_heads: int
    q: Linear
    k: Linear
    v: Linear
    out: Linear

    def out_shape(self, shapes: tuple[tuple[int, ...], ...]) -> tuple[int, ...]:
        s = shapes[0]
        d = self.q.weight.shape[1]
        if len(s) != 2 or s[1] != d or d % self.num_heads:
            raise InvalidInput(f"Attention (embed {d}, {self.num_heads} heads): its input has shape {s!r}; (T, {d})"
                               " tokens are needed")
        return s

    def forward(self, xs: tuple[Enclosed, ...], ctx: Any) -> Enclosed:
        x = xs[0]
        q, k, v = (lay.forward((x,), ctx) for lay in (self.q, self.k, self.v))
        b, t, d = q.mid.shape
        h = self.num_heads
        dh = d // h

        def heads(z: np.ndarray) -> np.ndarray:  # (b, t, d) -> (b, h, t, dh)
            return z.reshape(b, t, h, dh).transpose(0, 2, 1, 3)

        o, orad = _sdpa(*(heads(a) for a in (q.mid, q.rad, k.mid, k.rad, v.mid, v.rad)))
        o = o.transpose(0, 2, 1, 3).reshape(b, t, d)
        orad = orad.transpose(0, 2, 1, 3).reshape(b, t, d)
        cat = tighten(o, orad, l2_up(orad))
        return self.out.forward((cat,), ctx)

    def lipschitz(self, shape: tuple[int, ...], norm: str, cache: dict) -> Any:
        raise HypothesisNotMet(f"self-attention {_NO_LIPSCHITZ}")

    def local_lipschitz(self, x: Enclosed, norm: str, cache: dict, ctx: Any) -> Enclosure:
        """Upper bound of ``sup ||J(z)||`` (``norm``: ``"l2"`` or ``"linf"``) over the box ``x`` (one sample): the
        module docstring's Jacobian enclosure. Holds only on that box."""
        if x.mid.shape[0] != 1:
            raise InvalidInput("Attention.local_lipschitz: one input box (batch 1) is needed")
        q, k, v = (lay.forward((x,), ctx) for lay in (self.q, self.k, self.v))
        t, d = x.mid.shape[1:]
        dh = d // self.num_heads
        jm, jr = np.zeros((t, t, d, d)), np.zeros((t, t, d, d))  # (i, m, out feature, in feature) of the heads
        for h in range(self.num_heads):
            sl = slice(h * dh, (h + 1) * dh)
            box = [(z.mid[0][:, sl], z.rad[0][:, sl]) for z in (q, k, v)]
            jm[:, :, sl, :], jr[:, :, sl, :] = _head_jacobian(*box, *(lay.weight[sl, :] for lay in (self.q, self.k,
                                                                                                     self.v)))
        wo = self.out.weight
        om, orr = _bilinear(wo, np.zeros_like(wo), jm, jr)  # (i, m, D, D): W_out d o_i / d x_m
        u = vup(np.abs(om) + orr).transpose(0, 2, 1, 3).reshape(t * d, t * d)
        hi = nonneg_matrix_norm_up(u, norm, float(cache.get("rtol", 1e-6)))
        return Enclosure(0.0, hi, f"attention: sup ||J|| on the input box ({norm}; local, holds only on the domain)")

    def relaxation(self, lo: np.ndarray, hi: np.ndarray) -> Any:
        raise InvalidInput("Attention: no linear relaxation yet")
