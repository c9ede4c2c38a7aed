"""Landscape pictures as data: filter-normalised 1D / 2D slices and the linear path between two checkpoints.

Filter normalisation (Li, Xu, Taylor, Studer, Goldstein, "Visualizing the Loss Landscape of Neural Nets", NeurIPS
2018, Sec. 4): a Gaussian direction ``d`` of the parameters' shape, each filter ``d_{i,j}`` (row ``j`` of a weight of
layer ``i``: an output unit / channel) rescaled to the norm of the weight's filter, ``d_{i,j} <- d_{i,j} ||w_{i,j}||
/ ||d_{i,j}||``; one-dimensional parameters (biases, batch-norm) get ``d = 0`` (their ``ignore='biasbn'``).
Slices: ``L(w + a d_1)`` (1D) and ``L(w + a d_1 + b d_2)`` (2D) on a grid of ``a, b`` in ``[-span, span]``.

Linear path (Goodfellow et al. 2015; barrier as in Frankle et al. 2020, Entezari et al. 2022): ``L((1 - t) w_A + t
w_B)`` for ``t`` on a grid in ``[0, 1]``; the barrier height is ``max_t [L(t) - ((1 - t) L(0) + t L(1))]`` on the
grid (an estimate of the maximum over ``t``: a grid maximum is below it).

Losses are mean cross-entropy and 0-1 error of the float32 network: measurements, not bounds.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from boundcert.errors import InvalidInput
from certify.landscape.params import FlatModel, flat_model

__all__ = ["LandscapeSlice", "LinearPath", "filter_normalized_direction", "slice_1d", "slice_2d", "linear_path"]


@dataclass(frozen=True, slots=True)
class LandscapeSlice:
    """A 1D (``b`` empty, ``loss[i]``) or 2D (``loss[i][j]`` at ``(a[i], b[j])``) slice of loss and 0-1 error."""

    a: tuple[float, ...]
    b: tuple[float, ...]
    loss: tuple[Any, ...]
    error: tuple[Any, ...]
    seed: int
    normalisation: str = "filter (Li et al. 2018), biases and 1D parameters not moved"

    def to_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}


@dataclass(frozen=True, slots=True)
class LinearPath:
    """``L((1 - t) w_A + t w_B)`` on the grid ``t`` and the barrier heights (grid maxima: estimates)."""

    t: tuple[float, ...]
    loss: tuple[float, ...]
    error: tuple[float, ...]
    loss_barrier_estimate: float
    error_barrier_estimate: float

    def to_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}


def filter_normalized_direction(fm: FlatModel, seed: int) -> Any:
    """A filter-normalised Gaussian direction for the flat parameters of ``fm`` (module docstring)."""
    import torch

    g = torch.Generator().manual_seed(seed)
    parts = []
    for name, shape in zip(fm.names, fm.shapes):
        w = fm.split(fm.w)[name]
        if len(shape) <= 1:
            parts.append(torch.zeros_like(w).reshape(-1))
            continue
        d = torch.randn(shape, generator=g, dtype=w.dtype)
        wn = w.reshape(shape[0], -1).norm(dim=1, keepdim=True)
        dn = d.reshape(shape[0], -1).norm(dim=1, keepdim=True).clamp_min(1e-30)
        parts.append((d.reshape(shape[0], -1) * wn / dn).reshape(-1))
    return torch.cat(parts)


def _grid(n: int, span: float, name: str) -> np.ndarray:
    if not (isinstance(n, int) and n >= 2):
        raise InvalidInput(f"{name}={n!r} must be an integer >= 2 (points of the grid)")
    if not (isinstance(span, (int, float)) and span > 0):
        raise InvalidInput(f"span={span!r} must be > 0")
    return np.linspace(-span, span, n)


def slice_1d(module: Any, x: np.ndarray, y: np.ndarray, *, n: int = 25, span: float = 1.0, seed: int = 0,
             progress: bool = False) -> LandscapeSlice:
    """The filter-normalised 1D slice ``L(w + a d)``, ``a`` on ``n`` points of ``[-span, span]``."""
    from certify.reports.progress import progress as bar

    a = _grid(n, span, "n")
    fm = flat_model(module, x, y, dtype="float32")
    d = filter_normalized_direction(fm, seed)
    loss, err = [], []
    for ai in bar(a, desc="1d slice", unit="point", enabled=progress):
        e, ell = fm.error_and_loss(fm.w + float(ai) * d)
        loss.append(ell)
        err.append(e)
    return LandscapeSlice(tuple(float(v) for v in a), (), tuple(loss), tuple(err), seed)


def slice_2d(module: Any, x: np.ndarray, y: np.ndarray, *, n: int = 15, span: float = 1.0, seed: int = 0,
             progress: bool = False) -> LandscapeSlice:
    """The filter-normalised 2D slice ``L(w + a d_1 + b d_2)`` on an ``n x n`` grid of ``[-span, span]^2``."""
    from certify.reports.progress import progress as bar

    a = _grid(n, span, "n")
    fm = flat_model(module, x, y, dtype="float32")
    d1 = filter_normalized_direction(fm, seed)
    d2 = filter_normalized_direction(fm, seed + 1)
    loss = [[0.0] * n for _ in range(n)]
    err = [[0.0] * n for _ in range(n)]
    cells = [(i, j) for i in range(n) for j in range(n)]
    for i, j in bar(cells, desc="2d slice", unit="point", enabled=progress):
        err[i][j], loss[i][j] = fm.error_and_loss(fm.w + float(a[i]) * d1 + float(a[j]) * d2)
    pts = tuple(float(v) for v in a)
    return LandscapeSlice(pts, pts, tuple(tuple(r) for r in loss), tuple(tuple(r) for r in err), seed)


def linear_path(model_a: Any, model_b: Any, x: np.ndarray, y: np.ndarray, *, n: int = 25,
                progress: bool = False) -> LinearPath:
    """Loss and error along ``(1 - t) w_A + t w_B`` and the barrier heights (module docstring)."""
    from certify.reports.progress import progress as bar

    fa = flat_model(model_a, x, y, dtype="float32")
    fb = flat_model(model_b, x[:1], y[:1], dtype="float32")
    if fa.names != fb.names or fa.shapes != fb.shapes:
        raise InvalidInput("the two checkpoints have different parameters: the linear path needs one architecture")
    if not (isinstance(n, int) and n >= 3):
        raise InvalidInput(f"n={n!r} must be an integer >= 3 (points of the path)")
    ts = np.linspace(0.0, 1.0, n)
    loss, err = [], []
    for t in bar(ts, desc="linear path", unit="point", enabled=progress):
        e, ell = fa.error_and_loss((1 - float(t)) * fa.w + float(t) * fb.w)
        loss.append(ell)
        err.append(e)
    lb = max(ell - ((1 - t) * loss[0] + t * loss[-1]) for t, ell in zip(ts, loss))
    eb = max(e - ((1 - t) * err[0] + t * err[-1]) for t, e in zip(ts, err))
    return LinearPath(tuple(float(t) for t in ts), tuple(loss), tuple(err), float(lb), float(eb))
