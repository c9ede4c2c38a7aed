"""Top Hessian eigenvalue and trace: ours (Lanczos residual brackets, Hutchinson interval) beside PyHessian 0.1.

Same model, same batch, same float64 operator: a 64-128-10 ReLU MLP (``certify.zoo:digits_mlp``) trained for a few
Adam steps on the digits training split (1200 examples, one batch), cross-entropy loss. Both run on the CPU in
float64 (PyHessian on ``model.double()`` with ``cuda=False``; its defaults otherwise: power iteration ``maxIter=100,
tol=1e-3``; Hutchinson ``maxIter=100, tol=1e-3``). Each is repeated 10 times with different random start vectors
(``torch.manual_seed(r)`` for PyHessian, ``seed=r`` for ours) and timed per run.

Reported: our bracket of lambda_1 (and whether PyHessian's estimate lies in it), the spread (max - min) of the 10
top-eigenvalue answers of each, the mean time per run and the ratio, the trace interval beside PyHessian's trace
estimate. PyHessian is installed for this benchmark only: ``.venv/bin/pip install --no-deps pyhessian`` (its wheel
declares no torch pin we need; ``--no-deps`` keeps the installed torch).

Usage: PYTHONPATH=. python benchmarks/hessian.py [--runs 10] [--steps 100] [--lanczos-steps 40] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from certify.data import load_data  # noqa: E402
from certify.landscape import hessian_operator  # noqa: E402
from certify.models.zoo import digits_mlp  # noqa: E402
from kernels import hutchinson_trace, lanczos_brackets  # noqa: E402


def trained(steps: int):
    ds = load_data("digits:train")
    torch.manual_seed(0)
    net = digits_mlp()
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    x, y = torch.from_numpy(ds.x.reshape(ds.n, -1)), torch.from_numpy(ds.y)
    for _ in range(steps):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
    return net.eval(), ds.x.reshape(ds.n, -1), ds.y


def ours(net, x, y, runs: int, steps: int) -> dict:
    op = hessian_operator(net, x, y, batch=len(y))
    tops, times, brackets = [], [], []
    for r in range(runs):
        t0 = time.perf_counter()
        b = lanczos_brackets(op.matvec, op.dim, 1, n_iter=steps, seed=r)
        times.append(time.perf_counter() - t0)
        tops.append(b.ritz_values[0])
        brackets.append((b.eigenvalues[0].lo, b.eigenvalues[0].hi))
    t0 = time.perf_counter()
    tr = hutchinson_trace(op.matvec, op.dim, 100, delta=0.05, seed=0)
    return {"top": tops, "brackets": brackets, "times": times, "trace": tr, "trace_time": time.perf_counter() - t0,
            "dim": op.dim}


def pyhessian(net, x, y, runs: int) -> dict:
    from pyhessian import hessian

    model = __import__("copy").deepcopy(net).double()
    crit = torch.nn.CrossEntropyLoss()
    data = (torch.from_numpy(x).double(), torch.from_numpy(y))
    tops, times = [], []
    for r in range(runs):
        torch.manual_seed(r)
        t0 = time.perf_counter()
        h = hessian(model, crit, data=data, cuda=False)
        ev, _ = h.eigenvalues(maxIter=100, tol=1e-3, top_n=1)
        times.append(time.perf_counter() - t0)
        tops.append(float(ev[0]))
    torch.manual_seed(0)
    t0 = time.perf_counter()
    tr = float(np.mean(hessian(model, crit, data=data, cuda=False).trace(maxIter=100, tol=1e-3)))
    return {"top": tops, "times": times, "trace": tr, "trace_time": time.perf_counter() - t0}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--lanczos-steps", type=int, default=40)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(1)
    net, x, y = trained(a.steps)
    o = ours(net, x, y, a.runs, a.lanczos_steps)
    p = pyhessian(net, x, y, a.runs)
    lo, hi = o["brackets"][0]
    rows = {
        "parameters": o["dim"], "lanczos_steps": a.lanczos_steps, "examples": int(len(y)), "runs": a.runs,
        "ours_lambda_1_bracket": [repr(lo), repr(hi)],
        "ours_brackets_all_runs_intersect": max(b[0] for b in o["brackets"]) <= min(b[1] for b in o["brackets"]),
        "ours_spread": max(o["top"]) - min(o["top"]),
        "pyhessian_top": p["top"],
        "pyhessian_spread": max(p["top"]) - min(p["top"]),
        "pyhessian_runs_inside_our_bracket": sum(lo <= v <= hi for v in p["top"]),
        "pyhessian_max_relative_gap_to_bracket": max(max(lo - v, v - hi, 0.0) / abs(hi) for v in p["top"]),
        "ours_mean_seconds": statistics.mean(o["times"]), "pyhessian_mean_seconds": statistics.mean(p["times"]),
        "time_ratio_ours_over_pyhessian": statistics.mean(o["times"]) / statistics.mean(p["times"]),
        "ours_trace_interval_95": [repr(o["trace"].lo), repr(o["trace"].hi)],
        "ours_trace_estimate": o["trace"].trace_estimate, "ours_trace_seconds": o["trace_time"],
        "pyhessian_trace_estimate": p["trace"], "pyhessian_trace_seconds": p["trace_time"],
    }
    if a.json:
        print(json.dumps(rows, indent=2))
        return
    for k, v in rows.items():
        print(f"{k:42s} {v}")


if __name__ == "__main__":
    main()
