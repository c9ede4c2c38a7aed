"""The long loops of the demo, the Monte Carlo count and the dynamics measures draw their bars through the one
progress helper (certify.reports.progress): with stderr piped (not a terminal) they write nothing to it, no
carriage-return redraws; forced on (BOUNDCERT_PROGRESS=1) the same loops do draw, so the quiet result is the
helper stepping aside, not a loop without a bar."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from certify import load_builtin  # noqa: E402
from certify.jobs.demo import train_classifier  # noqa: E402
from certify.models.posterior import StoredPosterior  # noqa: E402
from certify.models.zoo import digits_mlp  # noqa: E402
from certify.quantities.dynamics import analyze_trajectory  # noqa: E402
from certify.quantities.pacbayes import mc_errors  # noqa: E402
from certify.training.trajectory import TrajectoryRecorder  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def _trajectory(path: Path) -> Path:
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 3)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    rec = TrajectoryRecorder(model, last_n=40).attach(opt)
    x, y = torch.randn(64, 4), torch.randint(0, 3, (64,))
    for _ in range(30):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    return rec.save(path)


def _posterior() -> StoredPosterior:
    rng = np.random.default_rng(0)
    mu = (rng.standard_normal((3, 4)).astype(np.float32), np.zeros(3, np.float32))
    sigma = (np.full((3, 4), 0.1, np.float32), np.full(3, 0.1, np.float32))
    return StoredPosterior((4, 3), mu, sigma, (np.zeros((3, 4), np.float32), np.zeros(3, np.float32)), "mem", "0" * 64, {})


def _run_loops(tmp_path: Path) -> None:
    train = load_builtin("digits", "train")
    train_classifier(digits_mlp(), train, epochs=2, progress=True)
    x = np.random.default_rng(1).standard_normal((50, 4)).astype(np.float32)
    errors = mc_errors(_posterior(), x, np.zeros(50, np.int64), 3, mode="per_network", seed=0, progress=True)
    assert 0 <= errors <= 150
    analyze_trajectory(_trajectory(tmp_path / "traj.npz"), progress=True)


def test_piped_loops_draw_no_bars_and_forced_ones_do(tmp_path, capfd, monkeypatch):
    monkeypatch.delenv("BOUNDCERT_PROGRESS", raising=False)
    _run_loops(tmp_path)
    assert capfd.readouterr().err == ""  # stderr is captured here, not a terminal: the bars step aside
    monkeypatch.setenv("BOUNDCERT_PROGRESS", "1")
    _run_loops(tmp_path)
    err = capfd.readouterr().err
    assert "training" in err and "monte carlo (per_network)" in err and "dynamics measures" in err


@pytest.mark.slow
def test_piped_certify_demo_has_no_tqdm_redraws(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    env.pop("BOUNDCERT_PROGRESS", None)
    r = subprocess.run([sys.executable, "-m", "certify", "demo", "--epochs", "1", "--no-pacbayes",
                        "--out", str(tmp_path / "demo")], capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "VERIFIED"
    assert "\r" not in r.stderr and "it/s" not in r.stderr and "epoch/s" not in r.stderr, r.stderr
