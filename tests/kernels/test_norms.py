"""Entrywise and group norms against exact rationals (Fraction) and mpmath at 300 bits."""

from __future__ import annotations

from fractions import Fraction

import mpmath
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import kernels
from boundcert.errors import InvalidInput
from tests.kernels.families import FAMILIES, adversarial_matrices, make

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _q(x) -> Fraction:
    return Fraction(float(x))


def _check_sq(enc, exact_sq: Fraction) -> None:
    """lo <= sqrt(exact_sq) <= hi, decided exactly by squaring the float ends."""
    assert enc.lo >= 0
    assert _q(enc.lo) ** 2 <= exact_sq <= _q(enc.hi) ** 2, (enc, float(exact_sq))


def _check_mp(enc, value) -> None:
    assert mpmath.mpf(enc.lo) <= value <= mpmath.mpf(enc.hi), (enc, value)


@SETTINGS
@given(adversarial_matrices(max_dim=8))
def test_frobenius(w):
    _check_sq(kernels.frobenius_norm(w), sum((_q(x) ** 2 for x in np.ravel(w)), Fraction(0)))


@SETTINGS
@given(adversarial_matrices(max_dim=8))
def test_norm_21_both_orientations(w):
    with mpmath.workprec(300):
        a = np.asarray(w, dtype=np.float64)
        cols = mpmath.fsum(mpmath.sqrt(mpmath.fsum(mpmath.mpf(x) ** 2 for x in a[:, j])) for j in range(a.shape[1]))
        rows = mpmath.fsum(mpmath.sqrt(mpmath.fsum(mpmath.mpf(x) ** 2 for x in a[i, :])) for i in range(a.shape[0]))
        _check_mp(kernels.norm_21(w), cols)
        _check_mp(kernels.norm_21(w, over="rows"), rows)


@SETTINGS
@given(adversarial_matrices(max_dim=8))
def test_norm_1_inf_and_max_abs(w):
    a = np.asarray(w, dtype=np.float64)
    exact = max(sum((abs(_q(x)) for x in row), Fraction(0)) for row in a)
    enc = kernels.norm_1_inf(w)
    assert _q(enc.lo) <= exact <= _q(enc.hi)
    m = kernels.max_abs(w)
    assert m.lo == m.hi == float(np.max(np.abs(a)))


@SETTINGS
@given(adversarial_matrices(max_dim=6), adversarial_matrices(max_dim=6))
def test_distance_to_init(w, w0):
    w0 = np.resize(np.asarray(w0, dtype=np.float64), np.shape(w))
    if np.any(np.isinf(np.asarray(w, dtype=np.float64) - w0)):
        with pytest.raises(InvalidInput):
            kernels.distance_to_init(w, w0)
        return
    d = [[_q(x) - _q(y) for x, y in zip(r, r0)] for r, r0 in zip(np.asarray(w, dtype=np.float64), w0)]
    _check_sq(kernels.distance_to_init(w, w0), sum((x * x for r in d for x in r), Fraction(0)))
    with mpmath.workprec(400):
        cols = mpmath.fsum(mpmath.sqrt(mpmath.fsum((mpmath.mpf(r[j].numerator) / r[j].denominator) ** 2
                                                   for r in d)) for j in range(len(d[0])))
        _check_mp(kernels.distance_to_init(w, w0, norm="21"), cols)


@pytest.mark.parametrize("family", FAMILIES)
def test_families_and_large(family):
    w = make(family, 40, 30, seed=1)
    _check_sq(kernels.frobenius_norm(w), sum((_q(x) ** 2 for x in np.ravel(w)), Fraction(0)))


def test_counts_and_sparsity():
    w = np.array([[0.0, 1.0, 0.0], [2.0, 0.0, -0.0]])
    assert kernels.parameter_count([w, np.ones(4)]) == 10
    assert kernels.nonzero_count([w, np.ones(4)]) == 6
    enc = kernels.sparsity(w)
    assert Fraction(enc.lo) <= Fraction(4, 6) <= Fraction(enc.hi)
    assert kernels.sparsity(np.ones(3)) == kernels.Enclosure(0.0, 0.0, enc.source)
    with pytest.raises(InvalidInput):
        kernels.sparsity(np.ones(0))


