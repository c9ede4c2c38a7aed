"""Session fixtures: a tiny trained MLP (TorchScript file), its data (.npz) and its exact Hessian."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from landscape_support import exact_hessian, save_model, tiny_data, tiny_mlp  # noqa: E402


@pytest.fixture(scope="session")
def tiny(tmp_path_factory):
    d = tmp_path_factory.mktemp("landscape")
    x, y = tiny_data()
    net = tiny_mlp(x, y)
    init = tiny_mlp(x, y, steps=0, seed=1)
    np.savez(d / "data.npz", x=x, y=y)
    return {"net": net, "x": x, "y": y, "model": save_model(net, d / "model.pt"), "data": d / "data.npz",
            "init": save_model(init, d / "init.pt"), "H": exact_hessian(net, x, y), "dir": d}
