"""Training-trajectory recorder for the dynamics-aware measures (issue 7): iterates, losses, step sizes, gradients.

What it records, at every ``every``-th optimiser step, keeping the last ``last_n``:

* the iterate ``w_t`` (all trainable parameters, flattened in ``named_parameters`` order), optionally through a
  seeded Gaussian Johnson-Lindenstrauss map ``P`` (``k x D``, entries ``N(0, 1/k)``, generated in column chunks
  from the seed so that ``P`` is never stored when large) -- the input of ``kernels.ph_dim`` (Birdal et al. 2021)
  and ``kernels.trajectory_tail_index_estimate`` (Simsekli et al. 2020);
* per-example losses on a fixed subset (``reduction='none'``, model in eval mode, no grad) -- the input of
  ``kernels.ph_dim_loss`` (Dupuis et al. 2023);
* the step sizes (``lr`` of every parameter group) and, optionally, the (projected) stochastic gradient seen by
  the step (Simsekli et al. 2019 study the noise ``g_t - E g``; the mean over the window is a proxy for ``E g``).

Besides the ring buffer, the step size of *every* optimiser step since the recorder was attached is kept
(``step_size_history``, one row per step ``t = 1..T``, a few bytes a step): the stability bounds of Hardt, Recht,
Singer (2016) need the whole schedule, not the window. ``sample_size`` (the number of training examples, ``n`` in
those bounds) is stored in the metadata when given.

JL distortion is *measured*, not assumed: for every recorded iterate, the ratios ``|P(w_t - w')| / |w_t - w'|``
against the previous recorded iterate and against the first one; the file stores their min, max and count
(``distortion = max(max_ratio - 1, 1 - min_ratio)``). It is a measurement on those pairs, not a guarantee for
all pairs of the window.

On a bare loop use ``recorder.attach(optimizer)`` (optimiser step hooks); in PyTorch Lightning wrap it with
:func:`certify.training.callbacks.lightning_callback` (a real ``lightning.pytorch.Callback``; the recorder's own
``on_*`` methods have Lightning's names and argument order, but Lightning needs a ``Callback`` subclass). ``save`` writes one
``.npz`` (arrays + a JSON metadata string; loadable with ``allow_pickle=False``), atomically.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from boundcert.errors import InvalidInput
from certify.models.hashing import model_sha256

__all__ = ["TrajectoryRecorder", "Trajectory", "load_trajectory", "FORMAT"]

FORMAT = "boundcert.trajectory/1"
_CACHE_LIMIT = 32 * 2**20  # cache P when it has at most this many entries
_CHUNK = 1 << 16


def _flat_params(model: torch.nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().reshape(-1).to(torch.float64) for p in model.parameters() if p.requires_grad])


def _flat_grads(model: torch.nn.Module) -> torch.Tensor:
    parts = []
    for p in model.parameters():
        if p.requires_grad:
            g = p.grad
            parts.append(torch.zeros(p.numel(), dtype=torch.float64) if g is None else g.detach().reshape(-1).to(torch.float64))
    return torch.cat(parts)


class _JL:
    """Seeded Gaussian JL map R^D -> R^k, entries N(0, 1/k); columns generated chunk by chunk from the seed."""

    def __init__(self, D: int, k: int, seed: int) -> None:
        self.D, self.k, self.seed = D, k, seed
        self._P = self._block(0, D) if k * D <= _CACHE_LIMIT else None

    def _block(self, start: int, stop: int) -> torch.Tensor:
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + start // _CHUNK)
        return torch.randn(self.k, stop - start, generator=g, dtype=torch.float64) / math.sqrt(self.k)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self._P is not None:
            return self._P @ x
        y = torch.zeros(self.k, dtype=torch.float64)
        for start in range(0, self.D, _CHUNK):
            stop = min(start + _CHUNK, self.D)
            y += self._block(start, stop) @ x[start:stop]
        return y


class TrajectoryRecorder:
    """Record the last ``last_n`` iterates (optionally JL-projected), subset losses, step sizes and gradients.

    Args:
        model: the ``torch.nn.Module`` being trained.
        last_n: how many records to keep (a ring buffer).
        jl_dim: project iterates (and gradients) to this dimension; ``None`` keeps them exact.
        seed: seed of the JL map.
        loss_subset: ``(x, y)`` tensors of a fixed subset for the per-example losses, or ``None``.
        loss_fn: per-example loss ``loss_fn(model(x), y) -> (m,)`` (default: cross-entropy, reduction='none').
        record_grads: also record the (projected) stochastic gradient of each recorded step.
        every: record every ``every``-th optimiser step.
        sample_size: the number of training examples, stored in the metadata (``None``: not known).
    """

    def __init__(
        self,
        model: torch.nn.Module,
        *,
        last_n: int = 1000,
        jl_dim: int | None = None,
        seed: int = 0,
        loss_subset: tuple[torch.Tensor, torch.Tensor] | None = None,
        loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
        record_grads: bool = False,
        every: int = 1,
        sample_size: int | None = None,
    ) -> None:
        if not isinstance(model, torch.nn.Module):
            raise InvalidInput(f"model of type {type(model).__name__} is not a torch.nn.Module")
        for name, v, lo in (("last_n", last_n, 2), ("every", every, 1), ("seed", seed, 0)):
            if isinstance(v, bool) or not isinstance(v, int) or v < lo:
                raise InvalidInput(f"{name}={v!r} must be an integer >= {lo}")
        self.model, self.last_n, self.seed, self.every = model, last_n, seed, every
        self.n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
        if self.n_params == 0:
            raise InvalidInput("model has no trainable parameters: nothing to record")
        if jl_dim is not None and (isinstance(jl_dim, bool) or not isinstance(jl_dim, int) or not 1 <= jl_dim):
            raise InvalidInput(f"jl_dim={jl_dim!r} must be None or an integer >= 1")
        if sample_size is not None and (isinstance(sample_size, bool) or not isinstance(sample_size, int) or sample_size < 1):
            raise InvalidInput(f"sample_size={sample_size!r} must be None or an integer >= 1 (the number of training examples)")
        self.sample_size = sample_size
        self.jl_dim = jl_dim
        self._jl = _JL(self.n_params, jl_dim, seed) if jl_dim is not None else None
        if loss_subset is not None and (not isinstance(loss_subset, (tuple, list)) or len(loss_subset) != 2):
            raise InvalidInput("loss_subset must be an (x, y) pair of tensors or None")
        self.loss_subset = loss_subset
        self.loss_fn = loss_fn or (lambda out, y: torch.nn.functional.cross_entropy(out, y, reduction="none"))
        self.record_grads = record_grads
        self._buf: deque[dict[str, Any]] = deque(maxlen=last_n)
        self._step = 0
        self._pending_grad: np.ndarray | None = None
        self._pending_lr: list[float] | None = None
        self._lr_history: list[list[float]] = []
        self._prev: torch.Tensor | None = None
        self._anchor: torch.Tensor | None = None
        self._ratios = [math.inf, -math.inf, 0]  # min, max, count
        self._optimizer_desc: dict[str, Any] = {}
        self._handles: list[Any] = []

    # ----- Lightning-style callback interface (Lightning not required) -----
    def on_train_start(self, trainer: Any = None, pl_module: Any = None) -> None:
        """Record the starting point as step 0 when nothing has been recorded yet."""
        if not self._buf:
            self._record(step=0)

    def on_before_optimizer_step(self, trainer: Any = None, pl_module: Any = None, optimizer: Any = None) -> None:
        """Gradients are final here: keep the step's gradient and step sizes."""
        opt = optimizer if optimizer is not None else _first_optimizer(trainer)
        self._before_step(opt)

    def on_train_batch_end(self, trainer: Any = None, pl_module: Any = None, *args: Any, **kwargs: Any) -> None:
        """After the optimiser step: record the new iterate."""
        self._after_step()

    def on_train_end(self, trainer: Any = None, pl_module: Any = None) -> None:
        """Nothing to flush; call :meth:`save`."""

    # ----- bare torch -----
    def attach(self, optimizer: torch.optim.Optimizer) -> "TrajectoryRecorder":
        """Hook ``optimizer.step`` (pre: gradient and step size; post: iterate). Records the start point."""
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise InvalidInput(f"optimizer of type {type(optimizer).__name__} is not a torch.optim.Optimizer")
        self._handles.append(optimizer.register_step_pre_hook(lambda opt, a, k: self._before_step(opt)))
        self._handles.append(optimizer.register_step_post_hook(lambda opt, a, k: self._after_step()))
        self.on_train_start()
        return self

    def detach(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles.clear()

    # ----- internals -----
    def _before_step(self, opt: Any) -> None:
        if opt is None:
            return
        self._pending_lr = [float(g.get("lr", math.nan)) for g in opt.param_groups]
        if not self._optimizer_desc:
            def scalars(d: dict[str, Any]) -> dict[str, Any]:
                return {k: v for k, v in d.items() if isinstance(v, (int, float, str, bool))}

            self._optimizer_desc = {"class": type(opt).__name__, "defaults": scalars(getattr(opt, "defaults", {})),
                                    "groups": [scalars(g) for g in opt.param_groups]}
        if self.record_grads and (self._step + 1) % self.every == 0:
            g = _flat_grads(self.model)
            self._pending_grad = (self._jl(g) if self._jl is not None else g).numpy()

    def _after_step(self) -> None:
        self._step += 1
        self._lr_history.append(self._pending_lr if self._pending_lr is not None else [math.nan])
        if self._step % self.every == 0:
            self._record(step=self._step)
        self._pending_grad, self._pending_lr = None, None

    def _record(self, step: int) -> None:
        w = _flat_params(self.model)
        if self._jl is not None:
            y = self._jl(w)
            refs = [self._prev] if self._prev is self._anchor else [self._prev, self._anchor]
            for ref in refs:
                if ref is not None:
                    dn = torch.linalg.vector_norm(w - ref[0]).item()
                    if dn > 0:
                        r = torch.linalg.vector_norm(y - ref[1]).item() / dn
                        self._ratios = [min(self._ratios[0], r), max(self._ratios[1], r), self._ratios[2] + 1]
            self._prev = (w, y)  # type: ignore[assignment]
            if self._anchor is None:
                self._anchor = self._prev
            it = y.numpy()
        else:
            it = w.numpy()
        rec: dict[str, Any] = {"step": step, "iterate": it, "lr": self._pending_lr, "grad": self._pending_grad}
        if self.loss_subset is not None:
            rec["losses"] = self._subset_losses()
        self._buf.append(rec)

    def _subset_losses(self) -> np.ndarray:
        x, y = self.loss_subset  # type: ignore[misc]
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.no_grad():
                out = self.loss_fn(self.model(x), y)
        finally:
            self.model.train(was_training)
        out = out.detach().reshape(-1).to(torch.float64)
        if out.numel() != len(y):
            raise InvalidInput(f"loss_fn returned {out.numel()} values for {len(y)} examples: use reduction='none'")
        return out.numpy()

    @property
    def n_recorded(self) -> int:
        return len(self._buf)

    def metadata(self) -> dict[str, Any]:
        mn, mx, cnt = self._ratios
        jl = None
        if self.jl_dim is not None:
            jl = {"dim": self.jl_dim, "pairs": int(cnt), "min_ratio": mn if cnt else None,
                  "max_ratio": mx if cnt else None, "distortion": max(mx - 1.0, 1.0 - mn) if cnt else None,
                  "pairs_measured": "consecutive records and (record, first record)"}
        subset_hash = None
        if self.loss_subset is not None:
            h = hashlib.sha256()
            for t in self.loss_subset:
                h.update(t.detach().cpu().contiguous().numpy().tobytes())
            subset_hash = h.hexdigest()
        return {
            "format": FORMAT, "seed": self.seed, "last_n": self.last_n, "n_recorded": self.n_recorded,
            "total_steps": self._step, "every": self.every, "n_params": self.n_params, "jl": jl,
            "optimizer": self._optimizer_desc or None, "model_class": type(self.model).__name__,
            "model_sha256": model_sha256(self.model), "loss_subset_size": None if self.loss_subset is None else len(self.loss_subset[1]),
            "loss_subset_sha256": subset_hash, "torch_version": torch.__version__, "sample_size": self.sample_size,
        }

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the records to ``path`` (``.npz``; arrays + ``metadata`` JSON string) atomically."""
        if not self._buf:
            raise InvalidInput("nothing recorded yet: train at least one step (or call on_train_start) before save")
        recs = list(self._buf)
        arrays: dict[str, np.ndarray] = {
            "steps": np.array([r["step"] for r in recs], dtype=np.int64),
            "iterates": np.stack([r["iterate"] for r in recs]),
        }
        n_groups = max((len(r["lr"]) for r in recs if r["lr"] is not None), default=0)
        if n_groups:
            arrays["step_sizes"] = np.array([r["lr"] if r["lr"] is not None else [math.nan] * n_groups for r in recs])
        if self._lr_history:
            width = max(len(r) for r in self._lr_history)
            arrays["step_size_history"] = np.array([r if len(r) == width else [math.nan] * width
                                                    for r in self._lr_history], dtype=np.float64)
        if self.loss_subset is not None:
            arrays["losses"] = np.stack([r["losses"] for r in recs])
        if self.record_grads:
            g = [r["grad"] for r in recs if r["grad"] is not None]
            if g:
                arrays["grads"] = np.stack(g)
                arrays["grad_steps"] = np.array([r["step"] for r in recs if r["grad"] is not None], dtype=np.int64)
        arrays["metadata"] = np.array(json.dumps(self.metadata(), sort_keys=True))
        path = Path(path)
        if path.suffix != ".npz":
            raise InvalidInput(f"path={str(path)!r} must end in .npz")
        fd, tmp = tempfile.mkstemp(suffix=".npz", dir=path.parent if str(path.parent) else ".")
        os.close(fd)
        try:
            np.savez_compressed(tmp, **arrays)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return path


def _first_optimizer(trainer: Any) -> Any:
    opts = getattr(trainer, "optimizers", None)
    return opts[0] if opts else None


@dataclass(frozen=True)
class Trajectory:
    """A recorded trajectory read back from its ``.npz`` file.

    ``step_size_history`` (``(T, groups)``, row ``t - 1`` for step ``t``) holds every step since the recorder was
    attached; ``None`` for files written before it existed.
    """

    steps: np.ndarray
    iterates: np.ndarray
    step_sizes: np.ndarray | None
    losses: np.ndarray | None
    grads: np.ndarray | None
    grad_steps: np.ndarray | None
    metadata: dict[str, Any]
    step_size_history: np.ndarray | None = None


def load_trajectory(path: str | os.PathLike[str]) -> Trajectory:
    """Read a file written by :meth:`TrajectoryRecorder.save` (``allow_pickle=False``)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"path={str(path)!r} is not a readable trajectory .npz ({exc}): pass a file from TrajectoryRecorder.save") from exc
    if "metadata" not in data or "iterates" not in data:
        raise InvalidInput(f"path={str(path)!r} lacks 'metadata' or 'iterates': not a boundcert trajectory file")
    try:
        meta = json.loads(str(data["metadata"]))
    except ValueError:
        meta = None
    if not isinstance(meta, dict):
        raise InvalidInput(f"path={str(path)!r} has unreadable metadata (not a JSON object): not a boundcert trajectory file")
    if meta.get("format") != FORMAT:
        raise InvalidInput(f"path={str(path)!r} has format={meta.get('format')!r}, expected {FORMAT!r}")
    return Trajectory(
        steps=data["steps"], iterates=data["iterates"], step_sizes=data.get("step_sizes"), losses=data.get("losses"),
        grads=data.get("grads"), grad_steps=data.get("grad_steps"), metadata=meta,
        step_size_history=data.get("step_size_history"),
    )
