"""A real Dask cluster for the sweep tests: ``dask scheduler`` and two ``dask worker`` processes on 127.0.0.1, each
bounded in time (scheduler ``--idle-timeout``, workers ``--lifetime`` and ``--death-timeout``) and stopped by pid at
the end; tiny digits models trained in the test."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DASK = str(Path(sys.executable).with_name("dask"))
ARCH = "certify.zoo:digits_mlp"


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1"}


class Cluster:
    """``dask scheduler`` + ``n`` workers (no nanny: a ``kill -9`` of a worker is the loss of that worker)."""

    def __init__(self, directory: Path, n: int = 2) -> None:
        self.dir = directory
        self.procs: list[subprocess.Popen] = []
        sfile = directory / "scheduler.json"
        self.scheduler = self._spawn([DASK, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                      "--scheduler-file", str(sfile), "--idle-timeout", "900s"], "scheduler")
        deadline = time.monotonic() + 90
        while not sfile.is_file() or not sfile.read_text().strip():
            if time.monotonic() > deadline or self.scheduler.poll() is not None:
                self.close()
                raise RuntimeError(f"dask scheduler did not start: {(directory / 'scheduler.log').read_text()}")
            time.sleep(0.2)
        self.address = json.loads(sfile.read_text())["address"]
        self.workers = [self.add_worker(i) for i in range(n)]
        self.wait_for(n)

    def _spawn(self, cmd: list[str], name: str) -> subprocess.Popen:
        log = open(self.dir / f"{name}.log", "ab")
        p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env(), cwd=self.dir)
        self.procs.append(p)
        return p

    def add_worker(self, i: int) -> subprocess.Popen:
        return self._spawn([DASK, "worker", self.address, "--nthreads", "1", "--no-nanny", "--no-dashboard",
                            "--host", "127.0.0.1", "--name", f"w{i}-{len(self.procs)}", "--memory-limit", "2GiB",
                            "--lifetime", "900s", "--death-timeout", "30s"], f"worker{i}")

    def wait_for(self, n: int) -> None:
        from distributed import Client

        with Client(self.address, timeout="60s") as c:
            c.wait_for_workers(n, timeout=120)

    def close(self) -> None:
        for p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=10)


def tiny_models(directory: Path, n: int = 2) -> list[Path]:
    """``n`` digits MLPs (64-128-10), 1 epoch each with a different seed, as safetensors."""
    import torch
    from safetensors.torch import save_file

    from certify.data import load_builtin
    from certify.jobs.demo import train_classifier
    from certify.models.zoo import digits_mlp

    torch.set_num_threads(1)
    directory.mkdir(parents=True, exist_ok=True)
    train = load_builtin("digits", "train")
    paths = []
    for seed in range(n):
        torch.manual_seed(seed)
        m = train_classifier(digits_mlp(), train, epochs=1, seed=seed, progress=False)
        p = directory / f"m{seed}.safetensors"
        save_file({k: v.contiguous() for k, v in m.state_dict().items()}, str(p))
        paths.append(p)
    return paths


def write_spec(path: Path, body: str) -> Path:
    path.write_text(body)
    return path


def sweep_cli(*args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "certify", "sweep", *args], capture_output=True, text=True,
                          env=env(), cwd=cwd, timeout=timeout)


def read_rows(out: Path) -> list[dict]:
    import pyarrow.parquet as pq

    return pq.read_table(out / "results.parquet").to_pylist()
