"""Certified robust accuracy of kernels.bounds (IBP, CROWN; outward rounding) beside the Lipschitz-margin
certificate, on a digits CNN with BatchNorm and a Fashion-MNIST CNN with BatchNorm, at three radii per norm; time
per image; the same CROWN code with its rounding switched off (plain float, an estimate: the gap soundness
costs); and auto_LiRPA's CROWN on the same networks when a separate environment with it is given (``--lirpa
PYTHON``: that interpreter runs ``benchmarks/robust_lirpa_worker.py`` on the saved model, in its own process).

Lipschitz certificate: certified iff the certified margin at the point exceeds ``sqrt(2) L_2 eps`` (l2) or
``min(2 L_inf eps, sqrt(2) L_2 sqrt(n) eps)`` (l-inf), ``L`` from :func:`kernels.lipschitz_upper` (Tsuzuku et al.
2018). Every count is of samples correctly classified and certified; the radii are on [0, 1] pixels, domain [0, 1].

auto_LiRPA (``--lirpa-python PYTHON``, a separate environment; its code is not part of this project): its PyPI 0.3
(numpy < 2) fails at import beside torch 2.13 (``_set_opset_version`` is gone from ``torch.onnx.symbolic_helper``);
its master (0.7.1) imports and runs with torch 2.13.0+cpu and numpy 2. Environment used::

    python3 -m venv /tmp/lirpa && /tmp/lirpa/bin/pip install torch==2.13.0
    # auto_LiRPA master sources in /tmp/lirpa-src (github Verified-Intelligence/auto_LiRPA)
    /tmp/lirpa/bin/pip install --no-deps -e /tmp/lirpa-src && /tmp/lirpa/bin/pip install numpy packaging appdirs \
        pyyaml tqdm graphviz

The worker runs its CROWN and alpha-CROWN (float32, its defaults) on the same saved model, images and radius,
2 torch threads as ours; time per image excludes building its BoundedModule, as ours excludes the imports.

``--convbig``: CROWN's time per image on an ERAN ConvBig-shaped network on 28x28 Fashion-MNIST (conv 32 3x3 s1 p1,
conv 32 4x4 s2 p1, conv 64 3x3 s1 p1, conv 64 4x4 s2 p1, fc 512, fc 512, fc 10, ReLU; one quick epoch), the size
on which DeepPoly (ERAN, floating-point sound) needs about 50 s per image (Singh et al. 2019); goal <= 5 s.

Measured (2026-12-04, 2 shared cores; l-inf radii on [0, 1] pixels). ``--nets digits --n 100 --no-alpha
--lirpa-python /tmp/lirpa/bin/python`` (load 5-13): CROWN certified what auto_LiRPA's CROWN certified in all 6 rows
(99/98/85% l-inf, 98/91% l2, and 5% vs its 4% at l2 0.2), time ours / its 0.24-2.95, median 1.2 (noisy).
``--nets fashion-mnist --norms linf --n 30 --no-alpha --lirpa-python ...`` (load < 1.5): the same certified
accuracy in all 3 rows (87/73/47%), ours 0.078/0.147/0.226 s/image vs its 0.028/0.029/0.019: 2.8-11.9 times its time
(it runs float32 without error terms; ours grows with the unstable neurons). Plain-float gap 0 points in all 9 rows;
float32 claim within 1 point. alpha-CROWN (digits l-inf 0.01, loaded): 98% as CROWN. ``--convbig`` (n=2, eps
0.002, load < 1.5): 8.2 s/image (goal 5 s; DeepPoly ~50 s).

Usage: PYTHONPATH=. python benchmarks/robust.py [--quick] [--n 100] [--norms linf,l2] [--nets digits,fashion-mnist]
       [--lirpa-python /tmp/lirpa/bin/python] [--lirpa-alpha] [--no-alpha] [--convbig] [--convbig-n 3]
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


def convbig() -> nn.Module:
    """ERAN's ConvBig shape on (1, 28, 28) (module docstring)."""
    return nn.Sequential(nn.Conv2d(1, 32, 3, 1, 1), nn.ReLU(), nn.Conv2d(32, 32, 4, 2, 1), nn.ReLU(),
                         nn.Conv2d(32, 64, 3, 1, 1), nn.ReLU(), nn.Conv2d(64, 64, 4, 2, 1), nn.ReLU(), nn.Flatten(),
                         nn.Linear(64 * 7 * 7, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))


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


