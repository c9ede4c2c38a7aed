"""TrajectoryRecorder: a tiny MLP trained a few steps; the file round-trips with allow_pickle=False."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from boundcert.errors import InvalidInput
from certify.training.trajectory import FORMAT, TrajectoryRecorder, load_trajectory


def make(seed: int = 0):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(5, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))
    x = torch.randn(64, 5)
    y = torch.randint(0, 3, (64,))
    return model, x, y


def train(model, opt, x, y, steps: int) -> None:
    for t in range(steps):
        idx = torch.arange(t * 8, t * 8 + 8) % 64
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
        opt.step()


def test_attach_exact_iterates(tmp_path) -> None:
    model, x, y = make()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    rec = TrajectoryRecorder(model, last_n=5, loss_subset=(x[:10], y[:10]), record_grads=True).attach(opt)
    train(model, opt, x, y, 12)
    path = rec.save(tmp_path / "traj.npz")
    tr = load_trajectory(path)
    n_params = sum(p.numel() for p in model.parameters())
    assert tr.iterates.shape == (5, n_params) and list(tr.steps) == [8, 9, 10, 11, 12]
    final = torch.cat([p.detach().reshape(-1) for p in model.parameters()]).double().numpy()
    assert np.array_equal(tr.iterates[-1], final)
    assert tr.losses.shape == (5, 10) and np.all(tr.losses >= 0)
    assert tr.step_sizes.shape == (5, 1) and np.all(tr.step_sizes == 0.1)
    assert tr.grads.shape == (5, n_params)
    # SGD: w_{t+1} = w_t - lr g_t, so the recorded gradient explains the recorded step
    np.testing.assert_allclose(tr.iterates[-1] - tr.iterates[-2], -0.1 * tr.grads[-1], atol=1e-6)
    m = tr.metadata
    assert m["format"] == FORMAT and m["n_params"] == n_params and m["total_steps"] == 12 and m["jl"] is None
    assert m["optimizer"]["class"] == "SGD" and len(m["model_sha256"]) == 64
    with np.load(path, allow_pickle=False) as z:
        json.loads(str(z["metadata"]))


def test_jl_projection_and_distortion(tmp_path) -> None:
    model, x, y = make(1)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    rec = TrajectoryRecorder(model, last_n=50, jl_dim=40, seed=3).attach(opt)
    train(model, opt, x, y, 20)
    tr = load_trajectory(rec.save(tmp_path / "p.npz"))
    assert tr.iterates.shape == (21, 40) and tr.losses is None
    jl = tr.metadata["jl"]
    assert jl["dim"] == 40 and jl["pairs"] == 39 and 0 < jl["min_ratio"] <= jl["max_ratio"] and jl["distortion"] < 1.0
    # same seed, same map
    rec2 = TrajectoryRecorder(model, last_n=2, jl_dim=40, seed=3)
    rec2.on_train_start()
    assert np.allclose(rec2._buf[-1]["iterate"], tr.iterates[-1])


def test_lightning_style_callbacks(tmp_path) -> None:
    model, x, y = make(2)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)

    class FakeTrainer:
        optimizers = [opt]

    rec = TrajectoryRecorder(model, last_n=10, every=2)
    tr_ = FakeTrainer()
    rec.on_train_start(tr_, model)
    for t in range(6):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        rec.on_before_optimizer_step(tr_, model, opt)
        opt.step()
        rec.on_train_batch_end(tr_, model, None, None, t)
    rec.on_train_end(tr_, model)
    tr = load_trajectory(rec.save(tmp_path / "l.npz"))
    assert list(tr.steps) == [0, 2, 4, 6]


def test_bad_arguments(tmp_path) -> None:
    model, _, _ = make()
    with pytest.raises(InvalidInput):
        TrajectoryRecorder(model, last_n=1)
    with pytest.raises(InvalidInput):
        TrajectoryRecorder(model, jl_dim=0)
    with pytest.raises(InvalidInput):
        TrajectoryRecorder("not a model")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        TrajectoryRecorder(model).save(tmp_path / "empty.npz")
    bad = tmp_path / "bad.npz"
    np.savez(bad, iterates=np.zeros((2, 2)), metadata=np.array(json.dumps({"format": "other"})))
    with pytest.raises(InvalidInput):
        load_trajectory(bad)
