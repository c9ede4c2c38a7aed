"""The torch -> IR translation: ``torch.fx`` symbolic tracing of an eval-mode module into a
:class:`kernels.network.Graph` (one node per layer; Dropout, Identity and ``contiguous`` dropped).

The tables here are the only torch knowledge of the network stack: :func:`module_layer` (an ``nn.Module`` leaf ->
IR layer) and :func:`function_layer` (a ``torch``/``F``/tensor-method call -> IR layer). An operation with no
translation becomes a :class:`kernels.network.Unsupported` node naming it (a parameter or buffer read by the
forward code, ``get_attr``, becomes a :class:`kernels.network.Constant`: :func:`constant_layer`), so that
data-free passes (the weight layers of ``certify analyze``) still run; every bound that reads the network then
refuses it by name (:data:`RULED_OUT`). The torch.export and ONNX frontends (:mod:`certify.models.export`,
:mod:`certify.models.onnx_file`) produce the same IR.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from boundcert.errors import InvalidInput
from kernels import network as ir

__all__ = ["RULED_OUT", "to_graph", "to_network", "module_layer", "function_layer", "f64", "hyper",
           "unsupported_message", "constant_layer", "index_layer"]

#: Theorem families an unsupported layer rules out (every one that reads the network; test-set bounds still apply).
RULED_OUT = "norm.* and robust.* (every bound that reads the weights); test_set.* bounds still apply"

_SKIP = object()  # a layer that is the identity in eval mode


def f64(t: Any) -> np.ndarray:
    """A float64 numpy copy of a tensor (exact for float16/bfloat16/float32/float64)."""
    import torch

    t = t.detach().cpu()
    if t.dtype == torch.float32:  # numpy's widening is exact too, and about twice as fast as torch's
        return t.numpy().astype(np.float64)
    return t.numpy().copy() if t.dtype == torch.float64 else t.double().numpy()


def hyper(v: float, like: Any = None) -> float:
    """A scalar hyperparameter (eps, slope, alpha, beta) as the model's float32 execution uses it: rounded to
    float32 unless ``like`` (a parameter tensor) is float64. All frontends do this, so that the same model gives the
    same IR (ONNX stores these attributes as float32)."""
    import torch

    if like is not None and getattr(like, "dtype", None) == torch.float64:
        return float(v)
    return float(np.float32(v))


def _ints(v: Any, n: int) -> tuple[int, ...]:
    return tuple(int(a) for a in v) if isinstance(v, (tuple, list)) else (int(v),) * n


def _conv(m: Any, name: str) -> Any:
    d = m.weight.ndim - 2
    pad = m.padding
    if isinstance(pad, str):
        k, dl = _ints(m.kernel_size, d), _ints(m.dilation, d)
        if pad == "valid":
            pad = (0,) * d
        elif all(a * (b - 1) % 2 == 0 for a, b in zip(dl, k)):
            pad = tuple(a * (b - 1) // 2 for a, b in zip(dl, k))
        else:
            return ir.Unsupported(f"{name} ({type(m).__name__} padding='same')", "asymmetric 'same' padding has no "
                                  "translation; use numeric padding")
    return ir.Conv(f64(m.weight), None if m.bias is None else f64(m.bias), _ints(m.stride, d), _ints(pad, d),
                   _ints(m.dilation, d), int(m.groups), m.padding_mode)


def _pool(m: Any, name: str) -> Any:
    import torch.nn as nn

    d = 1 if type(m).__name__.endswith("1d") else 2
    kind = "max" if "Max" in type(m).__name__ else "avg"
    if isinstance(m, (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d)):
        size = _ints(m.output_size, d) if not (isinstance(m.output_size, (tuple, list)) and None in m.output_size) \
            else None
        if size is None or getattr(m, "return_indices", False):
            return ir.Unsupported(f"{name} ({type(m).__name__})", "output_size None or return_indices")
        return ir.AdaptivePool(kind, size)
    if m.ceil_mode or (kind == "max" and (_ints(m.dilation, d) != (1,) * d or m.return_indices)) or \
            getattr(m, "divisor_override", None) is not None:
        return ir.Unsupported(f"{name} ({type(m).__name__} with ceil_mode/dilation/divisor_override)",
                              "no translation")
    stride = m.stride if m.stride is not None else m.kernel_size
    return ir.Pool(kind, _ints(m.kernel_size, d), _ints(stride, d), _ints(m.padding, d),
                   bool(getattr(m, "count_include_pad", True)))


def module_layer(m: Any, name: str) -> Any:
    """The IR layer of one leaf module (eval semantics), :data:`_SKIP` for an identity, or ``Unsupported``."""
    import torch.nn as nn

    if isinstance(m, nn.Linear):
        return ir.Linear(f64(m.weight), None if m.bias is None else f64(m.bias))
    if isinstance(m, (nn.Conv1d, nn.Conv2d)):
        return _conv(m, name)
    if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
        if m.running_mean is None:
            return ir.Unsupported(f"{name} (BatchNorm without running stats)", "batch statistics are not a fixed map")
        w = f64(m.weight) if m.weight is not None else np.ones(m.num_features)
        b = f64(m.bias) if m.bias is not None else np.zeros(m.num_features)
        return ir.BatchNorm(f64(m.running_mean), f64(m.running_var), w, b, hyper(m.eps, m.running_mean))
    if isinstance(m, nn.LayerNorm):
        shape = tuple(int(v) for v in m.normalized_shape)
        w = f64(m.weight) if m.weight is not None else np.ones(shape)
        b = f64(m.bias) if getattr(m, "bias", None) is not None else np.zeros(shape)
        return ir.LayerNorm(shape, w, b, hyper(m.eps, m.weight))
    if isinstance(m, nn.GroupNorm):
        w = f64(m.weight) if m.weight is not None else np.ones(m.num_channels)
        b = f64(m.bias) if m.bias is not None else np.zeros(m.num_channels)
        return ir.GroupNorm(int(m.num_groups), w, b, hyper(m.eps, m.weight))
    simple = {nn.ReLU: "relu", nn.ReLU6: "relu6", nn.Tanh: "tanh", nn.Sigmoid: "sigmoid", nn.SiLU: "silu"}
    if type(m) in simple:
        return ir.Activation(simple[type(m)])
    if isinstance(m, nn.GELU) and m.approximate == "none":
        return ir.Activation("gelu")
    if isinstance(m, nn.LeakyReLU):
        return ir.Activation("leaky_relu", hyper(m.negative_slope))
    if isinstance(m, nn.ELU):
        return ir.Activation("elu", hyper(m.alpha))
    if isinstance(m, nn.Softplus):
        return ir.Activation("softplus", hyper(m.beta))
    if isinstance(m, nn.Flatten):
        return ir.Flatten(int(m.start_dim), int(m.end_dim))
    if isinstance(m, nn.Unflatten):
        return ir.Unflatten(int(m.dim), tuple(int(v) for v in m.unflattened_size))
    if isinstance(m, (nn.MaxPool1d, nn.MaxPool2d, nn.AvgPool1d, nn.AvgPool2d, nn.AdaptiveAvgPool1d,
                      nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d)):
        return _pool(m, name)
    if isinstance(m, (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Identity)):
        return _SKIP
    if isinstance(m, nn.Embedding):
        if m.max_norm is not None:
            return ir.Unsupported(f"{name} (Embedding max_norm)", "max_norm renormalises the table during the "
                                  "forward pass (it changes the stored weights); no translation")
        return ir.Embedding(f64(m.weight))
    if isinstance(m, nn.MultiheadAttention):
        if not m.batch_first or not m._qkv_same_embed_dim or m.bias_k is not None or m.add_zero_attn:
            return ir.Unsupported(f"{name} (MultiheadAttention)", "only batch_first self-attention with one "
                                  "in-projection, no bias_k/v and no zero attention is translated")
        d = m.embed_dim
        w, b = f64(m.in_proj_weight), None if m.in_proj_bias is None else f64(m.in_proj_bias)
        lin = [ir.Linear(w[i * d:(i + 1) * d].copy(), None if b is None else b[i * d:(i + 1) * d].copy())
               for i in range(3)]
        out = ir.Linear(f64(m.out_proj.weight), None if m.out_proj.bias is None else f64(m.out_proj.bias))
        return ir.Attention(int(m.num_heads), lin[0], lin[1], lin[2], out)
    kind = getattr(m, "original_name", type(m).__name__)
    return ir.Unsupported(f"{name} ({kind})", f"no translation for {kind}; this rules out {RULED_OUT}")


_ACT = {"relu": "relu", "relu6": "relu6", "tanh": "tanh", "sigmoid": "sigmoid", "silu": "silu", "gelu": "gelu",
        "elu": "elu", "leaky_relu": "leaky_relu", "softplus": "softplus"}


def function_layer(name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
    """The IR layer of a call ``name(x, *args, **kwargs)`` (``name``: a torch function, ``F`` function or tensor
    method name, e.g. ``"relu"``, ``"flatten"``, ``"view"``; ``args`` without the tensor), or ``None``."""
    if name in ("contiguous", "dropout", "clone", "detach"):
        return _SKIP
    if name in _ACT:
        if name == "gelu" and kwargs.get("approximate", "none") != "none":
            return None
        if name == "leaky_relu":
            return ir.Activation("leaky_relu", hyper(args[0] if args else kwargs.get("negative_slope", 0.01)))
        if name == "elu":
            return ir.Activation("elu", hyper(args[0] if args else kwargs.get("alpha", 1.0)))
        if name == "softplus":
            return ir.Activation("softplus", hyper(args[0] if args else kwargs.get("beta", 1.0)))
        return ir.Activation(_ACT[name])
    if name == "flatten":
        start = args[0] if args else kwargs.get("start_dim", 0)
        end = args[1] if len(args) > 1 else kwargs.get("end_dim", -1)
        return ir.Flatten(int(start), int(end)) if int(start) >= 1 else None
    if name == "expand":  # x.expand(n, -1, ...): the identity on a batch (a Constant is broadcast over it)
        sizes = list(args[0]) if len(args) == 1 and isinstance(args[0], (tuple, list)) else list(args)
        return _SKIP if sizes and sizes[0] == "batch" and all(v == -1 for v in sizes[1:]) and not kwargs else None
    if name == "select" and len(args) == 2 and all(isinstance(v, int) for v in args) and int(args[0]) != 0:
        return ir.Select(int(args[0]), int(args[1]))
    if name in ("view", "reshape"):
        shape = list(args[0]) if len(args) == 1 and isinstance(args[0], (tuple, list)) else list(args)
        if not shape or not (shape[0] == "batch" or shape[0] == -1) or any(not isinstance(v, int) for v in shape[1:]):
            return None
        if shape[0] == -1 and -1 in shape[1:]:
            return None
        return ir.Reshape(tuple(int(v) for v in shape[1:]))
    if name == "permute":
        dims = list(args[0]) if len(args) == 1 and isinstance(args[0], (tuple, list)) else list(args)
        if not dims or dims[0] != 0:
            return None
        return ir.Permute(tuple(int(d) - 1 for d in dims[1:]))
    if name == "transpose" and len(args) == 2:
        return ir.Transpose(int(args[0]), int(args[1]))
    if name in ("adaptive_avg_pool2d", "adaptive_max_pool2d", "adaptive_avg_pool1d", "adaptive_max_pool1d"):
        size = args[0] if args else kwargs.get("output_size")
        d = 1 if name.endswith("1d") else 2
        if size is None or (isinstance(size, (tuple, list)) and None in size) or len(args) > 1:
            return None
        return ir.AdaptivePool("max" if "max" in name else "avg", _ints(size, d))
    if name in ("max_pool2d", "avg_pool2d", "max_pool1d", "avg_pool1d"):
        d = 1 if name.endswith("1d") else 2
        k = args[0] if args else kwargs.get("kernel_size")
        st = args[1] if len(args) > 1 else kwargs.get("stride")
        pd = args[2] if len(args) > 2 else kwargs.get("padding", 0)
        if len(args) > 3 or kwargs.get("ceil_mode") or kwargs.get("dilation", 1) not in (1, (1, 1), [1, 1]) or \
                kwargs.get("divisor_override") is not None:
            return None
        st = k if st is None or st == [] or st == () else st
        return ir.Pool("max" if "max" in name else "avg", _ints(k, d), _ints(st, d), _ints(pd, d),
                       bool(kwargs.get("count_include_pad", True)))
    if name == "mean":
        dims = args[0] if args else kwargs.get("dim")
        if isinstance(dims, (tuple, list)) and sorted(int(d) % 4 for d in dims) == [2, 3] and \
                not kwargs.get("keepdim", False) and len(args) < 2:
            return "global_avg"
        return None
    return None


def constant_layer(t: Any, what: str) -> Any:
    """The IR :class:`kernels.network.Constant` of a parameter/buffer read by the forward code (class token,
    positional embedding; a tensor or the frontend's float64 copy of one): its exact float64 copy, a leading axis
    of size 1 (the batch axis) dropped; anything but a floating-point tensor is ``Unsupported``. Every frontend
    uses this rule, so the same model gives the same IR."""
    import torch

    if isinstance(t, torch.Tensor) and t.is_floating_point():
        t = f64(t)
    if not isinstance(t, np.ndarray) or t.dtype != np.float64 or t.ndim == 0:
        return ir.Unsupported(what, "only a floating-point tensor of rank >= 1 read by the forward code (a class "
                              f"token, a positional embedding) is translated; this rules out {RULED_OUT}")
    return ir.Constant(np.ascontiguousarray(t[0] if t.shape[0] == 1 and t.ndim > 1 else t))


def index_layer(idx: Any) -> Any:
    """The IR layer of ``x[idx]`` (a Python index; batch axis first): ``x[:, i]`` -> ``Select``, ``x[:, a:b]`` ->
    ``Slice`` (one indexed per-sample axis, the others full slices), else ``None``."""
    idx = idx if isinstance(idx, tuple) else (idx,)
    full = slice(None, None, None)
    if len(idx) < 2 or idx[0] != full or any(v is Ellipsis or v is None for v in idx):
        return None
    picked = [(d, v) for d, v in enumerate(idx) if d > 0 and v != full]
    if len(picked) != 1:
        return None
    d, v = picked[0]
    if isinstance(v, int) and not isinstance(v, bool):
        return ir.Select(d, int(v))
    if isinstance(v, slice) and all(a is None or isinstance(a, int) for a in (v.start, v.stop, v.step)) and \
            (v.step is None or v.step >= 1):
        return ir.Slice(d, v.start, v.stop, 1 if v.step is None else int(v.step))
    return None


def _attr(gm: Any, target: str) -> Any:
    obj = gm
    for part in target.split("."):
        obj = getattr(obj, part, None)
    return obj


def unsupported_message(graph: Any) -> str | None:
    """One line naming the graph's unsupported operations and what they rule out (``None`` if there are none)."""
    bad = [n.layer.op for n in graph.nodes if isinstance(n.layer, ir.Unsupported)]
    if not bad:
        return None
    more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
    return (f"layer {bad[0]} is not supported by certify's network loader{more}: this rules out {RULED_OUT}; "
            "replace it or certify with a test_set.* bound")


def to_graph(module: Any) -> Any:
    """Trace ``module`` with ``torch.fx`` into a :class:`kernels.network.Graph` (eval semantics); operations with no
    translation become ``Unsupported`` nodes (see :func:`unsupported_message`)."""
    import torch
    import torch.fx as fx

    class _Tracer(fx.Tracer):
        def is_leaf_module(self, m: Any, qualname: str) -> bool:  # a scripted submodule is one (named) layer
            return isinstance(m, torch.jit.ScriptModule) or super().is_leaf_module(m, qualname)

    try:
        gm = fx.GraphModule(module, _Tracer().trace(module))
    except Exception as exc:  # noqa: BLE001 - fx raises arbitrary errors on untraceable code; refused by name
        raise InvalidInput(f"the model cannot be traced by torch.fx ({type(exc).__name__}): this rules out "
                           f"{RULED_OUT}") from None
    return _from_fx(gm, dict(gm.named_modules()))


def _from_fx(gm: Any, mods: dict[str, Any]) -> Any:
    import torch
    import torch.fx as fx

    nodes: list[ir.Node] = []
    alias: dict[str, str] = {}
    symbolic: set[str] = set()  # nodes holding the batch size (x.size(0), x.shape[0])
    pairs: set[str] = set()  # attention nodes, whose fx value is the pair (output, weights)
    used: set[str] = set()
    seen_input = False
    out_src = None

    def src(a: Any) -> str:
        return alias.get(a.name, a.name)

    def value(a: Any) -> Any:
        if isinstance(a, fx.Node):
            return "batch" if a.name in symbolic else a
        if isinstance(a, (tuple, list)):
            return type(a)(value(v) for v in a)
        return a

    def emit(n: Any, layer: Any, inputs: tuple[str, ...], name: str | None = None) -> None:
        nm = name if name is not None and name not in used else n.name
        while nm in used:
            nm = nm + "_"
        used.add(nm)
        alias[n.name] = nm
        nodes.append(ir.Node(nm, layer, inputs))

    for n in gm.graph.nodes:
        if n.op == "placeholder":
            if seen_input:
                emit(n, ir.Unsupported(f"input {n.name}", "a second network input"), ("input",))
                continue
            seen_input = True
            alias[n.name] = "input"
            continue
        if n.op == "output":
            out = n.args[0]
            out_src = src(out) if isinstance(out, fx.Node) else None
            continue
        tensor_args = [a for a in n.args if isinstance(a, fx.Node) and a.name not in symbolic]
        if n.op == "call_module":
            layer = module_layer(mods[n.target], str(n.target))
            if layer is _SKIP:
                alias[n.name] = src(n.args[0])
                continue
            if isinstance(layer, ir.Attention):
                masks = [k for k, v in n.kwargs.items() if k in ("attn_mask", "key_padding_mask") and v is not None]
                if len(n.args) < 3 or not (n.args[0] is n.args[1] is n.args[2]) or masks or len(n.args) > 3:
                    layer = ir.Unsupported(f"{n.target} (MultiheadAttention)", "only self-attention (query = key = "
                                           "value) without masks is translated")
                pairs.add(n.name)
            emit(n, layer, (src(n.args[0]),), str(n.target))
            continue
        if n.op == "get_attr":
            emit(n, constant_layer(_attr(gm, str(n.target)), f"constant {n.target}"), ("input",))
            continue
        target = n.target
        fname = target if isinstance(target, str) else getattr(target, "__name__", str(target))
        if (n.op == "call_method" and fname == "size") or (fname == "getattr" and n.args[1] == "shape"):
            symbolic.add(n.name)
            continue
        if fname == "getitem" and isinstance(n.args[0], fx.Node) and n.args[0].name in symbolic:
            symbolic.add(n.name)
            continue
        if fname == "getitem" and isinstance(n.args[0], fx.Node) and n.args[0].name in pairs:
            if n.args[1] == 0:  # (output, weights) of attention: the output
                alias[n.name] = src(n.args[0])
                continue
        if fname == "getitem" and isinstance(n.args[0], fx.Node) and n.args[0].name not in pairs:
            layer = index_layer(n.args[1])
            if layer is not None:
                emit(n, layer, (src(n.args[0]),))
                continue
        if target in (operator.add, torch.add) or (n.op == "call_method" and fname == "add"):
            if len(tensor_args) == 2 and len(n.args) == 2 and not n.kwargs:
                emit(n, ir.Add(), tuple(src(a) for a in tensor_args))
                continue
        if target in (operator.mul, torch.mul) and len(tensor_args) == 1 and len(n.args) == 2:
            const = n.args[1] if n.args[0] is tensor_args[0] else n.args[0]
            if isinstance(const, (int, float)):
                emit(n, ir.Scale(float(const)), (src(tensor_args[0]),))
                continue
        if fname == "scaled_dot_product_attention" and len(tensor_args) == 3 and len(n.args) == 3 and \
                all(n.kwargs.get(k, d) == d for k, d in (("attn_mask", None), ("dropout_p", 0.0),
                                                          ("is_causal", False), ("scale", None))) and \
                set(n.kwargs) <= {"attn_mask", "dropout_p", "is_causal", "scale"}:
            emit(n, ir.ScaledDotProductAttention(), tuple(src(a) for a in tensor_args))
            continue
        if target is torch.cat:
            parts = n.args[0]
            dim = n.args[1] if len(n.args) > 1 else n.kwargs.get("dim", 0)
            if all(isinstance(p, fx.Node) for p in parts) and int(dim) != 0:
                d = int(dim)
                emit(n, ir.Concat(d - 1 if d > 0 else d), tuple(src(p) for p in parts))
                continue
        if tensor_args and n.args and n.args[0] is tensor_args[0]:
            layer = function_layer(fname, [value(a) for a in n.args[1:]], dict(n.kwargs))
            if layer is _SKIP:
                alias[n.name] = src(n.args[0])
                continue
            if layer == "global_avg":
                pool = ir.Node(n.name + "_pool", ir.AdaptivePool("avg", (1, 1)), (src(n.args[0]),))
                nodes.append(pool)
                used.add(pool.name)
                emit(n, ir.Flatten(1), (pool.name,))
                continue
            if layer is not None:
                emit(n, layer, (src(n.args[0]),))
                continue
        ins = tuple(src(a) for a in tensor_args) or ("input",)
        emit(n, ir.Unsupported(f"{n.op} {fname}", f"no translation; this rules out {RULED_OUT}"), ins)
    if not nodes:
        raise InvalidInput("the model has no layers: give a classifier network")
    if out_src is None or out_src != nodes[-1].name:
        last = nodes[-1]
        nodes.append(ir.Node("output", ir.Unsupported("output", "the model's output is not its last operation "
                                                      "(or not one tensor)"), (last.name,)))
    return ir.Graph(tuple(nodes))


def to_network(module: Any) -> Any:
    """The fully translated graph of ``module``; refuses (naming the operation) a graph with unsupported ones."""
    g = to_graph(module)
    why = unsupported_message(g)
    if why:
        raise InvalidInput(why)
    return g
