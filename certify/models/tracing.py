"""The torch -> network translation: ``torch.fx`` symbolic tracing of an eval-mode module into a
:class:`certify.models.network.Network` (one node per layer; Dropout and Identity dropped). A layer or operation
with no translation is refused by name, which rules out the bounds that read the network (:data:`RULED_OUT`)."""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from boundcert.errors import InvalidInput
from certify.models.network import Activation, Add, BatchNorm, Conv2d, Flatten, Linear, Network, Node, Pool

__all__ = ["RULED_OUT", "to_network"]

#: Theorem families an unsupported layer rules out (every one that reads the network; test-set bounds still apply).
RULED_OUT = "norm.* and robust.* (every bound that reads the weights); test_set.* bounds still apply"


def _pair(v: Any) -> tuple[int, int]:
    return (int(v), int(v)) if isinstance(v, int) else (int(v[0]), int(v[1]))


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
