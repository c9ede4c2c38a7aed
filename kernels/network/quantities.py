"""Network-level certified quantities on the IR: forward enclosures, logit margins, Lipschitz upper bounds (l2 and
l-inf) and path norms.

* Forward enclosure / logit margins: :meth:`Graph.forward` (a float64 forward pass with proven elementwise and l2
  error radii; see :mod:`kernels.network._state` and each layer module for its rounding model); the margin
  ``f(x)_y - max_{j != y} f(x)_j`` is formed from the logit enclosure with outward rounding.
* Lipschitz upper bound: :meth:`Graph.lipschitz` (per-layer certified constants composed along the graph; a
  residual block contributes ``L(shortcut) + L(block)``; Tsuzuku, Sato, Sugiyama 2018). With ``domain=(lo, hi)``:
  a local bound that holds only on that input box (:mod:`kernels.network._local_lipschitz`; the only bound for
  self-attention), recorded in :attr:`LipschitzUpper.domain`.
* Path norm (Neyshabur, Tomioka, Srebro, COLT 2015): for a chain of Linear layers and relu/identity activations,
  ``||f||_{path,p} = (1^T phi_p)^{1/p}``, ``phi_p`` the all-ones input through ``|W|^p`` with biases ``|b|^p``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from boundcert.errors import InvalidInput
from kernels._device import Device, resolve_device, tag_source
from kernels._enclosure import Enclosure
from kernels._environment import check_environment
from kernels._rounding import ETA, down, gamma, sqrt_down, sqrt_up, up, vdown, vup
from kernels._validation import as_array, as_float64, check_choice, check_int
from kernels.network._state import point
from kernels.network.graph import CpuOps, ForwardContext, Graph
from kernels.network.legacy import to_graph

__all__ = ["Margins", "LipschitzUpper", "forward_enclosure", "logit_margins", "lipschitz_upper", "path_norm",
           "margins_from_logits"]

SOURCE = "kernels.logit_margins/float-pass+radii v2"
SOURCE_COMPENSATED = "kernels.logit_margins/dot2-pass+radii v1"


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


@dataclass(frozen=True, slots=True)
class LipschitzUpper:
    """A proven upper bound ``upper >= Lip(f)`` in ``norm``; ``factors`` lists the per-layer certificates used.
    ``domain``: ``None`` (a global constant) or ``(lo, hi)`` (per-sample input shape): the constant holds only on
    the input domain ``[lo, hi]`` (``Lip`` of ``f`` restricted to that box)."""

    upper: float
    factors: tuple[Enclosure, ...]
    source: str = "kernels.lipschitz_upper v2"
    norm: str = "l2"
    domain: tuple[np.ndarray, np.ndarray] | None = None


def _ops(device: Device, where: str) -> tuple[Any, str]:
    dev = resolve_device(device, where, has_cuda_path=True)
    if dev == "cuda":
        from kernels._cuda_network import CudaOps

        return CudaOps, dev
    return CpuOps, dev


def forward_enclosure(graph: Any, x: Any, *, radius: Any = 0.0, batch_size: int = 256, device: Device = "auto",
                      op_norms: Literal["fast", "tight"] = "fast",
                      precision: Literal["float64", "compensated"] = "float64") -> tuple[np.ndarray, np.ndarray]:
    """``(lo, hi)`` with ``lo <= f(x') <= hi`` elementwise for the exact real network ``f`` and every input ``x'``
    with ``|x' - x| <= radius`` (floats taken exactly; ``radius`` 0: the stored points). ``graph``: a
    :class:`Graph` or a legacy layer sequence. Rounding model: :mod:`kernels.network._state` and the layer modules.
    ``op_norms``: the operator norms that carry rounding errors through later layers: ``"fast"`` (kernel-matrix
    bounds, no set-up cost) or ``"tight"`` (plus each convolution's Fourier-form bound, computed once per layer and
    input size: seconds to minutes for wide layers; much narrower enclosures on deep nets). Both are proven.
    ``precision``: ``"float64"`` midpoints, or ``"compensated"`` double-double midpoints through Linear, Conv,
    BatchNorm, ReLU and Add (Ogita-Rump-Oishi Dot2 on the CPU, :mod:`kernels.network._compensated`): each layer's own
    rounding error ~``n u`` times smaller, so deep nets get far narrower enclosures (ResNet-18: ~1e-13 relative
    instead of 0.25); about as fast as float64 (the Dot2 kernel also sums the radius products).
    """
    check_environment("kernels.forward_enclosure")
    ops, _ = _ops(device, "kernels.forward_enclosure")
    g = to_graph(graph)
    xs = as_float64(x, "x", integers=True)
    if xs.ndim < 1:
        raise InvalidInput(f"x.shape={xs.shape!r}: one row per sample is needed")
    batch_size = check_int("batch_size", batch_size, 1)
    rad = np.broadcast_to(np.asarray(radius, dtype=np.float64), xs.shape)
    if np.any(rad < 0) or not np.all(np.isfinite(rad)):
        raise InvalidInput("radius: must be finite and >= 0")
    check_choice(op_norms, ("fast", "tight"), f"op_norms={op_norms!r}: one of 'fast', 'tight'")
    check_choice(precision, ("float64", "compensated"), f"precision={precision!r}: one of 'float64', 'compensated'")
    ctx = ForwardContext(ops, {"tight": op_norms == "tight", "precision": precision})
    los, his = [], []
    for s in range(0, xs.shape[0], batch_size):
        out = g.forward(point(xs[s:s + batch_size], rad[s:s + batch_size]), ctx)
        los.append(out.lo), his.append(out.hi)
    return np.concatenate(los), np.concatenate(his)


def margins_from_logits(lo: np.ndarray, hi: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Enclosures of ``f_y - max_{j != y} f_j`` from logit enclosures (rows), rounded outward."""
    lo, hi = lo.reshape(lo.shape[0], -1), hi.reshape(hi.shape[0], -1)
    rows = np.arange(lo.shape[0])
    other_hi = hi.copy()
    other_hi[rows, y] = -np.inf
    other_lo = lo.copy()
    other_lo[rows, y] = -np.inf
    return vdown(lo[rows, y] - other_hi.max(axis=1)), vup(hi[rows, y] - other_lo.max(axis=1))


def logit_margins(graph: Any, x: Any, y: Any, *, batch_size: int = 256, device: Device = "auto",
                  precision: Literal["float64", "compensated"] = "float64") -> Margins:
    """Certified per-sample logit margins ``f(x)_y - max_{j != y} f(x)_j`` of a network on a dataset.

    ``graph``: a :class:`Graph` or a legacy layer sequence; ``x``: (n, ...) floats taken exactly; ``y``: (n,)
    integer labels. Rounding model: the enclosed forward pass (:func:`forward_enclosure`), then outward rounding.
    ``device="cuda"``: the sums of products of Linear layers and groups-1 convolutions run on the device
    (:mod:`kernels._cuda_network`, same error model); the device that ran is recorded in ``source``.
    ``precision``: as in :func:`forward_enclosure` (``"compensated"``: Dot2 midpoints on the CPU, recorded in
    ``source``).
    """
    check_environment("kernels.logit_margins")
    _, dev = _ops(device, "kernels.logit_margins")
    batch_size = check_int("batch_size", batch_size, 1)
    g = to_graph(graph)
    xs = as_float64(x, "x", integers=True)
    if xs.ndim < 1:
        raise InvalidInput(f"x.shape={xs.shape!r}: one row per sample is needed, (n, features) or (n, C, H, W)")
    ys = as_array(y, "y", "integer labels, one per row of x")
    if ys.ndim != 1 or ys.shape[0] != xs.shape[0] or ys.dtype.kind not in "iu":
        raise InvalidInput(f"y.shape={ys.shape!r}, y.dtype={ys.dtype!r}: integer labels, one per row of x")
    lo, hi = forward_enclosure(g, xs, batch_size=batch_size, device=dev, precision=precision)
    lo, hi = lo.reshape(lo.shape[0], -1), hi.reshape(hi.shape[0], -1)
    k = lo.shape[1]
    if k < 2 or np.any(ys < 0) or np.any(ys >= k):
        raise InvalidInput(f"y: labels must lie in [0, {k}) and the network needs >= 2 logits")
    m_lo, m_hi = margins_from_logits(lo, hi, ys)
    return Margins(m_lo, m_hi, tag_source(SOURCE if precision == "float64" else SOURCE_COMPENSATED, dev))


def lipschitz_upper(graph: Any, *, rtol: float = 1e-6, norm: Literal["l2", "linf"] = "l2",
                    input_shape: tuple[int, ...] | None = None, domain: tuple[Any, Any] | None = None
                    ) -> LipschitzUpper:
    """Proven upper bound of the network's Lipschitz constant in ``norm`` (biases do not matter).

    ``Lip(f_L o ... o f_1) <= prod_i Lip(f_i)`` along the graph with each layer's certified constant (its module's
    Lipschitz rule: :func:`kernels.spectral_norm`, :func:`kernels.conv_spectral_norm`, exact activation constants,
    pooling norms in rationals); a residual ``Add`` sums its inputs' constants; products and sums rounded up.
    ``input_shape``: per-sample input shape (needed for convolutions unless the graph records it).
    ``domain=(lo, hi)``: a *local* bound, ``upper >= ||f(a) - f(b)|| / ||a - b||`` for ``a != b`` in the box
    ``[lo, hi]`` only (numbers or arrays broadcast to the input shape; e.g. ``(0, 1)`` for pixels): interval bounds
    of every node's input over the box, then per layer a bound of ``sup ||J||`` there (self-attention, LayerNorm,
    GroupNorm; the rest keep their global rule), chained as above (:mod:`kernels.network._local_lipschitz`). The
    result records the domain; it is the only way to a bound for self-attention.
    """
    check_environment("kernels.lipschitz_upper")
    check_choice(norm, ("l2", "linf"), f"norm={norm!r}: one of 'l2', 'linf'")
    g = to_graph(graph)
    if domain is not None:
        from kernels.network._local_lipschitz import local_lipschitz

        if not isinstance(domain, tuple) or len(domain) != 2:
            raise InvalidInput("domain: give (lo, hi), the elementwise bounds of the network input")
        upper, factors, lo, hi = local_lipschitz(g, domain[0], domain[1], norm, rtol, input_shape)
        return LipschitzUpper(upper, factors, "kernels.lipschitz_upper/local-domain v1", norm, (lo, hi))
    upper, factors = g.lipschitz(input_shape, norm, {"rtol": rtol})
    return LipschitzUpper(upper, factors, norm=norm)


def _nonneg_matvec_bounds(p_lo, p_hi, x_lo, x_hi, b_lo, b_hi):
    """Bounds of the exact ``P x + b`` for nonnegative data (``n + 1`` terms per output, any order)."""
    n = p_hi.shape[1] + 1
    g = gamma(n)
    hi = vup(vup(p_hi @ x_hi + b_hi + up(n * ETA)) / down(1.0 - g))
    lo = np.maximum(vdown(vdown(p_lo @ x_lo + b_lo - up(n * ETA)) / up(1.0 + g)), 0.0)
    return lo, hi


def path_norm(graph: Any, p: Literal[1, 2] = 2) -> Enclosure:
    """Certified l_p path norm (p = 1 or 2, biases included) of a chain of Linear layers and relu/identity.

    Rounding model: ``|w|^p`` is enclosed by ``nextafter(fl(w^p), -+inf)``; each forward step is a sum of
    ``n + 1`` nonnegative terms with ``|fl - exact| <= gamma_{n+1} exact + (n+1) eta``; the root is rounded outward.
    Reference: Neyshabur, Tomioka, Srebro, "Norm-based capacity control in neural networks", COLT 2015.
    """
    from kernels.network.activation import Activation
    from kernels.network.affine import Linear
    from kernels.network.shape import Flatten

    check_environment("kernels.path_norm")
    check_choice(p, (1, 2), f"p={p!r}: path norms are certified for p = 1 and p = 2")
    g: Graph = to_graph(graph)
    keep = [n.layer for n in g.nodes if not (isinstance(n.layer, Activation) and n.layer.kind in ("relu", "identity"))
            and not isinstance(n.layer, Flatten)]
    if not g.is_chain or not keep or not all(isinstance(lay, Linear) for lay in keep):
        bad = next((type(lay).__name__ for lay in keep if not isinstance(lay, Linear)), "a residual connection")
        raise InvalidInput(f"layers: path_norm needs a chain of Linear (DenseLayer) and relu/identity layers only "
                           f"(got {bad}); flatten convolutions to dense layers first")
    x_lo = x_hi = np.ones(keep[0].weight.shape[1])
    for lay in keep:
        w = np.abs(lay.weight)
        if w.shape[1] != x_hi.shape[0]:
            raise InvalidInput(f"weight.shape={w.shape!r}: expects {x_hi.shape[0]} inputs from the previous layer")
        b = np.zeros(w.shape[0]) if lay.bias is None else np.abs(lay.bias)
        if p == 2:
            w_lo, w_hi = np.maximum(vdown(w * w), 0.0), vup(w * w)
            b_lo, b_hi = np.maximum(vdown(b * b), 0.0), vup(b * b)
        else:
            w_lo = w_hi = w
            b_lo = b_hi = b
        with np.errstate(over="ignore"):
            x_lo, x_hi = _nonneg_matvec_bounds(w_lo, w_hi, x_lo, x_hi, b_lo, b_hi)
    n = x_hi.size
    gm = gamma(max(n, 1))
    with np.errstate(over="ignore"):
        s_hi = up(float(np.sum(x_hi)) / down(1.0 - gm))
        s_lo = max(down(float(np.sum(x_lo)) / up(1.0 + gm)), 0.0)
    if p == 2:
        s_lo, s_hi = sqrt_down(s_lo), (sqrt_up(s_hi) if math.isfinite(s_hi) else math.inf)
    return Enclosure(s_lo, s_hi if not math.isnan(s_hi) else math.inf, f"kernels.path_norm[p={p}] v1")
