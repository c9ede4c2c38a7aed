"""Shared, cached artefacts for the pipeline tests: tiny models trained in the test on digits, saved three ways."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]


@functools.lru_cache(maxsize=None)
def trained(kind: str):
    """``kind`` in {"mlp", "cnn"}: a model trained 2 epochs on digits (seeded), with its test set."""
    import torch

    from certify import load_builtin
    from certify.data import Dataset
    from certify.jobs.demo import train_classifier
    from certify.models.zoo import digits_cnn, digits_mlp

    torch.set_num_threads(1)
    train, test = load_builtin("digits", "train"), load_builtin("digits", "test")
    if kind == "cnn":
        train = Dataset.from_arrays(train.x.reshape(-1, 1, 8, 8), train.y, name="digits8x8", split="train")
        test = Dataset.from_arrays(test.x.reshape(-1, 1, 8, 8), test.y, name="digits8x8", split="test")
    torch.manual_seed(0)
    model = train_classifier(digits_cnn() if kind == "cnn" else digits_mlp(), train, epochs=2, progress=False)
    return model, train, test


def save_all(model, directory: Path) -> dict[str, Path]:
    """The model as safetensors, as a state dict and as TorchScript."""
    import torch
    from safetensors.torch import save_file

    directory.mkdir(parents=True, exist_ok=True)
    paths = {"safetensors": directory / "model.safetensors", "state_dict": directory / "model.pt",
             "torchscript": directory / "model_script.pt"}
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(paths["safetensors"]))
    torch.save(model.state_dict(), paths["state_dict"])
    torch.jit.script(model).save(str(paths["torchscript"]))
    return paths


def save_npz(ds, path: Path) -> Path:
    np.savez(path, x=ds.x, y=ds.y)
    return path


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    return subprocess.run([sys.executable, "-m", "certify", *args], capture_output=True, text=True, env=env, cwd=cwd,
                          timeout=300)


def run_in_process(capsys, *argv):
    """``certify ARGV`` in this process: ``(exit code, stdout, stderr)``."""
    from certify.cli import main

    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err
