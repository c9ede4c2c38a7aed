"""kernels._submst: the projection lower bounds are below the direct distances; the MSTs of the blocks equal
scipy's on the dense distance matrix; ph_dim's pruned path equals its dense paths and ripser's estimator."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.spatial.distance import cdist

import kernels
from kernels._phdim import _sample_lengths, sample_schedule
from kernels._submst import PRUNE_MIN_DIM, _lower_bounds, prim_blocks, sample_msts
from tests.topology.test_mst import scipy_mst_total_of

NEVER_GIVE_UP = dict(max_rounds=10**9, pair_budget=1.0, residual_ratio=np.inf)




def near_subspace(seed: int, n: int, d: int, rank: int, noise: float, offset: float) -> np.ndarray:
    """Points near a random ``rank``-dimensional affine subspace of R^d (a curved sheet plus noise)."""
    rng = np.random.default_rng(seed)
    t = rng.random((n, rank))
    feats = np.concatenate([t, np.sin(3 * t)], axis=1)
    A = rng.standard_normal((feats.shape[1], d)) / np.sqrt(d)
    return offset + feats @ A + noise * rng.standard_normal((n, d)) / np.sqrt(d)


def blocks_of(n: int, sizes: list[int], seed: int) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    blocks = [np.sort(rng.choice(n, size=min(s, n), replace=False)) for s in sizes]
    flat = np.concatenate(blocks).astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum([b.size for b in blocks])]).astype(np.int64)
    return flat, offsets, blocks


def check_block_totals(X: np.ndarray, w: np.ndarray, offsets: np.ndarray, blocks: list[np.ndarray]) -> None:
    D = cdist(X, X)
    for t, b in enumerate(blocks):
        ours = float(np.sum(w[offsets[t] : offsets[t + 1]]))
        ref = scipy_mst_total_of(D[np.ix_(b, b)])
        assert w[offsets[t]] == 0.0
        assert abs(ours - ref) <= 1e-12 * ref, (t, ours, ref)


clouds = st.one_of(
    hnp.arrays(np.float64, st.tuples(st.integers(2, 30), st.sampled_from([1, 2, 7, 40])),
               elements=st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False, width=32)),
    st.builds(near_subspace, st.integers(0, 2**31), st.integers(2, 60), st.sampled_from([3, 50, 300]),
              st.integers(1, 4), st.sampled_from([0.0, 1e-6, 1e-3, 0.3]), st.sampled_from([0.0, 10.0, 1e4])),
)


@settings(max_examples=30, deadline=None)
@given(X=clouds)
def test_lower_bounds_below_direct_distances(X: np.ndarray) -> None:
    L, _, nearest = _lower_bounds(X, min(32, X.shape[0]))
    D = cdist(X, X)  # directly summed float64 distances
    assert np.all(L <= D) and np.all(L >= 0.0) and np.all(np.diag(L) == 0.0)
    off = ~np.eye(X.shape[0], dtype=bool)
    assert np.array_equal(nearest, np.where(off, L, np.inf).min(axis=1))


@settings(max_examples=30, deadline=None)
@given(X=clouds, seed=st.integers(0, 2**31), sizes=st.lists(st.integers(1, 40), min_size=1, max_size=5))
def test_block_msts_equal_scipy(X: np.ndarray, seed: int, sizes: list[int]) -> None:
    flat, offsets, blocks = blocks_of(X.shape[0], sizes, seed)
    w = sample_msts(X, flat, offsets, **NEVER_GIVE_UP)
    check_block_totals(X, w, offsets, blocks)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31), n=st.integers(2, 80), sizes=st.lists(st.integers(1, 80), min_size=1, max_size=6))
def test_prim_blocks_equal_scipy(seed: int, n: int, sizes: list[int]) -> None:
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 4, size=(n, 2)).astype(np.float64)  # many exact ties and duplicates
    D = cdist(X, X)
    flat, offsets, blocks = blocks_of(n, sizes, seed + 1)
    par = np.empty_like(flat)
    w = np.empty(flat.size)
    prim_blocks(D, flat, offsets, np.ones(len(blocks), dtype=np.bool_), par, w)
    check_block_totals(X, w, offsets, blocks)
    for t, b in enumerate(blocks):  # a spanning tree: every position reaches the root through its parents
        p = par[offsets[t] : offsets[t + 1]]
        assert p[0] == -1 and np.all(p[1:] >= 0)
        for v in range(1, b.size):
            seen = 0
            while v != 0 and seen <= b.size:
                v, seen = p[v], seen + 1
            assert v == 0


def test_structured_cloud_takes_the_pruned_path_with_few_exact_pairs() -> None:
    X = near_subspace(1, 400, 2000, 3, 1e-3, 10.0)
    flat, offsets, blocks = blocks_of(400, [100, 200, 300, 400], 2)
    w = sample_msts(X, flat, offsets)
    assert w is not None
    check_block_totals(X, w, offsets, blocks)


def test_spread_cloud_gives_up_and_ph_dim_falls_back() -> None:
    X = np.random.default_rng(3).standard_normal((200, PRUNE_MIN_DIM))  # i.i.d. Gaussian: bounds useless
    flat, offsets, blocks = blocks_of(200, [100, 200], 4)
    assert sample_msts(X, flat, offsets) is None
    w, path = _sample_lengths(X, flat, offsets, 0, "cpu")
    assert path == "dense"
    check_block_totals(X, w, offsets, blocks)
    Y = X[:60, :50]
    flat, offsets, blocks = blocks_of(60, [30, 60], 5)
    check_block_totals(Y, sample_msts(Y, flat, offsets, **NEVER_GIVE_UP), offsets, blocks)  # forced: still exact


@pytest.mark.parametrize("n,d,noise,offset,reps", [(300, 1500, 1e-3, 10.0, 1), (240, 1100, 0.0, 1e3, 2),
                                                    (200, 4000, 3e-2, 0.0, 3)])
def test_pruned_path_equals_dense_paths(n: int, d: int, noise: float, offset: float, reps: int) -> None:
    X = near_subspace(n + d, n, d, 3, noise, offset)
    sizes = np.arange(40, n + 1, 40)
    samples = sample_schedule(n, sizes, reps, 5, "independent")
    flat = np.concatenate(samples).astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum([s.size for s in samples])]).astype(np.int64)
    w_p, path = _sample_lengths(X, flat, offsets, 0, "cpu", "pruned")
    assert path == "pruned"
    for ref_path in ("dense", "dense-direct"):
        w_d, _ = _sample_lengths(X, flat, offsets, 0, "cpu", ref_path)
        E_p, E_d = np.add.reduceat(w_p, offsets[:-1]), np.add.reduceat(w_d, offsets[:-1])
        np.testing.assert_allclose(E_p, E_d, rtol=1e-12, atol=0)
    est = kernels.ph_dim(X, n_min=40, step=40, n_repeats=reps, seed=5)
    assert np.allclose(np.array(est.lengths).ravel(), E_d, rtol=1e-12, atol=0)


def test_pruned_ph_dim_equals_ripser_estimator() -> None:
    ripser = pytest.importorskip("ripser").ripser
    X = near_subspace(7, 300, PRUNE_MIN_DIM + 100, 3, 1e-3, 10.0)
    est = kernels.ph_dim(X, n_min=60, step=40, n_repeats=2, seed=4)
    sizes = np.array(est.sizes)
    E_ref = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "more columns than rows"
        for s in sample_schedule(300, sizes, 2, 4, "independent"):
            dg = ripser(X[s], maxdim=0)["dgms"][0]
            E_ref.append(float(np.sum(dg[np.isfinite(dg[:, 1]), 1])))
    # ripser: float32 bars of scikit-learn's Gram-form float64 distances (module docstring of kernels._phdim)
    np.testing.assert_allclose(np.array(est.lengths).ravel(), E_ref, rtol=1e-6)
    x = np.repeat(np.log(sizes.astype(float)), 2)
    m = np.polyfit(x, np.log(E_ref), 1)[0]
    assert abs(est.dimension - 1.0 / (1.0 - m)) < 1e-5


@pytest.mark.slow
@settings(max_examples=400, deadline=None)
@given(X=clouds, seed=st.integers(0, 2**31), sizes=st.lists(st.integers(1, 60), min_size=1, max_size=6))
def test_block_msts_equal_scipy_many(X: np.ndarray, seed: int, sizes: list[int]) -> None:
    test_block_msts_equal_scipy.hypothesis.inner_test(X, seed, sizes)


@pytest.mark.slow
def test_benchmark_size_equals_ripser_estimator() -> None:
    """The issue-7 benchmark's smallest configuration: N = 1000 points near a 3-D sheet in R^10000, offset 10."""
    ripser = pytest.importorskip("ripser").ripser
    X = near_subspace(11, 1000, 10_000, 3, 1e-3, 10.0)
    sizes = np.arange(200, 1001, 50)
    samples = sample_schedule(1000, sizes, 1, 0, "independent")
    flat = np.concatenate(samples).astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum([s.size for s in samples])]).astype(np.int64)
    assert _sample_lengths(X, flat, offsets, 0, "cpu")[1] == "pruned"
    est = kernels.ph_dim(X, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dgms = [ripser(X[s], maxdim=0)["dgms"][0] for s in samples]
    E_ref = [float(np.sum(dg[np.isfinite(dg[:, 1]), 1])) for dg in dgms]
    np.testing.assert_allclose(np.array(est.lengths).ravel(), E_ref, rtol=1e-6)
    m = np.polyfit(np.log(sizes.astype(float)), np.log(E_ref), 1)[0]
    assert abs(est.dimension - 1.0 / (1.0 - m)) <= 1e-6 * est.dimension
