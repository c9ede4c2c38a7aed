"""torch.export programs (``.pt2``, :func:`torch.export.save`; TorchScript's successor): the ATen graph is
translated to the network IR (:class:`kernels.network.Graph`) with the program's own parameters and buffers (exact
float64 copies), the same IR the ``nn.Module`` frontend (:mod:`certify.models.tracing`) gives.

``torch.export.load`` deserialises the graph and tensors without running user code. The program's runnable module
is wrapped in :class:`ExportedModule` (exported modules refuse ``.eval()``; the program is already in the mode it was
exported in). The ATen ops traced inside one ``nn.MultiheadAttention`` call (``nn_module_stack``) become one
:class:`kernels.network.Attention` node after a strict check of their form (:func:`_attention_layer`). An ATen
operation with no translation becomes a named :class:`kernels.network.Unsupported` node.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from boundcert.errors import InvalidInput
from certify.models.tracing import RULED_OUT, constant_layer, f64, hyper
from kernels import network as ir

__all__ = ["read_export", "export_to_graph", "ExportedModule", "is_export"]


def is_export(path: Path) -> bool:
    """Whether ``path`` is a torch.export archive (``.pt2``)."""
    return path.suffix == ".pt2"


def read_export(path: Path) -> Any:
    """The :class:`torch.export.ExportedProgram` at ``path``."""
    import logging
    import zipfile

    import torch

    log = logging.getLogger("torch.export")
    level = log.level
    log.setLevel(logging.CRITICAL)  # torch logs its own traceback before raising: the refusal stays one line
    try:
        return torch.export.load(str(path))
    except (RuntimeError, OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        first = str(exc).strip().splitlines()
        raise InvalidInput(f"{str(path)!r} is not a loadable torch.export program ({first[0] if first else exc}): "
                           "re-export it with torch.export.save") from None
    finally:
        log.setLevel(level)


def _module_class():
    import torch

    class ExportedModule(torch.nn.Module):
        """An exported program's module, callable like the original; ``eval()``/``train()`` leave it alone."""

        def __init__(self, program: Any) -> None:
            super().__init__()
            object.__setattr__(self, "_program_module", program.module())

        def forward(self, x: Any) -> Any:
            return self._program_module(x)

    return ExportedModule


def ExportedModule(program: Any) -> Any:  # noqa: N802 - a factory standing for the class (torch imported lazily)
    return _module_class()(program)


def _ints(v: Any) -> tuple[int, ...]:
    return tuple(int(a) for a in v) if isinstance(v, (tuple, list)) else (int(v),)


def _per_sample_shape(n: Any) -> tuple[int, ...] | None:
    val = n.meta.get("val")
    try:
        return tuple(int(d) for d in val.shape[1:])
    except (AttributeError, TypeError):
        return None


#: torch's own class only (by qualified name): another class called MultiheadAttention may compute something else
#: with the same ops, so its ops are translated one by one.
_MHA = frozenset({"torch.nn.modules.activation.MultiheadAttention", "torch.nn.MultiheadAttention"})


def _module_path(n: Any) -> str | None:
    """The path of the innermost ``nn.MultiheadAttention`` the ATen node ``n`` was traced in (``None`` if none)."""
    found = None
    for path, kind in (n.meta.get("nn_module_stack") or {}).values():
        name = kind if isinstance(kind, str) else f"{kind.__module__}.{kind.__qualname__}"
        if name in _MHA:
            found = path
    return found


def _attention_groups(nodes: Any) -> dict[Any, tuple[str, list[Any]]]:
    """Each ATen node traced inside an ``nn.MultiheadAttention`` -> (module path, all that module call's nodes)."""
    out: dict[Any, tuple[str, list[Any]]] = {}
    current: list[Any] = []
    path = None
    for n in list(nodes) + [None]:
        p = _module_path(n) if n is not None and n.op == "call_function" else None
        if current and p != path:
            for m in current:
                out[m] = (path, current)
            current = []
        if p is not None:
            current.append(n)
        path = p
    return out


def _is_tensor(a: Any) -> bool:
    return hasattr(a, "meta") and hasattr(a.meta.get("val"), "shape")


