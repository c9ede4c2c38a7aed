"""Shared helpers of the reproductions: argument parsing, results rows, MNIST-1D MLPs, rank correlations.

Not a reproduction (the leading underscore keeps ``certify repro`` from listing it).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from certify.certificate import atomic_write_text

RESULTS = Path(__file__).resolve().parent / "results"


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help="small variant (seconds), used by the test suite")
    p.add_argument("--out", default=str(RESULTS), help="output directory (default paper_repro/results)")
    p.add_argument("--seed", type=int, default=0)
    return p


def setup_torch() -> Any:
    import torch

    torch.set_num_threads(int(os.environ.get("BOUNDCERT_THREADS", "2")))
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    return torch


def row(name: str, paper: Any, ours: Any, tolerance: Any, within: bool, why: str = "") -> dict[str, Any]:
    """One results row; ``why`` is required (and kept) when the row is not within tolerance."""
    r = {"name": name, "paper": _plain(paper), "ours": _plain(ours), "tolerance": _plain(tolerance),
         "within": bool(within)}
    if not within:
        if not why:
            raise ValueError(f"row {name!r} is not within tolerance: say why")
        r["why"] = why
    return r


def numeric_row(name: str, paper: float, ours: float, tolerance: float, why: str = "") -> dict[str, Any]:
    within = abs(float(ours) - float(paper)) <= tolerance
    return row(name, paper, ours, tolerance, within, why if not within else "")


def direction_row(name: str, statistic: float, paper_direction: str, why: str = "") -> dict[str, Any]:
    """A qualitative claim: ``statistic`` must have the paper's sign (``"> 0"`` or ``"< 0"``)."""
    ok = statistic > 0 if paper_direction == "> 0" else statistic < 0
    return row(name, paper_direction, float(statistic), "sign", ok, why or f"the statistic has the opposite sign")


def _plain(v: Any) -> Any:
    if isinstance(v, (np.floating, np.integer)):
        v = v.item()
    if isinstance(v, float):
        if not math.isfinite(v):
            return str(v)
        return float(f"{v:.6g}")
    return v


def write(name: str, out: str | Path, *, paper: str, claim: str, scale: str, rows: list, certificates: list,
          quick: bool, started: float, fig: Any = None, extra: dict | None = None) -> Path:
    """Write ``out/name.json`` (atomically) and ``out/name.png`` (from a matplotlib figure)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    res = {"paper": paper, "claim": claim, "scale": scale, "quick": quick,
           "runtime_s": round(time.perf_counter() - started, 1),
           "command": f"certify repro {name}" + (" --quick" if quick else ""),
           "rows": rows, "certificates": certificates}
    if extra:
        res["data"] = extra
    atomic_write_text(out / f"{name}.json", json.dumps(res, indent=1, default=_plain) + "\n")
    if fig is not None:
        fig.savefig(out / f"{name}.png", dpi=90, bbox_inches="tight")
    for r in rows:
        mark = "ok " if r["within"] else "NO "
        print(f"{mark}{r['name']}: paper {r['paper']} ours {r['ours']} tol {r['tolerance']}"
              + (f"  ({r['why']})" if not r["within"] else ""), file=sys.stderr)
    return out / f"{name}.json"


def figure(ncols: int = 2, width: float = 10.0, height: float = 4.0):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, ncols, figsize=(width, height))
    return fig, np.atleast_1d(axes)


def certificate(theorem_id: str, values: dict[str, Any], sources: dict[str, str], **context: Any) -> dict[str, Any]:
    """A compact bound certificate: the theorem, each input (decimal enclosure and its source), the result."""
    import theorems
    from theorems import Interval

    t = theorems.get(theorem_id)
    r = t.evaluate(**values)
    inputs = {}
    for k, v in values.items():
        if isinstance(v, Interval):
            inputs[k] = {"lo": v.lo_str(17), "hi": v.hi_str(17)}
        elif hasattr(v, "lo") and hasattr(v, "hi"):
            inputs[k] = {"lo": repr(float(v.lo)), "hi": repr(float(v.hi))}
        else:
            inputs[k] = {"value": v if isinstance(v, (int, str)) else repr(float(v))}
        inputs[k]["source"] = sources.get(k, "user input")
    return {"theorem": t.id, "version": t.version, "kind": t.kind, "bounds": t.bounded,
            "result": {"lo": r.lo_str(17), "hi": r.hi_str(17)}, "inputs": inputs, **context}


def enclosure(name: str, enc: Any, source: str, **context: Any) -> dict[str, Any]:
    """A certified quantity (kernel enclosure) as a certificate entry."""
    return {"quantity": name, "lo": repr(float(enc.lo)), "hi": repr(float(enc.hi)), "source": source, **context}


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


def mnist1d(n_train: int | None = None, seed: int = 0):
    """MNIST-1D (built-in): float32 x (n, 40), int64 y; train split truncated to ``n_train``."""
    from certify import load_builtin

    tr, te = load_builtin("mnist1d", "train"), load_builtin("mnist1d", "test")
    xtr, ytr = np.asarray(tr.x, np.float32), np.asarray(tr.y, np.int64)
    if n_train is not None:
        idx = np.random.default_rng(seed).permutation(len(ytr))[:n_train]
        xtr, ytr = xtr[idx], ytr[idx]
    return xtr, ytr, np.asarray(te.x, np.float32), np.asarray(te.y, np.int64)


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
