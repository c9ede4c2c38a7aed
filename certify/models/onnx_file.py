"""ONNX files (``.onnx``, read with the ``onnx`` package: graph and initializers; no code runs) translated to the
network IR (:class:`kernels.network.Graph`), the same IR the ``nn.Module`` and torch.export frontends give.

Shape computations (``Shape``/``Gather``/``Unsqueeze``/``Concat``/``Constant`` feeding a ``Reshape``, as torch's
exporter writes ``x.view(x.size(0), -1)``) are evaluated symbolically from the per-sample shapes the IR's shape rules
give; ``Gather`` of a 2-D initializer on axis 0 by the input's indices is an Embedding; ``MatMul`` + ``Add`` of
initializers is a Linear layer, ``x * Sigmoid(x)`` is SiLU, ``Clip(0, 6)`` is ReLU6.
An ``nn.MultiheadAttention`` (the ops in the name scope of the node that reads its ``in_proj_weight``) becomes one
:class:`kernels.network.Attention` node when its ops are all of the translated form's kinds and a float64
evaluation of them on a random input agrees with the IR's (:func:`_attention`); otherwise it is one named
``Unsupported`` node. Operations with no translation become named :class:`kernels.network.Unsupported` nodes. There is no ONNX runtime
here: the model's predictions are the argmax of the IR's float64 forward pass (:class:`IRModule`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from boundcert.errors import InvalidInput
from certify.models.tracing import RULED_OUT
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


def _attrs(node: Any) -> dict[str, Any]:
    import onnx

    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


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
    groups = _attention_groups(node_list, init)
    for n in node_list:
        op, at = n.op_type, _attrs(n)
        x = n.input[0] if n.input else ""
        src = alias.get(x)
        out = n.output[0]
        nm = n.name or out
        layer: Any = None
        if id(n) in groups:  # the ONNX ops of one nn.MultiheadAttention: one IR node, at its first op
            scope, members = groups[id(n)]
            if n is next(m for m in members if m.name.startswith(scope)):  # (unscoped Constants may come first)
                layer, ext, y = _attention(scope, members, node_list, g, init, consts, alias, shapes)
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
                consts[out] = ["batch", *shapes[src]]
                continue
            if op == "Gather" and x in init and len(n.input) == 2 and n.input[1] in alias:  # a table lookup
                if int(at.get("axis", 0)) != 0 or np.asarray(init[x]).ndim != 2:
                    raise ValueError(f"Gather of a weight on axis {at.get('axis', 0)} (only a 2-D table on axis 0 "
                                     "is an Embedding)")
                emit(out, ir.Embedding(f64(x)), (alias[n.input[1]],), x.rsplit(".", 1)[0] if "." in x else nm)
                continue
            if op in ("Gather", "Unsqueeze", "Slice", "Concat", "Squeeze", "Cast") and x in consts:
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
            elif op == "Add" and all(a in alias for a in n.input):
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
            elif op == "Concat" and all(a in alias for a in n.input):
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


_ATTN_OPS = {"Constant", "Shape", "Gather", "Unsqueeze", "Squeeze", "Slice", "Concat", "Cast", "Div", "Mul", "Add",
             "Mod", "Sqrt", "Reshape", "Transpose", "MatMul", "Softmax", "Gemm"}


def _attention_groups(nodes: list[Any], init: dict[str, Any]) -> dict[int, tuple[str, list[Any]]]:
    """The nodes of each exported ``nn.MultiheadAttention`` call: those in the name scope (``/path/``) of the node
    that reads an ``in_proj_weight`` initializer; ``id(node) -> (scope, members in graph order)``."""
    out: dict[int, tuple[str, list[Any]]] = {}
    for n in nodes:
        if any(a.endswith("in_proj_weight") and a in init for a in n.input) and "/" in n.name:
            scope = n.name.rsplit("/", 1)[0] + "/"
            inside = {id(m) for m in nodes if m.name.startswith(scope)}
            readers: dict[str, set[int]] = {}
            for m in nodes:
                for a in m.input:
                    readers.setdefault(a, set()).add(id(m))
            # the exporter's unscoped Constant nodes (Unsqueeze axes) that only the scope reads belong to it
            inside |= {id(m) for m in nodes if m.op_type == "Constant" and readers.get(m.output[0], {0}) <= inside}
            members = [m for m in nodes if id(m) in inside]
            for m in members:
                out[id(m)] = (scope, members)
    return out


def _attention(scope: str, members: list[Any], nodes: list[Any], g: Any, init: dict[str, Any],
               consts: dict[str, Any], alias: dict[str, str],
               shapes: dict[str, tuple[int, ...]]) -> tuple[Any, str, str]:
    """``(layer, input name, output name)`` of one exported ``nn.MultiheadAttention`` (batch_first self-attention,
    no masks): an :class:`kernels.network.Attention` built from the ``in_proj``/``out_proj`` initializers, accepted
    only when its ops are all of the translated form's kinds and a float64 evaluation of the group's ONNX ops on a
    random input agrees with the IR's (to 1e-9 relative; this fixes the head count); else a named ``Unsupported``."""
    made = {o for m in members for o in m.output}
    ext = sorted({a for m in members for a in m.input if a and a not in made and a not in init and a not in consts})
    own = {id(v) for v in members}
    readers = {a for m in nodes if id(m) not in own for a in m.input} | {o.name for o in g.output}
    outs = [o for m in members for o in m.output if o in readers]
    name = scope.strip("/").replace("/", ".")

    def refuse(why: str) -> tuple[Any, str, str]:
        return (ir.Unsupported(f"{name} (MultiheadAttention)", f"{why}; only batch_first self-attention with one "
                               f"in-projection and no masks is translated; this rules out {RULED_OUT}"),
                ext[0] if ext else "", outs[-1] if outs else members[-1].output[0])

    bad = sorted({m.op_type for m in members} - _ATTN_OPS)
    if bad:
        return refuse(f"ONNX operations {', '.join(bad)} in the attention")
    if len(ext) != 1 or len(outs) != 1 or ext[0] not in alias or len(shapes.get(alias[ext[0]], ())) != 2:
        return refuse(f"{len(ext)} tensor inputs and {len(outs)} outputs (one (T, D) input, one output needed)")
    w_in = next((a for m in members for a in m.input if a.endswith("in_proj_weight") and a in init), None)
    b_in = next((a for m in members for a in m.input if a.endswith("in_proj_bias") and a in init), None)
    gemm = [m for m in members if m.op_type == "Gemm" or (m.op_type == "MatMul" and m.input[1] in init)]
    if w_in is None or len(gemm) != 1 or gemm[0].op_type != "Gemm" or len(gemm[0].input) < 2:
        return refuse("no packed in-projection and one out-projection")
    W, (T, D) = np.asarray(init[w_in], dtype=np.float64), shapes[alias[ext[0]]]
    Wo = np.asarray(init[gemm[0].input[1]], dtype=np.float64)
    Wo = Wo if _attrs(gemm[0]).get("transB", 0) else Wo.T
    bo = np.asarray(init[gemm[0].input[2]], dtype=np.float64).reshape(-1) if len(gemm[0].input) > 2 else None
    if W.shape != (3 * D, D) or Wo.shape != (D, D):
        return refuse(f"projection shapes {W.shape} and {Wo.shape}")
    b = None if b_in is None else np.asarray(init[b_in], dtype=np.float64).reshape(-1)
    q, k, v = (ir.Linear(W[i * D:(i + 1) * D].copy(), None if b is None else b[i * D:(i + 1) * D].copy())
               for i in range(3))
    x = np.random.default_rng(0).standard_normal((2, T, D))
    try:
        y = _run(members, {ext[0]: x}, init, consts)[outs[0]]
    except (KeyError, ValueError, IndexError, TypeError) as exc:
        return refuse(f"the attention's ops cannot be evaluated ({type(exc).__name__})")
    from kernels.network._state import point

    for h in [h for h in range(1, D + 1) if D % h == 0]:
        layer = ir.Attention(h, q, k, v, ir.Linear(np.ascontiguousarray(Wo), bo))
        mid = layer.forward((point(x),), ir.ForwardContext()).mid
        if np.shape(y) == mid.shape and np.all(np.abs(y - mid) <= 1e-9 * (1 + np.abs(mid))):
            return layer, ext[0], outs[0]
    return refuse("its ONNX ops do not compute softmax(Q K^T / sqrt(d_h)) V for any head count")


