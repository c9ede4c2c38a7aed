"""Attention in ONNX files (read by :mod:`certify.models.onnx_file`): torch's exporter writes
``nn.MultiheadAttention`` and ``F.scaled_dot_product_attention`` as dozens of shape, reshape, transpose, matmul and
softmax ops with the batch axis moved. They are recognised as one IR node each (:class:`kernels.network.Attention`,
:class:`kernels.network.ScaledDotProductAttention`) only when every op is of the translated form's kinds and a
float64 evaluation of those ops (:func:`run_ops`) on a random input agrees with the IR's forward pass to 1e-9
relative; otherwise a ``MultiheadAttention`` becomes one named ``Unsupported`` node and the product stays
untranslated op by op. No code from the file runs; the evaluation is this module's own numpy interpreter of those
op kinds.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from certify.models.tracing import RULED_OUT
from kernels import network as ir

__all__ = ["attention_groups", "mha_layer", "sdpa_steps", "run_ops", "attrs"]


def attrs(node: Any) -> dict[str, Any]:
    import onnx

    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


_ATTN_OPS = {"Constant", "Shape", "Gather", "Unsqueeze", "Squeeze", "Slice", "Concat", "Cast", "Div", "Mul", "Add",
             "Mod", "Sqrt", "Reshape", "Transpose", "MatMul", "Softmax", "Gemm"}


def attention_groups(nodes: list[Any], init: dict[str, Any]) -> dict[int, tuple[str, list[Any]]]:
    """The nodes of each exported ``nn.MultiheadAttention`` call: those in the name scope (``/path/``) of the node
    that reads an ``in_proj_weight`` initializer; ``id(node) -> (scope, members in graph order)``."""
    out: dict[int, tuple[str, list[Any]]] = {}
    readers: dict[str, set[int]] = {}
    for m in nodes:
        for a in m.input:
            readers.setdefault(a, set()).add(id(m))
    for n in nodes:
        if any(a.endswith("in_proj_weight") and a in init for a in n.input) and "/" in n.name:
            scope = n.name.rsplit("/", 1)[0] + "/"
            inside = {id(m) for m in nodes if m.name.startswith(scope)}
            # the exporter's unscoped Constant nodes (Unsqueeze axes) that only the scope reads belong to it
            inside |= {id(m) for m in nodes if m.op_type == "Constant" and readers.get(m.output[0], {0}) <= inside}
            members = [m for m in nodes if id(m) in inside]
            for m in members:
                out[id(m)] = (scope, members)
    return out


def mha_layer(scope: str, members: list[Any], nodes: list[Any], g: Any, init: dict[str, Any],
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
    Wo = Wo if attrs(gemm[0]).get("transB", 0) else Wo.T
    bo = np.asarray(init[gemm[0].input[2]], dtype=np.float64).reshape(-1) if len(gemm[0].input) > 2 else None
    if W.shape != (3 * D, D) or Wo.shape != (D, D):
        return refuse(f"projection shapes {W.shape} and {Wo.shape}")
    b = None if b_in is None else np.asarray(init[b_in], dtype=np.float64).reshape(-1)
    q, k, v = (ir.Linear(W[i * D:(i + 1) * D].copy(), None if b is None else b[i * D:(i + 1) * D].copy())
               for i in range(3))
    x = np.random.default_rng(0).standard_normal((2, T, D))
    try:
        y = run_ops(members, {ext[0]: x}, init, consts)[outs[0]]
    except (KeyError, ValueError, IndexError, TypeError) as exc:
        return refuse(f"the attention's ops cannot be evaluated ({type(exc).__name__})")
    from kernels.network._state import point

    for h in [h for h in range(1, D + 1) if D % h == 0]:
        layer = ir.Attention(h, q, k, v, ir.Linear(np.ascontiguousarray(Wo), bo))
        mid = layer.forward((point(x),), ir.ForwardContext()).mid
        if np.shape(y) == mid.shape and np.all(np.abs(y - mid) <= 1e-9 * (1 + np.abs(mid))):
            return layer, ext[0], outs[0]
    return refuse("its ONNX ops do not compute softmax(Q K^T / sqrt(d_h)) V for any head count")


def sdpa_steps(last: Any, producer: dict[str, Any], nodes: list[Any], init: dict[str, Any], consts: dict[str, Any],
          alias: dict[str, str], made: dict[str, Any], shapes: dict[str, tuple[int, ...]]) -> list[Any] | None:
    """``F.scaled_dot_product_attention(q, k, v)`` as torch's exporter writes it (``MatMul(Softmax(MatMul(q c,
    k^T c)), v)``, ``c = sqrt(1/sqrt(d))`` from shape ops): the IR steps ``[(out, layer, inputs, name), ...]`` (a
    Permute of ``k`` to ``(..., S, d)`` and a :class:`kernels.network.ScaledDotProductAttention`), or ``None`` when
    the pattern is not there or a float64 evaluation of the ONNX ops on random ``q, k, v`` disagrees with the IR's
    (to 1e-9 relative)."""
    def real(a: str) -> bool:  # an IR tensor (not a stand-in for an untranslated op)
        return a in alias and a in made and not isinstance(made[a].layer, ir.Unsupported) or a in alias and \
            alias[a] == "input"

    sm = producer[last.input[0]]
    mm = producer.get(sm.input[0])
    if mm is None or mm.op_type != "MatMul" or int(attrs(sm).get("axis", -1)) not in (-1,) or not real(last.input[1]):
        return None

    def through(a: str) -> str:  # a Mul by a scale computed from shapes
        m = producer.get(a)
        return m.input[0] if m is not None and m.op_type == "Mul" and not real(a) else a

    qn, kt = through(mm.input[0]), through(mm.input[1])
    tr = producer.get(kt)
    if tr is not None and tr.op_type == "Transpose" and not real(kt):
        kn, perm = tr.input[0], [int(p) for p in attrs(tr)["perm"]]
    else:
        kn, perm = kt, None
    vn = last.input[1]
    if not (real(qn) and real(kn)) or any(alias[a] not in shapes for a in (qn, kn, vn)):
        return None
    ks = shapes[alias[kn]]
    full = list(range(len(ks) + 1)) if perm is None else perm
    if full[0] != 0 or len(full) != len(ks) + 1:
        return None
    full = full[:-2] + [full[-1], full[-2]]  # k = (k^T) with its last two axes swapped
    members, todo, seen = [], [last.output[0]], set()
    while todo:
        a = todo.pop()
        if a in seen or a in init or real(a) or (a in consts and not isinstance(consts[a], list)) or not a:
            continue
        seen.add(a)
        m = producer.get(a)
        if m is None:
            return None
        members.append(m)
        todo += list(m.input)
    order = {id(m): i for i, m in enumerate(nodes)}
    members = sorted({id(m): m for m in members}.values(), key=lambda m: order[id(m)])
    if {m.op_type for m in members} - _ATTN_OPS:
        return None
    rng = np.random.default_rng(0)
    env = {a: rng.standard_normal((2, *shapes[alias[a]])) for a in {qn, kn, vn}}
    try:
        y = run_ops(members, dict(env), init, consts)[last.output[0]]
    except (KeyError, ValueError, IndexError, TypeError):
        return None
    from kernels.network._state import point

    kname = f"{last.name or last.output[0]}_k"
    permute = ir.Permute(tuple(d - 1 for d in full[1:]))
    k = point(np.transpose(env[kn], full))
    layer = ir.ScaledDotProductAttention()
    mid = layer.forward((point(env[qn]), k, point(env[vn])), None).mid
    if np.shape(y) != mid.shape or not np.all(np.abs(y - mid) <= 1e-9 * (1 + np.abs(mid))):
        return None
    return [(kname + "_in", permute, (alias[kn],), kname),
            (last.output[0], layer, (alias[qn], "", alias[vn]), last.name or last.output[0])]


def run_ops(members: list[Any], env: dict[str, Any], init: dict[str, Any], consts: dict[str, Any]) -> dict[str, Any]:
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
        op, at = m.op_type, attrs(m)
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
