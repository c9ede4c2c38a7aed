"""torch data objects as a Dataset: a ``TensorDataset``, any map-style ``torch.utils.data.Dataset`` whose items are
``(x, y)``, or a ``DataLoader`` over one (its batches concatenated in the order it yields them: a shuffling loader
gives another order, hence another sha256, each time)."""

from __future__ import annotations

from typing import Any

import numpy as np

from boundcert.errors import InvalidInput
from certify.data.dataset import Dataset

__all__ = ["is_torch_data", "from_torch"]


def is_torch_data(obj: object) -> bool:
    """Whether ``obj`` is a torch ``Dataset`` or ``DataLoader`` (without importing torch when it is not loaded)."""
    import sys

    if "torch" not in sys.modules:
        return False
    from torch.utils.data import DataLoader
    from torch.utils.data import Dataset as TorchDataset

    return isinstance(obj, (DataLoader, TorchDataset))


def _pair(item: Any, where: str) -> tuple[Any, Any]:
    if not isinstance(item, (tuple, list)) or len(item) != 2:
        raise InvalidInput(f"{where} yields {type(item).__name__}, not (x, y): give a dataset of (input, label) pairs")
    return item[0], item[1]


def _numpy(a: Any) -> np.ndarray:
    return a.detach().cpu().numpy() if hasattr(a, "detach") else np.asarray(a)


def from_torch(obj: Any, *, name: str | None = None) -> Dataset:
    """The examples of a torch ``Dataset`` / ``DataLoader`` as a :class:`Dataset` (validated like any arrays)."""
    from torch.utils.data import DataLoader, TensorDataset

    label = name or type(obj).__name__
    if isinstance(obj, TensorDataset):
        if len(obj.tensors) != 2:
            raise InvalidInput(f"the TensorDataset holds {len(obj.tensors)} tensors: give (inputs, labels)")
        return Dataset.from_arrays(*obj.tensors, name=label, split="given")
    xs, ys = [], []
    if isinstance(obj, DataLoader):
        for batch in obj:
            x, y = _pair(batch, "the DataLoader")
            xs.append(_numpy(x))
            ys.append(_numpy(y).reshape(-1))
    else:
        if not hasattr(obj, "__len__"):
            raise InvalidInput(f"the torch Dataset {label} has no length: wrap it in a DataLoader")
        for i in range(len(obj)):
            x, y = _pair(obj[i], f"the torch Dataset {label}")
            xs.append(_numpy(x)[None])
            ys.append(_numpy(y).reshape(-1))
    if not xs:
        raise InvalidInput(f"data {label} is empty (0 examples): give at least one example")
    return Dataset.from_arrays(np.concatenate(xs), np.concatenate(ys), name=label, split="given")
