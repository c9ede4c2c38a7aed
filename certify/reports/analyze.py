"""Data-free per-layer quantities of a network: certified norm enclosures, one row per weight layer.

Rounding model: the Frobenius norm and the row and column norms from :func:`kernels.matrix_norms` (one sweep;
a-priori bounds of float sums, Higham ch. 3); the spectral norm is enclosed below by the largest column or row l2
norm (``||W e_j|| <= ||W||_2``) and above by ``min(||W||_F, sqrt(||W||_1 ||W||_inf))`` (Schur), with
``kernels.spectral_norm``'s certified enclosure (Rump's Cholesky certificate) intersected in. Convolutions are
reported on their kernel matrix (out x in*kh*kw); with ``input_shape`` (``--input-shape C,H,W``) each convolution's
operator l2 norm on that input is certified too (``operator_lo``/``operator_hi``: the network IR's Lipschitz rule,
:func:`kernels.conv_spectral_norm` where it applies, else ``max_g ||K_g||_2 sqrt(overlap)``). Layers that are not
translated (an unsupported operation) are listed by :func:`skipped_layers`, never fatal. Stable rank
``||W||_F^2 / ||W||_2^2`` is enclosed from both. An Embedding is reported on its table (``num_embeddings x dim``).

ESD columns (measures, never bounds; Martin & Mahoney, JMLR 22 (2021); Martin, Peng, Mahoney, Nature
Communications 12 (2021)): :func:`kernels.esd_metrics_estimate`, i.e. WeightWatcher's default power-law fit of the
eigenvalues of ``W^T W`` (Hill estimator at every candidate ``xmin``, the ``xmin`` of minimal Kolmogorov-Smirnov
distance), with its diagnostics, and the norm metrics derived from the same eigenvalues. For a Linear layer the
matrix is ``W``; for a Conv2d layer the ESD pools the ``kh * kw`` kernel slices ``W[:, :, i, j]`` (each
``out x in/groups``; :func:`kernels.conv2d_matrices`, WeightWatcher's ``pool=True``) -- the spectrum of those
slices, *not* of the convolution operator nor of the reshaped kernel matrix used by the certified columns, and
without WeightWatcher's ``sqrt(1/2)`` Conv2d rescaling (see :mod:`kernels._esd`). ``esd_warning`` is
WeightWatcher's flag (``over-trained`` for ``alpha < 2``, ``under-trained`` for ``alpha > 6``) or ``fit failed``,
and ``few eigenvalues`` when fewer than 20 eigenvalues exceed ``1e-5`` (WeightWatcher's small-N fit).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from certify.quantities.spectral import matrix_enclosures
from kernels import network as ir
from theorems import Interval, enclose

__all__ = ["LayerRow", "analyze_network", "analyzed_layers", "skipped_layers", "esd_columns", "rows_to_csv",
           "OVER_TRAINED", "UNDER_TRAINED"]

#: WeightWatcher's thresholds on the ESD alpha (``OVER_TRAINED_THRESH``, ``UNDER_TRAINED_THRESH``).
OVER_TRAINED, UNDER_TRAINED = 2.0, 6.0


@dataclass(frozen=True, slots=True)
class LayerRow:
    """One weight layer; ``*_lo``/``*_hi`` are decimal strings rounded outward."""

    name: str
    kind: str
    shape: str
    params: int
    frobenius_lo: str
    frobenius_hi: str
    spectral_lo: str
    spectral_hi: str
    spectral_source: str
    stable_rank_lo: str
    stable_rank_hi: str
    # ESD measures (float64, uncertified; None when analyze_network(..., esd=False))
    esd_matrices: str | None = None
    alpha_estimate: float | None = None
    alpha_weighted_estimate: float | None = None
    esd_xmin: float | None = None
    esd_xmax: float | None = None
    esd_ks_distance: float | None = None
    esd_sigma: float | None = None
    esd_n_fitted: int | None = None
    esd_n_evals: int | None = None
    stable_rank_estimate: float | None = None
    log_norm_estimate: float | None = None
    log_spectral_norm_estimate: float | None = None
    log_alpha_norm_estimate: float | None = None
    esd_warning: str | None = None
    # the certified operator l2 norm of a convolution on the given input shape (None without --input-shape)
    operator_lo: str | None = None
    operator_hi: str | None = None
    operator_source: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data; a non-finite ESD float (e.g. the log of an all-zero layer) becomes the string
        ``"inf"``, ``"-inf"`` or ``"nan"``."""
        return {k: _json_float(v) for k, v in asdict(self).items()}


