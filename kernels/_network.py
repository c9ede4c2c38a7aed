"""Network-level certified quantities: path norms, logit margins, Lipschitz upper bounds.

* Path norm (Neyshabur, Tomioka, Srebro, COLT 2015; as in bneyshabur/generalization-bounds): for a ReLU
  network of dense layers, ``||f||_{path,p} = (1^T phi_p)^{1/p}`` where ``phi_p`` is the forward pass of the
  all-ones input through ``|W|^p`` with biases ``|b|^p`` (p = 1, 2).
* Logit margins ``f(x)_y - max_{j != y} f(x)_j`` from a float64 midpoint-radius forward pass (Rump, BIT 39
  (1999) "Fast and parallel interval arithmetic"): ``c = fl(W m + b)`` and
  ``r = |W| (r_in + gamma_{n+1}|m|) + gamma_{n+1}|b| + (n+1) eta``, evaluated upward.
* Lipschitz upper bound (l2): product of certified layer norms and activation constants; a residual block
  contributes ``L(shortcut) + L(block)`` (1 + L(block) for the identity) (Tsuzuku, Sato, Sugiyama 2018).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal, Sequence

import numpy as np

from boundcert.errors import InvalidInput
from kernels._conv import conv_spectral_norm
from kernels._conv_ops import dilate, forward, geometry, pair
from kernels._device import Device, resolve_device, tag_source
from kernels._enclosure import Enclosure
from kernels._environment import check_environment
from kernels._layers import Activation, ConvLayer, DenseLayer, Layer, Residual
from kernels._rounding import ETA, add_up, down, gamma, mul_up, sqrt_down, sqrt_up, up, vdown, vup
from kernels._spectral import spectral_norm
from kernels._validation import as_array, as_float64, as_sequence, check_choice, check_int

__all__ = ["path_norm", "logit_margins", "Margins", "lipschitz_upper", "LipschitzUpper"]


def _nonneg_matvec_bounds(p_lo, p_hi, x_lo, x_hi, b_lo, b_hi):
    """Bounds of the exact ``P x + b`` for nonnegative data (``n + 1`` terms per output, any order)."""
    n = p_hi.shape[1] + 1
    g = gamma(n)
    hi = vup(vup(p_hi @ x_hi + b_hi + up(n * ETA)) / down(1.0 - g))
    lo = np.maximum(vdown(vdown(p_lo @ x_lo + b_lo - up(n * ETA)) / up(1.0 + g)), 0.0)
    return lo, hi


def path_norm(layers: Sequence[Layer], p: Literal[1, 2] = 2) -> Enclosure:
    """Certified l_p path norm (p = 1 or 2, biases included) of a ReLU network of :class:`DenseLayer` s.

    Rounding model: ``|w|^p`` is enclosed by ``nextafter(fl(w^p), -+inf)``; each forward step is a sum of
    ``n + 1`` nonnegative terms with ``|fl - exact| <= gamma_{n+1} exact + (n+1) eta``; the root is rounded outward.
    Reference: Neyshabur, Tomioka, Srebro, "Norm-based capacity control in neural networks", COLT 2015.
    """
    check_environment("kernels.path_norm")
    check_choice(p, (1, 2), f"p={p!r}: path norms are certified for p = 1 and p = 2")
    layers = as_sequence(layers, "layers", "a sequence of DenseLayer and Activation layers")
    dense = [lay for lay in layers if not (isinstance(lay, Activation) and lay.name in ("relu", "identity"))]
    if not dense or not all(isinstance(lay, DenseLayer) for lay in dense):
        bad = next((type(lay).__name__ for lay in dense if not isinstance(lay, DenseLayer)), "none")
        raise InvalidInput(f"layers: path_norm needs DenseLayer and relu/identity Activation layers only (got {bad}); "
                           "flatten convolutions to dense layers first")
    x_lo = x_hi = np.ones(as_float64(dense[0].weight, "weight", ndim=2).shape[1])
    for lay in dense:
        w = np.abs(as_float64(lay.weight, "weight", ndim=2))
        if w.shape[1] != x_hi.shape[0]:
            raise InvalidInput(f"weight.shape={w.shape!r}: expects {x_hi.shape[0]} inputs from the previous layer")
        b = np.zeros(w.shape[0]) if lay.bias is None else np.abs(as_float64(lay.bias, "bias", ndim=1))
        if p == 2:
            w_lo, w_hi = np.maximum(vdown(w * w), 0.0), vup(w * w)
            b_lo, b_hi = np.maximum(vdown(b * b), 0.0), vup(b * b)
        else:
            w_lo = w_hi = w
            b_lo = b_hi = b
        with np.errstate(over="ignore"):
            x_lo, x_hi = _nonneg_matvec_bounds(w_lo, w_hi, x_lo, x_hi, b_lo, b_hi)
    n = x_hi.size
    g = gamma(max(n, 1))
    with np.errstate(over="ignore"):
        s_hi = up(float(np.sum(x_hi)) / down(1.0 - g))
        s_lo = max(down(float(np.sum(x_lo)) / up(1.0 + g)), 0.0)
    if p == 2:
        s_lo, s_hi = sqrt_down(s_lo), (sqrt_up(s_hi) if math.isfinite(s_hi) else math.inf)
    return Enclosure(s_lo, s_hi if not math.isnan(s_hi) else math.inf, f"kernels.path_norm[p={p}] v1")


# ---------------------------------------------------------------- margins

@dataclass(frozen=True, slots=True)
class Margins:
    """Per-sample enclosures ``lo[i] <= f(x_i)_{y_i} - max_{j != y_i} f(x_i)_j <= hi[i]``."""

    lo: np.ndarray
    hi: np.ndarray
    source: str

    def __len__(self) -> int:
        return int(self.lo.shape[0])

    def __getitem__(self, i: int) -> Enclosure:
        return Enclosure(float(self.lo[i]), float(self.hi[i]), self.source)


def _affine(mid, rad, w_apply, absw_apply, n_terms, b):
    """Midpoint-radius ``W x + b``: ``w_apply``/``absw_apply`` map (features, batch) arrays."""
    g = gamma(n_terms)
    c = w_apply(mid)
    if b is not None:
        c = c + b
    s = vup(rad + vup(g * np.abs(mid)))
    r = vup(vup(absw_apply(s) + up(n_terms * ETA)) / down(1.0 - gamma(n_terms)))
    if b is not None:
        r = vup(r + vup(g * np.abs(b)))
    r = vup(r + up(n_terms * ETA))  # the rounding of c itself (bias add included in the n_terms sum)
    return c, r


def _activation(mid, rad, act: Activation):
    if act.name == "identity":
        return mid, rad
    lo, hi = vdown(mid - rad), vup(mid + rad)
    if act.name == "relu":
        lo, hi = np.maximum(lo, 0.0), np.maximum(hi, 0.0)
    elif act.name == "leaky_relu":
        a = float(act.negative_slope)
        if not 0.0 <= a <= 1.0:
            raise InvalidInput(f"negative_slope={a!r}: margins support leaky_relu slopes in [0, 1] (monotone)")
        lo = np.where(lo >= 0, lo, vdown(a * lo))
        hi = np.where(hi >= 0, hi, vup(a * hi))
    else:
        raise InvalidInput(f"Activation.name={act.name!r}: margins are certified through relu, leaky_relu and "
                           "identity only (libm tanh/sigmoid carry no error bound)")
    mid = (lo + hi) * 0.5
    rad = vup(np.maximum(vup(hi - mid), vup(mid - lo)))
    return mid, rad


class CpuOps:
    """The products of the forward pass on the CPU (float64 BLAS); :class:`kernels._cuda_network.CudaOps` is the
    CUDA twin. Each output is a sum of ``n`` products in some order: the ``gamma_n`` model of :func:`_affine`."""

    name = "cpu"

    @staticmethod
    def dense(w: np.ndarray, z: np.ndarray) -> np.ndarray:
        return z @ w.T

    @staticmethod
    def conv(k: np.ndarray, z: np.ndarray, g) -> np.ndarray:
        return np.stack([forward(k, zi, g) for zi in z])


def _forward_interval(layers: Sequence[Layer], mid: np.ndarray, rad: np.ndarray, ops=CpuOps):
    """mid/rad of shape (batch, ...) through the layers; ``ops`` computes the products (CPU or CUDA)."""
    for lay in layers:
        if isinstance(lay, Activation):
            mid, rad = _activation(mid, rad, lay)
        elif isinstance(lay, DenseLayer):
            w = as_float64(lay.weight, "weight", ndim=2)
            mid, rad = mid.reshape(mid.shape[0], -1), rad.reshape(rad.shape[0], -1)
            if mid.shape[1] != w.shape[1]:
                raise InvalidInput(f"weight.shape={w.shape!r}: the previous layer gives {mid.shape[1]} features")
            b = None if lay.bias is None else as_float64(lay.bias, "bias", ndim=1)
            aw = np.abs(w)
            mid, rad = _affine(mid, rad, lambda z: ops.dense(w, z), lambda z: ops.dense(aw, z), w.shape[1] + 1, b)
        elif isinstance(lay, ConvLayer):
            k = dilate(as_float64(lay.weight, "weight", ndim=4), pair(lay.dilation, "dilation", 1))
            g = geometry(k.shape, lay.input_hw, lay.stride, lay.padding, lay.padding_mode)
            shp = (mid.shape[0], g.c_in, *g.input_hw)
            if int(np.prod(mid.shape[1:])) != int(np.prod(shp[1:])):
                raise InvalidInput(f"ConvLayer.input_hw={lay.input_hw!r}: input has shape {mid.shape[1:]}")
            mid, rad = mid.reshape(shp), rad.reshape(shp)
            ak = np.abs(k)
            b = None if lay.bias is None else as_float64(lay.bias, "bias", ndim=1)[None, :, None, None]
            mid, rad = _affine(mid, rad, lambda z: ops.conv(k, z, g), lambda z: ops.conv(ak, z, g),
                               g.c_in * k.shape[2] * k.shape[3] + 1, b)
        elif isinstance(lay, Residual):
            m1, r1 = _forward_interval(lay.block, mid, rad, ops)
            m2, r2 = _forward_interval(lay.shortcut, mid, rad, ops) if lay.shortcut else (mid, rad)
            s = m1 + m2.reshape(m1.shape)
            # |fl(a+b) - (a+b)| <= u |fl(a+b)|
            rad = vup(vup(r1 + r2.reshape(r1.shape)) + vup(2.0**-53 * np.abs(s)))
            mid = s
        else:
            raise InvalidInput(f"layer {type(lay).__name__!r} is not supported; use DenseLayer, ConvLayer, "
                               "Activation, Residual")
    return mid, rad


def logit_margins(layers: Sequence[Layer], x: Any, y: Any, *, batch_size: int = 256,
                  device: Device = "auto") -> Margins:
    """Certified per-sample logit margins ``f(x)_y - max_{j != y} f(x)_j`` of a network on a dataset.

    ``x``: (n, features) or (n, C, H, W) floats taken exactly; ``y``: (n,) integer labels.
    Rounding model: float64 midpoint-radius arithmetic; an affine layer with ``n`` inputs has error
    ``gamma_{n+1}(|W||m| + |b|) + (n+1) eta`` (Higham ch. 3, Rump 1999); activations are applied to the
    interval ends, rounded outward; the margin is formed with outward rounding.
    ``device="cuda"``: the sums of products run on the device (:mod:`kernels._cuda_network`, same error model);
    the device that ran is recorded in ``source``.
    """
    check_environment("kernels.logit_margins")
    dev = resolve_device(device, "kernels.logit_margins", has_cuda_path=True)
    batch_size = check_int("batch_size", batch_size, 1)
    if dev == "cuda":
        from kernels._cuda_network import CudaOps as ops
    else:
        ops = CpuOps
    layers = as_sequence(layers, "layers", "a sequence of layers")
    xs = as_float64(x, "x")
    if xs.ndim < 1:
        raise InvalidInput(f"x.shape={xs.shape!r}: one row per sample is needed, (n, features) or (n, C, H, W)")
    ys = as_array(y, "y", "integer labels, one per row of x")
    if ys.ndim != 1 or ys.shape[0] != xs.shape[0] or ys.dtype.kind not in "iu":
        raise InvalidInput(f"y.shape={ys.shape!r}, y.dtype={ys.dtype!r}: integer labels, one per row of x")
    los, his = [], []
    for start in range(0, xs.shape[0], batch_size):
        xb = xs[start:start + batch_size]
        mid, rad = _forward_interval(layers, xb, np.zeros_like(xb), ops)
        mid, rad = mid.reshape(mid.shape[0], -1), rad.reshape(rad.shape[0], -1)
        k = mid.shape[1]
        yb = ys[start:start + batch_size]
        if k < 2 or np.any(yb < 0) or np.any(yb >= k):
            raise InvalidInput(f"y: labels must lie in [0, {k}) and the network needs >= 2 logits")
        lo_l, hi_l = vdown(mid - rad), vup(mid + rad)
        rows = np.arange(mid.shape[0])
        other_hi = hi_l.copy()
        other_hi[rows, yb] = -np.inf
        other_lo = lo_l.copy()
        other_lo[rows, yb] = -np.inf
        los.append(vdown(lo_l[rows, yb] - other_hi.max(axis=1)))
        his.append(vup(hi_l[rows, yb] - other_lo.max(axis=1)))
    return Margins(np.concatenate(los), np.concatenate(his),
                   tag_source("kernels.logit_margins/midpoint-radius v1", dev))


# ---------------------------------------------------------------- Lipschitz

@dataclass(frozen=True, slots=True)
class LipschitzUpper:
    """A proven upper bound ``upper >= Lip_2(f)``; ``factors`` lists the per-layer certificates used."""

    upper: float
    factors: tuple[Enclosure, ...]
    source: str = "kernels.lipschitz_upper v1"


def _lip(layers: Sequence[Layer], rtol: float, factors: list[Enclosure]) -> float:
    total = 1.0
    for lay in layers:
        if isinstance(lay, DenseLayer):
            enc = spectral_norm(lay.weight, rtol=rtol)
        elif isinstance(lay, ConvLayer):
            enc = conv_spectral_norm(lay.weight, lay.input_hw, stride=lay.stride, padding=lay.padding,
                                     padding_mode=lay.padding_mode, dilation=lay.dilation, rtol=rtol)
        elif isinstance(lay, Activation):
            enc = Enclosure(lay.lipschitz, lay.lipschitz, f"activation {lay.name} (exact constant)")
        elif isinstance(lay, Residual):
            inner = _lip(lay.block, rtol, factors)
            short = _lip(lay.shortcut, rtol, factors) if lay.shortcut else 1.0
            enc = Enclosure(0.0, add_up(inner, short), "residual: L(shortcut) + L(block)")
        else:
            raise InvalidInput(f"layer {type(lay).__name__!r} is not supported; use DenseLayer, ConvLayer, "
                               "Activation, Residual")
        factors.append(enc)
        total = mul_up(total, enc.hi)
    return total


def lipschitz_upper(layers: Sequence[Layer], *, rtol: float = 1e-6) -> LipschitzUpper:
    """Proven upper bound of the l2 Lipschitz constant of the network (biases do not matter).

    ``Lip(f_L o ... o f_1) <= prod_i Lip(f_i)`` with certified ``hi`` of each layer's spectral norm
    (:func:`spectral_norm`, :func:`conv_spectral_norm`), exact activation constants, and
    ``Lip(x -> s(x) + g(x)) <= Lip(s) + Lip(g)`` for residual blocks; products and sums rounded up.
    """
    check_environment("kernels.lipschitz_upper")
    layers = as_sequence(layers, "layers", "a sequence of layers")
    factors: list[Enclosure] = []
    total = _lip(layers, rtol, factors)
    return LipschitzUpper(total, tuple(factors))

