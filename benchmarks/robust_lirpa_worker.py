"""auto_LiRPA's CROWN and alpha-CROWN on a saved model (run by benchmarks/robust.py with the interpreter of a
separate environment that has auto_LiRPA, see there). Plain floating point (float32), as auto_LiRPA computes: the
baseline. Times exclude building the BoundedModule; 2 torch threads, as ours.

Usage: PYTHON robust_lirpa_worker.py IN.pt linf|l2 EPS [alpha]
       -> one JSON line {"crown", "crown_s_per_image"[, "alpha-crown", "alpha-crown_s_per_image"]}
"""

import json
import sys
import time

import torch
from auto_LiRPA import BoundedModule, BoundedTensor
from auto_LiRPA.perturbations import PerturbationLpNorm

torch.set_num_threads(2)
d = torch.load(sys.argv[1], weights_only=False)
norm, eps = sys.argv[2], float(sys.argv[3])
model, x, y = d["model"].eval(), d["x"], d["y"].long()
k = 10
C = torch.zeros(len(y), k - 1, k)
for i, yi in enumerate(y.tolist()):
    others = [j for j in range(k) if j != yi]
    C[i, torch.arange(k - 1), others] = -1.0
    C[i, :, yi] = 1.0
bm = BoundedModule(model, torch.zeros_like(x[:1]), verbose=0)
out = {}
methods = [("CROWN", "crown")] + ([("alpha-CROWN", "alpha-crown")] if sys.argv[4:] == ["alpha"] else [])
for method, key in methods:
    lbs = []
    t0 = time.perf_counter()
    for s in range(0, len(y), 16):  # batches of 16, as ours
        xb = x[s:s + 16]
        p = PerturbationLpNorm(norm=float("inf") if norm == "linf" else 2, eps=eps,
                               x_L=(xb - eps).clamp(0, 1), x_U=(xb + eps).clamp(0, 1))
        lb, _ = bm.compute_bounds(x=(BoundedTensor(xb, p),), C=C[s:s + 16], method=method, bound_upper=False)
        lbs.append(lb.detach())
    t = time.perf_counter() - t0
    out[key] = int((torch.cat(lbs).min(1).values > 0).sum()) / len(y)  # an exact fraction
    out[f"{key}_s_per_image"] = t / len(y)
print(json.dumps(out))
