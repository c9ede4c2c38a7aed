"""The topology kernels import neither certify, theorems nor torch; the public names are exported."""

from __future__ import annotations

import subprocess
import sys

import kernels

NAMES = ["mst_length", "ph_dim", "ph_dim_loss", "PHDimEstimate", "bg_tail_index_estimate",
         "trajectory_tail_index_estimate", "TailIndexEstimate", "esd", "conv2d_matrices", "esd_metrics_estimate",
         "powerlaw_fit_estimate", "stable_rank_estimate", "ESDMetricsEstimate", "PowerLawEstimate"]


def test_exported() -> None:
    for name in NAMES:
        assert name in kernels.__all__ and hasattr(kernels, name)


def test_no_upward_or_framework_imports() -> None:
    code = (
        "import sys, kernels._mst, kernels._phdim, kernels._submst, kernels._tails, kernels._esd;"
        "bad = [m for m in ('certify', 'theorems', 'torch') if m in sys.modules];"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
