"""ph_dim: equal to the same estimator with ripser's H0 bars; known dimensions; bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import kernels
from boundcert.errors import InvalidInput
from kernels._phdim import sample_schedule

ripser = pytest.importorskip("ripser").ripser


def ripser_lengths(X: np.ndarray, samples: list[np.ndarray], metric: str) -> np.ndarray:
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for s in samples:
            dg = ripser(X[s], maxdim=0, metric=metric)["dgms"][0]
            dg = dg[np.isfinite(dg[:, 1])]
            out.append(float((dg[:, 1] - dg[:, 0]).sum()))
    return np.array(out)


def ripser_fit(E: np.ndarray, sizes: np.ndarray) -> float:
    x, y = np.log(sizes.astype(float)), np.log(E)
    m = np.polyfit(x, y, 1)[0]
    return 1.0 / (1.0 - m)


@pytest.mark.parametrize("metric,d,sampling", [("euclidean", 3, "independent"), ("euclidean", 60, "nested"),
                                               ("manhattan", 20, "independent")])
def test_equals_ripser_estimator(metric: str, d: int, sampling: str) -> None:
    rng = np.random.default_rng(d)
    X = rng.random((300, d))
    est = kernels.ph_dim(X, metric=metric, n_min=60, n_max=300, step=40, n_repeats=2, seed=4, sampling=sampling)
    sizes = np.array(est.sizes)
    samples = sample_schedule(300, sizes, 2, 4, sampling)
    E_ref = ripser_lengths(X, samples, metric)
    ours = np.array(est.lengths).ravel()
    # ripser rounds every distance to float32: agreement to float32 precision, not bitwise
    np.testing.assert_allclose(ours, E_ref, rtol=2e-7)
    x = np.repeat(np.log(sizes.astype(float)), 2)
    m = np.polyfit(x, np.log(E_ref), 1)[0]
    assert abs(est.dimension - 1.0 / (1.0 - m)) < 1e-5
    assert abs(est.slope - m) < 1e-6 and 0.0 <= est.r_squared <= 1.0


def test_square_in_r50_is_near_2() -> None:
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.standard_normal((50, 2)))
    X = rng.random((1000, 2)) @ Q.T + 7.0
    est = kernels.ph_dim(X, seed=1)
    assert abs(est.dimension - 2.0) < 0.25  # a statistical measure: loose tolerance
    assert est.r_squared > 0.95


def test_cube_manhattan_is_near_3() -> None:
    rng = np.random.default_rng(2)
    X = rng.random((1000, 3))
    est = kernels.ph_dim_loss(X, seed=3, n_repeats=2)
    assert est.metric == "manhattan" and abs(est.dimension - 3.0) < 0.4


def test_reproducible_and_pairs() -> None:
    X = np.random.default_rng(9).random((250, 4))
    a = kernels.ph_dim(X, n_min=50, step=50)
    b = kernels.ph_dim(X, n_min=50, step=50)
    assert a == b
    assert [n for n, _ in a.pairs] == [50, 100, 150, 200, 250]


@pytest.mark.parametrize(
    "kwargs",
    [dict(n_min=1), dict(n_max=10_000), dict(step=0), dict(n_min=200, n_max=220, step=50), dict(alpha=-1.0),
     dict(sampling="bootstrap"), dict(metric="chebyshev"), dict(n_repeats=0), dict(device="cuda")],
)
def test_bad_arguments(kwargs: dict) -> None:
    X = np.random.default_rng(0).random((300, 3))
    with pytest.raises(InvalidInput) as err:
        kernels.ph_dim(X, **kwargs)
    assert "\n" not in str(err.value)


def test_bad_points() -> None:
    with pytest.raises(InvalidInput):
        kernels.ph_dim(np.array([[np.nan, 1.0]] * 300))
    with pytest.raises(InvalidInput):
        kernels.ph_dim(np.zeros(300))
