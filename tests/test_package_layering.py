"""Dependency direction (certify -> theorems, kernels): theorems and kernels import neither each other nor certify."""

import subprocess
import sys


def _modules_after_import(module: str) -> set[str]:
    code = f"import sys, {module}; print('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return set(out.split())


def test_theorems_imports_neither_kernels_nor_certify():
    mods = _modules_after_import("theorems")
    assert "kernels" not in mods and "certify" not in mods and "torch" not in mods and "hypothesis" not in mods


def test_kernels_imports_neither_theorems_nor_certify():
    mods = _modules_after_import("kernels")
    assert "theorems" not in mods and "certify" not in mods and "sympy" not in mods
