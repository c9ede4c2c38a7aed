"""mst_length: the enclosure contains scipy's MST total on the dense distance matrix; edge cases; bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.sparse.csgraph import minimum_spanning_tree
from scipy.spatial.distance import cdist

import kernels
from boundcert.errors import InvalidInput
from kernels._mst import mst_tree

SCIPY_METRIC = {"euclidean": "euclidean", "manhattan": "cityblock"}


def scipy_mst_total(X: np.ndarray, metric: str) -> float:
    return scipy_mst_total_of(cdist(X, X, SCIPY_METRIC[metric]))


def scipy_mst_total_of(D: np.ndarray) -> float:
    """MST total of a dense distance matrix by scipy.sparse.csgraph."""
    # csgraph drops zero (and tiny) entries as missing edges: scale by a power of two (exact) so that the
    # smallest positive distance is >= 1 and give exact-zero distances the weight 0.5, below all others
    # (an order-preserving change of weights keeps an MST an MST); then sum the true distances.
    pos = D[D > 0]
    scale = 2.0 ** -np.floor(np.log2(pos.min())) if pos.size else 1.0
    D1 = np.where(D == 0.0, 0.5, D * scale)
    np.fill_diagonal(D1, 0.0)
    T = minimum_spanning_tree(D1).toarray()
    return float(D[T != 0].sum())


def check(X: np.ndarray, metric: str) -> None:
    enc = kernels.mst_length(X, metric)
    ref = scipy_mst_total(X, metric)
    assert enc.lo <= enc.hi
    if ref == 0.0:
        assert enc.lo == 0.0
        return
    assert abs(0.5 * (enc.lo + enc.hi) - ref) <= 1e-12 * ref
    # scipy's total is a float sum of float distances: the exact MST length is within a few ulps of it
    assert enc.lo <= ref * (1 + 1e-13) and ref * (1 - 1e-13) <= enc.hi
    assert enc.rel_gap < 1e-11


@pytest.mark.parametrize("metric", ["euclidean", "manhattan"])
@pytest.mark.parametrize("n,d", [(2, 1), (3, 2), (40, 3), (150, 40), (120, 200)])
def test_matches_scipy(metric: str, n: int, d: int) -> None:
    rng = np.random.default_rng(n * 1000 + d)
    check(rng.standard_normal((n, d)) * 3.0 + 50.0, metric)


@settings(max_examples=25, deadline=None)
@given(
    X=hnp.arrays(
        np.float64,
        st.tuples(st.integers(2, 25), st.sampled_from([1, 2, 5, 40])),
        elements=st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False, width=32),
    ),
    metric=st.sampled_from(["euclidean", "manhattan"]),
)
def test_hypothesis_against_scipy(X: np.ndarray, metric: str) -> None:
    enc = kernels.mst_length(X, metric)
    ref = scipy_mst_total(X, metric)
    assert enc.lo <= ref * (1 + 1e-13) + 1e-300 and ref * (1 - 1e-13) <= enc.hi
    if ref > 0:
        assert abs(0.5 * (enc.lo + enc.hi) - ref) <= 1e-12 * ref


def test_one_point_is_zero() -> None:
    enc = kernels.mst_length(np.ones((1, 7)))
    assert (enc.lo, enc.hi) == (0.0, 0.0)


def test_two_points_exact_345() -> None:
    enc = kernels.mst_length(np.array([[0.0, 0.0], [3.0, 4.0]]))
    assert enc.lo <= 5.0 <= enc.hi and enc.hi - enc.lo < 2e-14
    enc = kernels.mst_length(np.array([[0.0, 0.0], [3.0, 4.0]]), "manhattan")
    assert enc.lo <= 7.0 <= enc.hi


@pytest.mark.parametrize("metric", ["euclidean", "manhattan"])
@pytest.mark.parametrize("d", [2, 64])
def test_duplicates_and_ties(metric: str, d: int) -> None:
    rng = np.random.default_rng(3)
    base = rng.integers(0, 3, size=(30, d)).astype(np.float64)  # many exact ties and duplicates
    X = np.concatenate([base, base[:10]])
    check(X, metric)
    same = np.zeros((5, d))
    enc = kernels.mst_length(same, metric)
    assert enc.lo == 0.0 and enc.hi < 1e-150  # hi covers squares that underflow


def test_grid_ties_exact() -> None:
    g = np.array([[i, j] for i in range(6) for j in range(6)], dtype=np.float64)
    enc = kernels.mst_length(g)
    assert enc.lo <= 35.0 <= enc.hi
    assert kernels.mst_length(g, "manhattan").contains(35.0)


def test_far_from_origin_gemm_path() -> None:
    rng = np.random.default_rng(5)
    X = 1e4 + rng.standard_normal((80, 300)) * 1e-2  # iterates: large norm, small spread
    check(X, "euclidean")


def test_float32_input_taken_exactly() -> None:
    rng = np.random.default_rng(7)
    X = rng.standard_normal((50, 3)).astype(np.float32)
    check(X.astype(np.float64), "euclidean")
    assert kernels.mst_length(X) == kernels.mst_length(X.astype(np.float64))


def test_tree_lengths_match_float32_ripser_deaths() -> None:
    ripser = pytest.importorskip("ripser").ripser
    rng = np.random.default_rng(11)
    X = rng.standard_normal((120, 6))
    _, length = mst_tree(X)
    dg = ripser(cdist(X, X), distance_matrix=True, maxdim=0)["dgms"][0]
    deaths = np.sort(dg[np.isfinite(dg[:, 1]), 1].astype(np.float32))
    assert np.array_equal(deaths, np.sort(length[1:].astype(np.float32)))


@pytest.mark.parametrize(
    "bad",
    [np.zeros((0, 3)), np.zeros(5), np.zeros((2, 2, 2)), np.array([[0.0, np.nan]]), np.array([[np.inf, 0.0]]),
     np.array([["a", "b"]]), np.zeros((3, 0))],
)
def test_bad_points(bad: np.ndarray) -> None:
    with pytest.raises(InvalidInput) as err:
        kernels.mst_length(bad)
    assert "\n" not in str(err.value)


def test_bad_metric_and_device() -> None:
    with pytest.raises(InvalidInput, match="metric="):
        kernels.mst_length(np.zeros((2, 2)), "cosine")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="device="):
        kernels.mst_length(np.zeros((2, 2)), device="tpu")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="cuda"):
        kernels.mst_length(np.zeros((2, 2)), device="cuda")
