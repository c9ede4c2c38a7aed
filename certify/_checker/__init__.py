"""The independent certificate checker (standard library + mpmath only); see :mod:`certify._checker.core`."""

from certify._checker.core import CheckResult, check, main

__all__ = ["CheckResult", "check", "main"]
