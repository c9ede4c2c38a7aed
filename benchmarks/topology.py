"""PH dimension: kernels.ph_dim against the same estimator computed with ripser, same process, same samples.

The baseline is Birdal et al.'s ``calculate_ph_dim`` loop (tolgabirdal/PHDimGeneralization): one ripser call per
sample on the sampled points (ripser computes the distances itself, through scikit-learn's float64 Gram form),
the sum of the finite H0 bars, then the same least-squares fit. We run ripser with ``maxdim=0`` (only H0 is used;
the strongest fair baseline) and, with ``--birdal-maxdim1``, also ripser's default ``maxdim=1`` as in their code.
Ours: :func:`kernels.ph_dim` (for Euclidean ``d >= 2048`` on the CPU, :mod:`kernels._submst`: projection lower
bounds and certified Prim rounds, only the needed distances computed directly; else one distance matrix and
Prim per sample). Both are warmed up once before any timing (numba's compilation or cache load, ripser's and
scikit-learn's imports); then, per configuration, ``--runs`` interleaved runs (ours, ripser, ours, ...) and the
medians.

Equal values. Both sides use the identical samples (ripser's loop draws them with :func:`sample_schedule`, the
function ``ph_dim`` uses, with the same seed and sampling) and the same fit. Ours are the exact MST lengths for
float64 distances summed directly (to about 1e-15 relative). Ripser's bars are float32 (a relative 2**-24 per
bar) of scikit-learn's float64 distances ``sqrt(|x|^2 + |y|^2 - 2 x.y)``, whose cancellation costs about
``u |x|^2 / d_xy^2`` relative (``u = 2**-53``) for points far from the origin: here ``|x| ~ 10 sqrt(d)``, so about
1e-7 at ``d = 1e5``. We call the values **equal** when every per-sample total agrees to ``max_rel_dE <= 1e-6``
and the dimensions to ``rel_d_dim = |dim_ours - dim_ripser| / dim_ripser <= 1e-6``: a few times the baseline's
own rounding, far below any statistical meaning of the estimate (whose repeat-to-repeat spread is ~1e-2).

Default configurations: the corners of the issue-7 range that this 2-core, 24 GB machine can time for the ripser
side in reasonable time: ``N`` in {1000, 5000} x ``d`` in {1e4, 1e5} with 1 and 3 repeats, except
``(5000, 1e5)``: 4 GB of points, and ripser would need about ``sum n^2 d = 8.5e13`` multiply-adds for its
distances per repeat (hours here, three runs); ``(2000, 1e5, 1)`` stands in as the largest ``N`` at ``d = 1e5``
(about 5.5e12 per run). A full default run takes over an hour; ``--quick`` times one small configuration.

Usage: PYTHONPATH=. python benchmarks/topology.py [--quick] [--runs 3] [--config N,d,repeats ...] [--device cpu|cuda]
[--no-ripser]. ``--device cuda``: the distance matrix on the GPU (numba.cuda). The issue-9 target is
``--config 5000,1000000,1 --device cuda --no-ripser`` (< 10 s on an H100/H200; 40 GB of float64 points).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings

os.environ.setdefault("NUMBA_NUM_THREADS", "2")
os.environ.setdefault("OMP_NUM_THREADS", "2")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")

import numpy as np  # noqa: E402

from kernels import ph_dim  # noqa: E402
from kernels._phdim import sample_schedule  # noqa: E402


def ripser_ph_dim(X: np.ndarray, sizes: np.ndarray, n_repeats: int, seed: int, maxdim: int) -> tuple[float, np.ndarray]:
    """Birdal et al.'s estimator with ripser on the samples of :func:`sample_schedule`: ``(dimension, E)``."""
    from ripser import ripser

    samples = sample_schedule(X.shape[0], sizes, n_repeats, seed, "independent")
    E = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for s in samples:
            dg = ripser(X[s], maxdim=maxdim)["dgms"][0]
            dg = dg[np.isfinite(dg[:, 1])]
            E.append(float((dg[:, 1] - dg[:, 0]).sum()))
    x = np.repeat(np.log(sizes.astype(np.float64)), n_repeats)
    y = np.log(np.array(E))
    m = float(np.sum((x - x.mean()) * (y - y.mean())) / np.sum((x - x.mean()) ** 2))
    return 1.0 / (1.0 - m), np.array(E)


def trajectory_like(N: int, d: int, seed: int) -> np.ndarray:
    """Points on a noisy 3-D curved sheet embedded in R^d, far from the origin (like SGD iterates)."""
    rng = np.random.default_rng(seed)
    t = rng.random((N, 3))
    feats = np.concatenate([t, np.sin(3 * t), t[:, :1] * t[:, 1:2]], axis=1)
    A = rng.standard_normal((feats.shape[1], d)) / np.sqrt(d)
    return 10.0 + feats @ A + 1e-3 * rng.standard_normal((N, d)) / np.sqrt(d)


