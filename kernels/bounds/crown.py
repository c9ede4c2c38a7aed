"""CROWN: backward propagation of linear bounds through the IR graph (Zhang et al., NeurIPS 2018), rounded outward.

For a node ``s`` and coefficients ``C`` the pass proves ``C z_s >= A x + c`` for every input ``x`` of the set and
every real value of the exact network, with ``A`` a float array and ``c`` a rigorous lower bound; the set's minimum
of ``A x`` (:meth:`kernels.bounds.domain.InputSet.linear_lower`) then bounds ``C z_s`` from below. Going backward
node by node (reverse topological order), each step replaces ``L z_out`` by ``L_in z_in + c_step`` with an
inequality proven for every real ``z_in`` inside the node's box ``|z_in| <= zmax``:

* affine layers: :meth:`kernels.bounds.operators.Operator.back` (products and sums with Higham's a-priori term);
* activations: the relaxations of :mod:`kernels.bounds.relax` (``L+`` takes the lower line, ``L-`` the upper);
  the new coefficient ``L+ ls + L- us`` is one float product per entry (error ``2^-52 |.| + eta``, times ``zmax``);
  ``alpha`` (alpha-CROWN) gives the lower slopes of relu/leaky_relu per node, shared by the rows
  ``(batch, *shape)`` or one per row ``(batch, rows, *shape)``, clipped to ``[a, 1]`` where every slope is sound;
* max pooling (DeepPoly-style): ``z_o >= y_j*`` (``j*`` the window's largest lower end) and ``z_o <= y_j*`` where
  ``l_j* >= u_i`` for the window's other inputs, else ``z_o <= max_i u_i``; the selections are exact;
* data movement (``Flatten``, ``Reshape``, ``Permute``, ...): the inverse movement (exact); ``Add``: ``L`` to each
  input; ``Concat``: ``L`` split (exact);
* two coefficients meeting at a node (a residual) are added in floats: error ``2^-52 |sum|`` times ``zmax``.

Any other layer (LayerNorm, GroupNorm, GELU, ...) is refused by name; IBP (:mod:`kernels.bounds.ibp`) covers them.
Intermediate bounds (CROWN proper): the input of every activation and max pooling is bounded by its own backward
pass (rows ``+e_i`` and ``-e_i`` for the neurons IBP leaves unstable), intersected with the IBP box.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from boundcert.errors import InvalidInput
from kernels._rounding import ETA, gamma, vup
from kernels.bounds._arith import REL_ONE, absdot_up, add_down, dot_lower, flat
from kernels.bounds.domain import InputSet
from kernels.bounds.operators import is_affine, operator_of, window_incidence
from kernels.bounds.relax import relax_activation
from kernels.network.activation import Activation
from kernels.network.affine import Conv, Linear
from kernels.network.elementwise import BatchNorm, Scale
from kernels.network.graph import Graph, Node
from kernels.network._state import nonneg_sum_up
from kernels.network.merge import Add, Concat
from kernels.network.pool import AdaptivePool, Pool

__all__ = ["Boxes", "backward", "refine_bounds", "needs_bounds", "maxpool_selection", "movement_index"]

Boxes = dict  # node name -> (lo, hi) rigorous per-sample boxes, (batch, *shape); "input" included


def _zmax(boxes: Boxes, name: str) -> np.ndarray:
    lo, hi = boxes[name]
    return np.maximum(np.abs(lo), np.abs(hi))


def needs_bounds(node: Node) -> bool:
    """True when the node's relaxation reads its input's bounds (activations other than identity, max pooling)."""
    lay = node.layer
    if isinstance(lay, Activation):
        return lay.kind != "identity"
    return isinstance(lay, (Pool, AdaptivePool)) and lay.kind == "max"


def movement_index(layer: Any, in_shape: tuple[int, ...], cache: dict) -> np.ndarray | None:
    """For a data-movement layer: the input index at each output position (``None``: the identity order)."""
    key = ("move", id(layer), in_shape)
    if key not in cache:
        D = int(np.prod(in_shape))
        idx = layer.move(np.arange(D, dtype=np.float64).reshape((1,) + in_shape)).reshape(-1).astype(np.int64)
        cache[key] = None if np.array_equal(idx, np.arange(D)) else idx
    return cache[key]


def _movement_back(layer: Any, L: np.ndarray, in_shape: tuple[int, ...], cache: dict) -> np.ndarray:
    idx = movement_index(layer, in_shape, cache)
    b, S = L.shape[:2]
    Lf = flat(L, 2)
    if idx is None:
        return Lf.reshape((b, S) + in_shape)
    out = np.empty_like(Lf)
    out[:, :, idx] = Lf
    return out.reshape((b, S) + in_shape)


def _activation_back(node: Node, L: np.ndarray, box: tuple[np.ndarray, np.ndarray],
                     alpha: dict | None) -> tuple[np.ndarray, np.ndarray]:
    l, u = box
    al = None if alpha is None else alpha.get(node.name)
    per_row = al is not None and np.ndim(al) == L.ndim
    ls, lb, us, ub = relax_activation(node.layer, l, u, None if per_row else al)
    b, S = L.shape[:2]
    if per_row:  # alpha-CROWN: one lower slope per row, clipped to [a, 1] (any such slope is sound)
        a = 0.0 if node.layer.kind == "relu" else float(node.layer.slope)
        unstable = ((l < 0) & (u > 0))[:, None]
        ls_rows = np.where(unstable, np.clip(np.asarray(al, dtype=np.float64), a, 1.0), ls[:, None])
    else:
        ls_rows = ls[:, None]
    Lf = flat(L, 2)
    with np.errstate(over="ignore", invalid="ignore"):
        pos = L >= 0
        Lin = L * np.where(pos, ls_rows, us[:, None])  # L+ ls + L- us: one rounding per entry
        zf = flat(np.maximum(np.abs(l), np.abs(u)), 1)
        eta_term = vup(ETA * nonneg_sum_up(vup(zf.sum(axis=1)), max(zf.shape[1], 1)))
        err = vup(absdot_up(flat(Lin, 2), vup(REL_ONE * zf)) + eta_term[:, None])
        c = np.zeros((b, S))
        posf = flat(pos, 2)
        for off, keep in ((flat(lb, 1), posf), (flat(ub, 1), ~posf)):
            cols = np.nonzero(np.any(off != 0, axis=0))[0]  # the columns with an offset (unstable neurons)
            if cols.size:
                part = np.where(keep[:, :, cols], Lf[:, :, cols], 0.0)
                c = add_down(c, dot_lower(part, off[:, cols]))
        c = add_down(c, -np.where(np.isnan(err), np.inf, err))
    return Lin, c


def maxpool_selection(layer: Any, box: tuple[np.ndarray, np.ndarray], in_shape: tuple[int, ...],
                      cache: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(jstar, dominant, umax)`` per (sample, output) of a max pooling on the input box (module docstring):
    the window's input with the largest lower end, whether it dominates the others, and the window's largest upper
    end."""
    idx = window_incidence(layer, in_shape, cache)  # (out, k)
    l, u = (flat(a, 1) for a in box)
    b = l.shape[0]
    valid = idx >= 0
    safe = np.where(valid, idx, 0)
    lw = np.where(valid[None], l[:, safe], -np.inf)  # (b, out, k)
    uw = np.where(valid[None], u[:, safe], -np.inf)
    pos = np.argmax(lw, axis=2)
    jstar = np.take_along_axis(np.broadcast_to(safe[None], (b,) + safe.shape), pos[:, :, None], axis=2)[:, :, 0]
    lj = np.take_along_axis(lw, pos[:, :, None], axis=2)[:, :, 0]
    others = uw.copy()
    np.put_along_axis(others, pos[:, :, None], -np.inf, axis=2)
    return jstar, lj >= others.max(axis=2), uw.max(axis=2)


