"""Data-free per-layer quantities of a network: certified norm enclosures, one row per weight layer.

Rounding model: Frobenius norms from :func:`certify._providers.sum_enclosure` (exactly rounded sums, enclosed);
the spectral norm is enclosed below by the largest column or row l2 norm (``||W e_j|| <= ||W||_2``) and above by
``min(||W||_F, sqrt(||W||_1 ||W||_inf))`` (Schur), unless ``kernels.spectral_norm`` is available, whose certified
enclosure is then intersected in. Convolutions are reported on their kernel matrix (out x in*kh*kw) and, when
``kernels.conv_spectral_norm`` and the input size are known, on the operator. Stable rank ``||W||_F^2 / ||W||_2^2``
is enclosed from both.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from certify._network import Conv2d, Network
from theorems import Interval, enclose
from theorems._interval import isqrt

__all__ = ["LayerRow", "analyze_network", "rows_to_csv"]


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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _spectral(W2: np.ndarray, frob: Interval) -> tuple[Interval, str]:
    from certify._providers import sum_enclosure

    col = max(sum_enclosure(W2[:, j], True).lo for j in range(W2.shape[1]))
    row = max(sum_enclosure(W2[i], True).lo for i in range(W2.shape[0]))
    mx = max(col, row)
    lo = isqrt(Interval(mx, mx)).lo
    a = np.abs(W2)
    n = max(W2.shape) + 2
    schur = float(a.sum(0).max()) * float(a.sum(1).max()) * (1 + 4 * n * 2.0**-53) + 1e-300
    hi = min(frob.hi, isqrt(enclose(schur)).hi)
    source = "certify.schur_frobenius v1"
    try:
        import kernels

        if hasattr(kernels, "spectral_norm"):
            e = kernels.spectral_norm(W2)
            lo, hi, source = max(lo, enclose(e.lo).lo), min(hi, enclose(e.hi).hi), "kernels.spectral_norm"
    except Exception:  # a kernel failure leaves the (sound) elementary enclosure in place
        pass
    return Interval(lo, hi), source


def analyze_network(net: Network) -> list[LayerRow]:
    """Per weight layer: Frobenius, spectral and stable-rank enclosures of the stored weights."""
    from certify._providers import sum_enclosure

    rows = []
    for node in net.weight_layers:
        W = node.layer.weight
        W2 = W.reshape(W.shape[0], -1)
        frob = isqrt(sum_enclosure(W2, True))
        spec, source = _spectral(W2, frob)
        if spec.lo > 0:
            sr = Interval(*_ratio(frob, spec))
        else:
            sr = Interval(enclose(1).lo, enclose(W2.shape[0]).hi if min(W2.shape) else enclose(0).hi)
        kind = "Conv2d (kernel matrix)" if isinstance(node.layer, Conv2d) else "Linear"
        params = W.size + (0 if node.layer.bias is None else node.layer.bias.size)
        rows.append(LayerRow(node.name, kind, "x".join(map(str, W.shape)), int(params), frob.lo_str(8),
                             frob.hi_str(8), spec.lo_str(8), spec.hi_str(8), source, sr.lo_str(6), sr.hi_str(6)))
    return rows


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
