"""Hardt, Recht, Singer 2016: train faster, generalize better -- the uniform-stability bound along SGD training.

Theorem 3.8 (convex, L-Lipschitz, beta-smooth loss, step sizes alpha_t <= 2/beta): the expected generalization
gap of SGD after T steps is at most ``2 L^2 / n * sum_t alpha_t``, growing linearly with training time. We
train logistic regression with single-example SGD on binary digits (label: digit >= 5) with inputs scaled to
``||(x, 1)|| <= 1`` (so ``L = 1``, ``beta = 1/4``), over several seeds and resampled training sets, and compare
the certified bound (``stability.hardt2016_convex``, one certificate per checkpoint) with the measured gap
(test loss minus training loss, averaged over runs: an estimate of the expectation).
"""

from __future__ import annotations

import time

import numpy as np

import _common as c
from certify.repro import results as rs

PAPER = "Hardt, Recht, Singer, Train faster, generalize better: stability of stochastic gradient descent, ICML 2016"
CLAIM = ("Theorem 3.8 along training (their Section 5 / Figure 2 qualitatively): the stability bound 2L^2/n sum "
         "alpha_t holds for the measured expected gap, and both grow with the number of steps")


def _loss(w, x, y):
    return np.logaddexp(0.0, -y * (x @ w))


def main(argv=None) -> int:
    args = rs.parser(__doc__).parse_args(argv)
    t0 = time.perf_counter()
    n, epochs, runs, alpha = (100, 5, 4, 0.5) if args.quick else (200, 40, 20, 0.5)
    xtr, ytr, xte, yte = c.builtin("digits", None, 0)
    x_all = np.concatenate([xtr, xte]).astype(np.float64)
    y_all = np.where(np.concatenate([ytr, yte]) >= 5, 1.0, -1.0)
    x_all = np.hstack([x_all, np.ones((len(x_all), 1))])
    x_all /= np.linalg.norm(x_all, axis=1).max()            # ||x|| <= 1: L = 1, beta = 1/4
    x_norm_max = float(np.linalg.norm(x_all, axis=1).max())
    checkpoints = np.unique(np.linspace(0, epochs * n, 11).astype(int))[1:]
    gaps = np.zeros((runs, len(checkpoints)))
    for r in range(runs):
        rng = np.random.default_rng(args.seed * 1000 + r)
        perm = rng.permutation(len(y_all))
        tr, te = perm[:n], perm[n:]
        w = np.zeros(x_all.shape[1])
        ci = 0
        for step in range(1, epochs * n + 1):
            i = tr[rng.integers(n)]
            m = y_all[i] * (x_all[i] @ w)
            w += alpha * y_all[i] * x_all[i] / (1.0 + np.exp(m))   # grad of log(1 + e^{-m}) is -y x sigma(-m)
            if ci < len(checkpoints) and step == checkpoints[ci]:
                gaps[r, ci] = _loss(w, x_all[te], y_all[te]).mean() - _loss(w, x_all[tr], y_all[tr]).mean()
                ci += 1
    mean_gap = gaps.mean(0)
    se = gaps.std(0, ddof=1) / np.sqrt(runs)
    lipschitz = repr(float(np.nextafter(x_norm_max, np.inf)))
    certs, bounds = [], []
    for T in checkpoints:
        cert = rs.certificate("stability.hardt2016_convex",
                              {"n": n, "lipschitz": lipschitz, "beta": "0.25", "max_step": repr(alpha),
                               "sum_step": repr(alpha * int(T))},
                              {"lipschitz": "max_i ||(x_i, 1)|| over the scaled data set, rounded up (logistic loss)",
                               "beta": "||x||^2 / 4 <= 1/4 (logistic loss)", "sum_step": "constant step alpha * T"},
                              steps=int(T))
        certs.append(cert)
        bounds.append(float(cert["result"]["hi"]))
    bounds = np.array(bounds)
    rows = [rs.row("bound >= measured mean gap at every checkpoint", "holds", float(np.min(bounds - mean_gap)),
                   "min(bound - gap) >= 0", bool(np.all(bounds >= mean_gap)), "a measured gap exceeds the bound"),
            rs.direction_row("Kendall tau of measured gap vs steps (gap grows with training time)",
                             c.kendall_tau(checkpoints, mean_gap), "> 0",
                             "the measured gap does not grow over this run"),
            rs.row("bound / measured gap at the last checkpoint", "not stated (the bound is worst case)",
                   float(bounds[-1] / max(mean_gap[-1], 1e-12)), "informational", True)]
    fig, ax = rs.figure(1, 6, 4)
    a = ax[0]
    a.plot(checkpoints, bounds, "r-", label=r"certified bound $2L^2\sum_t\alpha_t/n$")
    a.errorbar(checkpoints, mean_gap, yerr=2 * se, fmt="bo-", label=f"measured gap (mean of {runs} runs, 2 s.e.)")
    a.set_yscale("symlog", linthresh=1e-2); a.set_xlabel("SGD steps T"); a.set_ylabel("test loss - train loss")
    a.legend(); a.set_title(f"hardt2016: logistic regression, digits >= 5, n={n}")
    rs.write("hardt2016", args.out, paper=PAPER, claim=CLAIM,
             scale=f"binary digits, n={n}, logistic regression, SGD alpha={alpha}, {epochs} epochs, {runs} runs; "
                   "paper: convex and non-convex models on CIFAR-10 / ImageNet (gap curves only)",
             rows=rows, certificates=certs, quick=args.quick, started=t0, fig=fig,
             extra={"steps": checkpoints.tolist(), "bound": bounds.tolist(), "mean_gap": mean_gap.tolist(),
                    "se": se.tolist()})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
