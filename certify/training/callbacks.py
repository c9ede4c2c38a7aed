"""Training callbacks: record the trajectory and, every N epochs, certificates of the model being trained (model
selection by bound), in a plain loop, in PyTorch Lightning (a real ``lightning.pytorch.Callback``), in the Hugging
Face ``Trainer`` (a real ``transformers.TrainerCallback``), or wherever an epoch ends.

:class:`CertifyEvery` is the framework-free core: ``on_epoch_end(model, epoch)`` certifies the current weights with
each chosen theorem (the same :func:`certify.certify` as ``certify run``, data roles included: test-set bounds read
``test_data``, norm bounds ``train_data``) and keeps one :class:`CertifiedEpoch` per certificate. Each certificate
holds at its own ``delta``; picking the epoch with the smallest bound *after the fact* is a choice among
``N = epochs x theorems`` certificates and costs a union bound: certify each at ``delta / N`` (``delta_per_certificate``)
for the selected one to hold at ``delta``.

:func:`lightning_callback` (a subclass of Lightning's ``Callback``: every hook Lightning calls exists, ``setup``,
``teardown``, ``on_exception``, ...) and :func:`hf_trainer_callback` (a subclass of ``transformers.TrainerCallback``
for the Hugging Face ``Trainer``) wrap a :class:`CertifyEvery` and/or a :class:`TrajectoryRecorder`. Both are thin
adapters over one private implementation (``_Hooks``: train start, before/after each optimiser step, epoch end), so
the same run records the same trajectory and takes the same certificates whichever loop drives it. The callbacks only
*call* :func:`certify.certify`; the certificates' rounding model is that of the pipeline (outward-rounded enclosures,
see DESIGN.md), nothing is computed here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Sequence

from boundcert.errors import InvalidInput
from certify.training.trajectory import TrajectoryRecorder

__all__ = ["CertifiedEpoch", "CertifyEvery", "hf_trainer_callback", "lightning_callback"]


@dataclass(frozen=True, slots=True)
class CertifiedEpoch:
    """One certificate taken at the end of an epoch: the certified end (decimal, outward-rounded) and where the
    certificate was written (``None`` when the certifier keeps certificates in memory only)."""

    epoch: int
    theorem: str
    bounded: str
    relation: str
    bound: str
    certificate_path: str | None
    certificate: Any


class CertifyEvery:
    """Certify the model being trained every ``every`` epochs.

    Args:
        theorems: theorem ids of kind ``bound``.
        data, train_data, test_data: the samples, as for ``certify run`` (a built-in name, a file, arrays, a torch
            Dataset/DataLoader); a theorem reads ``test_data`` or ``train_data`` by its role, else ``data``.
        every: certify at the end of every ``every``-th epoch (epochs counted from 0).
        delta: the confidence parameter of each certificate (see the module docstring for selection by bound).
        out: a directory for the certificates (``epoch-0003/THEOREM.json``); ``None`` keeps them in memory.
    """

    def __init__(self, theorems: Sequence[str], *, data: object = None, train_data: object = None,
                 test_data: object = None, every: int = 1, delta: str = "0.05", out: str | Path | None = None) -> None:
        import theorems as registry

        from certify.data.roles import role_of

        if isinstance(theorems, str):
            theorems = [theorems]
        if not theorems:
            raise InvalidInput("theorems=[] names no theorem: give ids such as 'test_set.binomial_tail'")
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise InvalidInput(f"every={every!r} must be an integer >= 1 (certify every N epochs)")
        self._data: dict[str, object] = {}
        for tid in theorems:
            t = registry.get(tid)
            if t.kind != "bound":
                raise InvalidInput(f"theorem {tid} is of kind {t.kind!r}: only kind 'bound' results produce certificates")
            role = role_of(t)
            chosen = {"held_out": test_data or data, "train": train_data or data}.get(role,
                                                                                     test_data or data or train_data)
            if chosen is None:
                raise InvalidInput(f"theorem {tid} reads {'held-out' if role == 'held_out' else 'training'} data: "
                                   f"give {'test_data' if role == 'held_out' else 'train_data'} (or data)")
            self._data[tid] = chosen
        self.theorems, self.every, self.delta = tuple(theorems), every, str(delta)
        self.out = None if out is None else Path(out)
        self.history: list[CertifiedEpoch] = []

    def delta_per_certificate(self, epochs: int) -> str:
        """The ``delta`` at which to certify each of ``epochs // every * len(theorems)`` certificates so that the one
        selected afterwards holds at ``self.delta`` (union bound), as an exact decimal or fraction string."""
        n = max(1, epochs // self.every) * len(self.theorems)
        return str(Fraction(self.delta) / n)

    def on_epoch_end(self, model: Any, epoch: int) -> list[CertifiedEpoch]:
        """Certify ``model`` now if ``epoch`` is due; the model's train/eval mode is restored afterwards."""
        from certify.pipeline import certify

        if (epoch + 1) % self.every:
            return []
        was_training = bool(getattr(model, "training", False))
        taken = []
        try:
            for tid in self.theorems:
                cert = certify(model, self._data[tid], theorem=tid, delta=self.delta)
                path = None
                if self.out is not None:
                    path = str(cert.save(self.out / f"epoch-{epoch:04d}" / f"{tid}.json"))
                upper = " is at least " not in cert.claim
                taken.append(CertifiedEpoch(epoch, tid, str(cert.theorem["bounded"]), "<=" if upper else ">=",
                                            cert.result.hi_str(6) if upper else cert.result.lo_str(6), path, cert))
        finally:
            model.train(was_training)
        self.history += taken
        return taken

    def best(self, theorem: str) -> CertifiedEpoch:
        """The epoch whose certificate of ``theorem`` is tightest (smallest upper end; largest lower end)."""
        rows = [r for r in self.history if r.theorem == theorem]
        if not rows:
            raise InvalidInput(f"no certificate of {theorem} was taken: is it among theorems and has an epoch ended?")
        return min(rows, key=lambda r: Fraction(r.bound) * (1 if r.relation == "<=" else -1))

    def rows(self) -> list[dict[str, Any]]:
        """The history as plain rows (epoch, theorem, bounded, relation, bound, certificate_path)."""
        return [{"epoch": r.epoch, "theorem": r.theorem, "bounded": r.bounded, "relation": r.relation,
                 "bound": r.bound, "certificate_path": r.certificate_path} for r in self.history]


