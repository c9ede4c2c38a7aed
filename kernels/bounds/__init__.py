"""kernels.bounds: sound local robustness verification by bound propagation on the network IR (issue 17).

* :class:`InputSet` (:mod:`~kernels.bounds.domain`): l-inf or l2 ball around each sample, intersected with the
  input domain box;
* :func:`margin_bounds` (:mod:`~kernels.bounds.margins`) -> :class:`MarginBounds`: per-sample proven lower bounds of
  ``f_y - f_j`` over the set, by IBP (:mod:`~kernels.bounds.ibp`) or CROWN (:mod:`~kernels.bounds.crown`, with the
  affine operators of :mod:`~kernels.bounds.operators` and the activation relaxations of
  :mod:`~kernels.bounds.relax`);
* :func:`float32_margin_error_upper` (:mod:`~kernels.bounds.float32`): a worst-case bound on how far a float32
  evaluation's margin can lie from the exact one, over the set.

Every product and sum is rounded outward or enclosed by Higham's a-priori term (:mod:`~kernels.bounds._arith`),
so a sample with ``lower > 0`` is robust for the exact real network with the stored float weights. This package
imports neither ``certify`` nor ``theorems``.
"""

from kernels.bounds.domain import InputSet, Norm
from kernels.bounds.float32 import float32_margin_error_upper
from kernels.bounds.margins import METHODS, MarginBounds, Method, margin_bounds, spec_rows
from kernels.bounds.relax import RELAXED

__all__ = ["InputSet", "Norm", "MarginBounds", "Method", "METHODS", "margin_bounds", "spec_rows", "RELAXED",
           "float32_margin_error_upper"]
