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
        """Validate and wrap arrays (numpy or torch): real numbers (no strings, objects or complex values), x with
        a first axis of examples, non-empty, matching lengths, finite and within float32's range (the model reads
        float32), integer labels in ``[0, 2^31)``."""
        xr, ya = _to_numpy(x, "x"), _to_numpy(y, "y")
        for what, a in (("x", xr), ("y", ya)):
            if a.dtype.kind not in "biuf":
                kind = _KINDS.get(a.dtype.kind, "not numbers")
                raise InvalidInput(f"data {name!r}: {what} has dtype {a.dtype} ({kind}): give real numbers")
        if xr.ndim == 0:
            raise InvalidInput(f"data {name!r}: x is a single number (0-d): give an array with one row per example")
        if xr.shape[0] == 0:
            raise InvalidInput(f"data {name!r} is empty (0 examples): give at least one example")
        if ya.ndim != 1 or ya.shape[0] != xr.shape[0]:
            raise InvalidInput(
                f"data {name!r}: y has shape {ya.shape} but x has {xr.shape[0]} examples: give one integer label each"
            )
        if not np.all(np.isfinite(xr)):
            raise InvalidInput(f"data {name!r}: x contains NaN or Inf: clean the inputs first")
        big = float(np.max(np.abs(xr))) if xr.size else 0.0
        if big > float(np.finfo(np.float32).max):
            raise InvalidInput(f"data {name!r}: x holds {big:.3g}, beyond float32's range (3.4e38), in which the "
                               "model reads its inputs: rescale the inputs")
        xa = xr.astype(np.float32, copy=False)
        if ya.dtype.kind == "f" and not np.all(np.isfinite(ya) & np.equal(np.mod(ya, 1), 0)):
            raise InvalidInput(f"data {name!r}: labels y must be integers (got dtype {ya.dtype})")
        if ya.size and (float(ya.min()) < 0 or float(ya.max()) >= 2**31):
            bad = (ya.min() if float(ya.min()) < 0 else ya.max()).item()
            raise InvalidInput(f"data {name!r}: label {bad!r} is not a class index in [0, 2^31): labels are class "
                               "indices 0, 1, ...")
        ya = ya.astype(np.int64)
        xa, ya = np.ascontiguousarray(xa), np.ascontiguousarray(ya)
        return cls(xa, ya, name, split, dataset_sha256(xa, ya), file_sha256)


_KINDS = {"U": "strings", "S": "bytes", "O": "Python objects", "c": "complex numbers", "M": "dates", "m": "durations",
          "V": "raw records"}


def _to_numpy(a: object, name: str) -> np.ndarray:
    try:
        if hasattr(a, "detach"):
            a = a.detach().cpu().numpy()  # torch tensor (bfloat16 and other dtypes numpy lacks are refused here)
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
