"""Tightness order on a trained digits CNN: CROWN verifies at least what IBP verifies, sample by sample, and at least
what the Lipschitz-margin certificate (Tsuzuku et al. 2018, l2) certifies; the slow test adds BatchNorm and three
radii per norm (the benchmark's claim, benchmarks/robust.py), and the gap to the same CROWN code with its rounding
switched off (benchmark-only, unsound) is within 1 point."""

from __future__ import annotations

import math

import numpy as np
import pytest

from kernels.bounds import InputSet, margin_bounds
from tests.pipeline.pipeline_support import trained


def _lipschitz_certified(graph, x, y, eps: float) -> np.ndarray:
    import kernels
    from kernels.network.quantities import logit_margins

    L = kernels.lipschitz_upper(graph, norm="l2", input_shape=x.shape[1:]).upper
    return logit_margins(graph, x.astype(np.float64), y, device="cpu").lo > math.sqrt(2) * L * eps * (1 + 1e-12)


@pytest.mark.parametrize("norm, eps", [("l2", 0.05), ("linf", 0.01)])
def test_crown_at_least_ibp_and_lipschitz_on_a_digits_cnn(norm, eps):
    from certify.models import load_model

    model, _, test = trained("cnn")
    graph = load_model(model).network
    x, y = test.x[:20].astype(np.float64), test.y[:20].astype(np.int64)
    ibp = margin_bounds(graph, x, y, InputSet(norm, eps), "ibp")
    crown = margin_bounds(graph, x, y, InputSet(norm, eps), "crown")
    assert np.all(crown.rows >= ibp.rows)
    assert np.all(crown.verified >= ibp.verified)
    if norm == "l2":
        assert crown.verified.sum() >= _lipschitz_certified(graph, x, y, eps).sum()


@pytest.mark.slow
def test_benchmark_order_on_cnns_with_batchnorm():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    import robust as bench  # benchmarks/robust.py

    rows = bench.bench("digits", 50, 40, None, None, alpha=False)
    assert all(r["crown"] >= r["ibp"] >= 0 and r["crown"] >= r["lipschitz"] for r in rows)
    # the gap soundness costs: the same CROWN code with its rounding switched off certifies within 1 point
    assert all(abs(r["soundness_gap_points"]) <= 1 for r in rows), [r["soundness_gap_points"] for r in rows]


def test_the_unsound_plain_float_mode_lives_in_the_benchmark_only():
    """benchmarks/robust.py's rounding_off (unsound, for the comparison) is reachable from no library module."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    hits = [str(p) for d in ("certify", "kernels", "theorems", "boundcert") for p in (root / d).rglob("*.py")
            if "rounding_off" in p.read_text()]
    assert hits == []
    assert "def rounding_off" in (root / "benchmarks" / "robust.py").read_text()
