"""Shared helpers of the landscape tests: a tiny trained MLP, its data, its exact float64 Hessian, arb eigenvalues."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def tiny_data(n: int = 48, d: int = 4, classes: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)).astype(np.float32)
    y = (np.argmax(x[:, :classes], axis=1)).astype(np.int64)
    return x, y


def tiny_mlp(x: np.ndarray, y: np.ndarray, hidden: int = 6, steps: int = 200, seed: int = 0):
    import torch

    torch.manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Linear(x.shape[1], hidden), torch.nn.Tanh(),
                              torch.nn.Linear(hidden, int(y.max()) + 1))
    opt = torch.optim.Adam(net.parameters(), lr=0.05)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    for _ in range(steps):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(xt), yt).backward()
        opt.step()
    return net.eval()


def save_model(net, path: Path) -> Path:
    import warnings

    import torch

    with warnings.catch_warnings():  # TorchScript is deprecated in torch 2.13 but still a format users hand us
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.save(torch.jit.script(net), str(path))
    return path


def exact_hessian(net, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``torch.autograd.functional.hessian`` of the mean cross-entropy in float64, made exactly symmetric (upper
    triangle mirrored): the explicit matrix whose spectrum the tests compare with."""
    import torch

    from certify.landscape.params import flat_model

    fm = flat_model(net, x, y, dtype="float64")
    H = torch.autograd.functional.hessian(lambda w: fm.loss(w), fm.w).numpy()
    return np.triu(H) + np.triu(H, 1).T


def arb_eigenvalues(A: np.ndarray, prec: int = 200) -> list[tuple[float, float]]:
    """Rigorous enclosures (python-flint arb, Rump's method at ``prec`` bits) of the eigenvalues of the stored
    symmetric matrix ``A``, as ``(lower, upper)`` floats rounded outward, largest first."""
    import flint

    old = flint.ctx.prec
    flint.ctx.prec = prec
    try:
        ev = flint.arb_mat(A.tolist()).eig(algorithm="rump")
    finally:
        flint.ctx.prec = old
    out = []
    for e in ev:
        r = e.real
        lo, hi = float(r.lower()), float(r.upper())
        lo = np.nextafter(lo, -np.inf)  # float() rounds to nearest: one step outward each way
        hi = np.nextafter(hi, np.inf)
        out.append((float(lo), float(hi)))
    return sorted(out, key=lambda t: -t[0])
