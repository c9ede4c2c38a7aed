"""The public surface of kernels: __all__ is exact, kernels imports neither theorems nor certify nor torch."""

from __future__ import annotations

import subprocess
import sys

import kernels


def test_all_names_exist_and_are_public():
    assert len(set(kernels.__all__)) == len(kernels.__all__)
    for name in kernels.__all__:
        assert hasattr(kernels, name), name
    public = {n for n in vars(kernels) if not n.startswith("_")}
    assert public == set(kernels.__all__)


def test_import_hygiene():
    code = ("import sys, kernels; bad = [m for m in ('theorems', 'certify', 'torch') if m in sys.modules]; "
            "print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_estimates_are_named_and_return_floats():
    for name in kernels.__all__:
        if name.endswith("_estimate"):
            assert callable(getattr(kernels, name))
