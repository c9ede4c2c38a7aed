"""The zoo generator: a grid of small ReLU MLPs (learning rate x batch size x width x depth) trained on digits or
MNIST-1D, one Dask task per model, for the tests, the docs and the correlation study.

Each model is written as ``DIR/<name>.safetensors`` and then its sidecar ``DIR/<name>.json`` (architecture,
hyperparameters, dataset and the sha256 of the training split), both atomically; a model whose sidecar exists is
finished and is not retrained, so a killed zoo run resumes. Training is :func:`certify.jobs.demo.train_classifier`
(Adam on the cross-entropy, seeded, one torch thread): the same grid point gives the same weights on the same machine.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from certify.sweep.archs import mlp_arch, mlp_sizes
from certify.sweep.spec import ZooSpec

__all__ = ["ZooModel", "zoo_models", "train_zoo_model", "read_sidecar"]

_SHAPES = {"digits": (64, 10), "mnist1d": (40, 10)}


def _name(point: dict[str, Any]) -> str:
    return f"lr{point['lr']:g}_b{point['batch']}_w{point['width']}_d{point['depth']}"


@dataclass(frozen=True, slots=True)
class ZooModel:
    """One grid point: the model file it is written to, its ``--arch``, hyperparameters and training setup."""

    path: str
    arch: str
    hparams: dict[str, Any]
    dataset: str
    epochs: int
    seed: int


def zoo_models(zoo: ZooSpec, root: Path) -> list[ZooModel]:
    """The models of the grid (whether trained yet or not), in grid order."""
    n_in, n_out = _SHAPES[zoo.dataset]
    out = []
    for p in zoo.points():
        path = (root / zoo.dir / f"{_name(p)}.safetensors").resolve()
        out.append(ZooModel(str(path), mlp_arch(mlp_sizes(n_in, p["width"], p["depth"], n_out)), p, zoo.dataset,
                            zoo.epochs, zoo.seed))
    return out


def read_sidecar(model_path: str | Path) -> dict[str, Any] | None:
    """The sidecar JSON beside a model file (``NAME.json``), or None when there is none."""
    side = Path(model_path).with_suffix(".json")
    if not side.is_file():
        return None
    return json.loads(side.read_text(encoding="utf-8"))


def train_zoo_model(model: ZooModel, threads: int = 1) -> str:
    """Train one grid point (unless its sidecar exists) and write the model and its sidecar; returns the path."""
    import torch
    from safetensors.torch import save

    from certify.certificate import atomic_write_bytes, atomic_write_text
    from certify.data import load_builtin
    from certify.jobs.demo import train_classifier
    from certify.sweep import archs

    path = Path(model.path)
    if read_sidecar(path) is not None and path.is_file():
        return str(path)
    torch.set_num_threads(threads)
    train = load_builtin(model.dataset, "train")
    hp = model.hparams
    torch.manual_seed(model.seed)
    net = getattr(archs, model.arch.partition(":")[2])()
    net = train_classifier(net, train, epochs=model.epochs, lr=hp["lr"], batch=hp["batch"], seed=model.seed,
                           progress=False)
    atomic_write_bytes(path, save({k: v.contiguous() for k, v in net.state_dict().items()}))
    side = {"arch": model.arch, "hparams": hp, "dataset": model.dataset, "epochs": model.epochs,
            "seed": model.seed, "train_sha256": train.sha256}
    atomic_write_text(path.with_suffix(".json"), json.dumps(side, indent=2, sort_keys=True) + "\n")
    return str(path)
