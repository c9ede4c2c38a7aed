"""Built-in offline data sets: MNIST-1D, scikit-learn's digits, Fashion-MNIST (see :mod:`certify.data.dataset`).
"""

from __future__ import annotations

import numpy as np

from boundcert.errors import InvalidInput
from certify.data.dataset import Dataset, Split
from certify.data.idx import FASHION_MNIST_DIR, load_idx_dir

__all__ = ['BUILTINS', 'load_builtin']


BUILTINS = ("mnist1d", "digits", "fashion-mnist")


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
