"""Jiang, Neyshabur, Mobahi, Krishnan, Bengio 2020 (arXiv 2019): fantastic generalization measures.

Their protocol: train a grid of networks over hyperparameters and rank-correlate every complexity measure with the
generalization gap: Kendall's tau over all models and the *granulated* Kendall coefficient Psi (the mean over
hyperparameter axes of the tau across that axis, the other axes fixed; their eq. 4-5).

Ours runs on ``certify sweep`` (:mod:`certify.sweep`): the zoo generator trains digits MLPs over learning rate x batch
size x width x depth (one Dask task each, resumable), then every model gets sweep jobs: ``analyze`` (certified
spectral and Frobenius norms, l2 path norm: the measures, from certified upper ends), the norm-based margin bounds
``norm.*`` on the training split and Langford's test-set bound on the held-out split (certified, one certificate per
job), and ``gap`` (the measured test minus training error, and the 10th percentile of the training margins that
normalises Jiang et al.'s margin measures). The study is :func:`certify.sweep.report.correlation_study`.
Differences: a fixed number of epochs instead of stopping at a common training cross-entropy; MLPs on digits
instead of CIFAR-10/SVHN convnets; the paper's values are compared by sign, where the sign was recalled.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import numpy as np

from certify.repro import results as rs

PAPER = "Jiang, Neyshabur, Mobahi, Krishnan, Bengio, Fantastic generalization measures and where to find them, ICLR 2020 (arXiv 2019)"
CLAIM = ("Tables 1/5 protocol at CPU scale on certify sweep: Kendall tau and granulated Kendall Psi of certified "
         "measures and bounds against the generalization gap over a learning-rate x batch-size x width x depth zoo "
         "(digits MLPs)")

#: signs recalled from the paper's Table 5 (overall tau); [U]: unconfirmed transcription
PAPER_SIGN = {"spec_orig (prod spectral x sum fro/spec)": "< 0 [U]", "path_norm_l2": "> 0 [U]",
              "sum_of_spec / margin^2": "< 0 [U]"}

#: the study's columns under Jiang et al.'s names (the log of a measure has the same rank correlation)
NAMES = {
    "log_spec_orig_hi": "spec_orig (prod spectral x sum fro/spec)",
    "path_norm_l2_hi": "path_norm_l2",
    "log_sum_of_spec_over_margin2": "sum_of_spec / margin^2",
    "log_prod_spec_over_margin2": "prod_spec / margin^2",
    "log_prod_fro_over_margin2": "prod_fro / margin^2",
    "log_sum_of_fro_hi": "sum_of_fro",
    "log_sum_of_spec_hi": "sum_of_spec",
    "sum_log_spectral_hi": "prod_spec (log)",
    "sum_log_frobenius_hi": "prod_fro (log)",
    "sum_stable_rank_hi": "stable_rank sum",
    "log_inverse_margin2": "inverse margin",
    "mean_alpha_estimate": "ESD alpha (WeightWatcher, estimate)",
    "params": "n_params",
}

THEOREMS = (("test_set.binomial_tail", "test"), ("norm.golowich2018_frobenius_multiclass", "train"),
            ("norm.neyshabur2015_frobenius_multiclass", "train"), ("norm.neyshabur2015_path_multiclass", "train"))

FULL = {"lr": (0.001, 0.003, 0.01), "batch": (32, 256), "width": (16, 32, 64), "depth": (1, 2, 3, 4), "epochs": 40}
QUICK = {"lr": (0.001, 0.01), "batch": (32, 256), "width": (16,), "depth": (1, 2), "epochs": 3}


def _spec(work: Path, grid: dict) -> Path:
    def lst(v: tuple) -> str:
        return "[" + ", ".join(repr(x) for x in v) + "]"

    body = ['[sweep]', 'data = "digits"', 'train_data = "digits:train"', '', '[zoo]', 'dataset = "digits"',
            'dir = "zoo"', *(f"{k} = {lst(grid[k])}" for k in ("lr", "batch", "width", "depth")),
            f"epochs = {grid['epochs']}", "seed = 0", ""]
    for tid, sample in THEOREMS:
        body += ["[[jobs]]", 'kind = "theorem"', f'theorem = "{tid}"', f'sample = "{sample}"', 'delta = "0.05"', ""]
    body += ["[[jobs]]", 'kind = "analyze"', "", "[[jobs]]", 'kind = "gap"', ""]
    work.mkdir(parents=True, exist_ok=True)
    (work / "spec.toml").write_text("\n".join(body))
    return work / "spec.toml"


def _label(column: str) -> str:
    if column.endswith(" (bound)"):
        return f"{column[:-8]} (certified bound)"
    return NAMES.get(column, column)


def main(argv=None) -> int:
    p = rs.parser(__doc__)
    p.add_argument("--work", help="sweep directory (zoo, jobs, rows; resumable). Default: a directory under the "
                                  "system's temporary directory, kept between runs")
    p.add_argument("--workers", type=int, default=2, help="LocalCluster worker processes (default 2)")
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    from certify.sweep import load_spec, run_sweep
    from certify.sweep.report import correlation_study, study_columns, write_report

    grid = QUICK if args.quick else FULL
    work = Path(args.work) if args.work else Path(tempfile.gettempdir()) / (
        "boundcert-jiang2019" + ("-quick" if args.quick else ""))
    res = run_sweep(load_spec(_spec(work, grid)), work / "out", workers=args.workers, memory_limit="2GiB",
                    progress=True, csv=True)
    counts = res.counts()
    if counts.get("internal_error"):
        bad = next(r for r in res.rows if r["status"] == "internal_error")
        raise SystemExit(f"jiang2019: {counts['internal_error']} sweep jobs failed (e.g. {bad['error'][:200]}); "
                         f"nothing written: run again (finished jobs under {work} are kept)")
    status = ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
    study = correlation_study(res.rows)
    gaps, cols = study_columns(res.rows)  # the gap of every model with a finished gap job, and the ranked columns
    n = len(gaps)
    rows = []
    for c in study:
        name = _label(c.column)
        psi = "-" if c.psi is None else f"{c.psi:.3f}"
        if name in PAPER_SIGN:
            want = PAPER_SIGN[name][:3]
            ok = c.tau > 0 if want == "> 0" else c.tau < 0
            rows.append(rs.row(f"{name}: Kendall tau vs gap", PAPER_SIGN[name], c.tau, "sign", ok,
                               f"opposite sign at this scale ({c.models} models, gaps {min(gaps.values()):.3f}.."
                               f"{max(gaps.values()):.3f}); Psi = {psi}"))
        else:
            what = ("a certified bound of this library (the paper ranks measures, not these certificates)"
                    if c.kind == "bound" else "the paper's value for this measure was not transcribed (no offline "
                    "copy of Table 5)")
            rows.append(rs.row(f"{name}: Kendall tau vs gap (Psi = {psi})", "not transcribed", c.tau, "none", False,
                               f"{what}; reported for the ranking only"))
    out = Path(args.out)
    detail = out / "jiang2019"
    write_report(res.rows, detail)  # report/report.{json,md,png}: the study as `certify sweep --report` writes it
    hps = {r["model"]: json.loads(r["hparams"]) for r in res.rows if r["kind"] == "gap"}
    table = [{"model": Path(m).stem, "hparams": hps[m], "gap": gaps[m],
              **{c: cols[c][m] for c in sorted(cols) if m in cols[c]}} for m in sorted(gaps)]
    fig, ax = rs.figure(1, 8, 6)
    order = sorted(study, key=lambda c: c.tau)
    y = np.arange(len(order))
    ax[0].barh(y - 0.2, [c.tau for c in order], height=0.4, label="Kendall tau")
    ax[0].barh(y + 0.2, [c.psi or 0.0 for c in order], height=0.4, label="granulated Kendall Psi")
    ax[0].set_yticks(y, [_label(c.column) for c in order], fontsize=7)
    ax[0].axvline(0, color="k", lw=0.5)
    ax[0].set_xlim(-1, 1)
    ax[0].legend(fontsize=8)
    ax[0].set_title(f"jiang2019 on certify sweep: {n} digits MLPs (lr x batch x width x depth)")
    axes = " x ".join(f"{k} {grid[k]}" for k in ("lr", "batch", "width", "depth"))
    rs.write("jiang2019", args.out, paper=PAPER, claim=CLAIM,
             scale=f"certify sweep zoo: digits (1200 train / 597 test), ReLU MLPs, grid {axes} ({n} models), Adam, "
                   f"{grid['epochs']} epochs, seed 0; {len(res.jobs)} sweep jobs ({status}); paper: 7 "
                   "hyperparameters, >10000 CIFAR-10/SVHN convnets stopped at a common cross-entropy",
             rows=rows, certificates=[], quick=args.quick, started=t0, fig=fig,
             extra={"grid": {k: list(v) if isinstance(v, tuple) else v for k, v in grid.items()},
                    "models": n, "jobs": len(res.jobs), "status": counts, "gap_range": [min(gaps.values()),
                                                                                         max(gaps.values())],
                    "study": [{**c.to_dict(), "name": _label(c.column)} for c in study],
                    "detail": f"{detail.name}/report/report.json", "per_model": table})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
