"""certify: the user's door. Load models and data, run the pipeline, write and check certificates, the CLI.

``certify.certify(model, data, theorem=..., delta=...) -> Certificate``; ``Certificate.save(path)``;
``certify.check(cert) -> CheckResult``; ``certify.load_model(path_or_module, arch=None) -> LoadedModel``.

The package only re-exports; each subpackage's docstring says what lives there: ``models`` (loading, formats, the
torch -> network translation, hashing), ``data``, ``quantities`` (the provider registry and the providers),
``pipeline`` (the one certificate assembler) and ``options`` (typed run options), ``certificate``, ``checker``
(the trusted core and ``--recompute``), ``training``, ``robust``, ``landscape``, ``sweep``, ``reports``, ``repro``,
``jobs``, ``cli``.

Names are imported lazily (PEP 562) so that ``import certify.checker`` loads only the standard library and mpmath.
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
    "RunOptions",
    "analyze",
    "certify",
    "certify_all",
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
    "FORMAT_VERSION": "certify.certificate", "Certificate": "certify.certificate", "InputRecord": "certify.certificate",
    "BUILTINS": "certify.data", "Dataset": "certify.data", "dataset_sha256": "certify.data",
    "load_builtin": "certify.data", "load_data": "certify.data",
    "PROVIDERS": "certify.quantities", "Provided": "certify.quantities", "RunContext": "certify.quantities",
    "register_provider": "certify.quantities",
    "certify": "certify.pipeline", "RunOptions": "certify.options", "certify_all": "certify.jobs.certify_all",
    "analyze": "certify.reports.frame",
    "model_sha256": "certify.models", "LoadedModel": "certify.models", "Network": "certify.models",
    "load_model": "certify.models",
    "CheckResult": "certify.checker",
    "PriorVariance": "certify.quantities.pacbayes", "kl_enclosure": "certify.quantities.pacbayes",
    "mc_emp_upper": "certify.quantities.pacbayes",
    "PacBayesConfig": "certify.training.pacbayes", "PacBayesResult": "certify.training.pacbayes",
    "run_pacbayes": "certify.training.pacbayes",
    "Decoder": "certify.models.compressed", "rebuild": "certify.models.compressed",
    "CompressionConfig": "certify.training.compress", "CompressionResult": "certify.training.compress",
    "run_compression": "certify.training.compress",
}


def __getattr__(name: str) -> Any:
    if name == "errors":
        return importlib.import_module("certify.errors")
    if name == "check":  # the whole check (core, registry, optional replay); the core alone: certify.checker.check
        return importlib.import_module("certify.checker.verify").check
    if name in _WHERE:
        value = getattr(importlib.import_module(_WHERE[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'certify' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
