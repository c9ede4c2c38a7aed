"""Jiang, Neyshabur, Mobahi, Krishnan, Bengio 2020 (arXiv 2019): fantastic generalization measures.

Their protocol: train a grid of networks over hyperparameters, stop each at the same training cross-entropy,
and rank-correlate every complexity measure with the generalization gap -- Kendall's tau over all models and
the *granulated* Kendall coefficient Psi (mean over hyperparameter axes of the tau across that axis, the other
axes fixed; their eq. 4). Our grid: learning rate x batch size x width, MLPs on digits, 13 measures.
Their values are for CIFAR-10/SVHN convnets; only signs are compared, where the paper's sign is recalled.
"""

from __future__ import annotations

import itertools
import time

import numpy as np

import _common as c
import kernels
from certify.repro import results as rs

PAPER = "Jiang, Neyshabur, Mobahi, Krishnan, Bengio, Fantastic generalization measures and where to find them, ICLR 2020 (arXiv 2019)"
CLAIM = ("Tables 1/5 protocol at CPU scale: Kendall tau and granulated Kendall Psi of 13 measures against the "
         "generalization gap over a learning-rate x batch-size x width grid (digits MLPs)")

#: signs recalled from the paper's Table 5 (overall tau); [U]: unconfirmed transcription
PAPER_SIGN = {"spec_orig (prod spectral x sum fro/spec)": "< 0 [U]", "path_norm_l2": "> 0 [U]",
              "sum_of_spec / margin^2": "< 0 [U]"}


def _measures(model, init, x, y) -> dict:
    ws, w0 = c.weights(model), init
    d = len(ws)
    spec = [kernels.spectral_norm_estimate(w) for w in ws]
    fro = [float(np.linalg.norm(w)) for w in ws]
    mar = float(np.quantile(c.margins(model, x, y), 0.1))
    mar = max(mar, 1e-6)
    dist = float(np.sqrt(sum(np.linalg.norm(w - v) ** 2 for w, v in zip(ws, w0))))
    n_params = sum(w.size for w in ws)
    return {
        "prod_spec / margin^2": float(np.prod(spec) ** 2 / mar ** 2),
        "sum_of_spec / margin^2": float(d * np.prod(spec) ** (2 / d) / mar ** 2),
        "spec_orig (prod spectral x sum fro/spec)": float(np.prod(spec) ** 2 * sum((f / s) ** 2 for f, s in zip(fro, spec))),
        "prod_fro / margin^2": float(np.prod(fro) ** 2 / mar ** 2),
        "sum_of_fro": float(d * np.prod(fro) ** (2 / d)),
        "spectral_complexity (Bartlett)": c.spectral_complexity(model, certified=False)["value"],
        "path_norm_l1": float(kernels.path_norm(c.dense_layers(model), p=1).hi),
        "path_norm_l2": float(kernels.path_norm(c.dense_layers(model), p=2).hi ** 2),
        "dist_from_init (fro)": dist,
        "param_norm": float(sum(f ** 2 for f in fro)),
        "inverse margin": 1.0 / mar ** 2,
        "stable_rank sum": float(sum((f / s) ** 2 for f, s in zip(fro, spec))),
        "n_params": float(n_params),
    }


def main(argv=None) -> int:
    args = rs.parser(__doc__).parse_args(argv)
    t0 = time.perf_counter()
    if args.quick:
        n, lrs, batches, widths, cap = 150, (1e-3, 3e-3), (32, 128), (16, 32), 40
    else:
        n, lrs, batches, widths, cap = 500, (1e-3, 3e-3), (32, 128), (32, 128), 150
    xtr, ytr, xte, yte = c.builtin("digits", n, args.seed)
    grid, gaps, meas = [], [], []
    for lr, bs, wd in itertools.product(lrs, batches, widths):
        model = c.mlp(xtr.shape[1], wd, 3, 10, args.seed)
        init = c.weights(model)
        h = c.train(model, xtr, ytr, epochs=cap, lr=lr, batch=bs, seed=args.seed, stop_loss=0.05)
        gap = h[-1]["train_acc"] - c.accuracy(model, xte, yte)
        grid.append((lr, bs, wd)); gaps.append(gap); meas.append(_measures(model, init, xtr, ytr))
    names = list(meas[0])
    taus = {k: c.kendall_tau([m[k] for m in meas], gaps) for k in names}
    psis = {k: c.granulated_kendall([m[k] for m in meas], gaps, grid) for k in names}
    rows = []
    for k in names:
        if k in PAPER_SIGN:
            direction = PAPER_SIGN[k][:3]
            ok = taus[k] > 0 if direction == "> 0" else taus[k] < 0
            rows.append(rs.row(f"{k}: Kendall tau vs gap", PAPER_SIGN[k], taus[k], "sign", ok,
                               f"opposite sign at this scale ({len(grid)} models, gaps "
                               f"{min(gaps):.3f}..{max(gaps):.3f}); Psi = {psis[k][0]:.3f}"))
        else:
            rows.append(rs.row(f"{k}: Kendall tau vs gap (Psi = {psis[k][0]:.3f})", "not transcribed", taus[k],
                               "none", False, "the paper's value for this measure was not transcribed (no offline "
                               "copy of Table 5); reported for the ranking only"))
    fig, ax = rs.figure(1, 8, 5)
    order = sorted(names, key=lambda k: taus[k])
    y = np.arange(len(order))
    ax[0].barh(y - 0.2, [taus[k] for k in order], height=0.4, label="Kendall tau")
    ax[0].barh(y + 0.2, [psis[k][0] for k in order], height=0.4, label="granulated Kendall Psi")
    ax[0].set_yticks(y, order, fontsize=8); ax[0].axvline(0, color="k", lw=0.5); ax[0].legend()
    ax[0].set_title(f"jiang2019: {len(grid)} digits MLPs (lr x batch x width); correlation with the gap")
    rs.write("jiang2019", args.out, paper=PAPER, claim=CLAIM,
             scale=f"digits n={n}, MLPs of depth 3, grid lr {lrs} x batch {batches} x width {widths} "
                   f"({len(grid)} models), Adam, stop at train cross-entropy 0.05 (cap {cap} epochs); "
                   "paper: 7 hyperparameters, >10000 CIFAR-10/SVHN convnets",
             rows=rows, certificates=[], quick=args.quick, started=t0, fig=fig,
             extra={"grid": grid, "gaps": gaps, "measures": meas, "tau": taus,
                    "psi": {k: {"psi": v[0], "per_axis": v[1]} for k, v in psis.items()}})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
