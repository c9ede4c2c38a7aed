"""boundcert: shared base of the ``certify``, ``theorems`` and ``kernels`` packages.

This tiny package holds only what all three need and none may import from another:
the version and the one error hierarchy (:mod:`boundcert.errors`).
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
