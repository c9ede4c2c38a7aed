"""Loss landscape and sharpness (issue 19).

* :mod:`~certify.landscape.params`: a model's parameters as one flat vector, evaluated functionally;
* :mod:`~certify.landscape.hessian`: the training-loss Hessian as a float64 operator (full or per layer block):
  top eigenvalues with Lanczos residual brackets, Hutchinson trace interval, SLQ density (kernels do the arithmetic);
* :mod:`~certify.landscape.sharpness`: Jiang et al. (2020) sharpness / PAC-Bayes flatness measures (estimates);
* :mod:`~certify.landscape.slices`: filter-normalised 1D/2D slices and the linear path between checkpoints;
* :mod:`~certify.landscape.flatness`: the PAC-Bayes flatness certificate (``pac_bayes.kl`` at the largest flat
  scale of a grid, union over the grid paid), registered in the ``flatness`` context of the quantity registry.
"""

from certify.landscape.flatness import FlatnessContext, FlatnessOptions, flatness_certificate, flatness_search
from certify.landscape.hessian import BlockSpectrum, HessianOperator, HessianReport, hessian_operator, hessian_report
from certify.landscape.params import FlatModel, flat_model, layer_blocks
from certify.landscape.sharpness import SharpnessMeasures, largest_scale, sharpness_measures
from certify.landscape.slices import (
    LandscapeSlice, LinearPath, filter_normalized_direction, linear_path, slice_1d, slice_2d,
)

__all__ = ["BlockSpectrum", "FlatModel", "FlatnessContext", "FlatnessOptions", "HessianOperator", "HessianReport",
           "LandscapeSlice", "LinearPath", "SharpnessMeasures", "filter_normalized_direction", "flat_model",
           "flatness_certificate", "flatness_search", "hessian_operator", "hessian_report", "largest_scale",
           "layer_blocks", "linear_path", "sharpness_measures", "slice_1d", "slice_2d"]
