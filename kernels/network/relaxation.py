"""The linear-relaxation interface that bound propagation (IBP/CROWN, issue 17) builds on.

A layer's relaxation on an input box ``[lo, hi]`` is a pair of affine maps that bound its output from below and
above for every input in the box: ``lower(x) <= layer(x) <= upper(x)``. An affine layer's relaxation is the layer
itself (:class:`AffineRelaxation`, both sides equal); an elementwise nonlinearity has elementwise slopes and
offsets (:class:`ElementwiseRelaxation`). Layers without a relaxation yet raise ``InvalidInput`` naming the layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

__all__ = ["AffineRelaxation", "ElementwiseRelaxation", "Relaxation"]


@dataclass(frozen=True, slots=True, eq=False)
class AffineRelaxation:
    """The layer is exactly ``x -> apply(x) + bias`` (``apply`` linear on (batch, *in_shape) arrays)."""

    apply: Callable[[np.ndarray], np.ndarray]
    bias: np.ndarray | None


@dataclass(frozen=True, slots=True, eq=False)
class ElementwiseRelaxation:
    """``lower_slope * x + lower_offset <= f(x) <= upper_slope * x + upper_offset`` for ``lo <= x <= hi``
    (real arithmetic; the arrays have the input's shape)."""

    lower_slope: np.ndarray
    lower_offset: np.ndarray
    upper_slope: np.ndarray
    upper_offset: np.ndarray


Relaxation = Any  # AffineRelaxation | ElementwiseRelaxation
