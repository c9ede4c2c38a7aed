"""TorchScript files: recognised by their ``code/`` entries, loaded on the CPU; a scripted ``Sequential`` of
standard layers is rebuilt as an eager module with the scripted tensors themselves (exact), so that ``torch.fx``
can trace it (layers it does not know stay scripted and are named when the network is refused). A ``torch.jit.trace``d
file keeps no layer hyperparameters (stride, ``start_dim``...): such layers stay opaque and are named, never guessed."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

from boundcert.errors import InvalidInput

__all__ = ["is_torchscript", "read_torchscript", "rebuild_sequential"]


def is_torchscript(path: Path) -> bool:
    """Whether ``path`` is a zip archive with TorchScript code in it."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as z:
        return any(n.endswith("/code/") or "/code/" in n for n in z.namelist())


def read_torchscript(path: Path) -> Any:
    """The TorchScript module at ``path``, on the CPU."""
    import torch

    try:
        return torch.jit.load(str(path), map_location="cpu")
    except (RuntimeError, OSError, ValueError) as exc:
        raise InvalidInput(f"{str(path)!r} is not a loadable TorchScript file ({exc}): re-export it") from None


def rebuild_sequential(scripted: Any) -> Any:
    """A TorchScript ``Sequential`` of standard layers rebuilt as an eager module (weights copied exactly)."""
    import torch.nn as nn

    if getattr(scripted, "original_name", "") != "Sequential":
        return scripted  # runs for test-set bounds; fx cannot trace it, so network-level bounds are refused (named)
    layers = []
    for name, child in scripted.named_children():
        kind = getattr(child, "original_name", "")
        cls = getattr(nn, kind, None)
        if cls is None or kind not in _REBUILD:
            layers.append(child)  # an unknown layer stays scripted; to_network names it (test-set bounds still run)
            continue
        try:
            eager = _REBUILD[kind](child)
        except AttributeError:  # a traced (not scripted) layer keeps no hyperparameters: it stays opaque, named
            layers.append(child)
            continue
        # parameters built on the meta device (no init) and then given the scripted tensors themselves (exact)
        eager.load_state_dict(dict(child.state_dict()), assign=True)
        layers.append(eager)
    return nn.Sequential(*layers).eval()


def _rb_linear(c: Any) -> Any:
    import torch.nn as nn

    return nn.Linear(c.weight.shape[1], c.weight.shape[0], bias=getattr(c, "bias", None) is not None, device="meta",
                     dtype=c.weight.dtype)


def _rb_conv(c: Any) -> Any:
    import torch.nn as nn

    w = c.weight
    return nn.Conv2d(w.shape[1] * c.groups, w.shape[0], tuple(w.shape[2:]), stride=tuple(c.stride),
                     padding=tuple(c.padding), dilation=tuple(c.dilation), groups=c.groups,
                     bias=getattr(c, "bias", None) is not None, device="meta", dtype=w.dtype)


def _rb_simple(kind: str) -> Any:
    def build(c: Any) -> Any:
        import torch.nn as nn

        if kind == "LeakyReLU":
            return nn.LeakyReLU(c.negative_slope)
        if kind == "Flatten":
            return nn.Flatten(c.start_dim, c.end_dim)
        if kind in ("MaxPool2d", "AvgPool2d"):
            return getattr(nn, kind)(c.kernel_size, c.stride, c.padding)
        return getattr(nn, kind)()

    return build


_REBUILD = {"Linear": _rb_linear, "Conv2d": _rb_conv,
            **{k: _rb_simple(k) for k in ("ReLU", "LeakyReLU", "Tanh", "Sigmoid", "GELU", "ELU", "Flatten",
                                          "MaxPool2d", "AvgPool2d", "Dropout", "Identity")}}