class _Hooks:
    """The one implementation behind every framework adapter: what happens at the start of training, around each
    optimiser step and at the end of an epoch. An adapter only translates its framework's hook names and arguments
    into these four calls (the plain loop calls :meth:`CertifyEvery.on_epoch_end` and
    :meth:`TrajectoryRecorder.attach` itself)."""

    __slots__ = ("certifier", "recorder", "module_attr")

    def __init__(self, name: str, certifier: CertifyEvery | None, recorder: TrajectoryRecorder | None,
                 module_attr: str | None) -> None:
        if certifier is None and recorder is None:
            raise InvalidInput(f"{name} needs a certifier, a recorder or both")
        if certifier is not None and not isinstance(certifier, CertifyEvery):
            raise InvalidInput(f"certifier of type {type(certifier).__name__} is not a CertifyEvery")
        if recorder is not None and not isinstance(recorder, TrajectoryRecorder):
            raise InvalidInput(f"recorder of type {type(recorder).__name__} is not a TrajectoryRecorder")
        if module_attr is not None and (not isinstance(module_attr, str) or not module_attr.isidentifier()):
            raise InvalidInput(f"module_attr={module_attr!r} must be None or an attribute name such as 'model'")
        self.certifier, self.recorder, self.module_attr = certifier, recorder, module_attr

    def train_start(self) -> None:
        if self.recorder is not None:
            self.recorder.on_train_start()

    def before_step(self, optimizer: Any) -> None:
        """Gradients are final and the step size is the one this step uses."""
        if self.recorder is not None:
            self.recorder.on_before_optimizer_step(optimizer=optimizer)

    def after_step(self) -> None:
        """The optimiser has stepped: the new iterate."""
        if self.recorder is not None:
            self.recorder.on_train_batch_end()

    def epoch_end(self, model: Any, epoch: int) -> None:
        if self.certifier is None:
            return
        if self.module_attr is not None:
            if not hasattr(model, self.module_attr):
                raise InvalidInput(f"module_attr={self.module_attr!r}: the trained {type(model).__name__} has no such "
                                   f"attribute; name the attribute that holds the network to certify")
            model = getattr(model, self.module_attr)
        self.certifier.on_epoch_end(model, epoch)