def _attention_layer(path: str, members: list[Any], tensors: dict[str, np.ndarray]) -> tuple[Any, Any]:
    """``(ir.Attention, its input node)`` for the ATen ops of one ``nn.MultiheadAttention`` call, or an
    ``Unsupported`` layer naming what differs from the translated form: ``batch_first=True`` self-attention (query =
    key = value), one packed in-projection, no ``bias_k``/``bias_v``, no zero attention, no masks, eval mode
    (``need_weights=False``: one ``scaled_dot_product_attention`` with its defaults). Every op of the group must be
    one of that form's data movements, its two projections and its one attention product."""
    import operator

    import torch

    aten = torch.ops.aten
    allowed = {aten.transpose.int, aten.linear.default, aten.unflatten.int, aten.unsqueeze.default,
               aten.squeeze.dim, aten.contiguous.default, aten.select.int, aten.view.default, aten.reshape.default,
               aten.permute.default, aten.scaled_dot_product_attention.default, aten.sym_size.int, operator.mul,
               aten.clone.default, aten._unsafe_view.default}
    inside = set(members)
    ext = {a for n in members for a in _flat(n.args) + _flat(list(n.kwargs.values()))
           if _is_tensor(a) and a not in inside and a.name not in tensors}

    def refuse(why: str) -> tuple[Any, Any]:
        first = next(iter(ext), None)
        return ir.Unsupported(f"{path} (MultiheadAttention)", f"{why}; only batch_first self-attention with one "
                              "in-projection, no bias_k/v, no zero attention and no masks (need_weights=False) is "
                              f"translated; this rules out {RULED_OUT}"), first

    bad = sorted({str(n.target) for n in members if n.target not in allowed})
    if bad:
        return refuse(f"operations {', '.join(bad)} in the attention")
    if len(ext) != 1:
        return refuse(f"{len(ext)} tensor inputs (query, key and value must be one tensor)")
    (x,) = ext
    for n in members[:-1]:
        if any(u not in inside for u in n.users):
            return refuse(f"{n.name} is read outside the attention (its weights are used)")
    lin = [n for n in members if n.target is aten.linear.default]
    sdpa = [n for n in members if n.target is aten.scaled_dot_product_attention.default]
    first, last = members[0], members[-1]
    if not (first.target is aten.transpose.int and first.args[0] is x and tuple(first.args[1:]) == (1, 0) and
            last.target is aten.transpose.int and tuple(last.args[1:]) == (1, 0)):
        return refuse("batch_first=False (the batch axis is not first)")
    if len(lin) != 2 or len(sdpa) != 1 or len(sdpa[0].args) != 3 or sdpa[0].kwargs or \
            lin[0].args[0] is not first:
        return refuse("not one packed in-projection, one attention product and one out-projection")
    w_in, w_out = tensors[lin[0].args[1].name], tensors[lin[1].args[1].name]
    b_in = tensors[lin[0].args[2].name] if len(lin[0].args) > 2 and lin[0].args[2] is not None else None
    b_out = tensors[lin[1].args[2].name] if len(lin[1].args) > 2 and lin[1].args[2] is not None else None
    d = w_out.shape[0]
    heads = int(sdpa[0].args[0].meta["val"].shape[1])
    if w_in.shape != (3 * d, d) or w_out.shape != (d, d) or d % heads:
        return refuse(f"projection shapes {w_in.shape} and {w_out.shape}")
    q, k, v = (ir.Linear(w_in[i * d:(i + 1) * d].copy(), None if b_in is None else b_in[i * d:(i + 1) * d].copy())
               for i in range(3))
    return ir.Attention(heads, q, k, v, ir.Linear(w_out, b_out)), x


def _flat(args: Any) -> list[Any]:
    out: list[Any] = []
    for a in args:
        out += _flat(a) if isinstance(a, (list, tuple)) else [a]
    return out


