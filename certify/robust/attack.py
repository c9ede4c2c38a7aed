"""PGD counterexample search (Madry et al. 2018) in float32 torch, and the exact check of what it finds.

The search is a heuristic: nothing it returns is trusted until checked. A candidate ``x'`` (float32 numbers) counts
as a counterexample only if (1) it lies in the set, checked in exact rationals (``|x'_i - x0_i| <= eps`` or
``sum (x'_i - x0_i)^2 <= eps^2`` with the decimal ``eps``, and the domain), and (2) the model evaluated by torch in
float32 on the CPU (TF32 off) predicts a class other than the label: the verdict ``attacked`` is a statement about
that float32 evaluation. Whether the exact real network also misclassifies ``x'`` is proven separately
(:func:`exact_misclassified`, the IR's enclosed forward pass at the point) and recorded.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

from certify.robust.options import RobustOptions

__all__ = ["pgd", "in_set", "exact_misclassified"]


def in_set(xp: np.ndarray, x0: np.ndarray, opts: RobustOptions) -> bool:
    """Exact (rational) membership of the float point ``xp`` in the set around ``x0``."""
    eps = Fraction(str(opts.eps))
    lo, hi = opts.domain_bounds()
    a, b = xp.astype(np.float64).ravel(), x0.astype(np.float64).ravel()
    if lo is not None and (np.any(a < lo) or np.any(a > hi)):
        return False
    d = [Fraction(float(u)) - Fraction(float(v)) for u, v in zip(a, b) if u != v]
    if opts.norm == "linf":
        return all(abs(t) <= eps for t in d)
    return sum((t * t for t in d), Fraction(0)) <= eps * eps


def pgd(model: Any, x0: np.ndarray, y: np.ndarray, opts: RobustOptions) -> list[np.ndarray | None]:
    """For each row of ``x0`` a checked counterexample (float32 array) or ``None`` (see the module)."""
    import torch

    from certify.certificate.environment import strict_float_torch

    strict_float_torch()
    eps = float(Fraction(str(opts.eps)))
    lo, hi = opts.domain_bounds()
    gen = torch.Generator().manual_seed(int(opts.attack_seed))
    x = torch.from_numpy(np.ascontiguousarray(x0, dtype=np.float32))
    yt = torch.from_numpy(np.asarray(y, dtype=np.int64))
    found: list[np.ndarray | None] = [None] * len(x)
    with torch.no_grad():
        pred = model(x).argmax(1)
    for i in np.nonzero((pred != yt).numpy())[0]:  # the centre itself is misclassified
        found[i] = x0[i].astype(np.float32)
    shape = (-1,) + (1,) * (x.ndim - 1)

    def project(z: torch.Tensor) -> torch.Tensor:
        d = z - x
        if opts.norm == "linf":
            d = d.clamp(-eps, eps)
        else:
            n = d.flatten(1).norm(dim=1).clamp_min(1e-30).view(shape)
            d = d * torch.clamp(eps / n, max=1.0)
        z = x + d
        return z if lo is None else z.clamp(lo, hi)

    step = 2.5 * eps / max(opts.attack_steps, 1)
    for _ in range(opts.attack_restarts if opts.attack_steps else 0):
        noise = torch.rand(x.shape, generator=gen, dtype=x.dtype) * 2 - 1
        if opts.norm == "l2":
            noise = noise / noise.flatten(1).norm(dim=1).clamp_min(1e-30).view(shape) * eps * 0.5
        else:
            noise = noise * eps
        z = project(x + noise)
        for _ in range(opts.attack_steps):
            z = z.detach().requires_grad_(True)
            logits = model(z)
            other = logits.clone()
            other[torch.arange(len(yt)), yt] = -torch.inf
            loss = (other.max(1).values - logits[torch.arange(len(yt)), yt]).sum()  # minus the margin
            (g,) = torch.autograd.grad(loss, z)
            with torch.no_grad():
                if opts.norm == "linf":
                    z = project(z + step * g.sign())
                else:
                    gn = g.flatten(1).norm(dim=1).clamp_min(1e-30).view(shape)
                    z = project(z + step * g / gn)
        with torch.no_grad():
            pz = model(z).argmax(1)
        for i in np.nonzero((pz != yt).numpy())[0]:
            if found[i] is None:
                cand = z[i].detach().numpy().astype(np.float32)
                if in_set(cand, x0[i], opts):
                    with torch.no_grad():  # re-evaluate the exact candidate alone, in float32
                        if int(model(torch.from_numpy(cand[None])).argmax(1)[0]) != int(y[i]):
                            found[i] = cand
    return found


def exact_misclassified(graph: Any, xp: np.ndarray, y: int) -> bool:
    """Proven: the exact real network's margin at ``xp`` is negative (the IR's enclosed forward pass)."""
    from kernels.network.quantities import logit_margins

    m = logit_margins(graph, xp[None].astype(np.float64), np.array([y]), device="cpu")
    return bool(m.hi[0] < 0)
