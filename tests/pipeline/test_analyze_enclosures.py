"""``certify analyze``'s certified columns are enclosures of the exact values for the stored weights: Frobenius norm,
spectral norm and stable rank, decided in exact rational arithmetic (python-flint), for adversarial matrices (tiny,
huge, subnormal, mixed magnitudes, float32) as Linear layers and as Conv2d kernel matrices."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

flint = pytest.importorskip("flint")

from certify.reports.analyze import analyze_network  # noqa: E402
from certify.models.network import Conv2d, Linear, Network, Node  # noqa: E402
from tests.kernels.families import FAMILIES, adversarial_matrices, make  # noqa: E402
from tests.kernels.references import _q, _shifted, exact_gram, is_pd, is_psd  # noqa: E402


def _fq(s: str):
    f = Fraction(s)
    return flint.fmpq(f.numerator, f.denominator)


def _check(row, w2: np.ndarray) -> None:
    g = exact_gram(w2)
    f2 = sum((_q(x) * _q(x) for x in np.ravel(w2)), flint.fmpq(0))
    flo, fhi = _fq(row.frobenius_lo), _fq(row.frobenius_hi)
    assert 0 <= flo and flo * flo <= f2 <= fhi * fhi, (row.frobenius_lo, row.frobenius_hi)
    slo, shi = _fq(row.spectral_lo), _fq(row.spectral_hi)
    assert slo >= 0
    assert is_psd(_shifted(g, shi * shi)), f"spectral_hi={row.spectral_hi} below sigma_max"
    assert not is_pd(_shifted(g, slo * slo)), f"spectral_lo={row.spectral_lo} above sigma_max"
    rlo, rhi = _fq(row.stable_rank_lo), _fq(row.stable_rank_hi)
    if f2 == 0:
        return  # 0/0: the row reports [1, rows], any value
    # stable rank r = ||W||_F^2 / sigma^2:  r_lo <= r  <=>  sigma^2 <= f2 / r_lo;  r <= r_hi  <=>  sigma^2 >= f2 / r_hi
    assert rlo > 0 and is_psd(_shifted(g, f2 / rlo)), f"stable_rank_lo={row.stable_rank_lo} too high"
    assert not is_pd(_shifted(g, f2 / rhi)), f"stable_rank_hi={row.stable_rank_hi} too low"


def _linear(w: np.ndarray) -> Network:
    return Network((Node("fc", Linear(np.asarray(w, dtype=np.float64), None), ("input",)),))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(adversarial_matrices(max_dim=7))
def test_linear_columns_are_enclosures(w):
    w = np.asarray(w, dtype=np.float64)  # float32 -> float64 is exact
    (row,) = analyze_network(_linear(w), esd=False)
    assert row.spectral_source == "kernels.spectral_norm"
    _check(row, w)


@pytest.mark.parametrize("family", FAMILIES)
def test_conv_kernel_matrix_columns_are_enclosures(family):
    w = np.asarray(make(family, 6, 12, seed=11), dtype=np.float64)
    k = w.reshape(w.shape[0], 3, 2, -1) if w.shape[1] % 6 == 0 else w.reshape(*w.shape, 1, 1)
    net = Network((Node("conv", Conv2d(k, None, (1, 1), (0, 0), (1, 1), 1), ("input",)),))
    (row,) = analyze_network(net, esd=False)
    assert row.kind == "Conv2d (kernel matrix)"
    _check(row, w)


@pytest.mark.parametrize("w", [
    np.array([[1.7e308, 5e-324], [-3e-310, 1.0]]),
    np.array([[5e-324, -1e-323, 0.0], [2e-323, 0.0, 5e-324]]),
    np.array([[1.5, 5e-324, -5e-324], [2.0**-1073, 0.0, 1.0]]),
])
def test_extreme_entries(w):
    (row,) = analyze_network(_linear(w), esd=False)
    _check(row, w)
