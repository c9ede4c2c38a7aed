"""Hutchinson trace interval: measured coverage of the exact trace at >= 1 - delta over repeated runs (explicit
matrix, exact Fraction trace; the exact MLP Hessian), the SLQ density's mass, refusals."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from boundcert.errors import InvalidInput
from kernels import hutchinson_trace, slq_density_estimate


def _exact_trace(A: np.ndarray) -> Fraction:
    return sum((Fraction(float(v)) for v in np.diag(A)), Fraction(0))


def test_coverage_rate_explicit_matrix():
    rng = np.random.default_rng(7)
    M = rng.standard_normal((30, 30))
    A = np.triu(M) + np.triu(M, 1).T
    tr = _exact_trace(A)
    delta, runs = 0.2, 300
    hits = sum(1 for s in range(runs)
               if (lambda t: Fraction(t.lo) <= tr <= Fraction(t.hi))(hutchinson_trace(A, n_samples=20, delta=delta,
                                                                                      seed=s)))
    rate = hits / runs
    print(f"measured coverage {rate:.3f} over {runs} runs at delta={delta}")
    assert rate >= 1 - delta


def test_coverage_rate_mlp_hessian(tiny):
    from certify.landscape import hessian_operator

    tr = _exact_trace(tiny["H"])
    op = hessian_operator(tiny["net"], tiny["x"], tiny["y"])
    delta, runs = 0.2, 20
    hits = 0
    for s in range(runs):
        t = hutchinson_trace(op.matvec, op.dim, 20, delta=delta, seed=1000 + s)
        hits += Fraction(t.lo) <= tr <= Fraction(t.hi)
    assert hits / runs >= 1 - delta


def test_interval_brackets_the_enclosed_mean_and_widens_with_confidence():
    A = np.diag(np.arange(1.0, 11.0))  # diagonal: every v^T A v equals the trace exactly
    t = hutchinson_trace(A, n_samples=50, delta=0.05)
    assert t.lo <= 55.0 <= t.hi and t.trace_estimate == 55.0
    t2 = hutchinson_trace(A, n_samples=50, delta=0.001)
    assert t2.half_width > t.half_width and t2.q >= t.q


def test_refusals():
    A = np.eye(4)
    with pytest.raises(InvalidInput, match="too few"):
        hutchinson_trace(A, n_samples=5, delta=0.05)
    with pytest.raises(InvalidInput, match="delta"):
        hutchinson_trace(A, n_samples=50, delta=1.5)
    with pytest.raises(InvalidInput, match="n_samples"):
        hutchinson_trace(A, n_samples=0)


def test_slq_density_mass_and_support():
    rng = np.random.default_rng(3)
    M = rng.standard_normal((40, 40))
    A = np.triu(M) + np.triu(M, 1).T
    d = slq_density_estimate(A, n_vectors=3, n_iter=20)
    g = np.asarray(d.grid)
    mass = float(np.sum(d.density) * (g[1] - g[0]))
    assert abs(mass - 1.0) < 1e-3  # Gauss weights sum to 1 per vector; the grid covers +-3 widths
    ev = np.linalg.eigvalsh(A)
    assert g[0] <= ev[0] and ev[-1] <= g[-1]
    for w in d.weights:
        assert abs(sum(w) - 1.0) < 1e-12


@pytest.mark.slow
@pytest.mark.parametrize("delta", [0.05, 0.5])
def test_coverage_rate_many_runs(delta):
    """The rate over 2000 runs (explicit matrix with large off-diagonal mass, the hard case for Hutchinson)."""
    rng = np.random.default_rng(11)
    M = rng.standard_normal((50, 50))
    A = np.triu(M) + np.triu(M, 1).T
    tr = _exact_trace(A)
    runs = 2000
    hits = sum(Fraction(t.lo) <= tr <= Fraction(t.hi)
               for t in (hutchinson_trace(A, n_samples=40, delta=delta, seed=s) for s in range(runs)))
    print(f"measured coverage {hits / runs:.4f} over {runs} runs at delta={delta}")
    assert hits / runs >= 1 - delta


@pytest.mark.slow
def test_coverage_rate_mlp_hessian_many_runs(tiny):
    """The rate over 500 runs on the float64 Hessian-vector-product operator of the tiny MLP (exact trace of the
    explicit float64 Hessian as the reference)."""
    from certify.landscape import hessian_operator

    tr = _exact_trace(tiny["H"])
    op = hessian_operator(tiny["net"], tiny["x"], tiny["y"])
    delta, runs = 0.1, 500
    hits = sum(Fraction(t.lo) <= tr <= Fraction(t.hi)
               for t in (hutchinson_trace(op.matvec, op.dim, 30, delta=delta, seed=s) for s in range(runs)))
    print(f"measured coverage {hits / runs:.4f} over {runs} runs at delta={delta} (MLP Hessian)")
    assert hits / runs >= 1 - delta
