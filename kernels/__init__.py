"""kernels: quantities computed on weights and data, each returned as a proven :class:`Enclosure`.

Every public function states its rounding model in its docstring. ``kernels`` imports neither
``theorems`` nor ``certify``. Names ending in ``_estimate`` are uncertified plain floats.
"""

from kernels._enclosure import Enclosure
from kernels._gaussian_kl import gaussian_kl_sums
from kernels._conv import conv_spectral_norm, conv_spectral_norm_estimate
from kernels import network
from kernels import bounds
from kernels.bounds import InputSet, MarginBounds, margin_bounds
from kernels.network.legacy import Activation, ConvLayer, DenseLayer, Residual
from kernels.network.quantities import (
    LipschitzUpper, Margins, forward_enclosure, lipschitz_upper, logit_margins, path_norm,
)
from kernels._norms import (
    MatrixNorms, distance_to_init, frobenius_norm, matrix_norms, max_abs, nonzero_count, norm_1_inf, norm_21,
    parameter_count, sparsity,
)
from kernels._spectral import RtolNotReached, spectral_norm, spectral_norm_and_esd, spectral_norm_estimate

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
# loss landscape (issue 19): Lanczos residual brackets, Hutchinson trace interval, SLQ density (an estimate)
from kernels._hutchinson import TraceInterval, hutchinson_trace
from kernels._lanczos import LanczosBrackets, lanczos_brackets
from kernels._slq import SpectralDensityEstimate, slq_density_estimate

__all__ = [
    # norms, spectral norms, networks (issue 3)
    "Activation", "ConvLayer", "DenseLayer", "Residual", "LipschitzUpper", "Margins", "lipschitz_upper",
    "logit_margins", "path_norm",
    # the network IR (issue 16): kernels.network (Graph, one module per layer type) and its forward enclosure
    "network", "forward_enclosure",
    # sound local robustness verification (issue 17): IBP and CROWN on the IR, rounded outward
    "bounds", "InputSet", "MarginBounds", "margin_bounds",
    "Enclosure", "conv_spectral_norm", "conv_spectral_norm_estimate", "distance_to_init", "frobenius_norm",
    "max_abs", "nonzero_count", "norm_1_inf", "norm_21", "parameter_count", "sparsity", "RtolNotReached",
    "spectral_norm", "spectral_norm_estimate",
    # certify analyze (issue 7): one sweep for the elementary norms, one Gram for spectral norm and ESD
    "MatrixNorms", "matrix_norms", "spectral_norm_and_esd",
    # PAC-Bayes (issue 6): exact sums of the diagonal-Gaussian KL
    "gaussian_kl_sums",
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
    # loss landscape (issue 19)
    "LanczosBrackets",
    "lanczos_brackets",
    "TraceInterval",
    "hutchinson_trace",
    "SpectralDensityEstimate",
    "slq_density_estimate",
]
