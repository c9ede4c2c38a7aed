"""The Hugging Face Trainer callback in a short real ``transformers.Trainer`` run (a tiny torch model wrapped for the
Trainer on digits, CPU, offline): the recorded trajectory has every optimiser step with the step size the Trainer
used; the certificates taken at epoch ends equal `certify.certify` on the same weights and `certify check` verifies
the saved one. Also: our top-level ``kernels`` package is not mistaken for the hub's ``kernels`` library."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from boundcert.errors import InvalidInput  # noqa: E402
from certify import certify, load_builtin  # noqa: E402
from certify.cli import main  # noqa: E402
from certify.models.zoo import digits_mlp  # noqa: E402
from certify.training.callbacks import CertifyEvery, hf_trainer_callback  # noqa: E402
from certify.training.trajectory import TrajectoryRecorder, load_trajectory  # noqa: E402

THEOREM = "test_set.binomial_tail"
BATCH = 128


class _ForTrainer(torch.nn.Module):
    """What the Trainer trains: the plain network under ``net``, forward returns the loss."""

    def __init__(self) -> None:
        super().__init__()
        self.net = digits_mlp()

    def forward(self, x, labels=None):
        logits = self.net(x)
        out = {"logits": logits}
        if labels is not None:
            out["loss"] = torch.nn.functional.cross_entropy(logits, labels)
        return out


class _Digits(torch.utils.data.Dataset):
    def __init__(self) -> None:
        tr = load_builtin("digits", "train")
        self.x, self.y = torch.from_numpy(tr.x), torch.from_numpy(tr.y)

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i):
        return {"x": self.x[i], "labels": self.y[i]}


class _Snapshot(transformers.TrainerCallback):
    """The test's own witness: a copy of the network at each epoch end, to re-certify independently."""

    def __init__(self) -> None:
        self.nets = []

    def on_epoch_end(self, args, state, control, model=None, **kwargs):
        self.nets.append(copy.deepcopy(model.net))


def test_transformers_does_not_take_our_kernels_for_the_hub_library():
    import kernels
    from transformers.integrations import hub_kernels
    from transformers.utils import is_kernels_available

    assert is_kernels_available() is False  # no distribution named "kernels" is installed
    assert hub_kernels._kernels_available is False  # its `from kernels import get_kernel, ...` found none of them
    assert callable(kernels.spectral_norm)  # and `kernels` is still ours


def test_hf_trainer_records_the_trajectory_and_certifies(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    torch.manual_seed(0)
    model, data = _ForTrainer(), _Digits()
    steps_per_epoch, epochs = math.ceil(len(data) / BATCH), 2
    recorder = TrajectoryRecorder(model.net, last_n=50, sample_size=len(data))
    certifier = CertifyEvery([THEOREM], test_data="digits:test", out=tmp_path / "certs")
    callback = hf_trainer_callback(certifier=certifier, recorder=recorder, module_attr="net")
    assert isinstance(callback, transformers.TrainerCallback)
    snap = _Snapshot()
    args = transformers.TrainingArguments(
        output_dir=str(tmp_path / "hf"), num_train_epochs=epochs, per_device_train_batch_size=BATCH,
        learning_rate=0.1, optim="sgd", lr_scheduler_type="constant", weight_decay=0.0, use_cpu=True,
        report_to=[], save_strategy="no", eval_strategy="no", logging_strategy="no", disable_tqdm=True, seed=0,
        dataloader_num_workers=0, dataloader_pin_memory=False)
    trainer = transformers.Trainer(model=model, args=args, train_dataset=data, callbacks=[callback, snap])
    trainer.train()

    steps = epochs * steps_per_epoch
    assert trainer.state.global_step == steps
    assert recorder.n_recorded == min(50, steps + 1)  # the start point and every optimiser step
    traj = load_trajectory(recorder.save(tmp_path / "traj.npz"))
    # one row per optimiser step; the Trainer makes two parameter groups (with and without weight decay)
    assert traj.step_size_history.shape == (steps, 2) and np.all(traj.step_size_history == 0.1)
    assert traj.metadata["optimizer"]["class"] == "SGD"  # unwrapped from accelerate's AcceleratedOptimizer
    assert traj.metadata["total_steps"] == steps and traj.metadata["sample_size"] == len(data)
    final = torch.cat([p.detach().reshape(-1).double() for p in model.net.parameters()]).numpy()
    assert np.array_equal(traj.iterates[-1], final)  # the last record is the trained weights, exactly

    assert [r.epoch for r in certifier.history] == [0, 1] and len(snap.nets) == epochs
    for r in certifier.history:  # each certificate is certify() of that epoch's weights
        again = certify(snap.nets[r.epoch], "digits:test", theorem=THEOREM)
        assert again.result.hi == r.certificate.result.hi and again.model["sha256"] == r.certificate.model["sha256"]
    path = certifier.history[-1].certificate_path
    assert path == str(tmp_path / "certs" / "epoch-0001" / f"{THEOREM}.json")
    capsys.readouterr()
    assert main(["check", path]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == "VERIFIED"


def test_hf_callback_arguments_are_one_line_errors():
    with pytest.raises(InvalidInput, match="certifier, a recorder or both"):
        hf_trainer_callback()
    with pytest.raises(InvalidInput, match="module_attr="):
        hf_trainer_callback(certifier=CertifyEvery([THEOREM], data="digits:test"), module_attr="net.fc1")
    with pytest.raises(InvalidInput, match="not a CertifyEvery"):
        hf_trainer_callback(certifier="every epoch")
