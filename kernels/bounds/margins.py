"""Certified lower bounds of the logit margin over a perturbation set: the public door of :mod:`kernels.bounds`.

For each sample ``x0`` with label ``y`` and each class ``j != y``, ``rows[i, j]`` is a proven lower bound of
``min_{x in S(x0)} f_y(x) - f_j(x)`` for the exact real network ``f`` with the stored float weights (``S`` the
:class:`~kernels.bounds.domain.InputSet`); ``lower[i] = min_j rows[i, j]``. ``lower[i] > 0`` proves that every input
of the set is classified ``y``.

Methods: ``"ibp"`` (:mod:`kernels.bounds.ibp`), ``"crown"`` (:mod:`kernels.bounds.crown`, intermediate bounds by
CROWN; the returned rows are the larger of the CROWN and IBP rows, both proven, so CROWN is never looser than IBP),
``"alpha-crown"`` (Xu et al., ICLR 2021: the final pass with lower slopes of the unstable relu/leaky_relu neurons
chosen per row by an optimiser the caller passes, ``slopes``, e.g. :func:`certify.robust.alpha.optimise_slopes`;
the slopes are clipped to ``[a, 1]``, where every slope is sound, and the result is the larger of it and CROWN).
Rounding model: see those modules; binary64 with gradual underflow is checked first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Literal

import numpy as np

from boundcert.errors import InvalidInput
from kernels._environment import check_environment
from kernels._validation import as_array, as_float64, check_choice, check_int
from kernels.bounds.crown import backward, refine_bounds
from kernels._rounding import vdown, vup
from kernels.bounds.domain import InputSet
from kernels.bounds.float32 import float32_margin_error_upper
from kernels.bounds.ibp import concretize_first_step, ibp_boxes
from kernels.network.graph import ForwardContext, Graph

__all__ = ["MarginBounds", "Method", "METHODS", "Slopes", "margin_bounds", "spec_rows"]

Method = Literal["ibp", "crown", "alpha-crown"]
METHODS = ("ibp", "crown", "alpha-crown")
#: ``slopes(graph, C, boxes, shapes, cache, x0, inputs) -> {activation node: lower slopes (batch, rows, *shape)}``
Slopes = Callable[..., dict]
SOURCE = "kernels.bounds.margin_bounds v1"


@dataclass(frozen=True, slots=True, eq=False)
class MarginBounds:
    """Per-sample proven lower bounds of the margin over the set (see the module); ``rows[i, y_i] = +inf``."""

    lower: np.ndarray
    rows: np.ndarray
    method: str
    inputs: InputSet
    source: str = SOURCE
    float32_rows: np.ndarray | None = None
    float32_note: str = ""

    @property
    def float32_lower(self) -> np.ndarray | None:
        """Margin lower bounds of the float32 execution (``None`` when that claim is not made: ``float32_note``)."""
        return None if self.float32_rows is None else self.float32_rows.min(axis=1)

    @property
    def verified(self) -> np.ndarray:
        """Samples proven robust (every input of the set classified as the label)."""
        return self.lower > 0


def spec_rows(y: np.ndarray, k: int) -> np.ndarray:
    """``C`` (batch, k - 1, k): rows ``e_y - e_j`` for ``j != y`` in increasing ``j``."""
    b = y.shape[0]
    C = np.zeros((b, k - 1, k))
    for i, yi in enumerate(y):
        others = [j for j in range(k) if j != yi]
        C[i, np.arange(k - 1), others] = -1.0
        C[i, :, yi] = 1.0
    return C


def _rows_to_full(low: np.ndarray, y: np.ndarray, k: int) -> np.ndarray:
    out = np.full((y.shape[0], k), np.inf)
    for i, yi in enumerate(y):
        out[i, [j for j in range(k) if j != yi]] = low[i]
    return out


def _check(graph: Any, x: Any, y: Any) -> tuple[Graph, np.ndarray, np.ndarray]:
    if not isinstance(graph, Graph):
        raise InvalidInput(f"graph of type {type(graph).__name__}: give a kernels.network.Graph "
                           "(certify.models translates torch modules)")
    xs = as_float64(x, "x")
    if xs.ndim < 2:
        raise InvalidInput(f"x.shape={xs.shape!r}: one row per sample is needed, (n, features) or (n, C, H, W)")
    ys = as_array(y, "y", "integer labels, one per row of x")
    if ys.ndim != 1 or ys.shape[0] != xs.shape[0] or ys.dtype.kind not in "iu":
        raise InvalidInput(f"y.shape={ys.shape!r}, y.dtype={ys.dtype!r}: integer labels, one per row of x")
    return graph, xs, ys.astype(np.int64)


def margin_bounds(graph: Graph, x: Any, y: Any, inputs: InputSet, method: Method = "crown", *,
                  batch_size: int = 16, max_rows: int = 4096, float32: bool = False,
                  slopes: Slopes | None = None) -> MarginBounds:
    """Proven per-sample margin lower bounds of ``graph`` over ``inputs`` around each row of ``x``.

    Args:
        graph: the IR graph (logits as its last node).
        x: ``(n, *input_shape)`` floats, taken exactly; ``y``: ``(n,)`` integer labels.
        inputs: the perturbation set (norm, radius, domain).
        method: ``"ibp"``, ``"crown"`` or ``"alpha-crown"`` (needs ``slopes``).
        batch_size: samples per pass; ``max_rows``: neurons bounded at once in CROWN's intermediate passes.
        float32: also bound the margin of the float32 execution (:mod:`kernels.bounds.float32`): ``rows`` minus
            ``e_y + e_j``, rounded down; a layer without a float32 error model leaves it ``None`` with the reason.
    Raises:
        InvalidInput: bad arrays, labels out of range, a layer without a relaxation (named) for CROWN.
    """
    check_environment("kernels.bounds.margin_bounds")
    check_choice(method, METHODS, f"method={method!r}: one of {', '.join(METHODS)}")
    if not isinstance(inputs, InputSet):
        raise InvalidInput(f"inputs of type {type(inputs).__name__}: give a kernels.bounds.InputSet")
    if method == "alpha-crown" and not callable(slopes):
        raise InvalidInput("method='alpha-crown' needs slopes=: an optimiser of the lower slopes, e.g. "
                           "certify.robust.alpha.optimise_slopes()")
    g, xs, ys = _check(graph, x, y)
    batch_size = check_int("batch_size", batch_size, 1)
    max_rows = check_int("max_rows", max_rows, 2)
    shapes = g.shapes(tuple(xs.shape[1:]))
    out_shape = shapes[g.nodes[-1].name]
    if len(out_shape) != 1 or out_shape[0] < 2:
        raise InvalidInput(f"the network's output has shape {out_shape!r}: a vector of >= 2 logits is needed")
    k = out_shape[0]
    if np.any(ys < 0) or np.any(ys >= k):
        raise InvalidInput(f"y: labels must lie in [0, {k})")
    cache: dict = {}
    ctx = ForwardContext()
    rows, rows32, note = [], [], ""
    for s in range(0, xs.shape[0], batch_size):
        xb, yb = xs[s:s + batch_size], ys[s:s + batch_size]
        boxes = ibp_boxes(g, xb, inputs, ctx)
        C = spec_rows(yb, k)
        low = concretize_first_step(g, C, boxes, shapes, cache)
        if method in ("crown", "alpha-crown"):
            boxes = refine_bounds(g, boxes, shapes, xb, inputs, cache, max_rows=max_rows)
            passes = [None] if method == "crown" else [None, slopes(g, C, boxes, shapes, cache, xb, inputs)]
            for alpha in passes:
                lam, const = backward(g, g.nodes[-1].name, C, boxes, shapes, cache, alpha)
                A = lam.get("input", np.zeros(C.shape[:2] + tuple(xb.shape[1:])))
                low = np.maximum(low, inputs.linear_lower(A, const, xb))
        low = np.where(np.isnan(low), -np.inf, low)
        full_b = _rows_to_full(low, yb, k)
        rows.append(full_b)
        if float32 and not note:
            try:
                e = float32_margin_error_upper(g, boxes, shapes, cache)
            except InvalidInput as exc:
                note = f"float32 claim not made: {exc}"
            else:
                ey = e[np.arange(e.shape[0]), yb][:, None]
                with np.errstate(invalid="ignore"):
                    r32 = vdown(full_b - vup(e + ey))
                r32[np.arange(e.shape[0]), yb] = np.inf
                rows32.append(np.where(np.isnan(r32), -np.inf, r32))
    full = np.concatenate(rows) if rows else np.zeros((0, k))
    f32 = np.concatenate(rows32) if (float32 and not note and rows32) else None
    if float32 and not note:
        note = "float32 claim: rows minus the float32 evaluation error bound e_y + e_j (kernels.bounds.float32)"
    return MarginBounds(full.min(axis=1) if full.size else np.zeros(0), full, method, inputs, SOURCE, f32, note)
