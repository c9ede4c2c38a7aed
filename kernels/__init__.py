"""kernels: quantities computed on weights and data, each returned as a proven :class:`Enclosure`.

Every public function states its rounding model in its docstring. ``kernels`` imports neither
``theorems`` nor ``certify``.
"""

from kernels._enclosure import Enclosure

# topology and dynamics (issue 7): measures are *_estimate / *Estimate, mst_length is an Enclosure
from kernels._mst import mst_length
from kernels._phdim import PHDimEstimate, ph_dim, ph_dim_loss
from kernels._tails import TailIndexEstimate, bg_tail_index_estimate, trajectory_tail_index_estimate
from kernels._esd import (
    ESDMetricsEstimate,
    PowerLawEstimate,
    conv2d_matrices,
    esd,
    esd_metrics_estimate,
    powerlaw_fit_estimate,
    stable_rank_estimate,
)

__all__ = [
    "Enclosure",
    # topology and dynamics (issue 7)
    "mst_length",
    "PHDimEstimate",
    "ph_dim",
    "ph_dim_loss",
    "TailIndexEstimate",
    "bg_tail_index_estimate",
    "trajectory_tail_index_estimate",
    "ESDMetricsEstimate",
    "PowerLawEstimate",
    "conv2d_matrices",
    "esd",
    "esd_metrics_estimate",
    "powerlaw_fit_estimate",
    "stable_rank_estimate",
]
