"""torch checkpoints holding a state dict, read with ``torch.load(weights_only=True)`` only: a pickle that would run
code is refused. Common wrappers (``{"state_dict": ...}``, ``{"model_state_dict": ...}``, ``{"model": ...}``) are
unwrapped."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

from boundcert.errors import InvalidInput

__all__ = ["read_state_dict"]


def read_state_dict(path: Path) -> dict[str, Any]:
    """The state dict in the torch checkpoint at ``path``."""
    import torch

    try:
        obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, OSError, EOFError, ValueError, TypeError, KeyError,
            AttributeError, ImportError) as exc:
        msg = str(exc).strip().splitlines()
        raise InvalidInput(f"{str(path)!r} cannot be loaded with weights_only=True ({type(exc).__name__}: "
                           f"{msg[-1][:160] if msg else ''}): save a state_dict, safetensors or TorchScript "
                           "(pickles that run code are refused)") from None
    if isinstance(obj, dict):
        for key in ("state_dict", "model_state_dict", "model"):
            if isinstance(obj.get(key), dict):
                obj = obj[key]
                break
        if all(hasattr(v, "shape") for v in obj.values()):
            return obj
    raise InvalidInput(f"{str(path)!r} holds a {type(obj).__name__}, not a state dict: save model.state_dict()")
