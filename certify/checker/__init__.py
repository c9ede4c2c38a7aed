"""The independent certificate checker (standard library + mpmath only); see :mod:`certify.checker.core`."""

from certify.checker.core import CheckResult, check, main

__all__ = ["CheckResult", "check", "main"]
