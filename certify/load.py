"""Loading a model: ``nn.Module`` objects, safetensors, torch checkpoints (``weights_only=True`` always) and TorchScript.

Files that hold only weights (safetensors, state dicts) take the architecture as ``arch="package.module:factory"``.
The module is normalised to a :class:`certify._network.Network` by ``torch.fx`` symbolic tracing. A pickle that
would run code is refused by ``torch.load(weights_only=True)``; nothing in this module unpickles otherwise.
"""

from __future__ import annotations

import hashlib
import importlib
import operator
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from boundcert.errors import InvalidInput
from certify._network import Activation, Add, BatchNorm, Conv2d, Flatten, Linear, Network, Node, Pool

__all__ = ["LoadedModel", "load_model", "to_network", "file_sha256", "RULED_OUT"]

#: Theorem families an unsupported layer rules out (every one that reads the network; test-set bounds still apply).
RULED_OUT = "norm.* and robust.* (every bound that reads the weights); test_set.* bounds still apply"


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


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


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
    import torch

    if not path.is_file():
        raise InvalidInput(f"model file {str(path)!r} does not exist: check the path")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            state = load_file(str(path))
        except Exception as exc:  # safetensors raises its own error types for truncated/corrupt headers
            raise InvalidInput(f"{str(path)!r} is not a readable safetensors file ({type(exc).__name__}: "
                               f"{str(exc).splitlines()[0] if str(exc) else 'corrupt'}): re-save the weights") from None
        return _with_state(arch, state, path), "safetensors"
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            is_script = any(n.endswith("/code/") or "/code/" in n for n in z.namelist())
        if is_script:
            try:
                scripted = torch.jit.load(str(path), map_location="cpu")
            except Exception as exc:
                raise InvalidInput(f"{str(path)!r} is not a loadable TorchScript file ({exc}): re-export it") from None
            if arch is not None:
                return _with_state(arch, dict(scripted.state_dict()), path), "torchscript"
            return _rebuild_sequential(scripted, path), "torchscript"
    try:
        obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:
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
            return _with_state(arch, obj, path), "torch state dict"
    raise InvalidInput(f"{str(path)!r} holds a {type(obj).__name__}, not a state dict: save model.state_dict()")


def _rebuild_sequential(scripted: Any, path: Path) -> Any:
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
        eager = _REBUILD[kind](child)
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


def _pair(v: Any) -> tuple[int, int]:
    return (int(v), int(v)) if isinstance(v, int) else (int(v[0]), int(v[1]))


def _finite(t: Any) -> bool:
    """No NaN or Inf in the float tensor ``t``: its max and min are finite (both propagate NaN; no temporary)."""
    import torch

    lo, hi = torch.aminmax(t.detach())
    return bool(torch.isfinite(lo)) and bool(torch.isfinite(hi))


def _f64(t: Any) -> np.ndarray:
    import torch

    t = t.detach().cpu()
    # a new array either way; float32/float16/bfloat16 -> float64 is exact
    return t.numpy().copy() if t.dtype == torch.float64 else t.double().numpy()


