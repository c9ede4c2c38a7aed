"""Session fixtures: a tiny trained MLP (TorchScript file), its data (.npz) and its exact Hessian."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from landscape_support import exact_hessian, save_model, tiny_data, tiny_mlp  # noqa: E402


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny models on a shared machine: one torch thread is many times faster than contended threads."""
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture(scope="session")
def tiny(tmp_path_factory):
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(1)
    d = tmp_path_factory.mktemp("landscape")
    x, y = tiny_data()
    net = tiny_mlp(x, y)
    init = tiny_mlp(x, y, steps=0, seed=1)
    np.savez(d / "data.npz", x=x, y=y)
    H = exact_hessian(net, x, y)
    torch.set_num_threads(old)
    return {"net": net, "x": x, "y": y, "model": save_model(net, d / "model.pt"), "data": d / "data.npz",
            "init": save_model(init, d / "init.pt"), "H": H, "dir": d}