def test_float32_and_torch():
    torch = pytest.importorskip("torch")
    t = torch.randn(5, 4, dtype=torch.float32)
    ref = sum((_q(x) ** 2 for x in t.numpy().ravel()), Fraction(0))
    _check_sq(kernels.frobenius_norm(t), ref)


def _exact_rows(w) -> list[list[Fraction]]:
    a = np.asarray(w, dtype=np.float64)
    return [[_q(x) for x in row] for row in a.reshape(a.shape[0], -1)]


def _check_matrix_norms(w) -> None:
    """Every field of kernels.matrix_norms(w) contains the exact value (decided in Fractions)."""
    q = _exact_rows(w)
    cols = list(zip(*q))
    r = kernels.matrix_norms(w)
    _check_sq(r.frobenius, sum((x * x for row in q for x in row), Fraction(0)))
    _check_sq(r.max_row_l2, max(sum((x * x for x in row), Fraction(0)) for row in q))
    _check_sq(r.max_col_l2, max(sum((x * x for x in col), Fraction(0)) for col in cols))
    for enc, lines in ((r.max_row_l1, q), (r.max_col_l1, cols)):
        exact = max(sum((abs(x) for x in line), Fraction(0)) for line in lines)
        assert 0 <= enc.lo and _q(enc.lo) <= exact <= _q(enc.hi), (enc, float(exact))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(adversarial_matrices(max_dim=8))
def test_matrix_norms_contain_the_exact_norms(w):
    _check_matrix_norms(w)


@pytest.mark.parametrize("w", [
    np.array([[1.7e308, 5e-324], [-3e-310, 1.0]]),          # scaled down by 2^1024: ldexp path, subnormals lost
    np.array([[1.5, 5e-324, -5e-324], [2.0**-1073, 0.0, 1.0]]),  # scaled down by 2: the subnormals round
    np.array([[5e-324, -1e-323], [2e-323, 0.0]]),            # scaled up by 2^1072: ldexp path, exact
    np.array([[4.49e307, -4.49e307, 1e-300]]),               # 2^1022 <= max: e = 1023
    np.array([[0.0, -0.0], [0.0, 0.0]]),
])
def test_matrix_norms_extremes(w):
    _check_matrix_norms(w)
    _check_matrix_norms(w.T)                      # a Fortran-ordered view: converted, same claim
    _check_matrix_norms(np.ascontiguousarray(w.T))


@pytest.mark.parametrize("family", FAMILIES)
def test_matrix_norms_families_and_layouts(family):
    w = make(family, 40, 30, seed=3)
    _check_matrix_norms(w)
    if np.asarray(w).dtype == np.float64 and w.shape == (40, 30):
        _check_matrix_norms(w.reshape(40, 5, 6))  # flattened to (rows, rest) without a copy
    with pytest.raises(InvalidInput):
        kernels.matrix_norms(np.array([[1.0, np.nan]]))
    with pytest.raises(InvalidInput):
        kernels.matrix_norms(np.array([[np.inf, 1.0]]))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(adversarial_matrices(max_dim=8))
def test_pow2_scale_matches_ldexp_and_flags_inexact_scaling(w):
    """The numba scaling gives the bits of numpy's ldexp, and reports inexactness exactly when it happens."""
    from kernels._scaling import pow2_scale

    a = np.asarray(w, dtype=np.float64)
    s, e, err = pow2_scale(a)
    ref = np.ldexp(a, -e)
    assert np.array_equal(s.view(np.int64), ref.view(np.int64))
    assert (err == 0.0) == np.array_equal(np.ldexp(ref, e), a)
    if np.any(a):
        assert 0.5 <= np.max(np.abs(s)) < 1.0