def _maxpool_back(node: Node, L: np.ndarray, box: tuple[np.ndarray, np.ndarray], in_shape: tuple[int, ...],
                  cache: dict) -> tuple[np.ndarray, np.ndarray]:
    jstar, dominant, umax = maxpool_selection(node.layer, box, in_shape, cache)
    l, u = (flat(a, 1) for a in box)
    b, S = L.shape[:2]
    Lf = flat(L, 2)
    Lp, Ln = np.maximum(Lf, 0.0), np.minimum(Lf, 0.0)
    coef = Lp + np.where(dominant[:, None], Ln, 0.0)
    D = l.shape[1]
    Lin = np.zeros((b, S, D))
    mult = 1
    for i in range(b):
        np.add.at(Lin[i], (slice(None), jstar[i]), coef[i])
        mult = max(mult, int(np.bincount(jstar[i], minlength=D).max(initial=1)))
    rest = np.where(dominant[:, None], 0.0, Ln)
    c = dot_lower(rest, np.where(np.isfinite(umax), umax, 0.0))
    if not np.all(np.isfinite(umax)):
        c = np.where(np.any((rest != 0) & ~np.isfinite(umax)[:, None], axis=2), -np.inf, c)
    if mult > 1:  # outputs sharing one input: float sums of up to `mult` terms
        zsel = np.take_along_axis(np.maximum(np.abs(l), np.abs(u)), jstar, axis=1)
        err = vup(gamma(mult) * absdot_up(coef, zsel))
        c = add_down(c, -err)
    return Lin.reshape((b, S) + in_shape), c


