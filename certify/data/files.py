"""Data files: ``.npz`` with ``x`` and ``y``, or a torch file read with ``weights_only=True``; the sha256 of
the file's bytes is recorded.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from boundcert.errors import InvalidInput
from certify.data.builtins import BUILTINS
from certify.data.dataset import Dataset
from certify.models.hashing import file_sha256

__all__ = ['load_data_file']


def load_data_file(path: str | Path) -> Dataset:
    """``.npz`` with arrays ``x`` and ``y``, or a torch file (``weights_only=True``) holding ``{"x", "y"}`` or
    ``(x, y)``; the sha256 of the file bytes is recorded."""
    p = Path(path)
    if not p.is_file():
        raise InvalidInput(f"data file {str(p)!r} does not exist: give a .npz/.pt file or a built-in name "
                           f"({', '.join(BUILTINS)})")
    digest = file_sha256(p)
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
        import warnings

        import torch

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
