"""Datasets: built-in offline data, array files, and a canonical sha256 of every dataset.

Built-ins (no network at run time):

* ``mnist1d``: MNIST-1D (Greydanus & Kalai 2024; PyPI ``mnist1d``), generated procedurally with its default
  arguments and seed: 4000 train / 1000 test examples of length 40, 10 classes;
* ``digits``: scikit-learn's 8x8 digits (1797 examples), split 1200 train / 597 test by a fixed permutation;
* ``fashion-mnist``: IDX files of the Debian package ``dataset-fashion-mnist`` under
  ``/usr/share/datasets/fashion-mnist`` (60000 train / 10000 test, 28x28); the same IDX reader takes a directory of
  real MNIST files (``NAME:/path/to/dir``).

The dataset hash is ``sha256(b"boundcert-dataset-v1" + for each of x, y: dtype, shape, C-order bytes)``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

import numpy as np

from boundcert.errors import InvalidInput

__all__ = ["Dataset", "Split", "dataset_sha256"]

Split = Literal["train", "test"]


@dataclass(frozen=True, slots=True, eq=False)
class Dataset:
    """Inputs ``x`` (float32, first axis = examples), integer labels ``y``, a name and the canonical sha256."""

    x: np.ndarray
    y: np.ndarray
    name: str
    split: str
    sha256: str
    file_sha256: str | None = None

    @property
    def n(self) -> int:
        return int(self.y.shape[0])

    @property
    def n_classes(self) -> int:
        return int(self.y.max()) + 1 if self.n else 0

    @classmethod
    def from_arrays(cls, x: object, y: object, *, name: str = "arrays", split: str = "given",
                    file_sha256: str | None = None) -> "Dataset":
        """Validate and wrap arrays (numpy or torch): non-empty, matching lengths, finite, integer labels >= 0."""
        xa = _to_numpy(x, "x").astype(np.float32, copy=False)
        ya = _to_numpy(y, "y")
        if xa.shape[0] == 0:
            raise InvalidInput(f"data {name!r} is empty (0 examples): give at least one example")
        if ya.ndim != 1 or ya.shape[0] != xa.shape[0]:
            raise InvalidInput(
                f"data {name!r}: y has shape {ya.shape} but x has {xa.shape[0]} examples: give one integer label each"
            )
        if not np.issubdtype(ya.dtype, np.integer):
            if not np.all(np.equal(np.mod(ya, 1), 0)):
                raise InvalidInput(f"data {name!r}: labels y must be integers (got dtype {ya.dtype})")
        ya = ya.astype(np.int64)
        if ya.min() < 0:
            raise InvalidInput(f"data {name!r}: label {int(ya.min())} is negative: labels are class indices >= 0")
        if not np.all(np.isfinite(xa)):
            raise InvalidInput(f"data {name!r}: x contains NaN or Inf: clean the inputs first")
        xa, ya = np.ascontiguousarray(xa), np.ascontiguousarray(ya)
        return cls(xa, ya, name, split, dataset_sha256(xa, ya), file_sha256)


def _to_numpy(a: object, name: str) -> np.ndarray:
    if hasattr(a, "detach"):
        a = a.detach().cpu().numpy()  # torch tensor
    try:
        return np.asarray(a)
    except Exception:
        raise InvalidInput(f"data {name} ({type(a).__name__}) is not an array: give a numpy array or tensor") from None


def dataset_sha256(x: np.ndarray, y: np.ndarray) -> str:
    """Canonical sha256 of a dataset (see the module docstring)."""
    h = hashlib.sha256(b"boundcert-dataset-v1")
    for a in (x, y):
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()
