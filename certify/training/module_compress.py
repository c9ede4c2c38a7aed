"""Compression certificates for a user's own torch module and data (``certify compress MODEL``): the names of the
module path, kept for their callers. There is one configuration and one path for every network, the library's MLP
included: :mod:`certify.training.compress` (its module docstring describes the two decoders)."""

from __future__ import annotations

from certify.training.compress import CompressionConfig as ModuleCompressionConfig
from certify.training.compress import run_module_compression, train_subspace

train_module_subspace = train_subspace

__all__ = ["ModuleCompressionConfig", "train_module_subspace", "run_module_compression"]