def _module_layer(m: Any, name: str) -> Any:
    import torch.nn as nn

    if isinstance(m, nn.Linear):
        return Linear(_f64(m.weight), None if m.bias is None else _f64(m.bias))
    if isinstance(m, nn.Conv2d):
        if m.padding_mode != "zeros" or isinstance(m.padding, str):
            raise InvalidInput(f"layer {name} (Conv2d padding={m.padding!r}, mode {m.padding_mode}) is not supported: "
                               f"use numeric zero padding; this rules out {RULED_OUT}")
        return Conv2d(_f64(m.weight), None if m.bias is None else _f64(m.bias), _pair(m.stride), _pair(m.padding),
                      _pair(m.dilation), int(m.groups))
    if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
        if m.running_mean is None:
            raise InvalidInput(f"layer {name} (BatchNorm without running stats) is not supported; rules out {RULED_OUT}")
        w = _f64(m.weight) if m.weight is not None else np.ones(m.num_features)
        b = _f64(m.bias) if m.bias is not None else np.zeros(m.num_features)
        return BatchNorm(_f64(m.running_mean), _f64(m.running_var), w, b, float(m.eps))
    simple = {nn.ReLU: "relu", nn.Tanh: "tanh", nn.Sigmoid: "sigmoid", nn.GELU: "gelu"}
    for cls, kind in simple.items():
        if type(m) is cls:
            if kind == "gelu" and m.approximate != "none":
                break
            return Activation(kind)
    if isinstance(m, nn.LeakyReLU):
        return Activation("leaky_relu", float(m.negative_slope))
    if isinstance(m, nn.ELU):
        return Activation("elu", float(m.alpha))
    if isinstance(m, nn.Flatten):
        if m.end_dim != -1:
            raise InvalidInput(f"layer {name} (Flatten end_dim={m.end_dim}) is not supported; rules out {RULED_OUT}")
        return Flatten(int(m.start_dim))
    if isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
        if getattr(m, "dilation", 1) not in (1, (1, 1)) or m.ceil_mode:
            raise InvalidInput(f"layer {name} ({type(m).__name__} with dilation/ceil_mode) is not supported")
        kind = "max" if isinstance(m, nn.MaxPool2d) else "avg"
        stride = m.stride if m.stride is not None else m.kernel_size
        return Pool(kind, _pair(m.kernel_size), _pair(stride), _pair(m.padding))
    if isinstance(m, (nn.Dropout, nn.Identity)):
        return None  # identity in eval mode
    kind = getattr(m, "original_name", type(m).__name__)
    raise InvalidInput(f"layer {name} ({kind}) is not supported by certify's network loader: this rules "
                       f"out {RULED_OUT}; replace it or certify with a test_set.* bound")


def to_network(module: Any) -> Network:
    """Trace ``module`` with ``torch.fx`` into a :class:`Network` (Dropout/Identity dropped, eval semantics)."""
    import torch
    import torch.fx as fx
    import torch.nn.functional as F

    class _Tracer(fx.Tracer):
        def is_leaf_module(self, m: Any, qualname: str) -> bool:  # a scripted submodule is one (named) layer
            return isinstance(m, torch.jit.ScriptModule) or super().is_leaf_module(m, qualname)

    try:
        gm = fx.GraphModule(module, _Tracer().trace(module))
    except Exception as exc:
        raise InvalidInput(f"the model cannot be traced by torch.fx ({type(exc).__name__}): this rules out "
                           f"{RULED_OUT}") from None
    mods = dict(gm.named_modules())
    nodes: list[Node] = []
    alias: dict[str, str] = {}
    used: set[str] = set()

    def src(a: Any) -> str:
        if not isinstance(a, fx.Node):
            raise InvalidInput(f"a constant operand ({a!r}) in the model graph is not supported; rules out {RULED_OUT}")
        return alias.get(a.name, a.name)

    funcs = {F.relu: "relu", torch.relu: "relu", torch.tanh: "tanh", torch.sigmoid: "sigmoid"}
    for n in gm.graph.nodes:
        if n.op == "placeholder":
            alias[n.name] = "input"
            continue
        if n.op == "output":
            if nodes and src(n.args[0]) != nodes[-1].name:
                raise InvalidInput(f"the model's output is not its last operation; rules out {RULED_OUT}")
            continue
        layer: Any
        if n.op == "call_module":
            layer = _module_layer(mods[n.target], n.target)
        elif n.op == "call_function" and n.target in (operator.add, torch.add) and len(n.args) == 2:
            layer = Add()
        elif n.op == "call_function" and n.target in funcs:
            layer = Activation(funcs[n.target])
        elif (n.op == "call_function" and n.target is torch.flatten) or (n.op == "call_method" and n.target == "flatten"):
            start = n.args[1] if len(n.args) > 1 else n.kwargs.get("start_dim", 0 if n.op == "call_function" else 0)
            if start != 1:
                raise InvalidInput(f"flatten(start_dim={start}) in the model is not supported: flatten from dim 1")
            layer = Flatten(1)
        else:
            raise InvalidInput(f"operation {n.op} {getattr(n.target, '__name__', n.target)!s} is not supported by "
                               f"certify's network loader: this rules out {RULED_OUT}")
        if layer is None:
            alias[n.name] = src(n.args[0])
            continue
        inputs = tuple(src(a) for a in n.args[: 2 if isinstance(layer, Add) else 1])
        name = str(n.target) if n.op == "call_module" and str(n.target) not in used else n.name
        used.add(name)
        alias[n.name] = name
        nodes.append(Node(name, layer, inputs))
    if not nodes:
        raise InvalidInput("the model has no layers: give a classifier network")
    return Network(tuple(nodes))
