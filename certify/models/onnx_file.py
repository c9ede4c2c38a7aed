"""ONNX files (``.onnx``, read with the ``onnx`` package: graph and initializers; no code runs) translated to the
network IR (:class:`kernels.network.Graph`), the same IR the ``nn.Module`` and torch.export frontends give.

Shape computations (``Shape``/``Gather``/``Unsqueeze``/``Concat``/``Constant`` feeding a ``Reshape``, as torch's
exporter writes ``x.view(x.size(0), -1)``) are evaluated symbolically from the per-sample shapes the IR's shape rules
give; ``Gather`` of a 2-D initializer on axis 0 by the input's indices is an Embedding; ``MatMul`` + ``Add`` of
initializers is a Linear layer, ``x * Sigmoid(x)`` is SiLU, ``Clip(0, 6)`` is ReLU6. An ``nn.MultiheadAttention``
(the ops in the name scope of the node that reads its ``in_proj_weight``) and ``F.scaled_dot_product_attention``
(``MatMul(Softmax(MatMul(q c, k^T c)), v)``) become one :class:`kernels.network.Attention` /
:class:`kernels.network.ScaledDotProductAttention` node each when their ops are all of the translated form's kinds
and a float64 evaluation of them agrees with the IR's (:mod:`certify.models.onnx_attention`); otherwise the
attention is one named ``Unsupported`` node. Operations with no translation become named
:class:`kernels.network.Unsupported` nodes. There is no ONNX runtime
here: the model's predictions are the argmax of the IR's float64 forward pass (:class:`IRModule`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from boundcert.errors import InvalidInput
from certify.models.onnx_attention import attention_groups, attrs, mha_layer, sdpa_steps
from certify.models.tracing import RULED_OUT, constant_layer
from kernels import network as ir

__all__ = ["read_onnx", "onnx_to_graph", "IRModule"]


def IRModule(graph: Any) -> Any:  # noqa: N802 - a factory standing for the class (torch imported lazily)
    """An ``nn.Module`` whose forward is the IR's float64 pass (midpoints of :func:`kernels.forward_enclosure`)."""
    import torch

    import kernels

    class _IRModule(torch.nn.Module):
        def forward(self, x: Any) -> Any:
            lo, hi = kernels.forward_enclosure(graph, x.detach().double().numpy())
            return torch.from_numpy(lo * 0.5 + hi * 0.5).to(x.dtype)

    return _IRModule()


def read_onnx(path: Path) -> tuple[Any, Any]:
    """``(module, graph)`` of the ONNX file at ``path``."""
    try:
        import onnx
    except ImportError:
        raise InvalidInput("reading .onnx files needs the 'onnx' package: pip install onnx") from None
    try:
        model = onnx.load(str(path))
    except Exception as exc:  # noqa: BLE001 - protobuf raises its own DecodeError family on corrupt files
        raise InvalidInput(f"{str(path)!r} is not a readable ONNX file ({type(exc).__name__}): re-export it") from None
    graph = onnx_to_graph(model)
    return IRModule(graph), graph


def _as_list(v: Any) -> list[Any]:
    """A shape value as a list: symbolic lists stay, a batch marker becomes one entry, arrays become ints."""
    if isinstance(v, list):
        return [t if isinstance(t, str) else int(np.asarray(t)) for t in v]
    if isinstance(v, str):
        return [v]
    return [int(t) for t in np.asarray(v).reshape(-1)]


def _sym_pad(pads: list[int], d: int, what: str) -> tuple[int, ...]:
    if not pads:
        return (0,) * d
    if list(pads[:d]) != list(pads[d:]):
        raise ValueError(f"{what}: asymmetric pads {pads}")
    return tuple(int(p) for p in pads[:d])