def lightning_callback(*, certifier: CertifyEvery | None = None, recorder: TrajectoryRecorder | None = None,
                       module_attr: str | None = None) -> Any:
    """A ``lightning.pytorch.Callback`` that feeds ``recorder`` (every optimiser step) and ``certifier`` (every
    training epoch end, epochs numbered by ``trainer.current_epoch``). ``module_attr`` names the attribute of the
    LightningModule that holds the plain network to certify (e.g. ``"model"``; default: the LightningModule itself)."""
    try:
        import lightning.pytorch as pl
    except ImportError:
        raise InvalidInput("lightning_callback needs PyTorch Lightning: pip install lightning") from None
    hooks = _Hooks("lightning_callback", certifier, recorder, module_attr)

    class BoundcertCallback(pl.Callback):
        """Records the training trajectory and certifies the model at epoch ends (boundcert)."""

        def on_train_start(self, trainer: Any, pl_module: Any) -> None:
            hooks.train_start()

        def on_before_optimizer_step(self, trainer: Any, pl_module: Any, optimizer: Any) -> None:
            hooks.before_step(optimizer)

        def on_train_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int) -> None:
            hooks.after_step()

        def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
            hooks.epoch_end(pl_module, int(trainer.current_epoch))

    return BoundcertCallback()


def hf_trainer_callback(*, certifier: CertifyEvery | None = None, recorder: TrajectoryRecorder | None = None,
                        module_attr: str | None = None) -> Any:
    """A ``transformers.TrainerCallback`` for the Hugging Face ``Trainer`` that feeds ``recorder`` (every optimiser
    step: ``on_pre_optimizer_step`` after gradient clipping, ``on_optimizer_step`` after the step) and ``certifier``
    (every ``on_epoch_end``; epoch ``e`` counted from 0 is ``ceil(state.epoch) - 1``, so a last epoch cut short by
    ``max_steps`` keeps its number). ``module_attr`` names the attribute of the model given to the Trainer that
    holds the plain network to certify (a Trainer model returns a loss; default: that model itself).

    With gradient accumulation a recorded step is an optimiser step, not a batch; the optimiser is unwrapped from
    accelerate's ``AcceleratedOptimizer`` so that the recorded step sizes and optimiser description are torch's."""
    try:
        import transformers
    except ImportError:
        raise InvalidInput("hf_trainer_callback needs Hugging Face transformers: pip install 'transformers>=4.50,<5'") from None
    hooks = _Hooks("hf_trainer_callback", certifier, recorder, module_attr)

    class BoundcertTrainerCallback(transformers.TrainerCallback):
        """Records the training trajectory and certifies the model at epoch ends (boundcert)."""

        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            hooks.train_start()

        def on_pre_optimizer_step(self, args: Any, state: Any, control: Any, optimizer: Any = None, **kwargs: Any) -> None:
            hooks.before_step(getattr(optimizer, "optimizer", optimizer))

        def on_optimizer_step(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            hooks.after_step()

        def on_epoch_end(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
            if model is None:
                raise InvalidInput("hf_trainer_callback: the Trainer passed no model to on_epoch_end")
            hooks.epoch_end(model, max(0, math.ceil(state.epoch) - 1))

    return BoundcertTrainerCallback()
