"""The speed-ups of the analyze path (benchmarks/analyze_resnet50.py) change no result: the pruned KS scan picks the
same xmin with the same D as the full scan, the compensated suffix sums are within their error bound of the exact
sums (Fractions), a 1x1 convolution's ESD taken from its spectral-norm Gram is the ESD of its kernel slice bit for
bit, and analyze leaves the thread settings as it found them."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kernels._esd import _fit_standard, _suffix_sums

torch = pytest.importorskip("torch")


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(20, 600), tail=st.floats(1.2, 5.0),
       ties=st.booleans())
def test_pruned_ks_scan_picks_the_same_fit(seed, n, tail, ties):
    rng = np.random.default_rng(seed)
    lam = np.sort((1 + rng.pareto(tail, n)) * rng.uniform(1e-3, 10))
    if ties:  # repeated eigenvalues (alpha = inf candidates, equal D values)
        lam = np.sort(np.round(lam, 1) + 1e-3)
    i_full, a_full, d_full = _fit_standard(lam)
    i, a, d = _fit_standard(lam, prune=True)
    assert i == i_full and d[i] == d_full[i] and np.array_equal(a, a_full, equal_nan=True)
    assert np.all(d >= d[i])  # pruned entries stay above the minimum


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=200))
def test_suffix_sums_within_their_error_bound(xs):
    x = np.array(xs, dtype=np.float64)
    out = _suffix_sums(x)
    u = Fraction(1, 2**53)
    for i in range(x.size):
        exact = sum((Fraction(v) for v in xs[i:]), Fraction(0))
        scale = sum((abs(Fraction(v)) for v in xs[i:]), Fraction(0))
        # Neumaier: |err| <= u |s| + (n u)^2-order terms; 3u * sum|x| covers both for n <= 200
        assert abs(Fraction(float(out[i])) - exact) <= 3 * u * scale + Fraction(2) ** -1074


def test_one_by_one_conv_esd_from_the_certificate_gram_is_the_slice_esd():
    from certify.reports.analyze import analyze_network
    from kernels import conv2d_matrices, esd_metrics_estimate
    from kernels import network as ir

    torch.manual_seed(0)
    m = torch.nn.Sequential(torch.nn.Conv2d(24, 40, 1), torch.nn.ReLU(), torch.nn.Conv2d(40, 24, 3),
                            torch.nn.Flatten(), torch.nn.Linear(24, 3)).eval()
    from certify.models.loader import load_model

    net = load_model(m).network
    rows = analyze_network(net)
    convs = [n for n in net.nodes if isinstance(n.layer, ir.Conv)]
    for row, node in zip(rows, convs):
        ref = esd_metrics_estimate(conv2d_matrices(node.layer.weight))
        assert row.alpha_estimate == ref.fit.alpha and row.esd_xmin == ref.fit.xmin
        assert row.esd_ks_distance == ref.fit.D and row.log_norm_estimate == ref.log_norm
        assert row.log_spectral_norm_estimate == ref.log_spectral_norm and row.esd_n_evals == ref.num_evals


def test_analyze_restores_the_thread_settings():
    import numba

    from certify.reports.analyze import analyze_network
    from certify.models.loader import load_model

    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("one numba thread at most: analyze's one-thread limit would leave no trace to check")
    before = numba.get_num_threads()
    numba.set_num_threads(2)  # not 1: otherwise a limit left in place would go unseen
    net = load_model(torch.nn.Sequential(torch.nn.Linear(30, 20), torch.nn.ReLU(), torch.nn.Linear(20, 3))).network
    try:
        analyze_network(net)
        assert numba.get_num_threads() == 2
    finally:
        numba.set_num_threads(before)
    assert math.isfinite(float(analyze_network(net, esd=False)[0].spectral_hi))
