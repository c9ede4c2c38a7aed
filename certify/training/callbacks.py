"""Training callbacks: record the trajectory and, every N epochs, certificates of the model being trained (model
selection by bound), in a plain loop, in PyTorch Lightning (a real ``lightning.pytorch.Callback``), or wherever an
epoch ends.

:class:`CertifyEvery` is the framework-free core: ``on_epoch_end(model, epoch)`` certifies the current weights with
each chosen theorem (the same :func:`certify.certify` as ``certify run``, data roles included: test-set bounds read
``test_data``, norm bounds ``train_data``) and keeps one :class:`CertifiedEpoch` per certificate. Each certificate
holds at its own ``delta``; picking the epoch with the smallest bound *after the fact* is a choice among
``N = epochs x theorems`` certificates and costs a union bound: certify each at ``delta / N`` (``delta_per_certificate``)
for the selected one to hold at ``delta``.

:func:`lightning_callback` wraps a :class:`CertifyEvery` and/or a :class:`TrajectoryRecorder` in a subclass of
Lightning's ``Callback`` (every hook Lightning calls exists: ``setup``, ``teardown``, ``on_exception``, ...).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Sequence

from boundcert.errors import InvalidInput
from certify.training.trajectory import TrajectoryRecorder

__all__ = ["CertifiedEpoch", "CertifyEvery", "lightning_callback"]


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


def lightning_callback(*, certifier: CertifyEvery | None = None, recorder: TrajectoryRecorder | None = None,
                       module_attr: str | None = None) -> Any:
    """A ``lightning.pytorch.Callback`` that feeds ``recorder`` (every optimiser step) and ``certifier`` (every
    training epoch end). ``module_attr`` names the attribute of the LightningModule that holds the plain network to
    certify (e.g. ``"model"``; default: the LightningModule itself)."""
    try:
        import lightning.pytorch as pl
    except ImportError:
        raise InvalidInput("lightning_callback needs PyTorch Lightning: pip install lightning") from None
    if certifier is None and recorder is None:
        raise InvalidInput("lightning_callback needs a certifier, a recorder or both")

    class BoundcertCallback(pl.Callback):
        """Records the training trajectory and certifies the model at epoch ends (boundcert)."""

        def on_train_start(self, trainer: Any, pl_module: Any) -> None:
            if recorder is not None:
                recorder.on_train_start(trainer, pl_module)

        def on_before_optimizer_step(self, trainer: Any, pl_module: Any, optimizer: Any) -> None:
            if recorder is not None:
                recorder.on_before_optimizer_step(trainer, pl_module, optimizer)

        def on_train_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int) -> None:
            if recorder is not None:
                recorder.on_train_batch_end(trainer, pl_module)

        def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
            if certifier is not None:
                net = getattr(pl_module, module_attr) if module_attr else pl_module
                certifier.on_epoch_end(net, int(trainer.current_epoch))

    return BoundcertCallback()
