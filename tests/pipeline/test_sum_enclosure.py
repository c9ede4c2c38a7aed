"""certify.quantities.norms.sum_enclosure (the norm bounds' sums of squares and of absolute values) contains the exact sum,
decided in Fractions, for any finite doubles whose squares do not overflow: subnormals and squares that underflow
included."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from certify.quantities.norms import sum_enclosure
from theorems._interval import mpf_to_fraction

_ELEMENTS = st.one_of(st.floats(-1e150, 1e150, allow_nan=False),
                      st.floats(-1e-150, 1e-150, allow_nan=False),  # squares below the normal range
                      st.sampled_from([0.0, 5e-324, -2.0**-1073, 3e-162, 2.0**-511, 1.0]))


@settings(max_examples=300, deadline=None)
@given(hnp.arrays(np.float64, st.integers(0, 12), elements=_ELEMENTS), st.booleans())
def test_sum_enclosure_contains_the_exact_sum(v, squares):
    exact = sum(((Fraction(x) ** 2 if squares else abs(Fraction(x))) for x in v.tolist()), Fraction(0))
    iv = sum_enclosure(v, squares)
    assert mpf_to_fraction(iv.lo) <= exact <= mpf_to_fraction(iv.hi), (v, iv)


def test_squares_that_vanish_are_still_enclosed():
    iv = sum_enclosure(np.array([1e-200, 1e-200]), True)  # each square rounds to 0
    assert mpf_to_fraction(iv.hi) >= 2 * Fraction(1e-200) ** 2 > 0
    assert sum_enclosure(np.zeros(3), True).hi == 0


_MODERATE = st.floats(-1e3, 1e3, allow_nan=False, width=32)


@settings(max_examples=100, deadline=None)
@given(hnp.arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(1, 7)), elements=_MODERATE), st.booleans(),
       st.booleans())
def test_l1inf_and_column_norm_ends_are_upper_bounds(W, with_bias, last):
    """The norm providers' ``||[[W, b], [0, 1]]||_{1,inf}`` and max column l2 norm, against exact Fractions."""
    from certify.models.network import Linear
    from certify.quantities.norms import _l1inf, _xcol

    b = W[:, 0].copy() if with_bias else None
    rows = [sum(abs(Fraction(v)) for v in row) + (abs(Fraction(b[i])) if with_bias else 0)
            for i, row in enumerate(W.tolist())]
    exact_l1 = max(rows + ([] if last else [Fraction(1)]))
    assert exact_l1 <= mpf_to_fraction(_l1inf(Linear(W, b), last).hi)
    cols_sq = [sum(Fraction(v) ** 2 for v in col) for col in W.T.tolist()]
    sq = max(cols_sq + ([Fraction(W.shape[0])] if with_bias else []))
    assert sq <= mpf_to_fraction(_xcol(W, with_bias).hi) ** 2
