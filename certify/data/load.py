"""``load_data``: a data specification (a file, a built-in ``NAME``, ``NAME:train``, ``idx:DIR``) to a Dataset.
"""

from __future__ import annotations

from pathlib import Path

from certify.data.builtins import load_builtin
from certify.data.dataset import Dataset
from certify.data.files import load_data_file

__all__ = ['load_data']


def load_data(spec: str | Path) -> Dataset:
    """A data file (``.npz``, ``.pt``/``.pth``), or a built-in ``NAME`` (test split) / ``NAME:train``."""
    text = str(spec)
    if Path(text).suffix in (".npz", ".pt", ".pth") or Path(text).is_file():
        return load_data_file(text)
    if text.startswith("idx:"):
        return load_builtin(text, "test")
    name, _, split = text.partition(":")
    return load_builtin(name, split or "test")  # type: ignore[arg-type]
