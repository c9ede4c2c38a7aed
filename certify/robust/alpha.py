"""alpha-CROWN's slope search (Xu et al., ICLR 2021): the lower slopes of the unstable relu/leaky_relu neurons,
one per specification row, optimised by projected Adam on CROWN's final lower bound.

This is a *search*: it runs the backward pass of :mod:`kernels.bounds.crown` in plain float64 torch (autograd, no
error terms) on the intermediate boxes the kernel proved, and returns slopes. Nothing it computes is trusted: the
kernel evaluates the bound again with these slopes (clipped to ``[a, 1]``, where every slope gives a sound
relaxation) with its outward rounding (:func:`kernels.bounds.margin_bounds`, ``method="alpha-crown"``).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

__all__ = ["optimise_slopes"]


def _conv_matrix(op, torch) -> Any:
    """``T^T`` (D_in, D_out) of a zero-padded convolution as a torch sparse matrix, from the convolution of the unit
    vectors (a search tool: autograd through ``torch.sparse.mm`` is fast where ``conv_transpose2d``'s is not)."""
    _, st, pd, dl = op.M._geom()
    hw = lambda s: (s[0], 1, s[1]) if len(s) == 2 else s  # noqa: E731
    D = int(np.prod(op.in_shape))
    rows, cols, vals = [], [], []
    for s0 in range(0, D, 1024):
        k = min(1024, D - s0)
        e = torch.zeros((k, D), dtype=torch.float64)
        e[torch.arange(k), torch.arange(s0, s0 + k)] = 1.0
        out = torch.nn.functional.conv2d(e.reshape((k,) + hw(op.in_shape)), op.dense, None, st, pd, dl,
                                         op.M.groups).reshape(k, -1)
        r, c = torch.nonzero(out, as_tuple=True)
        rows.append(r + s0)
        cols.append(c)
        vals.append(out[r, c])
    idx = torch.stack([torch.cat(rows), torch.cat(cols)])
    return torch.sparse_coo_tensor(idx, torch.cat(vals), (D, int(np.prod(op.out_shape))), dtype=torch.float64,
                                   check_invariants=False).coalesce()


def _sparse_matrix(op, torch) -> Any:
    """``M^T`` of a ``"sparse"`` operator as a torch sparse matrix."""
    coo = op.M.T.tocoo()
    return torch.sparse_coo_tensor(np.vstack([coo.row, coo.col]), coo.data, coo.shape, dtype=torch.float64,
                                   check_invariants=False).coalesce()


def _bound(graph, C, boxes, shapes, cache, x0, inputs, params, torch, memo: dict) -> Any:
    from kernels.bounds.crown import maxpool_selection, movement_index
    from kernels.bounds.operators import is_affine, operator_of
    from kernels.bounds.relax import relax_activation
    from kernels.network import Activation, Add, AdaptivePool, Concat, Pool

    T = lambda a: torch.as_tensor(np.ascontiguousarray(a), dtype=torch.float64)  # noqa: E731
    b, S = C.shape[:2]
    lam = {graph.nodes[-1].name: T(C)}
    const = torch.zeros((b, S), dtype=torch.float64)
    for node in reversed(graph.nodes):
        L = lam.pop(node.name, None)
        if L is None:
            continue
        lay, ins = node.layer, node.inputs
        in_shape = shapes[ins[0]]
        if is_affine(lay):
            op = operator_of(lay, in_shape, shapes[node.name], cache)
            if op.kind == "dense":
                Lin = L @ T(op.M)
            elif op.kind == "diag":
                Lin = L * T(op.M)
            else:
                key = ("torch", id(op))
                if key not in cache:
                    cache[key] = _conv_matrix(op, torch) if op.kind == "conv" else _sparse_matrix(op, torch)
                Lf = L.reshape(b * S, -1)
                Lin = torch.sparse.mm(cache[key], Lf.T).T.reshape((b, S) + in_shape)
            if op.bias_lo is not None:
                mid = 0.5 * (np.broadcast_to(op.bias_lo, shapes[node.name]) + np.broadcast_to(op.bias_hi,
                                                                                               shapes[node.name]))
                const = const + (L * T(mid)).reshape(b, S, -1).sum(-1)
            parts = [Lin]
        elif isinstance(lay, Activation):
            key = ("relax", node.name)
            if key not in memo:  # the same boxes at every step of the search
                l, u = boxes[ins[0]]
                ls, lb, us, ub = relax_activation(lay, l, u)
                memo[key] = (T(((l < 0) & (u > 0))[:, None].astype(np.float64)), T(ls)[:, None], T(lb)[:, None],
                             T(us)[:, None], T(np.where(np.isfinite(ub), ub, 0.0))[:, None])
            unstable, ls_t, lb_t, us_t, ub_t = memo[key]
            Lp, Ln = L.clamp(min=0), L.clamp(max=0)
            if node.name in params:
                ls_t = unstable * params[node.name] + (1 - unstable) * ls_t
            parts = [Lp * ls_t + Ln * us_t]
            const = const + (Lp * lb_t + Ln * ub_t).reshape(b, S, -1).sum(-1)
        elif isinstance(lay, (Pool, AdaptivePool)) and lay.kind == "max":
            jstar, dominant, umax = maxpool_selection(lay, boxes[ins[0]], in_shape, cache)
            Lf = L.reshape(b, S, -1)
            Lp, Ln = Lf.clamp(min=0), Lf.clamp(max=0)
            dom = T(dominant.astype(np.float64))[:, None]
            coef = Lp + dom * Ln
            D = int(np.prod(in_shape))
            idx = torch.as_tensor(jstar)[:, None, :].expand(b, S, -1)
            parts = [torch.zeros((b, S, D), dtype=torch.float64).scatter_add(2, idx, coef).reshape((b, S) + in_shape)]
            const = const + ((1 - dom) * Ln * T(np.where(np.isfinite(umax), umax, 0.0))[:, None]).sum(-1)
        elif hasattr(lay, "move"):
            idx = movement_index(lay, in_shape, cache)
            Lf = L.reshape(b, S, -1)
            if idx is not None:
                out = torch.zeros_like(Lf)
                out[:, :, torch.as_tensor(idx)] = Lf
                Lf = out
            parts = [Lf.reshape((b, S) + in_shape)]
        elif isinstance(lay, Add):
            parts = [L] * len(ins)
        elif isinstance(lay, Concat):
            d = lay.dim % len(shapes[node.name]) + 2
            parts = list(torch.split(L, [shapes[a][d - 2] for a in ins], dim=d))
        else:  # the kernel refuses it by name before any search
            raise AssertionError(type(lay).__name__)
        for a, Li in zip(ins, parts):
            lam[a] = lam[a] + Li if a in lam else Li
    A = lam["input"].reshape(b, S, -1)
    lo, hi = (T(v.reshape(b, -1))[:, None] for v in inputs.box(x0))
    bound = (A.clamp(min=0) * lo + A.clamp(max=0) * hi).sum(-1)
    if inputs.norm == "l2":
        ball = (A * T(x0.reshape(b, -1))[:, None]).sum(-1) - inputs.eps * A.norm(dim=-1)
        bound = torch.maximum(bound, ball)
    return bound + const


def optimise_slopes(steps: int = 20, lr: float = 0.3) -> Callable[..., dict]:
    """The ``slopes`` callback of :func:`kernels.bounds.margin_bounds` for ``method="alpha-crown"``: ``steps``
    projected Adam steps from CROWN's adaptive slopes; the best slopes seen (by the summed bound) are returned."""

    def slopes(graph, C, boxes, shapes, cache, x0, inputs) -> dict:
        import torch

        from kernels.bounds.relax import default_alpha
        from kernels.network import Activation

        b, S = C.shape[:2]
        params, lows = {}, {}
        for n in graph.nodes:
            lay = n.layer
            if isinstance(lay, Activation) and lay.kind in ("relu", "leaky_relu"):
                l, u = boxes[n.inputs[0]]
                if np.any((l < 0) & (u > 0)):
                    a0 = np.broadcast_to(default_alpha(lay, l, u)[:, None], (b, S) + l.shape[1:]).copy()
                    params[n.name] = torch.tensor(a0, dtype=torch.float64, requires_grad=True)
                    lows[n.name] = 0.0 if lay.kind == "relu" else float(lay.slope)
        if not params or steps < 1:
            return {}
        opt = torch.optim.Adam(list(params.values()), lr=lr)
        best, best_val, memo = None, -np.inf, {}
        with torch.enable_grad():
            for _ in range(steps):
                bound = _bound(graph, C, boxes, shapes, cache, x0, inputs, params, torch, memo)
                val = float(bound.detach().sum())
                if val > best_val:
                    best_val, best = val, {k: p.detach().numpy().copy() for k, p in params.items()}
                opt.zero_grad()
                (-bound.sum()).backward()
                opt.step()
                with torch.no_grad():
                    for k, p in params.items():
                        p.clamp_(lows[k], 1.0)
        return best or {}

    return slopes
