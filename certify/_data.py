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

import gzip
import hashlib
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from boundcert.errors import InvalidInput

__all__ = ["Dataset", "Split", "BUILTINS", "load_builtin", "load_data", "load_data_file", "load_idx_dir", "dataset_sha256", "FASHION_MNIST_DIR"]

Split = Literal["train", "test"]
FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
BUILTINS = ("mnist1d", "digits", "fashion-mnist")


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


def _mnist1d(split: Split) -> tuple[np.ndarray, np.ndarray]:
    from mnist1d.data import get_dataset_args, make_dataset

    d = make_dataset(get_dataset_args())
    if split == "train":
        return d["x"], d["y"]
    return d["x_test"], d["y_test"]


def _digits(split: Split) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    d = load_digits()
    order = np.random.default_rng(0).permutation(len(d.target))
    idx = order[:1200] if split == "train" else order[1200:]
    return d.data[idx] / 16.0, d.target[idx]


def _read_idx(path: Path) -> np.ndarray:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise InvalidInput(f"IDX file {str(path)!r} cannot be read ({exc}): check the path") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise InvalidInput(f"{str(path)!r} is not an unsigned-byte IDX file: give MNIST-format files")
    ndim = raw[3]
    dims = struct.unpack(">" + "I" * ndim, raw[4 : 4 + 4 * ndim])
    body = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise InvalidInput(f"IDX file {str(path)!r} is truncated: expected {int(np.prod(dims))} values, got {body.size}")
    return body.reshape(dims)


def load_idx_dir(directory: str | Path, split: Split) -> tuple[np.ndarray, np.ndarray]:
    """Read ``{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]`` from a directory (Fashion-MNIST or MNIST)."""
    d = Path(directory)
    stem = "train" if split == "train" else "t10k"
    found = {}
    for kind, tag in (("images", "idx3"), ("labels", "idx1")):
        for name in (f"{stem}-{kind}-{tag}-ubyte.gz", f"{stem}-{kind}-{tag}-ubyte", f"{stem}-{kind}.{tag}-ubyte"):
            if (d / name).exists():
                found[kind] = d / name
                break
        else:
            hint = " (install the Debian package dataset-fashion-mnist)" if d == FASHION_MNIST_DIR else ""
            raise InvalidInput(f"no {stem} {kind} IDX file in {str(d)!r}{hint}: give a directory of MNIST-format files")
    images = _read_idx(found["images"]).astype(np.float32) / 255.0
    return images.reshape(images.shape[0], 1, *images.shape[1:]), _read_idx(found["labels"]).astype(np.int64)


def load_builtin(name: str, split: Split = "test") -> Dataset:
    """A built-in dataset by name (``mnist1d``, ``digits``, ``fashion-mnist``; ``idx:DIR`` for an IDX directory)."""
    if split not in ("train", "test"):
        raise InvalidInput(f"split={split!r} is not a split: use 'train' or 'test'")
    if name == "mnist1d":
        x, y = _mnist1d(split)
    elif name == "digits":
        x, y = _digits(split)
    elif name == "fashion-mnist":
        x, y = load_idx_dir(FASHION_MNIST_DIR, split)
    elif name.startswith("idx:"):
        x, y = load_idx_dir(name[4:], split)
    else:
        raise InvalidInput(f"data={name!r} is not a built-in dataset: use one of {', '.join(BUILTINS)}, idx:DIR, or a file")
    return Dataset.from_arrays(x, y, name=name, split=split)


def load_data_file(path: str | Path) -> Dataset:
    """``.npz`` with arrays ``x`` and ``y``, or a torch file (``weights_only=True``) holding ``{"x", "y"}`` or
    ``(x, y)``; the sha256 of the file bytes is recorded."""
    import hashlib as _h

    p = Path(path)
    if not p.is_file():
        raise InvalidInput(f"data file {str(p)!r} does not exist: give a .npz/.pt file or a built-in name "
                           f"({', '.join(BUILTINS)})")
    digest = _h.sha256(p.read_bytes()).hexdigest()
    if p.suffix == ".npz":
        try:
            with np.load(p, allow_pickle=False) as z:
                if "x" not in z or "y" not in z:
                    raise InvalidInput(f"{str(p)!r} has arrays {sorted(z.files)}: save them as x=..., y=...")
                x, y = z["x"], z["y"]
        except InvalidInput:
            raise
        except Exception as exc:
            raise InvalidInput(f"{str(p)!r} is not a readable .npz file ({type(exc).__name__}): re-save it") from None
    else:
        import torch

        import warnings

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                obj = torch.load(str(p), map_location="cpu", weights_only=True)
        except Exception as exc:
            raise InvalidInput(f"{str(p)!r} cannot be loaded with weights_only=True ({type(exc).__name__}): save "
                               "tensors x and y as a dict or an .npz") from None
        if isinstance(obj, dict) and "x" in obj and "y" in obj:
            x, y = obj["x"], obj["y"]
        elif isinstance(obj, (tuple, list)) and len(obj) == 2:
            x, y = obj
        else:
            raise InvalidInput(f"{str(p)!r} holds {type(obj).__name__}: save {{'x': X, 'y': Y}} or (X, Y)")
    return Dataset.from_arrays(x, y, name=p.name, split="file", file_sha256=digest)


def load_data(spec: str | Path) -> Dataset:
    """A data file (``.npz``, ``.pt``/``.pth``), or a built-in ``NAME`` (test split) / ``NAME:train``."""
    text = str(spec)
    if Path(text).suffix in (".npz", ".pt", ".pth") or Path(text).is_file():
        return load_data_file(text)
    if text.startswith("idx:"):
        return load_builtin(text, "test")
    name, _, split = text.partition(":")
    return load_builtin(name, split or "test")  # type: ignore[arg-type]
