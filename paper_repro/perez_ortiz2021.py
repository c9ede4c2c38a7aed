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

import time
from pathlib import Path

from certify.repro import results as rs

PAPER = "Perez-Ortiz et al., Tighter risk certificates for neural networks, JMLR 2021"
CLAIM = ("A PAC-Bayes posterior over an FCN with a prior learnt on half of the data certifies a non-vacuous, tight "
         "risk bound (Fashion-MNIST here: target <= 0.20)")


def main(argv=None) -> int:
    args = rs.parser(__doc__.splitlines()[0]).parse_args(argv)
    import torch

    torch.set_num_threads(1)  # one thread per run: the 2 cores are shared (and spin-waiting threads stall there)

    from certify.data.splits import load_xy
    from certify.training.pacbayes import PacBayesConfig, run_pacbayes

    out_dir = Path(args.out)
    name = "perez_ortiz2021"
    work = out_dir / (name + ("_quick" if args.quick else ""))  # the run's files; a quick run keeps off the full run's
    t0 = time.perf_counter()
    if args.quick:
        train, test, info = load_xy("fashion-mnist", n_train=2000, n_test=500)
        cfg = PacBayesConfig(sizes=(784, 32, 10), prior="data_dependent", objective="f_quad", prior_epochs=2,
                             posterior_epochs=1, mc_passes=1, seed=args.seed)
        scale = "quick smoke run: 2000 training examples, FCN 784-32-10, 2+1 epochs"
    else:
        train, test, info = load_xy("fashion-mnist")
        cfg = PacBayesConfig(sizes=(784, 600, 600, 10), prior="data_dependent", objective="f_quad",
                             prior_epochs=10, posterior_epochs=3, mc_passes=5, posterior_lr=5e-4, seed=args.seed)
        scale = ("Fashion-MNIST 60000 train (30000 prior / 30000 bound), FCN 784-600-600-10, prior 10 epochs, "
                 "posterior 3 epochs f_quad, 5 per-example Monte Carlo passes; 1 CPU thread (shared machine)")
    r = run_pacbayes(cfg, train, test, work, data_info=info,
                     reproduce="python paper_repro/perez_ortiz2021.py" + (" --quick" if args.quick else ""),
                     progress=True)
    bound = float(r.certificate.result.hi)
    rows = [
        rs.row("FMNIST FCN learnt prior f_quad: certified error", 0.20, bound, 0.0, within=bound <= 0.20,
               why="target <= 0.20 (issue 6) not reached at this CPU scale"),
        rs.row("FMNIST: vs Lotfi et al. data-independent 0.328", 0.328, bound, 0.0, within=bound < 0.328,
               why="not below Lotfi et al.'s data-independent 0.328 at this CPU scale"),
        rs.row("stochastic test error (estimate)", None, r.estimates["stochastic_test_error_estimate"], None,
               within=True, why="measurement, no paper number for Fashion-MNIST"),
    ]
    rs.write(name, out_dir, paper=PAPER, claim=CLAIM, scale=scale, rows=rows,
             certificates=[r.certificate.to_dict()], quick=args.quick, started=t0,
             fig=rs.bar_figure("Perez-Ortiz 2021 pipeline on Fashion-MNIST (certified error)", rows),
             extra={"estimates": r.estimates})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