def _lirpa(python: str, model: nn.Module, x, y, norm: str, eps: float, alpha: bool = False) -> dict:
    worker = os.path.join(os.path.dirname(os.path.abspath(__file__)), "robust_lirpa_worker.py")
    with tempfile.TemporaryDirectory() as d:
        torch.save({"model": model, "x": torch.from_numpy(x), "y": torch.from_numpy(y)}, os.path.join(d, "in.pt"))
        out = subprocess.run([python, worker, os.path.join(d, "in.pt"), norm, repr(eps)] + (["alpha"] if alpha else []),
                             capture_output=True, text=True, timeout=3000)
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "failed"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def bench(name: str, n: int, epochs: int, n_train: int | None, lirpa: str | None, norms=("linf", "l2"),
          alpha: bool = True, lirpa_alpha: bool = False) -> list[dict]:
    """One row per (norm, radius): certified accuracy (fraction of the n images) and s/image of each method."""
    from certify.models import load_model
    from certify.robust.alpha import optimise_slopes
    from kernels.bounds import InputSet, margin_bounds

    xtr, ytr, xte, yte = _data(name, n_train)
    model = _train(digits_cnn_bn() if name == "digits" else fashion_cnn_bn(), xtr, ytr, epochs)
    x, y = xte[:n], yte[:n].astype(np.int64)
    with torch.no_grad():
        acc = float((model(torch.from_numpy(x)).argmax(1).numpy() == y).mean())
    graph = load_model(model).network
    margin_bounds(graph, x[:1], y[:1], InputSet("linf", 0.001), "crown")  # warm-up (imports, numba)
    rows = []
    for norm in norms:
        for eps in RADII[name][norm]:
            e = float(eps)
            row = {"net": name, "norm": norm, "eps": eps, "n": n, "clean_accuracy": acc,
                   "lipschitz": float(_lipschitz_certified(graph, x, y, norm, e).mean())}
            methods = ("ibp", "crown", "alpha-crown") if alpha else ("ibp", "crown")
            for method in methods:
                kw = {"slopes": optimise_slopes()} if method == "alpha-crown" else {"float32": method == "crown"}
                mb, t = _timed(lambda: margin_bounds(graph, x, y, InputSet(norm, e), method, **kw))
                row[method] = float(mb.verified.mean())
                row[f"{method}_s_per_image"] = t / n
                if method == "crown" and mb.float32_lower is not None:
                    row["crown_float32"] = float((mb.float32_lower > 0).mean())
            with rounding_off():
                mb, t = _timed(lambda: margin_bounds(graph, x, y, InputSet(norm, e), "crown"))
            row["crown_plain_float_estimate"] = float(mb.verified.mean())
            row["crown_plain_s_per_image"] = t / n
            row["soundness_gap_points"] = 100 * (row["crown_plain_float_estimate"] - row["crown"])
            if lirpa:
                lr = _lirpa(lirpa, model, x, y, norm, e, lirpa_alpha)
                row["auto_lirpa"] = lr
                for m in ("crown", "alpha-crown"):
                    if m in lr and m in row:
                        row[f"{m}_minus_lirpa_points"] = 100 * (row[m] - lr[m])
                        row[f"{m}_time_ratio_ours_over_lirpa"] = row[f"{m}_s_per_image"] / lr[f"{m}_s_per_image"]
            rows.append(row)
            print(json.dumps(row), flush=True)
    return rows


def bench_convbig(n: int, lirpa: str | None, eps: float = 0.002) -> dict:
    """CROWN on the ConvBig-shaped network (module docstring): certified fraction and s/image, l-inf ``eps``."""
    from certify.models import load_model
    from kernels.bounds import InputSet, margin_bounds

    xtr, ytr, xte, yte = _data("fashion-mnist", 20000)
    model = _train(convbig(), xtr, ytr, 1)
    x, y = xte[:n], yte[:n].astype(np.int64)
    with torch.no_grad():
        acc = float((model(torch.from_numpy(x)).argmax(1).numpy() == y).mean())
    graph = load_model(model).network
    mb, t = _timed(lambda: margin_bounds(graph, x, y, InputSet("linf", eps), "crown", batch_size=1, max_rows=1024))
    row = {"net": "convbig-fashion-mnist", "norm": "linf", "eps": eps, "n": n, "clean_accuracy": acc,
           "crown": float(mb.verified.mean()), "crown_s_per_image": t / n, "deepPoly_reference_s_per_image": 50.0,
           "speedup_over_deepPoly_reference": 50.0 / (t / n)}
    if lirpa:
        row["auto_lirpa"] = _lirpa(lirpa, model, x, y, "linf", eps)
    print(json.dumps(row), flush=True)
    return row


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="digits only, 30 images, l-inf, no alpha-CROWN")
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--norms", default="linf,l2")
    ap.add_argument("--nets", default="digits,fashion-mnist")
    ap.add_argument("--lirpa-python", "--lirpa", dest="lirpa", default=None,
                    help="python of a separate environment with auto_LiRPA")
    ap.add_argument("--lirpa-alpha", action="store_true", help="also auto_LiRPA's alpha-CROWN (slow)")
    ap.add_argument("--no-alpha", action="store_true", help="skip our alpha-CROWN")
    ap.add_argument("--convbig", action="store_true", help="also time CROWN on the ConvBig-shaped network")
    ap.add_argument("--convbig-n", type=int, default=3)
    a = ap.parse_args()
    torch.set_num_threads(2)
    norms = tuple(a.norms.split(","))
    rows = []
    if a.quick:
        rows = bench("digits", 30, 40, None, a.lirpa, ("linf",), alpha=False)
    else:
        for net in a.nets.split(","):
            rows += bench(net, a.n, 40 if net == "digits" else 2, None if net == "digits" else 20000, a.lirpa, norms,
                          not a.no_alpha, a.lirpa_alpha)
    ok = all(r["crown"] >= r["ibp"] and r["crown"] >= r["lipschitz"] for r in rows)
    gap = max(r["soundness_gap_points"] for r in rows)
    summary = {"crown_ge_ibp_and_lipschitz": ok, "max_gap_to_plain_float_points": gap}
    lr = [r for r in rows if "crown_time_ratio_ours_over_lirpa" in r]
    if lr:
        summary["crown_minus_lirpa_points_min"] = min(r["crown_minus_lirpa_points"] for r in lr)
        summary["crown_time_ratio_ours_over_lirpa_median"] = float(np.median(
            [r["crown_time_ratio_ours_over_lirpa"] for r in lr]))
    if a.convbig:
        summary["convbig_crown_s_per_image"] = bench_convbig(a.convbig_n, a.lirpa)["crown_s_per_image"]
    print(json.dumps(summary))


if __name__ == "__main__":
    sys.exit(main())
