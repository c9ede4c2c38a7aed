"""Script-local helpers of the reproductions: data, small MLPs and their training, norms, rank correlations.

The results helpers (argument parsing, rows, certificate entries, figures, the results file) are
:mod:`certify.repro.results`. Not a reproduction (the leading underscore keeps ``certify repro`` from listing it).
"""

from __future__ import annotations

import os
from typing import Any, Sequence

import numpy as np


def setup_torch() -> Any:
    import torch

    from certify.certificate import strict_float_torch

    torch.set_num_threads(int(os.environ.get("BOUNDCERT_THREADS", "2")))
    strict_float_torch()
    return torch


# ---------------------------------------------------------------- data and models
def builtin(name: str, n_train: int | None = None, seed: int = 0):
    """A built-in data set (certify.load_builtin), float32 x flattened, int64 y; train split truncated."""
    from certify import load_builtin

    tr, te = load_builtin(name, "train"), load_builtin(name, "test")
    xtr, ytr = np.asarray(tr.x, np.float32).reshape(len(tr.y), -1), np.asarray(tr.y, np.int64)
    xte, yte = np.asarray(te.x, np.float32).reshape(len(te.y), -1), np.asarray(te.y, np.int64)
    if n_train is not None:
        idx = np.random.default_rng(seed).permutation(len(ytr))[:n_train]
        xtr, ytr = xtr[idx], ytr[idx]
    return xtr, ytr, xte, yte


def mlp(d_in: int, width: int, depth: int, d_out: int, seed: int, bias: bool = True):
    torch = setup_torch()
    torch.manual_seed(seed)
    layers: list = []
    d = d_in
    for _ in range(depth - 1):
        layers += [torch.nn.Linear(d, width, bias=bias), torch.nn.ReLU()]
        d = width
    layers.append(torch.nn.Linear(d, d_out, bias=bias))
    return torch.nn.Sequential(*layers)


def accuracy(model, x, y) -> float:
    torch = setup_torch()
    with torch.no_grad():
        return float((model(torch.as_tensor(x)).argmax(1).numpy() == y).mean())


def linears(model) -> list:
    import torch

    return [m for m in model.modules() if isinstance(m, torch.nn.Linear)]


def weights(model) -> list[np.ndarray]:
    return [m.weight.detach().numpy().astype(np.float64) for m in linears(model)]


def dense_layers(model) -> list:
    """The model as kernels layers (DenseLayer + ReLU)."""
    from kernels import Activation, DenseLayer

    out: list = []
    mods = linears(model)
    for i, m in enumerate(mods):
        b = None if m.bias is None else m.bias.detach().numpy()
        out.append(DenseLayer(m.weight.detach().numpy(), b))
        if i < len(mods) - 1:
            out.append(Activation("relu"))
    return out


# ---------------------------------------------------------------- rank correlations (Jiang et al. 2020)
def kendall_tau(a: Sequence[float], b: Sequence[float]) -> float:
    from scipy.stats import kendalltau

    t = kendalltau(a, b).statistic
    return float(t) if np.isfinite(t) else 0.0


def granulated_kendall(measure: Sequence[float], gap: Sequence[float], grid: Sequence[tuple]) -> tuple[float, list[float]]:
    """Jiang et al. 2020 eq. (4): for each hyperparameter axis i, the mean over the other axes' settings of the
    Kendall tau across that axis; returns (mean over axes, per-axis values)."""
    grid = [tuple(g) for g in grid]
    n_axes = len(grid[0])
    per_axis = []
    for i in range(n_axes):
        groups: dict[tuple, list[int]] = {}
        for j, g in enumerate(grid):
            groups.setdefault(g[:i] + g[i + 1:], []).append(j)
        taus = [kendall_tau([measure[j] for j in idx], [gap[j] for j in idx])
                for idx in groups.values() if len(idx) > 1]
        per_axis.append(float(np.mean(taus)) if taus else 0.0)
    return float(np.mean(per_axis)), per_axis


def train(model, x, y, *, epochs: int, lr: float = 1e-3, batch: int = 100, seed: int = 0, opt: str = "adam",
          stop_at: float | None = 1.0, stop_loss: float = float("inf"), every: int = 1, on_epoch=None) -> list[dict]:
    """Minibatch training with cross-entropy; stops once train accuracy reaches ``stop_at``.

    Returns the history (epoch, loss, train accuracy, plus what ``on_epoch(model, epoch)`` returns)."""
    torch = setup_torch()
    g = torch.Generator().manual_seed(seed)
    X, Y = torch.as_tensor(x), torch.as_tensor(y)
    o = (torch.optim.Adam(model.parameters(), lr=lr) if opt == "adam"
         else torch.optim.SGD(model.parameters(), lr=lr, momentum=0.0))
    hist = []
    for ep in range(1, epochs + 1):
        perm = torch.randperm(len(Y), generator=g)
        for i in range(0, len(Y), batch):
            idx = perm[i:i + batch]
            o.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(X[idx]), Y[idx])
            loss.backward()
            o.step()
        if ep % every == 0 or ep == epochs:
            with torch.no_grad():
                out = model(X)
                h = {"epoch": ep, "loss": float(torch.nn.functional.cross_entropy(out, Y)),
                     "train_acc": float((out.argmax(1) == Y).float().mean())}
            if on_epoch is not None:
                h.update(on_epoch(model, ep))
            hist.append(h)
            if stop_at is not None and h["train_acc"] >= stop_at and h["loss"] <= stop_loss:
                break
    return hist


def spectral_complexity(model, certified: bool = True) -> dict[str, Any]:
    """Bartlett et al. 2017 spectral complexity with reference matrices M_i = 0 and rho_i = 1 (ReLU):
    ``R = prod ||A_i||_2 * (sum (||A_i^T||_{2,1} / ||A_i||_2)^{2/3})^{3/2}``.

    Certified: an upper enclosure end from kernels.spectral_norm / norm_21 enclosures and mpmath interval
    arithmetic (``hi``), with ``lo``; otherwise float estimates."""
    import mpmath

    import kernels

    ws = weights(model)
    if not certified:
        s = [kernels.spectral_norm_estimate(w) for w in ws]
        n21 = [float(np.linalg.norm(w, axis=1).sum()) for w in ws]
        r = float(np.prod(s) * sum((a / b) ** (2 / 3) for a, b in zip(n21, s)) ** 1.5)
        return {"value": r, "spec": s, "n21": n21}
    iv = mpmath.iv
    spec = [kernels.spectral_norm(w, rtol=1e-4) for w in ws]
    n21 = [kernels.norm_21(w, over="rows") for w in ws]
    prod = iv.mpf(1)
    total = iv.mpf(0)
    for s, a in zip(spec, n21):
        si = iv.mpf([s.lo, s.hi])
        prod *= si
        total += (iv.mpf([a.lo, a.hi]) / si) ** (iv.mpf(2) / 3)
    r = prod * total ** (iv.mpf(3) / 2)
    return {"lo": float(mpmath.mpf(r.a)), "hi": float(mpmath.mpf(r.b)), "value": float(mpmath.mpf(r.b)),
            "spec": [(s.lo, s.hi) for s in spec], "n21": [(a.lo, a.hi) for a in n21]}


def margins(model, x, y) -> np.ndarray:
    """Float logit margins f(x)_y - max_{j != y} f(x)_j (a measurement)."""
    torch = setup_torch()
    with torch.no_grad():
        out = model(torch.as_tensor(x)).double().numpy()
    true = out[np.arange(len(y)), y]
    out[np.arange(len(y)), y] = -np.inf
    return true - out.max(1)
