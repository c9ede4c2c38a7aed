"""The one error hierarchy of boundcert.

Every refusal raised by ``certify``, ``theorems`` or ``kernels`` is a :class:`CertifyError`.
Messages say what was wrong (``name=value!r``), why, and what to do, on one line.
The CLI maps :class:`InvalidInput` and :class:`HypothesisNotMet` to exit code 2.
"""

from __future__ import annotations

__all__ = [
    "CertifyError",
    "InvalidInput",
    "HypothesisNotMet",
    "UnsoundEnvironment",
    "CertificateRejected",
    "InternalError",
]


class CertifyError(Exception):
    """Root of every error boundcert raises on purpose."""


class InvalidInput(CertifyError, ValueError):
    """An input (value, file, shape, option) is not acceptable; the message names it and the fix."""


class HypothesisNotMet(CertifyError, ValueError):
    """A theorem's hypothesis is mechanically checked and fails for the given inputs."""


class UnsoundEnvironment(CertifyError, RuntimeError):
    """The floating-point environment would void the rounding model (TF32 on, subnormals flushed, ...)."""


class CertificateRejected(CertifyError):
    """A certificate does not verify (checker) or cannot be produced soundly."""


class InternalError(CertifyError, AssertionError):
    """Can only mean a bug in boundcert: please report it with the inputs that triggered it."""
