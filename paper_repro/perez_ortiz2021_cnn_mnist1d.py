"""Perez-Ortiz, Rivasplata, Shawe-Taylor, Szepesvari. Tighter risk certificates for neural networks. JMLR 22 (2021): a Conv1d network on MNIST-1D.

Reproduced: their learnt-prior pipeline (as paper_repro/perez_ortiz2021_cnn.py) for a **1-d convolutional network**
on MNIST-1D (the built-in data of the ``mnist1d`` package: 4000 train, 1000 test signals of length 40), through
``certify optimize MODEL`` (:mod:`certify.training.pacbayes`): the architecture
``certify.models.zoo:mnist1d_cnn`` (three Conv1d layers and a linear layer) trained from a seeded initialisation on
50% of the training set only (the prior mean; each minibatch circularly shifted by a seeded random offset in
[-8, 8], MNIST-1D's signals being translated, the augmentation seeing the prior part only), a diagonal Gaussian posterior over every Conv1d/linear weight and
bias initialised at the prior and trained with f_quad on the whole training set; certificate
kl^-1(kl^-1(emp_mc, .), (KL + ln(2 sqrt(n)/delta))/n) on the other 50%, delta = 0.025, delta' = 0.01, the Monte Carlo
errors by independent per-example networks. The paper has no MNIST-1D numbers; the comparison is our MLP
40-512-512-10 with a learnt prior (paper_repro/results/dziugaite2017.json, 0.373).
"""

from __future__ import annotations

import time
from pathlib import Path

from certify.repro import results as rs

PAPER = "Perez-Ortiz et al., Tighter risk certificates for neural networks, JMLR 2021"
CLAIM = ("A PAC-Bayes posterior over a Conv1d network with a prior learnt on half of the data certifies MNIST-1D "
         "below our MLP's 0.373")
ARCH = "certify.models.zoo:mnist1d_cnn"
MLP = 0.3726045145019038  # paper_repro/results/dziugaite2017.json, MNIST-1D 40-512-512-10, data-dependent prior


def main(argv=None) -> int:
    args = rs.parser(__doc__.splitlines()[0]).parse_args(argv)
    import torch

    torch.set_num_threads(1)  # one thread per run: the 2 cores are shared (and spin-waiting threads stall there)

    from certify.data.splits import load_user_data
    from certify.models.zoo import mnist1d_cnn
    from certify.training.pacbayes import PacBayesConfig, run_module_pacbayes

    out_dir = Path(args.out)
    name = "perez_ortiz2021_cnn_mnist1d"
    work = out_dir / (name + ("_quick" if args.quick else ""))  # the run's files; a quick run keeps off the full run's
    t0 = time.perf_counter()
    train, test, info = load_user_data("mnist1d")
    if args.quick:
        cfg = PacBayesConfig(sigma_prior="0.01", prior_epochs=2, posterior_epochs=1, mc_passes=1, lr=3e-3,
                             batch=64, seed=args.seed)
        scale = "quick smoke run: MNIST-1D 4000 train, 2+1 epochs, 1 Monte Carlo pass"
    else:
        # without the shift augmentation (prior_shift=0, 60 prior epochs) this run certified 0.2250
        cfg = PacBayesConfig(prior="data_dependent", objective="f_quad", sigma_prior="0.01", prior_epochs=150,
                             prior_shift=8, posterior_epochs=10, lr=3e-3, posterior_lr=1e-3, batch=64, mc_passes=10,
                             seed=args.seed)
        scale = ("MNIST-1D 4000 train (2000 prior / 2000 bound), Conv1d CNN 1-32-32-32 + linear (9,610 parameters "
                 "with a posterior), prior 150 epochs with circular-shift augmentation (+-8), sigma_prior 0.01, "
                 "posterior 10 epochs f_quad, 10 per-example Monte Carlo passes; 1 CPU thread (shared machine)")
    model_info = {"name": None, "path": None, "arch": ARCH, "file_sha256": None,
                  "description": f"{ARCH} (architecture only; weights from the seeded initialisation)"}
    r = run_module_pacbayes(cfg, mnist1d_cnn(), train, work, data_info=info, model_info=model_info, test=test,
                            reproduce="python paper_repro/perez_ortiz2021_cnn_mnist1d.py"
                                      + (" --quick" if args.quick else ""))
    b = float(r.certificate.result.hi)
    e = r.estimates
    rows = [rs.row("MNIST-1D Conv1d learnt prior f_quad: certified error (vs our MLP)", MLP, b, 0.0, within=b < MLP,
                   why="target (below the MLP's 0.373) not reached at this scale"),
            rs.row("stochastic test error (estimate)", None, e["stochastic_test_error_estimate"], None, within=True,
                   why="measurement, no paper number for MNIST-1D"),
            rs.row("mean network test error (estimate)", None, e["mean_network_test_error_estimate"], None,
                   within=True, why="measurement")]
    rs.write(name, out_dir, paper=PAPER, claim=CLAIM, scale=scale, rows=rows, certificates=[r.certificate.to_dict()],
             quick=args.quick, started=t0, fig=rs.bar_figure("Perez-Ortiz et al. 2021: MNIST-1D Conv1d", rows),
             extra={"estimates": e, "config": {k: getattr(cfg, k) for k in cfg.__slots__}})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
