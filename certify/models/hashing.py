"""The one hash of each thing a certificate names: a module's state dict, a file's bytes, a list of weight arrays.

* :func:`model_sha256`: ``sha256(b"boundcert-state-dict-v1" + for each state-dict entry in name order:
  "name|dtype|shape|" + C-order bytes)``; the same function hashes a model in a certificate and in a training
  trajectory, so the two can be matched. bfloat16 tensors (no numpy dtype) are hashed as their int16 bit patterns
  under the dtype label ``bfloat16``.
* :func:`file_sha256`: sha256 of the file's bytes.
* :func:`weights_sha256`: ``sha256(b"boundcert-mlp-weights-v1" + for each array: "dtype|shape|" + bytes)`` for the
  weight lists that PAC-Bayes and compression rebuild.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["model_sha256", "file_sha256", "weights_sha256"]


def model_sha256(model: Any) -> str:
    """sha256 over the module's state dict: names in order, dtype, shape and bytes of every tensor."""
    import torch

    h = hashlib.sha256(b"boundcert-state-dict-v1")
    for name, t in sorted(model.state_dict().items()):
        a = t.detach().cpu().contiguous()
        if a.dtype == torch.bfloat16:
            label, raw = "bfloat16", a.view(torch.int16).numpy()
        else:
            raw = a.numpy()
            label = raw.dtype.str
        h.update(f"{name}|{label}|{raw.shape}|".encode())
        h.update(raw.tobytes())
    return h.hexdigest()


def file_sha256(path: str | Path) -> str:
    """sha256 of the bytes of the file at ``path`` (read in 1 MiB blocks)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def weights_sha256(weights: list[np.ndarray]) -> str:
    """sha256 of a list of weight arrays (dtype, shape and bytes of each, in order)."""
    h = hashlib.sha256(b"boundcert-mlp-weights-v1")
    for w in weights:
        h.update(f"{w.dtype.str}|{w.shape}|".encode())
        h.update(np.ascontiguousarray(w).tobytes())
    return h.hexdigest()
