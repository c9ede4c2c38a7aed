"""The safetensors format: a file of named tensors and nothing else (no code can run when it is read)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from boundcert.errors import InvalidInput

__all__ = ["read_safetensors"]


def read_safetensors(path: Path) -> dict[str, Any]:
    """The tensors of a safetensors file, by name; a truncated or corrupt file is refused in one line."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:  # truncated or corrupt headers and bodies
        raise InvalidInput(f"{str(path)!r} is not a readable safetensors file ({type(exc).__name__}: "
                           f"{str(exc).splitlines()[0] if str(exc) else 'corrupt'}): re-save the weights") from None