def onnx_to_graph(model: Any) -> Any:
    """The IR graph of an ``onnx.ModelProto`` (one input; unsupported operations as named nodes)."""
    from onnx import numpy_helper

    g = model.graph
    init = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    for name, arr in init.items():
        if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
            raise InvalidInput(f"weight {name!r} of the model contains NaN or Inf: certify a model with finite weights")
    inputs = [i for i in g.input if i.name not in init]
    if len(inputs) != 1:
        raise InvalidInput(f"the ONNX graph takes {len(inputs)} inputs: certify needs one input tensor")
    dims = inputs[0].type.tensor_type.shape.dim
    shape0 = tuple(int(d.dim_value) for d in dims[1:])
    if any(v <= 0 for v in shape0):
        raise InvalidInput("the ONNX input's per-sample shape is not static: export with fixed C, H, W")
    consumers: dict[str, int] = {}
    for n in g.node:
        for a in n.input:
            consumers[a] = consumers.get(a, 0) + 1
    alias = {inputs[0].name: "input"}
    shapes: dict[str, tuple[int, ...]] = {"input": shape0}
    consts: dict[str, Any] = {k: v for k, v in init.items()}  # constants and symbolic shape lists
    nodes: list[ir.Node] = []
    index: dict[str, int] = {}
    made: dict[str, Any] = {}  # onnx output name -> the IR node that produced it

    def f64(name: str) -> np.ndarray:
        return np.asarray(init[name]).astype(np.float64)  # float32 -> float64: exact

    def emit(out: str, layer: Any, ins: tuple[str, ...], name: str) -> None:
        nm = name or out
        while nm in index:
            nm += "_"
        node = ir.Node(nm, layer, ins)
        if not isinstance(layer, ir.Unsupported) and all(i in shapes for i in ins):
            try:
                shapes[nm] = tuple(layer.out_shape(tuple(shapes[i] for i in ins)))
            except InvalidInput:
                pass
        index[nm] = len(nodes)
        nodes.append(node)
        alias[out] = nm
        made[out] = node

    node_list = list(g.node)  # one wrapper per node, kept alive: ids are stable
    producer = {o: m for m in node_list for o in m.output}
    groups = attention_groups(node_list, init)
    for n in node_list:
        op, at = n.op_type, attrs(n)
        x = n.input[0] if n.input else ""
        src = alias.get(x)
        out = n.output[0]
        nm = n.name or out
        layer: Any = None
        if id(n) in groups:  # the ONNX ops of one nn.MultiheadAttention: one IR node, at its first op
            scope, members = groups[id(n)]
            if n is next(m for m in members if m.name.startswith(scope)):  # (unscoped Constants may come first)
                layer, ext, y = mha_layer(scope, members, node_list, g, init, consts, alias, shapes)
                emit(y, layer, (alias[ext],) if ext in alias else ("input",), scope.strip("/").replace("/", "."))
            continue
        try:
            if op == "Identity" and x in init:  # the exporter shares equal initializers through Identity
                init[out] = consts[out] = init[x]
                continue
            if op == "Constant":
                consts[out] = numpy_helper.to_array(at["value"])
                continue
            if op == "Shape":
                consts[out] = [len(_as_list(consts[x]))] if x in consts else ["batch", *shapes[src]]
                continue
            if op in _SHAPE_OPS and n.input and all(a in consts and _is_shape(consts[a]) for a in n.input if a):
                consts[out] = _shape_op(op, [consts[a] for a in n.input], at)  # expand's target-shape arithmetic
                continue
            if op == "Expand" and x in init and n.input[1] in consts:
                target, v = _as_list(consts[n.input[1]]), np.asarray(init[x])
                if not target or target[0] != "batch" or v.ndim != len(target) or v.shape[0] != 1 or \
                        any(t not in (1, s) for t, s in zip(target[1:], v.shape[1:])):
                    raise ValueError(f"Expand of a weight to {target} (only a broadcast over the batch)")
                emit(out, constant_layer(f64(x), f"constant {x}"), ("input",), x)
                continue
            if op == "Gather" and src is not None and n.input[1] in consts and np.ndim(consts[n.input[1]]) == 0:
                emit(out, ir.Select(int(at.get("axis", 0)), int(np.asarray(consts[n.input[1]]))), (src,), nm)
                continue
            if op == "Slice" and src is not None and all(a in consts for a in n.input[1:] if a):
                got = [np.asarray(consts[a]).reshape(-1) if a else None for a in n.input[1:]] + [None] * 3
                st, en, ax, sp = got[:4]
                if len(st) != 1 or (ax is not None and len(ax) != 1):
                    raise ValueError("Slice of several axes")
                stop = int(en[0]) if int(en[0]) < 2**62 else None  # INT64_MAX: to the end (INT64_MIN stays: empty)
                emit(out, ir.Slice(int(ax[0]) if ax is not None else 0, int(st[0]), stop,
                                   int(sp[0]) if sp is not None else 1), (src,), nm)
                continue
            if op == "Gather" and x in init and len(n.input) == 2 and n.input[1] in alias:  # a table lookup
                if int(at.get("axis", 0)) != 0 or np.asarray(init[x]).ndim != 2:
                    raise ValueError(f"Gather of a weight on axis {at.get('axis', 0)} (only a 2-D table on axis 0 "
                                     "is an Embedding)")
                emit(out, ir.Embedding(f64(x)), (alias[n.input[1]],), x.rsplit(".", 1)[0] if "." in x else nm)
                continue
            if op in ("Gather", "Unsqueeze", "Slice", "Concat", "Squeeze", "Cast") and x in consts and \
                    not (op == "Concat" and any(a in alias for a in n.input)):
                v = consts[x]
                if op == "Gather":
                    idx = np.asarray(consts[n.input[1]]).astype(int)
                    consts[out] = [v[int(i)] for i in idx.reshape(-1)] if idx.ndim else v[int(idx)]
                elif op in ("Unsqueeze", "Cast", "Squeeze"):
                    consts[out] = _as_list(v) if op == "Unsqueeze" else v
                elif op == "Slice":
                    st = int(np.asarray(consts[n.input[1]]).reshape(-1)[0])
                    en = int(np.asarray(consts[n.input[2]]).reshape(-1)[0])
                    consts[out] = _as_list(v)[st:en]
                else:
                    consts[out] = [t for a in n.input for t in _as_list(consts[a])]
                continue
            if op == "Transpose" and x in init:  # a weight transposed in the graph: folded (exact)
                init[out] = consts[out] = np.transpose(init[x], at.get("perm"))
                continue
            if op in ("Identity", "Dropout"):
                alias[out] = src
                continue
            if op == "MatMul" and n.input[0] in producer and producer[n.input[0]].op_type == "Softmax":
                found = sdpa_steps(n, producer, node_list, init, consts, alias, made, shapes)
                if found is not None:
                    (o1, l1, i1, n1), (o2, l2, i2, n2) = found
                    emit(o1, l1, i1, n1)
                    emit(o2, l2, (i2[0], alias[o1], i2[2]), n2)
                    continue
            if op == "Gemm":
                if at.get("alpha", 1.0) != 1.0 or at.get("beta", 1.0) != 1.0 or at.get("transA", 0):
                    raise ValueError("Gemm with alpha/beta/transA")
                w = f64(n.input[1])
                w = w if at.get("transB", 0) else w.T
                layer = ir.Linear(np.ascontiguousarray(w), f64(n.input[2]) if len(n.input) > 2 else None)
                nm = n.input[1].rsplit(".", 1)[0] if "." in n.input[1] else nm
            elif op == "MatMul" and n.input[1] in init:
                layer = ir.Linear(np.ascontiguousarray(f64(n.input[1]).T), None)
                nm = n.input[1].rsplit(".", 1)[0] if "." in n.input[1] else nm
            elif op == "Add" and len(n.input) == 2 and any(a in init for a in n.input) and \
                    any(a in made and isinstance(made[a].layer, ir.Linear) and made[a].layer.bias is None and
                        consumers.get(a) == 1 for a in n.input):
                b_name, x = (n.input[1], n.input[0]) if n.input[1] in init else (n.input[0], n.input[1])
                prev = made[x]  # MatMul + Add of a bias: one Linear layer
                fused = ir.Node(prev.name, ir.Linear(prev.layer.weight, f64(b_name).reshape(-1)), prev.inputs)
                nodes[index[prev.name]] = fused
                made[out], alias[out] = fused, prev.name
                continue
            elif op == "Add" and len(n.input) == 2 and any(a in alias for a in n.input) and \
                    all(a in alias or (a in init and np.asarray(init[a]).dtype.kind == "f") for a in n.input):
                for a in n.input:  # x + a learned tensor (the positional embedding): a Constant input
                    if a not in alias:
                        c = constant_layer(f64(a), f"constant {a}")
                        other = shapes.get(alias[next(v for v in n.input if v in alias)])
                        if isinstance(c, ir.Constant) and other is not None and c.value.shape != other:
                            raise ValueError(f"Add of a weight of shape {np.shape(init[a])} broadcast over more than "
                                             "the batch")
                        emit(a, c, ("input",), a)
                emit(out, ir.Add(), tuple(alias[a] for a in n.input), nm)
                continue
            elif op == "Conv":
                w = f64(n.input[1])
                d = w.ndim - 2
                pad = _sym_pad(at.get("pads", []), d, "Conv")
                layer = ir.Conv(w, f64(n.input[2]) if len(n.input) > 2 else None,
                                tuple(at.get("strides", [1] * d)), pad, tuple(at.get("dilations", [1] * d)),
                                int(at.get("group", 1)))
                nm = n.input[1].rsplit(".", 1)[0] if "." in n.input[1] else nm
            elif op == "BatchNormalization":
                layer = ir.BatchNorm(f64(n.input[3]), f64(n.input[4]), f64(n.input[1]), f64(n.input[2]),
                                     float(np.float32(at.get("epsilon", 1e-5))))
                nm = n.input[1].rsplit(".", 1)[0] if "." in n.input[1] else nm
            elif op == "LayerNormalization":
                axis = int(at.get("axis", -1))
                per = shapes[src]
                ns = tuple(per[axis:]) if axis < 0 else tuple(per[axis - 1:])
                layer = ir.LayerNorm(ns, f64(n.input[1]).reshape(ns),
                                     f64(n.input[2]).reshape(ns) if len(n.input) > 2 else np.zeros(ns),
                                     float(np.float32(at.get("epsilon", 1e-5))))
            elif op in ("Relu", "Tanh", "Sigmoid"):
                layer = ir.Activation(op.lower())
            elif op == "Gelu" and at.get("approximate", b"none") in (b"none", "none"):
                layer = ir.Activation("gelu")
            elif op == "LeakyRelu":
                layer = ir.Activation("leaky_relu", float(np.float32(at.get("alpha", 0.01))))
            elif op == "Elu":
                layer = ir.Activation("elu", float(np.float32(at.get("alpha", 1.0))))
            elif op == "Softplus":
                layer = ir.Activation("softplus", 1.0)
            elif op == "Clip":
                lo = float(np.asarray(consts[n.input[1]])) if len(n.input) > 1 and n.input[1] else None
                hi = float(np.asarray(consts[n.input[2]])) if len(n.input) > 2 and n.input[2] else None
                if (lo, hi) != (0.0, 6.0):
                    raise ValueError(f"Clip({lo}, {hi})")
                layer = ir.Activation("relu6")
            elif op == "Mul" and len(n.input) == 2 and n.input[1] in made and \
                    isinstance(made[n.input[1]].layer, ir.Activation) and made[n.input[1]].layer.kind == "sigmoid" \
                    and made[n.input[1]].inputs == (src,):
                layer = ir.Activation("silu")
            elif op == "Mul" and len(n.input) == 2 and n.input[1] in consts and np.size(consts[n.input[1]]) == 1:
                layer = ir.Scale(float(np.asarray(consts[n.input[1]]).reshape(-1)[0]))
            elif op == "Flatten":
                axis = int(at.get("axis", 1))
                if axis < 1:
                    raise ValueError(f"Flatten(axis={axis})")
                layer = ir.Flatten(1, -1) if axis == 1 else ir.Reshape(
                    (*shapes[src][: axis - 1], int(np.prod(shapes[src][axis - 1:]))))
            elif op == "Reshape":
                target = _as_list(consts[n.input[1]])
                if not target or target[0] not in ("batch", -1) or any(not isinstance(t, (int, np.integer))
                                                                        for t in target[1:]):
                    raise ValueError(f"Reshape to {target}")
                layer = ir.Reshape(tuple(int(t) for t in target[1:]))
            elif op == "Transpose":
                perm = [int(p) for p in at["perm"]]
                if perm[0] != 0:
                    raise ValueError("Transpose of the batch axis")
                layer = ir.Permute(tuple(p - 1 for p in perm[1:]))
            elif op == "Concat" and any(a in alias for a in n.input) and all(
                    a in alias or (a in init and np.asarray(init[a]).dtype.kind == "f" and np.ndim(init[a]) > 1 and
                                   np.shape(init[a])[0] == 1) for a in n.input):
                for a in n.input:  # cat(class token, x): an initializer with a batch axis of 1 is a Constant
                    if a not in alias:
                        emit(a, constant_layer(f64(a), f"constant {a}"), ("input",), a)
                axis = int(at["axis"])
                emit(out, ir.Concat(axis - 1 if axis > 0 else axis), tuple(alias[a] for a in n.input), nm)
                continue
            elif op in ("GlobalAveragePool", "GlobalMaxPool"):
                d = len(shapes[src]) - 1
                layer = ir.AdaptivePool("avg" if "Average" in op else "max", (1,) * d)
            elif op in ("MaxPool", "AveragePool"):
                k = tuple(int(v) for v in at["kernel_shape"])
                d = len(k)
                if at.get("ceil_mode", 0) or (op == "MaxPool" and set(at.get("dilations", [1])) != {1}):
                    raise ValueError(f"{op} with ceil_mode/dilations")
                layer = ir.Pool("max" if op == "MaxPool" else "avg", k, tuple(at.get("strides", [1] * d)),
                                _sym_pad(at.get("pads", []), d, op), bool(at.get("count_include_pad", 0)))
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            layer = ir.Unsupported(f"{nm} ({op})", f"{exc}; this rules out {RULED_OUT}")
        if layer is None:
            layer = ir.Unsupported(f"{nm} ({op})", f"no translation for ONNX {op}; this rules out {RULED_OUT}")
        ins = (src,) if src is not None else tuple(alias[a] for a in n.input if a in alias) or ("input",)
        emit(out, layer, ins, nm)
    outs = [o.name for o in g.output]
    if len(outs) != 1 or outs[0] not in alias:
        raise InvalidInput("the ONNX graph must have one output computed from its input")
    return _prune(nodes, alias[outs[0]])


