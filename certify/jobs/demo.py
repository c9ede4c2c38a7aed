"""``certify demo``: the main job on embedded data.

Trains :func:`certify.models.zoo.mnist1d_mlp` on MNIST-1D's 4000 training examples (seeded, CPU), saves it as safetensors,
certifies its test error with Langford's test-set bound (``test_set.binomial_tail``) on the 1000 held-out examples
through the same path as ``certify run`` (certificate.json, reproduce.sh, report.html, report.md beside the model),
then runs the independent checker on the certificate and the model file. Unless ``pacbayes=False`` it then adds a
PAC-Bayes certificate under ``pacbayes/`` through the user-model path of ``certify optimize MODEL``
(:func:`certify.training.module_pacbayes.run_module_pacbayes`) on the 1-d CNN :func:`certify.models.zoo.mnist1d_cnn`:
prior learnt on half of the training set (``epochs // 2`` epochs), sigma_prior 0.01, f_quad posterior
(``epochs // 12`` epochs), 5 per-example Monte Carlo passes. Measured (default ``epochs=60``, 2 shared cores): bound
0.227, stochastic test error 0.179, the PAC-Bayes step about a minute.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from certify.certificate import Certificate
from certify.data import Dataset, load_builtin

__all__ = ["DemoResult", "train_classifier", "run_demo"]


@dataclass(frozen=True, slots=True)
class DemoResult:
    certificate: Certificate
    certificate_path: Path
    model_path: Path
    train_accuracy: float
    test_accuracy: float
    verdict: str = ""
    pacbayes: object = None  # certify.training.pacbayes.PacBayesResult when the PAC-Bayes step ran


def train_classifier(model, train: Dataset, *, epochs: int, lr: float = 1e-3, batch: int = 128, seed: int = 0,
                     progress: bool = True):
    """Adam on the cross-entropy, seeded; returns the trained module in eval mode. ``progress``: a bar over the epochs
    (:mod:`certify.reports.progress`: drawn only when stderr is a terminal)."""
    import torch

    from certify.reports.progress import progress as progress_bar

    torch.manual_seed(seed)
    gen = np.random.default_rng(seed)
    x, y = torch.from_numpy(train.x), torch.from_numpy(train.y)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    bar = progress_bar(range(epochs), desc="training", unit="epoch", enabled=progress)
    for _ in bar:
        model.train()
        order = torch.from_numpy(gen.permutation(train.n))
        total = 0.0
        for i in range(0, train.n, batch):
            idx = order[i : i + batch]
            opt.zero_grad()
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        bar.set_postfix(loss=f"{total / train.n:.3f}")
    return model.eval()


def _accuracy(model, data: Dataset) -> float:
    import torch

    with torch.no_grad():
        pred = model(torch.from_numpy(data.x)).argmax(1).numpy()
    return float(np.mean(pred == data.y))


def run_demo(out: str | Path = "demo-out", *, epochs: int = 60, delta: str = "0.05", progress: bool = True,
             pacbayes: bool = True) -> DemoResult:
    import torch
    from safetensors.torch import save_file

    from certify.certificate import torch_threads
    from certify.models.zoo import mnist1d_mlp

    torch.set_num_threads(torch_threads(min(2, torch.get_num_threads())))
    out = Path(out)
    train, test = load_builtin("mnist1d", "train"), load_builtin("mnist1d", "test")
    from certify.checker import check
    from certify.jobs.run import run_job

    torch.manual_seed(0)
    model = train_classifier(mnist1d_mlp(), train, epochs=epochs, progress=progress)
    out.mkdir(parents=True, exist_ok=True)
    model_path = out / "model.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(model_path))
    r = run_job(str(model_path), "mnist1d", "test_set.binomial_tail", delta, out=out, arch="certify.zoo:mnist1d_mlp",
                progress=progress)
    cert, path = r.certificates["test_set.binomial_tail"], r.paths["certificate.json"]
    verdict = check(str(path), model=str(model_path)).verdict
    pb = None
    if pacbayes:
        from certify.data.splits import load_user_data
        from certify.models.zoo import mnist1d_cnn
        from certify.training.module_pacbayes import ModulePacBayesConfig, run_module_pacbayes

        cfg = ModulePacBayesConfig(prior="data_dependent", objective="f_quad", sigma_prior="0.01",
                                   prior_epochs=max(1, epochs // 2), posterior_epochs=max(1, epochs // 12),
                                   mc_passes=5, lr=3e-3, batch=64)
        tr_xy, te_xy, info = load_user_data("mnist1d")
        arch = "certify.models.zoo:mnist1d_cnn"
        pb = run_module_pacbayes(cfg, mnist1d_cnn(), tr_xy, out / "pacbayes", data_info=info, test=te_xy,
                                 model_info={"name": None, "path": None, "arch": arch, "file_sha256": None,
                                             "description": f"{arch} (architecture; prior trained by the demo)"},
                                 reproduce=f"certify demo --out {out} --delta {delta}", progress=progress)
    return DemoResult(cert, path, model_path, _accuracy(model, train), _accuracy(model, test), verdict, pb)
