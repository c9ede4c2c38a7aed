"""Quantities: the provider registry (bottom), then counts, norms, margins, robustness, PAC-Bayes KL and empirical
risk, code length, stability. Importing this package registers every provider."""

from certify.quantities import code_length, counts, margins, norms, pacbayes, robustness  # noqa: F401 (registration)
from certify.quantities.registry import (
    PROVIDERS,
    REGISTRY,
    Provided,
    Quantity,
    RunContext,
    discharged,
    provide,
    providers_for,
    register_provider,
)

__all__ = ["PROVIDERS", "REGISTRY", "Provided", "Quantity", "RunContext", "discharged", "provide", "providers_for",
           "register_provider"]
