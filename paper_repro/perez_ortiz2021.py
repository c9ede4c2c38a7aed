"""Perez-Ortiz, Rivasplata, Shawe-Taylor, Szepesvari. Tighter risk certificates for neural networks. JMLR 22 (2021).

Reproduced: their learnt-prior pipeline (Sec. 5-6, Table 4 style): FCN, prior learnt on 50% of the training set
(mean = a network trained on that half only, sigma_prior = 0.03), posterior N(mu, diag sigma^2) initialised at the
prior and trained with f_quad, certificate kl^-1(kl^-1(emp_mc, .), (KL + ln(2 sqrt(n)/delta))/n) on the other 50%,
delta = 0.025, delta' = 0.01. Here on **Fashion-MNIST, 10 classes** (the issue's target: certified error <= 0.20),
at CPU scale: FCN 784-600-600-10 (theirs 784-600-600-600-10), a few epochs, Monte Carlo by independent per-example
draws (see certify.training.pacbayes.mc_emp_upper) instead of their per-network 150000 samples. Their MNIST numbers
(second-hand, [U] in docs/references.rst: FCN learnt prior f_quad 0.0279) are for MNIST, so the paper column for
Fashion-MNIST is Lotfi et al.'s 0.328 / 0.282 (the issue's reference points), not a like-for-like number.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

PAPER = "Perez-Ortiz et al., Tighter risk certificates for neural networks, JMLR 2021"
CLAIM = ("A PAC-Bayes posterior over an FCN with a prior learnt on half of the data certifies a non-vacuous, tight "
         "risk bound (Fashion-MNIST here: target <= 0.20)")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="seconds-long smoke run on a subsample")
    ap.add_argument("--out", default=None, help="results directory (default paper_repro/results)")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)  # one thread per run: the 2 cores are shared (and spin-waiting threads stall there)

    from certify.data.splits import load_xy
    from certify.training.pacbayes import PacBayesConfig, run_pacbayes
    from certify.repro.results import RESULTS_DIR, bar_figure, row, write_results

    out_dir = Path(args.out) if args.out else RESULTS_DIR
    t0 = time.time()
    if args.quick:
        train, test, info = load_xy("fashion-mnist", n_train=2000, n_test=500)
        cfg = PacBayesConfig(sizes=(784, 32, 10), prior="data_dependent", objective="f_quad", prior_epochs=2,
                             posterior_epochs=1, mc_passes=1)
        scale = "quick smoke run: 2000 training examples, FCN 784-32-10, 2+1 epochs"
    else:
        train, test, info = load_xy("fashion-mnist")
        cfg = PacBayesConfig(sizes=(784, 600, 600, 10), prior="data_dependent", objective="f_quad",
                             prior_epochs=10, posterior_epochs=3, mc_passes=5, posterior_lr=5e-4)
        scale = ("Fashion-MNIST 60000 train (30000 prior / 30000 bound), FCN 784-600-600-10, prior 10 epochs, "
                 "posterior 3 epochs f_quad, 5 per-example Monte Carlo passes; 1 CPU thread (shared machine)")
    r = run_pacbayes(cfg, train, test, out_dir / "perez_ortiz2021", data_info=info,
                     reproduce="python paper_repro/perez_ortiz2021.py" + (" --quick" if args.quick else ""),
                     progress=True)
    bound = float(r.certificate.result.hi)
    minutes = (time.time() - t0) / 60
    rows = [
        row("FMNIST FCN learnt prior f_quad: certified error", 0.20, bound, 0.0, within=bound <= 0.20,
            why="" if bound <= 0.20 else "target <= 0.20 (issue 6) not reached at this CPU scale"),
        row("FMNIST: vs Lotfi et al. data-independent 0.328", 0.328, bound, 0.0, within=bound < 0.328),
        row("stochastic test error (estimate)", None, r.estimates["stochastic_test_error_estimate"], None,
            within=True, why="measurement, no paper number for Fashion-MNIST"),
    ]
    write_results("perez_ortiz2021" + ("_quick" if args.quick else ""), paper=PAPER, claim=CLAIM, scale=scale,
                  rows=rows, certificates=[r.certificate.to_dict()],
                  extra={"run_minutes": round(minutes, 2), "estimates": r.estimates}, out_dir=out_dir)
    bar_figure(out_dir / f"perez_ortiz2021{'_quick' if args.quick else ''}.png",
               "Perez-Ortiz 2021 pipeline on Fashion-MNIST (certified error)", rows)
    for x in rows:
        print(f"{x['name']:55s} paper={x['paper']}  ours={x['ours']:.4f}  within={x['within']}")
    print(f"run time {minutes:.1f} min")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
