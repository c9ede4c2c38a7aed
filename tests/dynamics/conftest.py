"""Session fixtures: trajectories recorded once (constant step; decaying step c/t)."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")

from dynamics_support import record  # noqa: E402


@pytest.fixture(scope="session")
def traj_path(tmp_path_factory):
    return record(tmp_path_factory.mktemp("traj") / "traj.npz")


@pytest.fixture(scope="session")
def decaying_path(tmp_path_factory):
    return record(tmp_path_factory.mktemp("traj") / "decay.npz", lr=0.2, schedule="c/t")