DEFAULT_CONFIGS = [(1000, 10_000, 1), (1000, 10_000, 3), (1000, 100_000, 1), (1000, 100_000, 3),
                   (5000, 10_000, 1), (5000, 10_000, 3), (2000, 100_000, 1)]
EQUAL_REL = 1e-6  # per-sample totals and dimensions (module docstring)


def warm_up(device: str) -> None:
    """Compile (or load from numba's cache) every kernel both paths use, import ripser and scikit-learn."""
    from kernels._submst import PRUNE_MIN_DIM

    rng = np.random.default_rng(0)
    ph_dim(rng.random((60, 40)), n_min=20, step=20, device=device)
    Y = trajectory_like(80, PRUNE_MIN_DIM, seed=1)
    ph_dim(Y, n_min=20, step=20, device=device)
    ripser_ph_dim(Y, np.array([20, 40]), 1, 0, maxdim=0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="one small configuration, one run")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--config", action="append", default=[], help="N,d,repeats (repeatable)")
    ap.add_argument("--birdal-maxdim1", action="store_true", help="also time ripser(maxdim=1) as in Birdal's code")
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="where ph_dim computes the distances")
    ap.add_argument("--no-ripser", action="store_true", help="time ours only (no ripser baseline)")
    args = ap.parse_args(argv)
    try:
        import torch

        torch.set_num_threads(2)
    except ImportError:
        pass
    import numba

    from kernels._device import cuda_usable

    if args.device == "cuda" and not cuda_usable():
        raise SystemExit("--device cuda: no CUDA GPU is usable here (set NUMBA_ENABLE_CUDASIM=1 for the simulator, "
                         "tiny sizes only); use --device cpu")
    numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
    if args.config:
        configs = [tuple(int(v) for v in c.split(",")) for c in args.config]
    elif args.quick:
        configs = [(1000, 10_000, 1)]
    else:
        configs = DEFAULT_CONFIGS
    runs = 1 if args.quick else args.runs
    warm_up(args.device)
    if args.no_ripser:
        print(f"{'N':>5} {'d':>7} {'rep':>3} {'ours_s':>8}", flush=True)
    else:
        print(f"{'N':>5} {'d':>7} {'rep':>3} {'ours_s':>8} {'ripser0_s':>9} {'ratio':>7} {'dim_ours':>10} {'dim_ripser':>10} "
              f"{'d_dim':>9} {'rel_d_dim':>9} {'max_rel_dE':>10} {'equal':>5}", flush=True)
    worst = np.inf
    all_equal = True
    for N, d, reps in configs:
        X = trajectory_like(N, d, seed=N + d)
        t_ours, t_rip = [], []
        for _ in range(runs):  # interleaved, so machine noise hits both
            t0 = time.perf_counter()
            est = ph_dim(X, n_repeats=reps, seed=0, device=args.device)
            t_ours.append(time.perf_counter() - t0)
            if args.no_ripser:
                continue
            t0 = time.perf_counter()
            dim_r, E_r = ripser_ph_dim(X, np.array(est.sizes), reps, 0, maxdim=0)
            t_rip.append(time.perf_counter() - t0)
        if args.no_ripser:
            print(f"{N:>5} {d:>7} {reps:>3} {statistics.median(t_ours):>8.3f} (device {est.device}) dim {est.dimension:.6f}")
            continue
        E = np.array(est.lengths).ravel()
        rel = float(np.max(np.abs(E - E_r) / E_r))
        ddim = est.dimension - dim_r
        rel_dim = abs(ddim) / dim_r
        equal = rel <= EQUAL_REL and rel_dim <= EQUAL_REL
        all_equal &= equal
        to, tr = statistics.median(t_ours), statistics.median(t_rip)
        worst = min(worst, tr / to)
        print(f"{N:>5} {d:>7} {reps:>3} {to:>8.3f} {tr:>9.3f} {tr / to:>6.1f}x {est.dimension:>10.6f} {dim_r:>10.6f} "
              f"{ddim:>9.1e} {rel_dim:>9.1e} {rel:>10.2e} {'yes' if equal else 'NO':>5}", flush=True)
        if args.birdal_maxdim1:
            t0 = time.perf_counter()
            dim_r1, _ = ripser_ph_dim(X, np.array(est.sizes), reps, 0, maxdim=1)
            t1 = time.perf_counter() - t0
            print(f"{'':>18} ripser(maxdim=1) as in Birdal's code: {t1:.3f} s, ratio {t1 / to:.1f}x, dim {dim_r1:.6f}")
    if not args.no_ripser:
        print(f"minimum speed-up over ripser(maxdim=0): {worst:.1f}x (median of {runs} interleaved runs per config); "
              f"values equal in every config: {'yes' if all_equal else 'NO'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
