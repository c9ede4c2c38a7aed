"""certify: the user's door. Load models and data, run the pipeline, write and check certificates, the CLI.

``certify.certify(model, data, theorem=..., delta=...) -> Certificate``; ``Certificate.save(path)``.
"""

from certify import errors
from certify._certificate import FORMAT_VERSION, Certificate, InputRecord
from certify._data import BUILTINS, Dataset, dataset_sha256, load_builtin
from certify._pipeline import PROVIDERS, Provided, RunContext, certify, model_sha256, register_provider
from certify._pacbayes import PacBayesConfig, PacBayesResult, PriorVariance, kl_enclosure, mc_emp_upper, run_pacbayes
from certify._compress import CompressionConfig, CompressionResult, Decoder, rebuild, run_compression

__all__ = [
    "BUILTINS",
    "Certificate",
    "CompressionConfig",
    "CompressionResult",
    "Decoder",
    "PacBayesConfig",
    "PacBayesResult",
    "PriorVariance",
    "kl_enclosure",
    "mc_emp_upper",
    "rebuild",
    "run_compression",
    "run_pacbayes",
    "Dataset",
    "FORMAT_VERSION",
    "InputRecord",
    "PROVIDERS",
    "Provided",
    "RunContext",
    "certify",
    "dataset_sha256",
    "errors",
    "load_builtin",
    "model_sha256",
    "register_provider",
]
