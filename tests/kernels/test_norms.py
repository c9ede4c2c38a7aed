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