def backward(graph: Graph, start: str, C: np.ndarray, boxes: Boxes, shapes: dict, cache: dict,
             alpha: dict | None = None, stop_at_first: bool = False,
             symmetric: bool = False) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Propagate ``C`` (batch, rows, *shape of ``start``) backward; returns the coefficients left at ``"input"``
    (or, with ``stop_at_first``, at the start node's inputs) and the rigorous constant (batch, rows).

    ``symmetric``: the rows are ``[C; -C]`` (2 rows per given one, the results in that order). While the pass
    runs along a chain of affine and data-movement layers the negated rows are exactly ``-L`` and are not
    propagated: only their constants are kept (:meth:`Operator.back` with ``negated``); at the first other node
    ``L`` becomes ``[L; -L]`` (exact)."""
    names = [n.name for n in graph.nodes]
    if start not in names:
        raise InvalidInput(f"node {start!r} is not in the graph")
    lam: dict[str, np.ndarray] = {start: C}
    b, S = C.shape[:2]
    const = np.zeros((b, S))
    const_neg = np.zeros((b, S)) if symmetric else None
    for node in reversed(graph.nodes[: names.index(start) + 1]):
        L = lam.pop(node.name, None)
        if L is None:
            continue
        lay = node.layer
        ins = node.inputs
        in_shape = shapes[ins[0]]
        if const_neg is not None and (len(ins) != 1 or not (is_affine(lay) or hasattr(lay, "move")) or lam):
            L = np.concatenate([L, -L], axis=1)
            const, const_neg = np.concatenate([const, const_neg], axis=1), None
        if const_neg is not None and is_affine(lay):
            op = operator_of(lay, in_shape, shapes[node.name], cache)
            Lin, c, cn = op.back(L, _zmax(boxes, ins[0]), negated=True)
            const, const_neg = add_down(const, c), add_down(const_neg, cn)
            lam[ins[0]] = Lin
            continue
        if is_affine(lay):
            op = operator_of(lay, in_shape, shapes[node.name], cache)
            Lin, c = op.back(L, _zmax(boxes, ins[0]))
            parts = [Lin]
        elif isinstance(lay, Activation):
            Lin, c = _activation_back(node, L, boxes[ins[0]], alpha)
            parts = [Lin]
        elif isinstance(lay, (Pool, AdaptivePool)) and lay.kind == "max":
            Lin, c = _maxpool_back(node, L, boxes[ins[0]], in_shape, cache)
            parts = [Lin]
        elif hasattr(lay, "move"):
            parts, c = [_movement_back(lay, L, in_shape, cache)], None
        elif isinstance(lay, Add):
            parts, c = [L] * len(ins), None
        elif isinstance(lay, Concat):
            d = lay.dim % len(shapes[node.name]) + 2
            cuts = np.cumsum([shapes[a][d - 2] for a in ins])[:-1]
            parts, c = np.split(L, cuts, axis=d), None
        else:
            raise InvalidInput(f"layer {node.name!r} ({type(lay).__name__}) has no linear relaxation in "
                               "kernels.bounds (CROWN): use method='ibp'")
        if c is not None:
            const = add_down(const, c)
        for a, Li in zip(ins, parts):
            if a in lam:  # two paths meet: one float addition per entry
                s = lam[a] + Li
                zf = flat(_zmax(boxes, a), 1)
                const = add_down(const, -absdot_up(flat(s, 2), vup(REL_ONE * zf)))
                lam[a] = s
            else:
                lam[a] = Li
        if stop_at_first:
            break
    if const_neg is not None:  # the whole pass was affine: expand at the end
        lam = {a: np.concatenate([v, -v], axis=1) for a, v in lam.items()}
        const = np.concatenate([const, const_neg], axis=1)
    return lam, const


def _ibp_is_exact(graph: Graph, name: str) -> bool:
    """True when ``name`` is one ``Linear``/``Conv`` of the input followed only by diagonal maps (BatchNorm, Scale)
    and data movement, each with one input: on an l-inf box IBP's box of such a node is ``T mid +- |T| rad``, the
    exact range of the affine map up to the error terms, so a backward pass cannot tighten it (both are proven)."""
    by_name = {n.name: n for n in graph.nodes}
    convs = 0
    while name != "input":
        node = by_name[name]
        lay = node.layer
        if len(node.inputs) != 1:
            return False
        if isinstance(lay, (Linear, Conv)):
            convs += 1
        elif not (isinstance(lay, (BatchNorm, Scale)) or hasattr(lay, "move")):
            return False
        name = node.inputs[0]
    return convs <= 1


def refine_bounds(graph: Graph, boxes: Boxes, shapes: dict, x0: np.ndarray, inputs: InputSet, cache: dict,
                  alpha: dict | None = None, max_rows: int = 4096) -> Boxes:
    """CROWN intermediate bounds: every node read by an activation or max pooling, in topological order, bounded
    by its own backward pass and intersected with its current box (both are proven). Each sample's rows are its own
    open neurons (``l < 0 < u`` or an infinite end), padded with zero rows to the batch's largest count; a node that
    is one affine map of an l-inf box (:func:`_ibp_is_exact`) keeps its IBP box."""
    targets: list[str] = []
    for n in graph.nodes:
        t = n.inputs[0]
        if needs_bounds(n) and t != "input" and t not in targets and not (
                inputs.norm == "linf" and _ibp_is_exact(graph, t)):
            targets.append(t)
    b = x0.shape[0]
    for t in targets:
        lo, hi = boxes[t]
        lf, hf = flat(lo, 1), flat(hi, 1)
        open_ = ((lf < 0) & (hf > 0)) | ~np.isfinite(lf) | ~np.isfinite(hf)
        counts = open_.sum(axis=1)
        kmax = int(counts.max(initial=0))
        if kmax == 0:
            continue
        # each sample's own open neurons first (rows past its count are padding: zero rows, results dropped)
        order = np.argsort(~open_, axis=1, kind="stable")[:, :kmax]
        D = lf.shape[1]
        new_lo, new_hi = lf.copy(), hf.copy()
        step = max(1, max_rows // 2)
        for s in range(0, kmax, step):
            sel = order[:, s:s + step]  # (b, k)
            k = sel.shape[1]
            valid = (s + np.arange(k))[None, :] < counts[:, None]
            C = np.zeros((b, k, D))
            bi, ri = np.nonzero(valid)
            C[bi, ri, sel[bi, ri]] = 1.0  # rows +e_i; symmetric: then -e_i
            lam, const = backward(graph, t, C.reshape((b, k) + shapes[t]), boxes, shapes, cache, alpha,
                                  symmetric=True)
            A = lam.get("input", np.zeros((b, 2 * k) + shapes["input"]))
            low = inputs.linear_lower(A, const, x0)
            cols = sel[bi, ri]
            new_lo[bi, cols] = np.maximum(new_lo[bi, cols], low[bi, ri])
            new_hi[bi, cols] = np.minimum(new_hi[bi, cols], -low[bi, k + ri])
        boxes[t] = (new_lo.reshape(lo.shape), new_hi.reshape(hi.shape))
    return boxes
