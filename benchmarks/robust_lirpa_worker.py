"""auto_LiRPA's CROWN on a saved model (run by benchmarks/robust.py with the interpreter of a separate environment
that has auto_LiRPA; its PyPI 0.3 needs numpy < 2). Plain floating point, as auto_LiRPA computes: the baseline.

Usage: PYTHON robust_lirpa_worker.py IN.pt linf|l2 EPS  -> one JSON line {"crown", "s_per_image"}
"""

import json
import sys
import time

import torch
from auto_LiRPA import BoundedModule, BoundedTensor
from auto_LiRPA.perturbations import PerturbationLpNorm

d = torch.load(sys.argv[1], weights_only=False)
norm, eps = sys.argv[2], float(sys.argv[3])
model, x, y = d["model"].eval(), d["x"], d["y"].long()
k = 10
C = torch.zeros(len(y), k - 1, k)
for i, yi in enumerate(y.tolist()):
    others = [j for j in range(k) if j != yi]
    C[i, torch.arange(k - 1), others] = -1.0
    C[i, :, yi] = 1.0
bm = BoundedModule(model, torch.zeros_like(x[:1]))
t0 = time.perf_counter()
p = PerturbationLpNorm(norm=float("inf") if norm == "linf" else 2, eps=eps,
                       x_L=(x - eps).clamp(0, 1), x_U=(x + eps).clamp(0, 1))
lb, _ = bm.compute_bounds(x=(BoundedTensor(x, p),), C=C, method="CROWN")
t = time.perf_counter() - t0
print(json.dumps({"crown": float((lb.min(1).values > 0).float().mean()), "s_per_image": t / len(y)}))
