"""PAC-Bayes certificates for a user's own torch module and data (``certify optimize MODEL``): the names of the
module path, kept for their callers. There is one configuration and one path for every network, the library's MLP
included: :mod:`certify.training.pacbayes` (its module docstring describes the data path)."""

from __future__ import annotations

from certify.training.pacbayes import PacBayesConfig as ModulePacBayesConfig
from certify.training.pacbayes import (bound_indices, check_model_data, optimize_posterior, place_model_file,
                                       run_module_pacbayes, train_module)

optimize_module_posterior = optimize_posterior

__all__ = ["ModulePacBayesConfig", "train_module", "optimize_module_posterior", "run_module_pacbayes",
           "bound_indices", "check_model_data", "place_model_file"]