def _run(members: list[Any], env: dict[str, Any], init: dict[str, Any], consts: dict[str, Any]) -> dict[str, Any]:
    """Evaluate the ONNX ops ``members`` in float64 numpy (integers stay integers): a check of a translation."""
    from onnx import numpy_helper

    def val(a: str) -> Any:
        if a in env:
            return env[a]
        v = init[a] if a in init else consts[a]
        if isinstance(v, list):
            raise ValueError("a symbolic shape")
        v = np.asarray(v)
        return v.astype(np.float64) if v.dtype.kind == "f" else v

    for m in members:
        op, at = m.op_type, _attrs(m)
        xs = [val(a) if a else None for a in m.input]
        if op == "Constant":
            r = np.asarray(numpy_helper.to_array(at["value"]))
            r = r.astype(np.float64) if r.dtype.kind == "f" else r
        elif op == "Shape":
            r = np.array(xs[0].shape[at.get("start", 0):at.get("end", None)], dtype=np.int64)
        elif op == "Gather":
            r = np.take(xs[0], xs[1].astype(np.int64), axis=int(at.get("axis", 0)))
        elif op in ("Unsqueeze", "Squeeze"):
            axes = [int(v) for v in np.asarray(xs[1] if len(xs) > 1 else at.get("axes", [])).reshape(-1)]
            if op == "Unsqueeze":
                r = xs[0]
                for a in sorted(a % (xs[0].ndim + len(axes)) for a in axes):
                    r = np.expand_dims(r, a)
            else:
                r = np.squeeze(xs[0], axis=tuple(axes) if axes else None)
        elif op == "Slice":
            st, en = xs[1].reshape(-1), xs[2].reshape(-1)
            axes = xs[3].reshape(-1) if len(xs) > 3 and xs[3] is not None else range(len(st))
            steps = xs[4].reshape(-1) if len(xs) > 4 and xs[4] is not None else [1] * len(st)
            sl = [slice(None)] * xs[0].ndim
            for a, s0, e0, p in zip(axes, st, en, steps):
                sl[int(a)] = slice(int(s0), int(min(e0, 2**62)), int(p))
            r = xs[0][tuple(sl)]
        elif op == "Concat":
            r = np.concatenate([np.atleast_1d(v) for v in xs], axis=int(at["axis"]))
        elif op == "Cast":
            r = xs[0].astype(np.float64 if int(at["to"]) in (1, 10, 11, 16) else np.int64)
        elif op in ("Div", "Mul", "Add", "Mod"):
            a, c = xs
            if op == "Mod":
                r = np.fmod(a, c) if at.get("fmod", 0) else np.mod(a, c)
            elif op == "Div":
                r = a // c if a.dtype.kind in "iu" and c.dtype.kind in "iu" else a / c
            else:
                r = a * c if op == "Mul" else a + c
        elif op == "Sqrt":
            r = np.sqrt(xs[0])
        elif op == "Reshape":
            shp = [int(d) for d in xs[1].reshape(-1)]
            shp = [xs[0].shape[i] if d == 0 else d for i, d in enumerate(shp)]
            r = xs[0].reshape(shp)
        elif op == "Transpose":
            r = np.transpose(xs[0], at.get("perm"))
        elif op == "MatMul":
            r = np.matmul(xs[0], xs[1])
        elif op == "Softmax":
            e = np.exp(xs[0] - xs[0].max(axis=int(at.get("axis", -1)), keepdims=True))
            r = e / e.sum(axis=int(at.get("axis", -1)), keepdims=True)
        elif op == "Gemm":
            a = xs[0].T if at.get("transA", 0) else xs[0]
            bm = xs[1].T if at.get("transB", 0) else xs[1]
            r = at.get("alpha", 1.0) * (a @ bm) + (at.get("beta", 1.0) * xs[2] if len(xs) > 2 else 0.0)
        else:
            raise ValueError(op)
        env[m.output[0]] = r
    return env


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
