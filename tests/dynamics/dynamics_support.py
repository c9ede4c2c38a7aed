"""Trajectories recorded in the test: a tiny MLP on synthetic 3-class data, plain SGD, a few hundred steps."""

from __future__ import annotations

import torch

from certify.training.trajectory import TrajectoryRecorder

N_TRAIN = 128


def record(path, *, steps: int = 120, lr: float = 0.05, schedule: str = "constant", optimizer: str = "sgd",
           last_n: int = 1000, jl_dim: int | None = None, sample_size: int | None = N_TRAIN, every: int = 1,
           losses: bool = True, grads: bool = True):
    """Train ``steps`` SGD steps (batch 8) and save the trajectory to ``path``; returns the path."""
    torch.manual_seed(0)
    x = torch.randn(N_TRAIN, 6)
    y = (x[:, 0] > 0).long() + (x[:, 1] > 0.5).long()
    model = torch.nn.Sequential(torch.nn.Linear(6, 12), torch.nn.Tanh(), torch.nn.Linear(12, 3))
    if optimizer == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=lr)
    elif optimizer == "momentum":
        opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: 1.0 / (k + 1)) if schedule == "c/t" else None
    rec = TrajectoryRecorder(model, last_n=last_n, jl_dim=jl_dim, seed=1, every=every, record_grads=grads,
                             loss_subset=(x[:40], y[:40]) if losses else None, sample_size=sample_size).attach(opt)
    g = torch.Generator().manual_seed(2)
    for _ in range(steps):
        idx = torch.randint(0, N_TRAIN, (8,), generator=g)
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
        opt.step()
        if sched is not None:
            sched.step()
    rec.detach()
    return rec.save(path)
