"""certify: the user's door. Load models and data, run the pipeline, write and check certificates, the CLI.

``certify.certify(model, data, theorem=..., delta=...) -> Certificate``; ``Certificate.save(path)``;
``certify.check(cert) -> CheckResult``; ``certify.load_model(path_or_module, arch=None) -> LoadedModel``.

Names are imported lazily (PEP 562) so that ``import certify._checker`` loads only the standard library and mpmath.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "BUILTINS",
    "Certificate",
    "CheckResult",
    "CompressionConfig",
    "CompressionResult",
    "Dataset",
    "Decoder",
    "FORMAT_VERSION",
    "InputRecord",
    "LoadedModel",
    "Network",
    "PROVIDERS",
    "PacBayesConfig",
    "PacBayesResult",
    "PriorVariance",
    "Provided",
    "RunContext",
    "certify",
    "check",
    "dataset_sha256",
    "errors",
    "kl_enclosure",
    "load_builtin",
    "load_data",
    "load_model",
    "mc_emp_upper",
    "model_sha256",
    "rebuild",
    "register_provider",
    "run_compression",
    "run_pacbayes",
]

_WHERE = {
    "FORMAT_VERSION": "certify._certificate", "Certificate": "certify._certificate", "InputRecord": "certify._certificate",
    "BUILTINS": "certify._data", "Dataset": "certify._data", "dataset_sha256": "certify._data",
    "load_builtin": "certify._data", "load_data": "certify._data",
    "PROVIDERS": "certify._pipeline", "Provided": "certify._pipeline", "RunContext": "certify._pipeline",
    "certify": "certify._pipeline", "model_sha256": "certify._pipeline", "register_provider": "certify._pipeline",
    "CheckResult": "certify._checker", "LoadedModel": "certify.load", "Network": "certify._network",
    "load_model": "certify.load",
    "PacBayesConfig": "certify._pacbayes", "PacBayesResult": "certify._pacbayes", "PriorVariance": "certify._pacbayes",
    "kl_enclosure": "certify._pacbayes", "mc_emp_upper": "certify._pacbayes", "run_pacbayes": "certify._pacbayes",
    "CompressionConfig": "certify._compress", "CompressionResult": "certify._compress", "Decoder": "certify._compress",
    "rebuild": "certify._compress", "run_compression": "certify._compress",
}


def __getattr__(name: str) -> Any:
    if name == "errors":
        return importlib.import_module("certify.errors")
    if name == "check":
        return importlib.import_module("certify._checker").check
    if name in _WHERE:
        value = getattr(importlib.import_module(_WHERE[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'certify' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
