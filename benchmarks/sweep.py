"""`certify sweep` throughput: jobs per minute with 1 and 2 LocalCluster workers, and the engine's per-job overhead
against calling the pipeline in a plain loop, on the same jobs.

Jobs: ``--models`` digits MLPs (64-128-10, one epoch, seeded) x ``--theorems`` (the three test-set bounds and the
Frobenius margin bound), each a full ``certify run`` (certificate, reproduce.sh, report) plus its Parquet row.
* loop: ``certify.jobs.run.run_job`` called in this process with the thread counts a sweep job gets
  (``job_threads(1)``: one torch, numba and BLAS thread), one output directory per job (what a shell loop around
  ``certify run`` does, without paying the interpreter start each time); warmed first by one job of every theorem.
* sweep, N workers: a LocalCluster of N workers is started and warmed (every worker runs one job of every theorem,
  into a scratch directory); that is the start-up, timed and reported apart. Then ``run_sweep`` against the warm
  cluster (``scheduler=`` its address) on a fresh output directory, timed whole: the client's connection, hashing
  and job expansion, submission, the jobs, the rows and the consolidated table. The steady rate is
  ``jobs / wall``; nothing is subtracted.
Each time is the median of ``--repeats`` runs (the machine's cores are shared and noisy).
Overhead per job = (1-worker sweep wall - loop time) / jobs, relative to the loop's time per job.

Usage: PYTHONPATH=. python benchmarks/sweep.py [--models 8] [--repeats 3] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

THEOREMS = (("test_set.binomial_tail", "test"), ("test_set.kl_chernoff", "test"), ("test_set.hoeffding", "test"),
            ("norm.golowich2018_frobenius_multiclass", "train"))
ARCH = "certify.zoo:digits_mlp"


def _models(directory: Path, n: int) -> list[Path]:
    import torch
    from safetensors.torch import save_file

    from certify.data import load_builtin
    from certify.jobs.demo import train_classifier
    from certify.models.zoo import digits_mlp

    torch.set_num_threads(1)
    train = load_builtin("digits", "train")
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for seed in range(n):
        torch.manual_seed(seed)
        m = train_classifier(digits_mlp(), train, epochs=1, seed=seed, progress=False)
        p = directory / f"m{seed:03d}.safetensors"
        save_file({k: v.contiguous() for k, v in m.state_dict().items()}, str(p))
        paths.append(p)
    return paths


def _spec(path: Path, glob: str, theorems) -> Path:
    body = f'[sweep]\ndata = "digits"\ntrain_data = "digits:train"\n\n[[models]]\nglob = "{glob}"\narch = "{ARCH}"\n\n'
    for tid, sample in theorems:
        body += f'[[jobs]]\ntheorem = "{tid}"\nsample = "{sample}"\n\n'
    path.write_text(body)
    return path


def _warm_cluster(client, spec: Path, scratch: Path) -> None:
    """Run every job of ``spec`` once on every worker (pinned to it): imports, JIT caches and first-call costs."""
    from distributed import wait

    from certify.sweep import load_spec
    from certify.sweep.jobs import expand_jobs
    from certify.sweep.worker import execute

    jobs = expand_jobs(load_spec(spec))
    futures = [client.submit(execute, j, str(scratch / str(i)), workers=[w], allow_other_workers=False, pure=False)
               for i, w in enumerate(client.scheduler_info()["workers"]) for j in jobs]
    wait(futures)
    bad = [f for f in futures if f.status != "finished" or f.result()["status"] != "ok"]
    if bad:
        raise SystemExit(f"warm-up job failed on a worker: {bad[0]}")


def _sweep(spec: Path, out: Path, address: str) -> float:
    from certify.sweep import load_spec, run_sweep

    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    res = run_sweep(load_spec(spec), out, scheduler=address, progress=False)
    wall = time.perf_counter() - t0
    bad = {k: v for k, v in res.counts().items() if k != "ok"}
    if bad:
        raise SystemExit(f"sweep rows not ok: {bad}")
    if res.ran != len(res.jobs):
        raise SystemExit(f"the sweep ran {res.ran} of {len(res.jobs)} jobs: the output directory was not fresh")
    return wall


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=3, help="runs of each timing; the median is reported")
    ap.add_argument("--quick", action="store_true", help="3 models, 1 repeat")
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = ap.parse_args(argv)
    n_models = 3 if args.quick else args.models
    repeats = 1 if args.quick else max(1, args.repeats)
    from certify.jobs.run import run_job
    from certify.sweep.engine import dask_client
    from certify.sweep.worker import job_threads

    tmp = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    try:
        models = _models(tmp / "models", n_models)
        spec = _spec(tmp / "spec.toml", str(tmp / "models" / "*.safetensors"), THEOREMS)
        one = _spec(tmp / "one.toml", str(models[0]), THEOREMS)  # one model x every theorem: the warm-up
        n_jobs = n_models * len(THEOREMS)

        def data(sample: str) -> str:
            return "digits" if sample == "test" else "digits:train"

        loops = []
        with job_threads(1):
            for tid, sample in THEOREMS:  # warm-up: imports, JIT caches, first figures of every theorem
                run_job(str(models[0]), data(sample), tid, out=tmp / "warm" / tid, arch=ARCH)
            for r in range(repeats):
                t0 = time.perf_counter()
                for m in models:
                    for tid, sample in THEOREMS:
                        run_job(str(m), data(sample), tid, out=tmp / f"loop{r}" / m.stem / tid, arch=ARCH)
                loops.append(time.perf_counter() - t0)
        loop = statistics.median(loops)
        figures = {"jobs": n_jobs, "repeats": repeats, "loop_s": loop, "loop_runs_s": loops,
                   "loop_jobs_per_min": 60 * n_jobs / loop, "cpu_count": os.cpu_count(),
                   "load_average_1min": os.getloadavg()[0]}
        for w in (1, 2):
            t0 = time.perf_counter()
            with dask_client(None, w, "2GiB") as client:
                _warm_cluster(client, one, tmp / f"warm{w}")
                figures[f"sweep{w}_startup_s"] = time.perf_counter() - t0
                walls = [_sweep(spec, tmp / f"sweep{w}-{r}", client.scheduler.address) for r in range(repeats)]
            figures[f"sweep{w}_wall_s"] = statistics.median(walls)
            figures[f"sweep{w}_runs_s"] = walls
            figures[f"sweep{w}_jobs_per_min"] = 60 * n_jobs / figures[f"sweep{w}_wall_s"]
        figures["scaling_2_over_1"] = figures["sweep2_jobs_per_min"] / figures["sweep1_jobs_per_min"]
        figures["overhead_per_job_s"] = (figures["sweep1_wall_s"] - loop) / n_jobs
        figures["overhead_relative"] = (figures["sweep1_wall_s"] - loop) / loop
        print(f"{n_jobs} jobs ({n_models} models x {len(THEOREMS)} theorems), {os.cpu_count()} cores, "
              f"load {figures['load_average_1min']:.1f}, median of {repeats}")
        print(f"  plain loop (run_job, 1 thread): {loop:7.1f} s  {figures['loop_jobs_per_min']:7.1f} jobs/min")
        for w in (1, 2):
            print(f"  sweep, {w} worker{'s' if w > 1 else ' '}:            {figures[f'sweep{w}_wall_s']:7.1f} s  "
                  f"{figures[f'sweep{w}_jobs_per_min']:7.1f} jobs/min (warm cluster; start-up and warm-up "
                  f"{figures[f'sweep{w}_startup_s']:.1f} s before it)")
        print(f"  scaling 2 workers / 1 worker: {figures['scaling_2_over_1']:.2f}x (target >= 1.7x)")
        print(f"  engine overhead vs the loop: {figures['overhead_per_job_s'] * 1000:+.0f} ms/job "
              f"({100 * figures['overhead_relative']:+.1f} %, target <= 5 %)")
        if args.json:
            Path(args.json).write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
