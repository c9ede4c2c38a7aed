"""``certify sweep --scheduler`` against a real Dask cluster (``dask scheduler`` + two ``dask worker`` processes):
each row equals the certificate of a single ``certify run`` of the same job, a rerun is duplicate-free and runs
nothing, a failing job is its one-line error and does not stop the others, and a ``kill -9`` of the client or of a
worker loses no finished job."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from sweep_support import ARCH, env, read_rows, sweep_cli, write_spec

TEST_SET = ("test_set.binomial_tail", "test_set.kl_chernoff", "test_set.hoeffding")
TRAIN_SET = ("norm.golowich2018_frobenius_multiclass", "norm.neyshabur2015_frobenius_multiclass",
             "norm.neyshabur2015_path_multiclass", "robust.certified_accuracy")


def _spec(tmp: Path, models: list[Path], theorems: list[tuple[str, str]], extra: str = "", glob: str = "*") -> Path:
    body = (f'[sweep]\ndata = "digits"\ntrain_data = "digits:train"\n\n[[models]]\n'
            f'glob = "{models[0].parent}/{glob}.safetensors"\narch = "{ARCH}"\n\n')
    for tid, sample in theorems:
        body += f'[[jobs]]\nkind = "theorem"\ntheorem = "{tid}"\nsample = "{sample}"\n\n'
    return write_spec(tmp / "spec.toml", body + extra)


def _masked(cert: dict) -> dict:
    """A certificate without the fields that differ between two identical runs in different processes: the
    ``created`` timestamp and the environment record (torch threads: one per Dask worker)."""
    return {k: v for k, v in cert.items() if k not in ("created", "environment")}


def test_rows_equal_single_certify_run(cluster, models, tmp_path, capsys):
    from certify.cli import main
    from certify.models.loader import load_model
    from certify.models.predict import count_errors, predict
    from certify.data import load_builtin

    spec = _spec(tmp_path, models, [(TEST_SET[0], "test"), (TRAIN_SET[0], "train"), (TEST_SET[0], "train")],
                 '[[jobs]]\nkind = "analyze"\n\n[[jobs]]\nkind = "gap"\n', glob="m0")
    models = models[:1]
    out = tmp_path / "out"
    assert main(["sweep", str(spec), "--scheduler", cluster.address, "--out", str(out), "--json", "--csv"]) == 0
    summary = json.loads(capsys.readouterr().out)
    n_jobs = 5 * len(models)
    assert (summary["jobs"], summary["ran"], summary["skipped"]) == (n_jobs, n_jobs, 0)
    assert summary["status"] == {"ok": 4 * len(models), "error": len(models)}
    rows = read_rows(out)
    assert len(rows) == n_jobs and len({r["key"] for r in rows}) == n_jobs
    assert (out / "results.csv").read_text().count("\n") == n_jobs + 1
    assert {r["worker"] for r in rows} <= set(cluster_workers(cluster))
    for row in rows:
        model = Path(row["model"])
        if row["kind"] == "theorem" and row["status"] == "ok":
            data = "digits" if row["theorem"] in TEST_SET else "digits:train"
            single = tmp_path / f"single-{row['key'][:12]}"
            assert main(["run", str(model), "--data", data, "--theorem", row["theorem"], "--arch", ARCH,
                         "--out", str(single)]) == 0
            ref = json.loads((single / "certificate.json").read_text())
            ours = json.loads((out / row["certificate"]).read_text())
            assert _masked(ours) == _masked(ref)
            assert (row["result_lo"], row["result_hi"]) == (ref["result"]["lo"], ref["result"]["hi"])
            assert (row["model_sha256"], row["data_sha256"]) == (ref["model"]["sha256"], ref["data"]["sha256"])
            assert row["model_file_sha256"] == ref["model"]["file_sha256"]
            assert row["theorem_version"] == ref["theorem"]["version"]
            assert json.loads(row["options"]) == ref["options"]
            script = (out / row["certificate"]).with_name("reproduce.sh")
            assert script.read_text() == (single / "reproduce.sh").read_text()
        elif row["kind"] == "theorem":  # a test-set bound on the training split: refused, recorded, not fatal
            assert row["status"] == "error" and "training split" in row["error"] and "\n" not in row["error"]
        elif row["kind"] == "analyze":
            assert row["status"] == "ok"
            capsys.readouterr()
            assert main(["analyze", str(model), "--arch", ARCH, "--json"]) == 0
            ref_rows = json.loads(capsys.readouterr().out)
            assert json.loads((out / "jobs" / row["key"] / "analyze.json").read_text()) == ref_rows
        else:
            m = load_model(str(model), ARCH).module
            tr, te = load_builtin("digits", "train"), load_builtin("digits", "test")
            k_tr = int(np.sum(m(__import__("torch").from_numpy(tr.x)).argmax(1).numpy() != tr.y))
            k_te = count_errors(predict(m, te.x), te.y)
            got = json.loads(row["measures"])
            assert (got["train_errors"], got["train_n"], got["test_errors"], got["test_n"]) == (k_tr, tr.n, k_te, te.n)

    # the same command again: nothing runs, the table is the same rows, nothing is duplicated
    again = sweep_cli(str(spec), "--scheduler", cluster.address, "--out", str(out), "--json")  # the console path
    assert again.returncode == 0, again.stderr
    s2 = json.loads(again.stdout)
    assert (s2["ran"], s2["skipped"]) == (0, n_jobs)
    assert read_rows(out) == rows
    assert list((out / "rows").iterdir()) == []


def cluster_workers(cluster) -> list[str]:
    from distributed import Client

    with Client(cluster.address, timeout="30s") as c:
        return list(c.scheduler_info()["workers"])


def _wait_rows(out: Path, at_least: int, proc: subprocess.Popen, timeout: float = 240) -> dict[str, bytes]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        files = list((out / "rows").glob("*.parquet")) if (out / "rows").is_dir() else []
        if len(files) >= at_least:
            return {f.stem: f.read_bytes() for f in files}
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError(f"fewer than {at_least} rows after {timeout} s")


def _popen(spec: Path, cluster, out: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "certify", "sweep", str(spec), "--scheduler", cluster.address,
                             "--out", str(out), "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env())


def _many(tmp_path: Path, models: list[Path]) -> tuple[Path, int]:
    jobs = [(t, "test") for t in TEST_SET] + [(t, "train") for t in TRAIN_SET]
    return _spec(tmp_path, models, jobs), len(jobs) * len(models)


@pytest.mark.slow
def test_kill_client_loses_nothing(cluster, models, tmp_path):
    import pyarrow.parquet as pq

    spec, n_jobs = _many(tmp_path, models)
    out = tmp_path / "out"
    proc = _popen(spec, cluster, out)
    before = _wait_rows(out, 2, proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert len(before) < n_jobs, "the sweep finished before the kill: the test needs more jobs"
    r = sweep_cli(str(spec), "--scheduler", cluster.address, "--out", str(out), "--json")
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    assert s["status"] == {"ok": n_jobs} and s["skipped"] >= len(before) and s["ran"] == n_jobs - s["skipped"]
    rows = {row["key"]: row for row in read_rows(out)}
    assert len(rows) == n_jobs
    for key, blob in before.items():  # every row finished before the kill is kept as it was (not run again)
        import io

        old = pq.read_table(io.BytesIO(blob)).to_pylist()[0]
        assert rows[key] == old


@pytest.mark.slow
def test_kill_worker_loses_nothing(cluster, models, tmp_path):
    spec, n_jobs = _many(tmp_path, models)
    out = tmp_path / "out"
    proc = _popen(spec, cluster, out)
    try:
        _wait_rows(out, 1, proc)
        victim = cluster.workers[0]
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(timeout=30)
        stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, stderr
        s = json.loads(stdout)
        assert s["status"] == {"ok": n_jobs} and s["ran"] == n_jobs
        rows = read_rows(out)
        assert len(rows) == n_jobs == len({r["key"] for r in rows})
    finally:
        cluster.workers[0] = cluster.add_worker(0)
        cluster.wait_for(2)
