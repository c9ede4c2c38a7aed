"""Tail-index and ESD measures: known alphas on synthetic data, exact stable rank, WeightWatcher's fit."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import levy_stable

import kernels
from boundcert.errors import InvalidInput
from kernels._esd import _fit_standard


@pytest.mark.parametrize("alpha", [1.2, 1.5, 1.8])
def test_bg_estimator_on_stable_samples(alpha: float) -> None:
    x = levy_stable.rvs(alpha, 0.0, size=40_000, random_state=1)
    est = kernels.bg_tail_index_estimate(x)
    assert abs(est.alpha_estimate - alpha) < 0.12  # statistical
    assert est.dim == 1 and est.n_samples == 40_000 and len(est.per_block) >= 3


def test_bg_estimator_on_vectors_and_trajectory() -> None:
    V = levy_stable.rvs(1.5, 0.0, size=(20_000, 5), random_state=3)
    assert abs(kernels.bg_tail_index_estimate(V).alpha_estimate - 1.5) < 0.12
    W = np.cumsum(levy_stable.rvs(1.5, 0.0, size=(4001, 20), random_state=2), axis=0)
    est = kernels.trajectory_tail_index_estimate(W, n_projections=5, seed=1)
    assert abs(est.alpha_estimate - 1.5) < 0.15 and len(est.per_projection) == 5
    g = np.random.default_rng(0).standard_normal(40_000)
    assert abs(kernels.bg_tail_index_estimate(g).alpha_estimate - 2.0) < 0.15


@pytest.mark.parametrize("bad", [np.zeros(3), np.array([np.nan] * 20), np.zeros((2, 2, 20)), np.array(["x"] * 20)])
def test_bg_bad_input(bad: np.ndarray) -> None:
    with pytest.raises(InvalidInput):
        kernels.bg_tail_index_estimate(bad)
    with pytest.raises(InvalidInput):
        kernels.bg_tail_index_estimate(np.ones(100), block_sizes=[1])


@pytest.mark.parametrize("alpha", [2.0, 3.0, 4.5])
def test_hill_ks_on_pareto(alpha: float) -> None:
    rng = np.random.default_rng(int(alpha * 10))
    lam = 0.3 * (1.0 + rng.pareto(alpha - 1.0, size=4_000))  # density ~ lambda^-alpha above 0.3
    fit = kernels.powerlaw_fit_estimate(lam)
    assert abs(fit.alpha - alpha) < 0.2 and fit.method == "ww"
    assert 0 < fit.D < 0.08 and fit.n_tail >= 10 and fit.n_fit == 4_000
    assert math.isclose(fit.sigma, (fit.alpha - 1) / math.sqrt(fit.n_tail), rel_tol=1e-12)


def test_fit_is_min_ks_over_xmin() -> None:
    rng = np.random.default_rng(1)
    lam = np.sort(1.0 + rng.pareto(2.0, size=500))
    i, alphas, Ds = _fit_standard(lam)
    n = 500 - np.arange(499)
    ref_alpha = 1 + n / np.array([np.sum(np.log(lam[k:] / lam[k])) for k in range(499)])
    np.testing.assert_allclose(alphas, ref_alpha, rtol=1e-12)
    k = 37
    ref_D = np.max(np.abs(1 - (lam[k:] / lam[k]) ** (1 - alphas[k]) - np.arange(n[k]) / n[k]))
    assert math.isclose(Ds[k], ref_D, rel_tol=1e-12) and Ds[i] == Ds.min()


def test_matches_weightwatcher_fit_when_installed() -> None:
    ww = pytest.importorskip("weightwatcher.WW_powerlaw")
    rng = np.random.default_rng(4)
    for N in (12, 30, 800):
        lam = np.sort((1 + rng.pareto(1.7, N)) * 0.01)
        ref = ww.WWFit(lam[lam > 1e-5])
        ours = kernels.powerlaw_fit_estimate(lam)
        assert abs(ours.alpha - ref.alpha) <= 1e-12 * ref.alpha and ours.xmin == ref.xmin and abs(ours.D - ref.D) < 1e-12


def test_stable_rank_exact_on_constructed_spectrum() -> None:
    rng = np.random.default_rng(2)
    U, _ = np.linalg.qr(rng.standard_normal((40, 40)))
    V, _ = np.linalg.qr(rng.standard_normal((30, 30)))
    s = np.array([4.0, 2.0, 2.0, 1.0] + [0.0] * 26)
    W = U[:, :30] @ np.diag(s) @ V.T
    m = kernels.esd_metrics_estimate(W)
    assert abs(m.stable_rank - 25.0 / 16.0) < 1e-12
    assert kernels.stable_rank_estimate([16.0, 4.0, 4.0, 1.0]) == 25.0 / 16.0
    assert abs(m.log_norm - math.log10(25.0)) < 1e-13 and abs(m.log_spectral_norm - math.log10(16.0)) < 1e-13


def test_esd_pools_conv_slices_and_matches_svd() -> None:
    rng = np.random.default_rng(3)
    w = rng.standard_normal((16, 8, 3, 3))
    lam = kernels.esd(kernels.conv2d_matrices(w))
    ref = np.sort(np.concatenate([np.linalg.svd(w[:, :, i, j], compute_uv=False) ** 2 for i in range(3) for j in range(3)]))
    assert lam.shape == (72,)
    np.testing.assert_allclose(lam, ref, rtol=1e-12, atol=1e-13 * ref.max())
    m = kernels.esd_metrics_estimate(kernels.conv2d_matrices(w))
    half = kernels.esd_metrics_estimate(kernels.conv2d_matrices(w), scale=0.5)
    assert abs(half.alpha - m.alpha) < 1e-9 and abs(m.log_norm - half.log_norm - math.log10(2)) < 1e-12
    assert m.alpha_weighted == m.alpha * m.log_spectral_norm


@pytest.mark.parametrize("bad", [[], [np.zeros(3)], [np.array([[np.nan]])], [np.zeros((2, 2, 2))]])
def test_esd_bad_input(bad: list) -> None:
    with pytest.raises(InvalidInput):
        kernels.esd(bad)
    with pytest.raises(InvalidInput):
        kernels.stable_rank_estimate([])