def _json_float(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    return v


def esd_columns(layer: Any, evals: np.ndarray | None = None) -> dict[str, Any]:
    """The ESD columns of one layer (see the module docstring): :func:`kernels.esd_metrics_estimate` on the
    layer's matrices, flattened to plain fields. ``evals``: a Linear layer's ESD already computed
    (``kernels.esd(W)``, e.g. from :func:`kernels.spectral_norm_and_esd`), used instead of recomputing it."""
    from kernels import conv2d_matrices, esd_metrics_estimate

    W = layer.weight
    if isinstance(layer, ir.Conv):
        if W.ndim == 3:
            W = W[:, :, None, :]
        mats: Any = conv2d_matrices(W)
        what = f"{len(mats)} kernel slices W[:, :, i, j] ({W.shape[0]}x{W.shape[1]}), pooled"
        if len(mats) != 1:  # a 1x1 kernel's one slice is its kernel matrix: ``evals`` (if given) are its ESD
            evals = None
    else:
        mats, what = W, f"W ({W.shape[0]}x{W.shape[1]})"
    m = esd_metrics_estimate(mats) if evals is None else esd_metrics_estimate(evals=evals)
    f = m.fit
    flags = []
    if f.method == "failed":
        flags.append("fit failed")
    elif f.alpha < OVER_TRAINED:
        flags.append("over-trained")
    elif f.alpha > UNDER_TRAINED:
        flags.append("under-trained")
    if f.method == "ww-small-n":
        flags.append("few eigenvalues")
    warning = "; ".join(flags)
    return {"esd_matrices": what, "alpha_estimate": f.alpha, "alpha_weighted_estimate": m.alpha_weighted,
            "esd_xmin": f.xmin, "esd_xmax": f.xmax, "esd_ks_distance": f.D, "esd_sigma": f.sigma,
            "esd_n_fitted": f.n_tail, "esd_n_evals": m.num_evals, "stable_rank_estimate": m.stable_rank,
            "log_norm_estimate": m.log_norm, "log_spectral_norm_estimate": m.log_spectral_norm,
            "log_alpha_norm_estimate": m.log_alpha_norm, "esd_warning": warning}


def analyze_network(net: Any, *, esd: bool = True, input_shape: tuple[int, ...] | None = None) -> list[LayerRow]:
    """Per weight layer of the graph ``net`` (a :class:`kernels.network.Graph`, possibly with unsupported nodes):
    Frobenius, spectral and stable-rank enclosures of the stored weights, (``esd=True``) the ESD measures of
    :func:`esd_columns`, and (``input_shape``) the certified operator norm of each convolution on that input. The
    ESD of a Linear layer and of a 1x1 convolution (whose one kernel slice is its kernel matrix) comes from the Gram
    matrix of its spectral-norm certificate (:func:`kernels.spectral_norm_and_esd`: the same eigenvalues as
    ``kernels.esd(W)``, computed once). The layers run one after the other on one BLAS and one numba thread
    (:func:`kernels._device.single_thread`; the threads only change the speed, never a bound)."""
    from kernels._device import single_thread

    shapes = _shapes(net, input_shape)
    with single_thread():  # many mid-sized kernels in a row: threads of three runtimes would spin against each other
        return [_row(node, esd, shapes) for node in analyzed_layers(net)]


def analyzed_layers(net: Any) -> list[Any]:
    """The weight layers of ``net`` (:attr:`kernels.network.Graph.weight_layers`) and its Embedding tables (reported
    on their ``num_embeddings x dim`` table), in graph order."""
    order = {n.name: i for i, n in enumerate(net.nodes)}
    nodes = list(net.weight_layers) + [n for n in net.nodes if isinstance(n.layer, ir.Embedding)]
    return sorted(nodes, key=lambda n: order.get(n.name, order.get(n.name.rsplit(".", 1)[0], 0)))


def _row(node: Any, esd: bool, shapes: dict[str, tuple[int, ...]] | None) -> LayerRow:
    W = node.layer.weight
    W2 = W.reshape(W.shape[0], -1)
    one_matrix = not isinstance(node.layer, ir.Conv) or int(np.prod(W.shape[2:])) == 1  # ESD matrix = W2
    frob, spec, source, evals = matrix_enclosures(W2, esd=esd and one_matrix)
    if spec.lo > 0:
        sr = Interval(*_ratio(frob, spec))
    else:
        sr = Interval(enclose(1).lo, enclose(W2.shape[0]).hi if min(W2.shape) else enclose(0).hi)
    conv = isinstance(node.layer, ir.Conv)
    kind = f"Conv{W.ndim - 2}d (kernel matrix)" if conv else \
        "Embedding (table)" if isinstance(node.layer, ir.Embedding) else "Linear"
    params = W.size + (0 if node.layer.bias is None else node.layer.bias.size)
    extra: dict[str, Any] = {}
    if conv and shapes is not None and node.inputs[0] in shapes:
        op = node.layer.lipschitz(shapes[node.inputs[0]], "l2", {})
        extra = {"operator_lo": enclose(op.lo).lo_str(8), "operator_hi": enclose(op.hi).hi_str(8),
                 "operator_source": op.source}
    return LayerRow(node.name, kind, "x".join(map(str, W.shape)), int(params), frob.lo_str(8), frob.hi_str(8),
                    spec.lo_str(8), spec.hi_str(8), source, sr.lo_str(6), sr.hi_str(6),
                    **(esd_columns(node.layer, evals) if esd else {}), **extra)


def _shapes(net: Any, input_shape: tuple[int, ...] | None) -> dict[str, tuple[int, ...]] | None:
    """Per-node shapes up to the first node whose shape cannot be known (an unsupported operation)."""
    if input_shape is None:
        return None
    out: dict[str, tuple[int, ...]] = {"input": tuple(int(v) for v in input_shape)}
    for n in net.nodes:
        if isinstance(n.layer, ir.Unsupported) or any(a not in out for a in n.inputs):
            continue
        out[n.name] = tuple(n.layer.out_shape(tuple(out[a] for a in n.inputs)))
    return out


def skipped_layers(net: Any) -> list[dict[str, str]]:
    """The operations ``analyze`` could not translate: ``{"name", "op", "reason"}`` for each."""
    return [{"name": n.name, "op": n.layer.op, "reason": n.layer.reason} for n in net.nodes
            if isinstance(n.layer, ir.Unsupported)]


def _ratio(frob: Interval, spec: Interval) -> tuple[Any, Any]:
    f2 = frob * frob
    s2 = spec * spec
    r = f2 / s2
    return r.lo, r.hi


def rows_to_csv(rows: list[LayerRow]) -> str:
    import csv
    import io

    buf = io.StringIO()
    fields = list(LayerRow.__dataclass_fields__)
    w = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow(r.to_dict())
    return buf.getvalue()
