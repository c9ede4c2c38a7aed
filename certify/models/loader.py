"""Loading a model: ``nn.Module`` objects, safetensors, torch checkpoints (``weights_only=True`` always) and TorchScript.

Files that hold only weights (safetensors, state dicts) take the architecture as ``arch="package.module:factory"``.
The module is normalised to a :class:`certify.models.network.Network` by ``torch.fx`` symbolic tracing. A pickle that
would run code is refused by ``torch.load(weights_only=True)``; nothing in this module unpickles otherwise.
"""

from __future__ import annotations

import importlib
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from boundcert.errors import InvalidInput
from certify.models.hashing import file_sha256
from certify.models.network import Network
from certify.models.safetensors_file import read_safetensors
from certify.models.state_dict import read_state_dict
from certify.models.torchscript import is_torchscript, read_torchscript, rebuild_sequential
from certify.models.tracing import RULED_OUT, to_network

__all__ = ["LoadedModel", "load_model", "RULED_OUT"]


@dataclass(frozen=True, slots=True, eq=False)
class LoadedModel:
    """The torch module (eval mode), its normalised network, the sha256 of the file bytes and a description."""

    module: Any
    network: Network | None
    file_sha256: str | None
    description: str
    path: str | None = None
    arch: str | None = None
    unsupported: str | None = None  # why network is None


def _factory(arch: str) -> Any:
    mod, _, fn = arch.partition(":")
    if not mod or not fn:
        raise InvalidInput(f"--arch={arch!r} is not MODULE:FACTORY: give e.g. --arch certify.zoo:digits_mlp")
    try:
        return getattr(importlib.import_module(mod), fn)()
    except (ImportError, AttributeError) as exc:
        raise InvalidInput(f"--arch={arch!r} cannot be imported ({exc}): give an importable MODULE:FACTORY") from None


def _with_state(arch: str | None, state: dict[str, Any], path: Path) -> Any:
    if arch is None:
        raise InvalidInput(f"{str(path)!r} holds only weights: give the architecture with --arch MODULE:FACTORY")
    module = _factory(arch)
    try:
        module.load_state_dict(state, strict=True)
    except (RuntimeError, KeyError) as exc:
        first = str(exc).strip().splitlines()
        raise InvalidInput(f"the weights in {str(path)!r} do not fit --arch={arch} ({first[0] if first else exc}): "
                           "give the factory that built them") from None
    return module


def _load_file(path: Path, arch: str | None) -> tuple[Any, str]:
    with warnings.catch_warnings():  # torch's deprecation/protocol warnings would break the one-line error contract
        warnings.simplefilter("ignore")
        return _load_file_quiet(path, arch)


def _load_file_quiet(path: Path, arch: str | None) -> tuple[Any, str]:
    if not path.is_file():
        raise InvalidInput(f"model file {str(path)!r} does not exist: check the path")
    if path.suffix == ".safetensors":
        return _with_state(arch, read_safetensors(path), path), "safetensors"
    if is_torchscript(path):
        scripted = read_torchscript(path)
        if arch is not None:
            return _with_state(arch, dict(scripted.state_dict()), path), "torchscript"
        return rebuild_sequential(scripted), "torchscript"
    return _with_state(arch, read_state_dict(path), path), "torch state dict"


def load_model(model: Any, arch: str | None = None) -> LoadedModel:
    """Load ``model`` (an ``nn.Module`` or a file path) and normalise it; weights must be finite.

    Raises:
        InvalidInput: missing file, unreadable or truncated file, a pickle that needs code, weights that do not fit
            ``arch``, NaN/Inf weights.
    """
    import torch

    path = None
    if isinstance(model, torch.nn.Module):
        module, desc, sha = model, f"nn.Module {type(model).__name__}", None
    else:
        path = Path(model)
        module, fmt = _load_file(path, arch)
        desc, sha = f"{fmt} file {path.name}", file_sha256(path)
    module = module.eval()
    for name, t in module.state_dict().items():
        if t.is_floating_point() and t.numel() and not _finite(t):
            raise InvalidInput(f"weight {name!r} of the model contains NaN or Inf: certify a model with finite weights")
    try:
        net, why = to_network(module), None
    except InvalidInput as exc:
        net, why = None, str(exc)
    return LoadedModel(module, net, sha, desc, None if path is None else str(path), arch, why)


def _finite(t: Any) -> bool:
    """No NaN or Inf in the float tensor ``t``: its max and min are finite (both propagate NaN; no temporary)."""
    import torch

    lo, hi = torch.aminmax(t.detach())
    return bool(torch.isfinite(lo)) and bool(torch.isfinite(hi))
