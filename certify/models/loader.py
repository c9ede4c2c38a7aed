"""Loading a model: ``nn.Module`` objects, safetensors, torch checkpoints (``weights_only=True`` always), TorchScript,
torch.export programs (``.pt2``) and ONNX files (``.onnx``).

Files that hold only weights (safetensors, state dicts) take the architecture as ``arch="package.module:factory"``.
The module is translated to the network IR (:class:`kernels.network.Graph`) by ``torch.fx`` symbolic tracing
(:mod:`certify.models.tracing`). A pickle that
would run code is refused by ``torch.load(weights_only=True)``; nothing in this module unpickles otherwise.
"""

from __future__ import annotations

import importlib
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from boundcert.errors import InvalidInput
from certify.models.export import ExportedModule, export_to_graph, is_export, read_export
from certify.models.hashing import file_sha256
from certify.models.network import Network
from certify.models.safetensors_file import read_safetensors
from certify.models.state_dict import read_state_dict
from certify.models.torchscript import is_torchscript, read_torchscript, rebuild_sequential
from certify.models.tracing import RULED_OUT, to_graph, unsupported_message

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
    graph: Any = None  # the translated graph, unsupported operations included as named nodes (None: not traceable)


def _factory(arch: str) -> Any:
    """The ``torch.nn.Module`` that ``arch = MODULE:FACTORY`` builds: the user's own code, named on the command line
    (never taken from a certificate). A module that raises or exits at import, a factory that needs arguments, raises,
    exits or returns something that is not a module: each is a one-line refusal naming ``--arch``."""
    import torch

    mod, _, fn = arch.partition(":")
    if not mod or not fn:
        raise InvalidInput(f"--arch={arch!r} is not MODULE:FACTORY: give e.g. --arch certify.zoo:digits_mlp")
    try:
        factory = getattr(importlib.import_module(mod), fn)
    except (ImportError, AttributeError) as exc:
        raise InvalidInput(f"--arch={arch!r} cannot be imported ({exc}): give an importable MODULE:FACTORY") from None
    except (Exception, SystemExit) as exc:  # the user's module failed at import: refused, its error named
        raise InvalidInput(f"--arch={arch!r}: importing {mod!r} raised {_first_line(exc)}: fix the module") from None
    if not callable(factory):
        raise InvalidInput(f"--arch={arch!r}: {fn!r} is a {type(factory).__name__}, not a factory: give a function "
                           "that returns the torch.nn.Module")
    try:
        module = factory()
    except (Exception, SystemExit) as exc:  # needs arguments, raises, or exits: refused, never a silent exit
        raise InvalidInput(f"--arch={arch!r}: calling {fn}() raised {_first_line(exc)}: give a factory that takes no "
                           "arguments and returns the torch.nn.Module") from None
    if not isinstance(module, torch.nn.Module):
        raise InvalidInput(f"--arch={arch!r}: {fn}() returned a {type(module).__name__}, not a torch.nn.Module: give "
                           "the factory that builds the network")
    return module


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


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


def _load_file(path: Path, arch: str | None) -> tuple[Any, str, Any]:
    """``(module, format, graph)``; ``graph`` is the IR when the format carries its own graph (torch.export, ONNX),
    else ``None`` (the module is traced by torch.fx)."""
    with warnings.catch_warnings():  # torch's deprecation/protocol warnings would break the one-line error contract
        warnings.simplefilter("ignore")
        if not path.is_file():
            raise InvalidInput(f"model file {str(path)!r} does not exist: check the path")
        if is_export(path):
            ep = read_export(path)
            return ExportedModule(ep), "torch.export", export_to_graph(ep)
        if path.suffix == ".onnx":
            from certify.models.onnx_file import read_onnx

            module, graph = read_onnx(path)
            return module, "onnx", graph
        module, fmt = _load_file_quiet(path, arch)
        return module, fmt, None


def _load_file_quiet(path: Path, arch: str | None) -> tuple[Any, str]:
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

    path, graph = None, None
    if isinstance(model, torch.nn.Module):
        module, desc, sha = model, f"nn.Module {type(model).__name__}", None
    else:
        path = Path(model)
        module, fmt, graph = _load_file(path, arch)
        desc, sha = f"{fmt} file {path.name}", file_sha256(path)
    module = module.eval()
    for name, t in module.state_dict().items():
        if t.is_floating_point() and t.numel() and not _finite(t):
            raise InvalidInput(f"weight {name!r} of the model contains NaN or Inf: certify a model with finite weights")
    try:
        graph = to_graph(module) if graph is None else graph
        why = unsupported_message(graph)
    except InvalidInput as exc:
        graph, why = None, str(exc)
    net = graph if why is None else None
    return LoadedModel(module, net, sha, desc, None if path is None else str(path), arch, why, graph)


def _finite(t: Any) -> bool:
    """No NaN or Inf in the float tensor ``t``: its max and min are finite (both propagate NaN; no temporary)."""
    import torch

    lo, hi = torch.aminmax(t.detach())
    return bool(torch.isfinite(lo)) and bool(torch.isfinite(hi))