def export_to_graph(ep: Any) -> Any:
    """The IR graph of the exported program ``ep`` (unsupported ATen operations as named nodes)."""
    import torch
    from torch.export.graph_signature import InputKind

    aten = torch.ops.aten
    tensors: dict[str, np.ndarray] = {}
    targets: dict[str, str] = {}
    user: list[str] = []
    for spec in ep.graph_signature.input_specs:
        name = spec.arg.name
        if spec.kind == InputKind.USER_INPUT:
            user.append(name)
        elif spec.kind in (InputKind.PARAMETER, InputKind.BUFFER):
            t = ep.state_dict[spec.target] if spec.target in ep.state_dict else ep.constants[spec.target]
            tensors[name], targets[name] = f64(t), spec.target
        elif spec.kind == InputKind.CONSTANT_TENSOR:
            tensors[name], targets[name] = f64(ep.constants[spec.target]), spec.target
    for name, arr in tensors.items():
        if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
            raise InvalidInput(f"weight {targets[name]!r} of the model contains NaN or Inf: certify a model with "
                               "finite weights")
    if len(user) != 1:
        raise InvalidInput(f"the exported program takes {len(user)} inputs: certify needs one input tensor")
    alias = {user[0]: "input"}
    nodes: list[ir.Node] = []
    used: set[str] = set()

    def t(a: Any) -> np.ndarray | None:
        return None if a is None else tensors[a.name]

    def src(a: Any) -> str:
        if a.name not in alias and a.name in tensors and a.op == "placeholder":  # a lifted parameter read as a value
            emit(a, constant_layer(tensors[a.name], f"constant {targets[a.name]}"), ("input",), targets[a.name])
        return alias[a.name]

    def emit(n: Any, layer: Any, inputs: tuple[str, ...], name: str | None = None) -> None:
        nm = name or n.name
        while nm in used:
            nm += "_"
        used.add(nm)
        alias[n.name] = nm
        nodes.append(ir.Node(nm, layer, inputs))

    def owner(a: Any) -> str | None:
        return targets.get(a.name, "").rsplit(".", 1)[0] or None

    out_name = None
    groups = _attention_groups(ep.graph.nodes)
    for n in ep.graph.nodes:
        if n.op == "placeholder":
            continue
        if n in groups:  # a MultiheadAttention module's ATen ops: one IR node at its last op
            path, members = groups[n]
            if n is not members[-1]:
                continue
            layer, ext = _attention_layer(path, members, tensors)
            emit(n, layer, (alias[ext.name],) if ext is not None and ext.name in alias else ("input",), path)
            continue
        if n.op == "output":
            outs = n.args[0]
            out_name = alias.get(outs[0].name) if len(outs) == 1 else None
            continue
        f, a = n.target, n.args
        kw = n.kwargs
        layer: Any = None
        if f is aten.sym_size.int:  # the (symbolic) batch size; reshapes take their shapes from the node metadata
            continue
        if f is aten.scaled_dot_product_attention.default and len(a) == 3 and not kw:
            emit(n, ir.ScaledDotProductAttention(), tuple(src(v) for v in a))
            continue
        if f is aten.embedding.default:  # (weight, indices, padding_idx, ...): padding_idx only shapes the gradient
            emit(n, ir.Embedding(t(a[0])), (src(a[1]),), owner(a[0]))
            continue
        if f in (aten.linear.default,):
            layer = ir.Linear(t(a[1]), t(a[2]) if len(a) > 2 else None)
            emit(n, layer, (src(a[0]),), owner(a[1]))
            continue
        if f in (aten.conv2d.default, aten.conv1d.default):
            d = 2 if f is aten.conv2d.default else 1
            args = list(a) + [None] * (7 - len(a))
            stride = _ints(args[3] if args[3] is not None else 1)
            pad = _ints(args[4] if args[4] is not None else 0)
            dil = _ints(args[5] if args[5] is not None else 1)
            fill = lambda v: v * d if len(v) == 1 else v  # noqa: E731
            layer = ir.Conv(t(a[1]), t(args[2]), fill(stride), fill(pad), fill(dil), int(args[6] or 1))
            emit(n, layer, (src(a[0]),), owner(a[1]))
            continue
        if f is aten.batch_norm.default or f is aten._native_batch_norm_legit_no_training.default:
            x, w, b, mean, var = a[0], a[1], a[2], a[3], a[4]
            eps = hyper(a[7] if f is aten.batch_norm.default else a[6], mean.meta.get("val"))
            if f is aten.batch_norm.default and a[5]:
                layer = ir.Unsupported(f"{n.name} (batch_norm training=True)", "batch statistics are not a fixed map")
            else:
                c = t(mean).shape[0]
                layer = ir.BatchNorm(t(mean), t(var), t(w) if w is not None else np.ones(c),
                                     t(b) if b is not None else np.zeros(c), eps)
            emit(n, layer, (src(x),), owner(mean))
            continue
        if f is aten.layer_norm.default:
            shape = _ints(a[1])
            wn = a[2] if len(a) > 2 else None
            w = t(wn) if wn is not None else np.ones(shape)
            b = t(a[3]) if len(a) > 3 and a[3] is not None else np.zeros(shape)
            eps = hyper(a[4] if len(a) > 4 else 1e-5, wn.meta.get("val") if wn is not None else None)
            emit(n, ir.LayerNorm(shape, w, b, eps), (src(a[0]),), owner(wn) if wn is not None else None)
            continue
        if f is aten.group_norm.default:
            c = _per_sample_shape(a[0])[0]
            w = t(a[2]) if len(a) > 2 and a[2] is not None else np.ones(c)
            b = t(a[3]) if len(a) > 3 and a[3] is not None else np.zeros(c)
            emit(n, ir.GroupNorm(int(a[1]), w, b, hyper(a[4] if len(a) > 4 else 1e-5)), (src(a[0]),))
            continue
        if f in (aten.relu_.default, aten.silu_.default, aten.add_.Tensor) and len(a[0].users) != 1:
            layer = ir.Unsupported(f"{n.name} ({f})", f"an in-place {f} whose input is read elsewhere (the reader "
                                   f"would see the mutated value); this rules out {RULED_OUT}")
            emit(n, layer, (src(a[0]),))
            continue
        simple = {aten.relu.default: "relu", aten.tanh.default: "tanh", aten.sigmoid.default: "sigmoid",
                  aten.silu.default: "silu", aten.relu_.default: "relu", aten.silu_.default: "silu"}
        if f in simple:
            layer = ir.Activation(simple[f])
        elif f is aten.gelu.default and kw.get("approximate", "none") == "none":
            layer = ir.Activation("gelu")
        elif f is aten.leaky_relu.default:
            layer = ir.Activation("leaky_relu", hyper(a[1] if len(a) > 1 else 0.01))
        elif f is aten.elu.default and all(float(v) == 1.0 for v in a[2:4]):
            layer = ir.Activation("elu", hyper(a[1] if len(a) > 1 else 1.0))
        elif f is aten.softplus.default:
            layer = ir.Activation("softplus", hyper(a[1] if len(a) > 1 else 1.0))
        elif f is aten.hardtanh.default and tuple(float(v) for v in a[1:3]) == (0.0, 6.0):
            layer = ir.Activation("relu6")
        elif f in (aten.view.default, aten.reshape.default, aten._unsafe_view.default):
            shape = _per_sample_shape(n)
            layer = ir.Reshape(shape) if shape is not None else None
        elif f is aten.flatten.using_ints:
            layer = ir.Flatten(int(a[1]) if len(a) > 1 else 0, int(a[2]) if len(a) > 2 else -1)
            if layer.start_dim == 0:
                layer = None
        elif f is aten.transpose.int:
            layer = ir.Transpose(int(a[1]), int(a[2]))
        elif f is aten.permute.default:
            dims = _ints(a[1])
            layer = ir.Permute(tuple(d - 1 for d in dims[1:])) if dims[0] == 0 else None
        elif f in (aten.adaptive_avg_pool2d.default, aten.adaptive_avg_pool1d.default,
                   aten.adaptive_max_pool2d.default, aten.adaptive_max_pool1d.default):
            layer = ir.AdaptivePool("max" if "max" in str(f) else "avg", _ints(a[1]))
        elif f in (aten.avg_pool2d.default, aten.avg_pool1d.default):
            d = 2 if f is aten.avg_pool2d.default else 1
            args = list(a) + [None] * (7 - len(a))
            k = _ints(args[1]) * (d if len(_ints(args[1])) == 1 else 1)
            s = _ints(args[2]) if args[2] else k
            p = _ints(args[3] if args[3] is not None else 0)
            p = p * d if len(p) == 1 else p
            if not args[4] and args[6] is None:
                layer = ir.Pool("avg", k, s * d if len(s) == 1 else s, p, bool(True if args[5] is None else args[5]))
        elif f in (aten.max_pool2d.default, aten.max_pool1d.default):
            d = 2 if f is aten.max_pool2d.default else 1
            args = list(a) + [None] * (6 - len(a))
            k = _ints(args[1]) * (d if len(_ints(args[1])) == 1 else 1)
            s = _ints(args[2]) if args[2] else k
            p = _ints(args[3] if args[3] is not None else 0)
            p = p * d if len(p) == 1 else p
            dil = _ints(args[4] if args[4] is not None else 1)
            if not args[5] and set(dil) == {1}:
                layer = ir.Pool("max", k, s * d if len(s) == 1 else s, p)
        elif f is aten.mean.dim and sorted(int(v) % 4 for v in a[1]) == [2, 3] and not (len(a) > 2 and a[2]):
            pool = ir.Node(n.name + "_pool", ir.AdaptivePool("avg", (1, 1)), (src(a[0]),))
            nodes.append(pool)
            used.add(pool.name)
            emit(n, ir.Flatten(1), (pool.name,))
            continue
        elif f in (aten.add.Tensor, aten.add_.Tensor) and len(a) == 2 and all(hasattr(v, "name") for v in a) and \
                kw.get("alpha", 1) == 1:
            emit(n, ir.Add(), (src(a[0]), src(a[1])))
            continue
        elif f is aten.mul.Tensor and len(a) == 2 and isinstance(a[1], (int, float)):
            layer = ir.Scale(float(a[1]))
        elif f is aten.cat.default:
            dim = int(a[1]) if len(a) > 1 else 0
            if dim != 0:
                emit(n, ir.Concat(dim - 1 if dim > 0 else dim), tuple(src(v) for v in a[0]))
                continue
        elif f is aten.expand.default and len(a) == 2 and not kw and len(a[1]) >= 1 and \
                hasattr(a[1][0], "name") and all(v == -1 for v in a[1][1:]):  # (batch, -1, ...): broadcast over it
            alias[n.name] = src(a[0])
            continue
        elif f is aten.select.int and int(a[1]) != 0:
            layer = ir.Select(int(a[1]), int(a[2]))
        elif f is aten.slice.Tensor:
            args = list(a) + [None] * (5 - len(a))
            dim, start, stop, step = int(args[1] or 0), args[2], args[3], int(args[4] or 1)
            stop = None if stop is not None and not hasattr(stop, "name") and int(stop) >= 2**62 else stop
            if dim == 0 and start in (None, 0) and stop is None and step == 1:
                alias[n.name] = src(a[0])
                continue
            if dim != 0 and all(v is None or isinstance(v, int) for v in (start, stop)):
                layer = ir.Slice(dim, start, stop, step)
        elif f in (aten.dropout.default, aten.clone.default, aten.contiguous.default, aten.alias.default,
                   aten.detach.default):
            alias[n.name] = src(a[0])
            continue
        ins = tuple(alias[v.name] for v in a if hasattr(v, "name") and v.name in alias) or ("input",)
        if layer is None:
            layer = ir.Unsupported(f"{n.name} ({f})", f"no translation for {f}; this rules out {RULED_OUT}")
            emit(n, layer, ins)
            continue
        emit(n, layer, (src(a[0]),))
    if not nodes:
        raise InvalidInput("the exported program has no layers: give a classifier network")
    if out_name is None or out_name != nodes[-1].name:
        nodes.append(ir.Node("output", ir.Unsupported("output", "the program's output is not its last operation "
                                                      "(or not one tensor)"), (nodes[-1].name,)))
    return ir.Graph(tuple(nodes))
