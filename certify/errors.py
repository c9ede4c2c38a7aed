"""The error hierarchy, re-exported from :mod:`boundcert.errors` (one hierarchy for all packages)."""

from boundcert.errors import (
    CertificateRejected,
    CertifyError,
    HypothesisNotMet,
    InternalError,
    InvalidInput,
    UnsoundEnvironment,
)

__all__ = [
    "CertifyError",
    "InvalidInput",
    "HypothesisNotMet",
    "UnsoundEnvironment",
    "CertificateRejected",
    "InternalError",
]
