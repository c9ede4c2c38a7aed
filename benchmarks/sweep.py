"""`certify sweep` throughput: jobs per minute with 1 and 2 LocalCluster workers, and the engine's per-job overhead
against calling the pipeline in a plain loop, on the same jobs.

Jobs: ``--models`` digits MLPs (64-128-10, one epoch, seeded) x ``--theorems`` (the three test-set bounds and the
Frobenius margin bound), each a full ``certify run`` (certificate, reproduce.sh, report) plus its Parquet row.
* loop: ``certify.jobs.run.run_job`` called in this process, one torch thread, one output directory per job (what a
  shell loop around ``certify run`` does, without paying the interpreter start each time);
* sweep, N workers: ``run_sweep`` on a fresh output directory. The engine's start-up (LocalCluster processes, their
  imports) is timed apart, by a sweep of one job minus the loop's time per job, and is reported beside the steady
  rate ``jobs / (wall - start-up)``.
Overhead per job = (1-worker sweep time - loop time) / jobs, relative to the loop's time per job.

Usage: PYTHONPATH=. python benchmarks/sweep.py [--models 8] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
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


def _sweep(spec: Path, out: Path, workers: int) -> float:
    from certify.sweep import load_spec, run_sweep

    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    res = run_sweep(load_spec(spec), out, workers=workers, memory_limit="2GiB", progress=False)
    wall = time.perf_counter() - t0
    bad = {k: v for k, v in res.counts().items() if k != "ok"}
    if bad:
        raise SystemExit(f"sweep rows not ok: {bad}")
    return wall


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=int, default=8)
    ap.add_argument("--quick", action="store_true", help="3 models")
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = ap.parse_args(argv)
    n_models = 3 if args.quick else args.models
    import torch

    from certify.jobs.run import run_job

    tmp = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    try:
        models = _models(tmp / "models", n_models)
        spec = _spec(tmp / "spec.toml", str(tmp / "models" / "*.safetensors"), THEOREMS)
        one = _spec(tmp / "one.toml", str(models[0]), THEOREMS[:1])
        n_jobs = n_models * len(THEOREMS)
        torch.set_num_threads(1)
        run_job(str(models[0]), "digits", THEOREMS[0][0], out=tmp / "warm", arch=ARCH)  # imports, caches
        t0 = time.perf_counter()
        for m in models:
            for tid, sample in THEOREMS:
                run_job(str(m), "digits" if sample == "test" else "digits:train", tid, out=tmp / "loop" / m.stem / tid,
                        arch=ARCH)
        loop = time.perf_counter() - t0
        figures = {"jobs": n_jobs, "loop_s": loop, "loop_jobs_per_min": 60 * n_jobs / loop,
                   "cpu_count": os.cpu_count(), "load_average_1min": os.getloadavg()[0]}
        for w in (1, 2):
            start = _sweep(one, tmp / f"one{w}", w)  # start-up + one job
            wall = _sweep(spec, tmp / f"sweep{w}", w)
            per_job_loop = loop / n_jobs
            steady = wall - (start - per_job_loop)  # remove the start-up (the one-job sweep minus one job)
            figures[f"sweep{w}_wall_s"] = wall
            figures[f"sweep{w}_startup_s"] = start - per_job_loop
            figures[f"sweep{w}_jobs_per_min"] = 60 * n_jobs / steady
        figures["scaling_2_over_1"] = figures["sweep2_jobs_per_min"] / figures["sweep1_jobs_per_min"]
        steady1 = 60 * n_jobs / figures["sweep1_jobs_per_min"]
        figures["overhead_per_job_s"] = (steady1 - loop) / n_jobs
        figures["overhead_relative"] = (steady1 - loop) / loop
        print(f"{n_jobs} jobs ({n_models} models x {len(THEOREMS)} theorems), {os.cpu_count()} cores, "
              f"load {figures['load_average_1min']:.1f}")
        print(f"  plain loop (run_job, 1 thread): {loop:7.1f} s  {figures['loop_jobs_per_min']:7.1f} jobs/min")
        for w in (1, 2):
            print(f"  sweep, {w} worker{'s' if w > 1 else ' '}:            {figures[f'sweep{w}_wall_s']:7.1f} s  "
                  f"{figures[f'sweep{w}_jobs_per_min']:7.1f} jobs/min (start-up {figures[f'sweep{w}_startup_s']:.1f} s "
                  "not counted)")
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
