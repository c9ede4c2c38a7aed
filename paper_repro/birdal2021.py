"""Birdal, Lou, Guibas, Simsekli 2021 (and Dupuis et al. 2023): PH dimension of the trajectory vs the gap.

Protocol (their Section 5, Figure 3; code tolgabirdal/PHDimGeneralization): for a grid of learning rates and batch
sizes, train to 100% training accuracy, then record the next iterates; the PH dimension of that point cloud
(``kernels.ph_dim``: MST lengths over sample sizes, Euclidean metric on the flattened weights) should correlate
positively with the generalization gap; Dupuis et al.'s data-dependent variant uses the per-example loss vectors
under the l1 metric (``kernels.ph_dim_loss``). We report Kendall's tau and the granulated Kendall coefficient.
"""

from __future__ import annotations

import itertools
import tempfile
import time
from pathlib import Path

import numpy as np

import _common as c
import kernels
from certify.repro import results as rs
from certify.training.trajectory import TrajectoryRecorder, load_trajectory

PAPER = "Birdal, Lou, Guibas, Simsekli, Intrinsic dimension, persistent homology and generalization in neural networks, NeurIPS 2021"
CLAIM = ("Figure 3 / Table 1 qualitatively: over a learning-rate x batch-size grid of MLPs trained to 100% train "
         "accuracy (MNIST-1D), Euclidean and loss-based PH dimension correlate positively with the gap")


def main(argv=None) -> int:
    args = rs.parser(__doc__).parse_args(argv)
    t0 = time.perf_counter()
    torch = c.setup_torch()
    if args.quick:
        n, width, lrs, bss, k_iter, cap = 300, 32, (0.05, 0.1), (32, 64), 120, 200
    else:
        n, width, lrs, bss, k_iter, cap = 1000, 64, (0.01, 0.025, 0.05, 0.1), (16, 32, 64, 128), 400, 400
    xtr, ytr, xte, yte = c.builtin("mnist1d", n, args.seed)
    X, Y = torch.as_tensor(xtr), torch.as_tensor(ytr)
    sub = (X[:200], Y[:200])
    grid, gaps, dims, dims_loss, fits = [], [], [], [], []
    for lr, bs in itertools.product(lrs, bss):
        model = c.mlp(40, width, 3, 10, args.seed)
        h = c.train(model, xtr, ytr, epochs=cap, lr=lr, batch=bs, seed=args.seed, opt="sgd", stop_at=1.0)
        rec = TrajectoryRecorder(model, last_n=k_iter, loss_subset=sub)
        opt = torch.optim.SGD(model.parameters(), lr=lr)
        rec.attach(opt)
        g = torch.Generator().manual_seed(args.seed + 1)
        for _ in range(k_iter):
            idx = torch.randint(0, n, (bs,), generator=g)
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(X[idx]), Y[idx]).backward()
            opt.step()
        rec.detach()
        with tempfile.TemporaryDirectory() as d:
            tr = load_trajectory(rec.save(Path(d) / "traj.npz"))
        n_min, step = k_iter // 4, k_iter // 8
        e = kernels.ph_dim(tr.iterates, n_min=n_min, step=step, seed=args.seed)
        el = kernels.ph_dim_loss(tr.losses, n_min=n_min, step=step, seed=args.seed)
        gap = c.accuracy(model, xtr, ytr) - c.accuracy(model, xte, yte)
        grid.append((lr, bs)); gaps.append(gap); dims.append(e.dimension); dims_loss.append(el.dimension)
        fits.append({"lr": lr, "batch": bs, "train_acc_at_stop": h[-1]["train_acc"], "epochs": h[-1]["epoch"],
                     "gap": gap, "ph_dim": e.dimension, "r2": e.r_squared, "ph_dim_loss": el.dimension,
                     "r2_loss": el.r_squared})
    rows = []
    for label, d in (("Euclidean PH dimension", dims), ("loss-based PH dimension (Dupuis 2023)", dims_loss)):
        tau = c.kendall_tau(d, gaps)
        psi, axes = c.granulated_kendall(d, gaps, grid)
        why = (f"no positive correlation at this scale ({len(grid)} models, n={n}, {k_iter} iterates, gaps "
               f"{min(gaps):.3f}..{max(gaps):.3f})")
        rows.append(rs.direction_row(f"{label}: Kendall tau vs gap", tau, "> 0", why))
        rows.append(rs.direction_row(f"{label}: granulated Kendall Psi (lr {axes[0]:.2f}, batch {axes[1]:.2f})",
                                     psi, "> 0", why))
    fits_all = [f["train_acc_at_stop"] >= 1.0 for f in fits]
    rows.append(rs.row("models at 100% train accuracy before recording", 1.0, float(np.mean(fits_all)), 0.0,
                       all(fits_all), f"some models hit the cap of {cap} epochs first"))
    fig, ax = rs.figure(2)
    for a, d, lab in ((ax[0], dims, "Euclidean PH dim"), (ax[1], dims_loss, "loss-based PH dim")):
        sc = a.scatter(d, gaps, c=[np.log10(g[0]) for g in grid], s=[g[1] for g in grid], cmap="viridis")
        a.set_xlabel(lab); a.set_ylabel("generalization gap (accuracy)")
        a.set_title(f"tau = {c.kendall_tau(d, gaps):.2f}")
    fig.colorbar(sc, ax=ax[1], label="log10 learning rate (size: batch)")
    fig.suptitle(f"birdal2021: MNIST-1D MLP width {width}, {len(grid)} runs")
    rs.write("birdal2021", args.out, paper=PAPER, claim=CLAIM,
             scale=f"MNIST-1D n={n}, MLP 40-{width}-{width}-10, SGD grid lr {lrs} x batch {bss}, then {k_iter} "
                   "recorded iterates; paper: AlexNet/VGG/FCN on CIFAR-10/MNIST, 1000 iterates",
             rows=rows, certificates=[], quick=args.quick, started=t0, fig=fig, extra={"runs": fits})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