_SHAPE_OPS = ("Reshape", "ConstantOfShape", "Mul", "Equal", "Where")


def _is_shape(v: Any) -> bool:
    """A shape list (entries ints or the symbolic ``"batch"``) or an integer/boolean array: shape arithmetic."""
    return isinstance(v, list) or (isinstance(v, np.ndarray) and v.dtype.kind in "iub")


def _shape_op(op: str, vs: list[Any], at: dict[str, Any]) -> Any:
    """The exporter's arithmetic on target shapes (``Where(shape == -1, 1, shape)`` of ``expand``), entrywise on
    lists that may hold ``"batch"`` (equal only to itself)."""
    from onnx import numpy_helper

    if op == "Reshape":
        return _as_list(vs[0])
    if op == "ConstantOfShape":
        fill = numpy_helper.to_array(at["value"]).reshape(-1)[0].item() if "value" in at else 0
        return [fill] * int(np.prod([int(v) for v in _as_list(vs[0])]))
    ls = [_as_list(v) for v in vs]
    n = max(len(v) for v in ls)
    if any(len(v) not in (1, n) for v in ls):
        raise ValueError(f"{op} of shapes of unequal length")
    a, b, *c = ([v[0]] * n if len(v) == 1 else v for v in ls)  # ONNX broadcasting of 1-D shape values
    if op == "Mul":
        if "batch" in a or "batch" in b:
            raise ValueError("Mul of a symbolic shape")
        return [int(u) * int(w) for u, w in zip(a, b)]
    if op == "Equal":
        return [u == w for u, w in zip(a, b)]
    return [u if bool(k) else w for k, u, w in zip(a, b, c[0])]


def _prune(nodes: list[Any], out: str) -> Any:
    """Keep only the nodes the output reads (a fused pattern leaves its first half unread); the output last."""
    need, keep = {out}, []
    for n in reversed(nodes):
        if n.name in need:
            keep.append(n)
            need.update(n.inputs)
    keep.reverse()
    if not keep or keep[-1].name != out:
        raise InvalidInput("the ONNX graph's output is not its last operation")
    return ir.Graph(tuple(keep))
