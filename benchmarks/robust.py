"""Certified robust accuracy of kernels.bounds (IBP, CROWN; outward rounding) beside the Lipschitz-margin
certificate, on a digits CNN with BatchNorm and a Fashion-MNIST CNN with BatchNorm, at three radii per norm; time
per image; the same CROWN code with its rounding switched off (plain float, an estimate: the gap soundness
costs); and auto_LiRPA's CROWN on the same networks when a separate environment with it is given (``--lirpa
PYTHON``: that interpreter runs ``benchmarks/robust_lirpa_worker.py`` on the saved model, in its own process).

Lipschitz certificate: certified iff the certified margin at the point exceeds ``sqrt(2) L_2 eps`` (l2) or
``min(2 L_inf eps, sqrt(2) L_2 sqrt(n) eps)`` (l-inf), ``L`` from :func:`kernels.lipschitz_upper` (Tsuzuku et al.
2018). Every count is of samples correctly classified and certified; the radii are on [0, 1] pixels, domain [0, 1].

auto_LiRPA: its PyPI 0.3 (numpy < 2) requires torch < 1.13, which has no wheel for Python 3.11; installed with
``--no-deps`` beside torch 2.13 it fails at import (``_set_opset_version`` is gone from
``torch.onnx.symbolic_helper``), so no auto_LiRPA figure has been measured here.

Usage: PYTHONPATH=. python benchmarks/robust.py [--quick] [--n 100] [--lirpa /path/to/venv/bin/python]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("OMP_NUM_THREADS", "2")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

RADII = {"digits": {"linf": ("0.01", "0.02", "0.04"), "l2": ("0.05", "0.1", "0.2")},
         "fashion-mnist": {"linf": ("0.002", "0.005", "0.01"), "l2": ("0.02", "0.05", "0.1")}}


def digits_cnn_bn() -> nn.Module:
    """(1, 8, 8): conv 1->8 3x3 pad 1, BN, ReLU, conv 8->16 3x3 stride 2 pad 1, BN, ReLU, linear 256->10."""
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                         nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.Flatten(),
                         nn.Linear(256, 10))


def fashion_cnn_bn() -> nn.Module:
    """(1, 28, 28): conv 1->8 4x4 stride 2 pad 1, BN, ReLU, conv 8->16 4x4 stride 2 pad 1, BN, ReLU,
    linear 784->100, ReLU, linear 100->10."""
    return nn.Sequential(nn.Conv2d(1, 8, 4, stride=2, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                         nn.Conv2d(8, 16, 4, stride=2, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.Flatten(),
                         nn.Linear(784, 100), nn.ReLU(), nn.Linear(100, 10))


def _data(name: str, n_train: int | None):
    from certify.data import load_data

    tr, te = load_data(f"{name}:train"), load_data(f"{name}:test")
    shape = (1, 8, 8) if name == "digits" else (1, 28, 28)
    xtr, ytr = tr.x.reshape((-1,) + shape)[:n_train], tr.y[:n_train]
    return xtr, ytr, te.x.reshape((-1,) + shape), te.y


def _train(model: nn.Module, x, y, epochs: int, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), 3e-3)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))
    model.train()
    for _ in range(epochs):
        perm = torch.randperm(len(xt))
        for i in range(0, len(xt), 128):
            b = perm[i:i + 128]
            opt.zero_grad()
            nn.functional.cross_entropy(model(xt[b]), yt[b]).backward()
            opt.step()
    return model.eval()


@contextlib.contextmanager
def rounding_off():
    """Plain-float CROWN for the comparison only: the same code of kernels.bounds with its rounding switched off
    (``nextafter`` nudges the identity, ``gamma_n``, ``eta`` and the 2^-52 product terms 0). The IR's IBP boxes
    (its own enclosed forward pass) stay rigorous. Never used outside this benchmark: the results are estimates."""
    import kernels.bounds._arith as ar
    import kernels.bounds.crown as cr
    import kernels.bounds.domain as dm
    import kernels.bounds.operators as op
    import kernels.bounds.relax as rx

    same = lambda v, *_: v  # noqa: E731
    plain = {"vup": same, "vdown": same, "up": same, "gamma": lambda n: 0.0, "nonneg_sum_up": same, "ETA": 0.0,
             "REL_ONE": 0.0}
    saved = []
    for mod in (ar, cr, dm, op, rx):
        for name, v in plain.items():
            if hasattr(mod, name):
                saved.append((mod, name, getattr(mod, name)))
                setattr(mod, name, v)
    try:
        yield
    finally:
        for mod, name, v in saved:
            setattr(mod, name, v)


def _lipschitz_certified(graph, x, y, norm: str, eps: float) -> np.ndarray:
    import kernels
    from kernels.network.quantities import logit_margins

    l2 = kernels.lipschitz_upper(graph, norm="l2", input_shape=x.shape[1:]).upper
    li = kernels.lipschitz_upper(graph, norm="linf", input_shape=x.shape[1:]).upper
    m = logit_margins(graph, x.astype(np.float64), y, device="cpu").lo
    n = int(np.prod(x.shape[1:]))
    thr = math.sqrt(2) * l2 * eps * (1 if norm == "l2" else math.sqrt(n))
    if norm == "linf":
        thr = min(thr, 2 * li * eps)
    return m > thr * (1 + 1e-12)


def _lirpa(python: str, model: nn.Module, x, y, norm: str, eps: float) -> dict:
    worker = os.path.join(os.path.dirname(os.path.abspath(__file__)), "robust_lirpa_worker.py")
    with tempfile.TemporaryDirectory() as d:
        torch.save({"model": model, "x": torch.from_numpy(x), "y": torch.from_numpy(y)}, os.path.join(d, "in.pt"))
        out = subprocess.run([python, worker, os.path.join(d, "in.pt"), norm, repr(eps)], capture_output=True,
                             text=True, timeout=3000)
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "failed"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench(name: str, n: int, epochs: int, n_train: int | None, lirpa: str | None) -> list[dict]:
    from certify.models import load_model
    from kernels.bounds import InputSet, margin_bounds

    xtr, ytr, xte, yte = _data(name, n_train)
    model = _train(digits_cnn_bn() if name == "digits" else fashion_cnn_bn(), xtr, ytr, epochs)
    x, y = xte[:n], yte[:n].astype(np.int64)
    with torch.no_grad():
        acc = float((model(torch.from_numpy(x)).argmax(1).numpy() == y).mean())
    graph = load_model(model).network
    margin_bounds(graph, x[:1], y[:1], InputSet("linf", 0.001), "crown")  # warm-up (imports, numba)
    rows = []
    for norm, radii in RADII[name].items():
        for eps in radii:
            e = float(eps)
            row = {"net": name, "norm": norm, "eps": eps, "n": n, "clean_accuracy": acc,
                   "lipschitz": float(_lipschitz_certified(graph, x, y, norm, e).mean())}
            for method in ("ibp", "crown"):
                t0 = time.perf_counter()
                mb = margin_bounds(graph, x, y, InputSet(norm, e), method, float32=(method == "crown"))
                row[method] = float(mb.verified.mean())
                row[f"{method}_s_per_image"] = (time.perf_counter() - t0) / n
                if method == "crown" and mb.float32_lower is not None:
                    row["crown_float32"] = float((mb.float32_lower > 0).mean())
            with rounding_off():
                t0 = time.perf_counter()
                row["crown_plain_float_estimate"] = float(margin_bounds(graph, x, y, InputSet(norm, e), "crown")
                                                          .verified.mean())
                row["crown_plain_s_per_image"] = (time.perf_counter() - t0) / n
            if lirpa:
                row["auto_lirpa_crown"] = _lirpa(lirpa, model, x, y, norm, e)
            rows.append(row)
            print(json.dumps(row), flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="digits only, 30 images")
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--lirpa", default=None, help="python of a separate environment with auto_LiRPA")
    a = ap.parse_args()
    torch.set_num_threads(2)
    rows = bench("digits", 30 if a.quick else a.n, 40, None, a.lirpa)
    if not a.quick:
        rows += bench("fashion-mnist", a.n, 2, 20000, a.lirpa)
    ok = all(r["crown"] >= r["ibp"] and r["crown"] >= r["lipschitz"] for r in rows)
    gap = max(r["crown_plain_float_estimate"] - r["crown"] for r in rows)
    print(json.dumps({"crown_ge_ibp_and_lipschitz": ok, "max_gap_to_plain_float_points": 100 * gap}))


if __name__ == "__main__":
    sys.exit(main())
