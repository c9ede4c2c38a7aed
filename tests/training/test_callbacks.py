"""Training callbacks in a short real training run: a plain loop and PyTorch Lightning (a real Trainer). The
certificates taken at epoch ends equal `certify.certify` on the same weights; the recorder's trajectory saves and
loads; the model's train mode is restored."""

from __future__ import annotations

import copy

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from boundcert.errors import InvalidInput  # noqa: E402
from certify import certify, load_builtin  # noqa: E402
from certify.models.zoo import digits_mlp  # noqa: E402
from certify.training.callbacks import CertifyEvery, lightning_callback  # noqa: E402
from certify.training.trajectory import TrajectoryRecorder, load_trajectory  # noqa: E402

THEOREMS = ["test_set.binomial_tail", "norm.neyshabur2015_frobenius_multiclass"]


def _loader(batch=128):
    tr = load_builtin("digits", "train")
    ds = torch.utils.data.TensorDataset(torch.from_numpy(tr.x), torch.from_numpy(tr.y))
    return torch.utils.data.DataLoader(ds, batch_size=batch, shuffle=True, generator=torch.Generator().manual_seed(0))


def test_plain_loop_certifies_every_epoch_like_certify(tmp_path):
    torch.manual_seed(0)
    model = digits_mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    cb = CertifyEvery(THEOREMS, train_data="digits:train", test_data="digits:test", every=1, out=tmp_path)
    snapshots = []
    for epoch in range(2):
        model.train()
        for x, y in _loader():
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
        taken = cb.on_epoch_end(model, epoch)
        assert model.training and len(taken) == 2
        snapshots.append(copy.deepcopy(model))
    assert [r["epoch"] for r in cb.rows()] == [0, 0, 1, 1]
    for r in cb.history:  # each bound is certify() of that epoch's weights, on that theorem's data role
        data = "digits:test" if r.theorem.startswith("test_set") else "digits:train"
        again = certify(snapshots[r.epoch], data, theorem=r.theorem)
        assert again.result.hi == r.certificate.result.hi and (tmp_path / f"epoch-{r.epoch:04d}" / f"{r.theorem}.json").is_file()
    best = cb.best("test_set.binomial_tail")
    assert best.bound == min((r.bound for r in cb.history if r.theorem == "test_set.binomial_tail"), key=float)
    assert cb.delta_per_certificate(2) == "1/80"  # 0.05 over 2 epochs x 2 theorems


def test_bad_callback_arguments_are_one_line_errors():
    with pytest.raises(InvalidInput, match="every=0"):
        CertifyEvery(THEOREMS, data="digits:test", every=0)
    with pytest.raises(InvalidInput, match="kind"):
        CertifyEvery(["norm.neyshabur2018_spectral"], data="digits:test")
    with pytest.raises(InvalidInput, match="held-out"):
        CertifyEvery(["test_set.hoeffding"], train_data="digits:train")


def test_lightning_trainer_records_and_certifies(tmp_path):
    pl = pytest.importorskip("lightning.pytorch")

    class Module(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.model = digits_mlp()

        def training_step(self, batch, batch_idx):
            x, y = batch
            return torch.nn.functional.cross_entropy(self.model(x), y)

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    torch.manual_seed(0)
    module = Module()
    recorder = TrajectoryRecorder(module.model, last_n=50, sample_size=1200)
    certifier = CertifyEvery(THEOREMS[:1], test_data="digits:test")
    trainer = pl.Trainer(max_epochs=2, accelerator="cpu", logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False,
                         callbacks=[lightning_callback(certifier=certifier, recorder=recorder, module_attr="model")])
    trainer.fit(module, _loader())
    steps = 2 * len(_loader())
    assert recorder.n_recorded == min(50, steps + 1)
    traj = load_trajectory(recorder.save(tmp_path / "traj.npz"))
    assert traj.step_size_history.shape[0] == steps and np.all(traj.step_size_history == 0.1)
    assert [r.epoch for r in certifier.history] == [0, 1]
    again = certify(module.model, "digits:test", theorem=THEOREMS[0])
    assert again.result.hi == certifier.history[-1].certificate.result.hi
