"""Dynamics-aware measures of a recorded training trajectory, and the stability bound of its step sizes.

Measures (fitted numbers, named ``*_estimate``; never inputs of a bound):

* Euclidean PH dimension of the iterates: Birdal, Lou, Guibas, Simsekli, "Intrinsic Dimension, Persistent
  Homology and Generalization in Neural Networks", NeurIPS 2021 (:func:`kernels.ph_dim`);
* loss-based PH dimension of the per-example loss vectors (l1): Dupuis, Deligiannidis, Simsekli, "Generalization
  Bounds using Data-Dependent Fractal Dimensions", ICML 2023 (:func:`kernels.ph_dim_loss`);
* tail index of the gradient noise ``g_t - mean_t g_t`` (the window mean stands in for the full gradient):
  Simsekli, Sagun, Gurbuzbalaban, "A Tail-Index Analysis of Stochastic Gradient Noise in Deep Neural Networks",
  ICML 2019 (:func:`kernels.bg_tail_index_estimate`);
* tail index of the iterate increments: Simsekli, Sener, Deligiannidis, Erdogdu, "Hausdorff Dimension, Heavy
  Tails, and Generalization in Neural Networks", NeurIPS 2020 (:func:`kernels.trajectory_tail_index_estimate`);
* the JL distortion the recorder *measured* (metadata; a measurement on the pairs it saw, not a guarantee).

Bound: the Hardt-Recht-Singer uniform-stability bound (ICML 2016) from the recorded step sizes, when the user
supplies the loss constants (:mod:`certify.quantities.stability`).

The PH fit uses the sample sizes ``N/4, N/4 + N/8, ..., N`` of the ``N`` recorded iterates by default (the
schedule of ``paper_repro/birdal2021.py``); at least :data:`MIN_ITERATES` iterates are needed.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from boundcert.errors import InvalidInput
from certify.quantities.stability import StabilityBound, StabilityInputs, stability_bound
from certify.reports.progress import progress as progress_bar
from certify.training.trajectory import Trajectory, load_trajectory
from kernels import (
    PHDimEstimate,
    TailIndexEstimate,
    bg_tail_index_estimate,
    ph_dim,
    ph_dim_loss,
    trajectory_tail_index_estimate,
)

__all__ = ["MIN_ITERATES", "FORMAT", "DynamicsReport", "analyze_trajectory", "open_trajectory", "ph_schedule"]

#: Fewest iterates for a PH-dimension fit (default schedule: at least 7 sample sizes from N/4 to N).
MIN_ITERATES = 20
FORMAT = "boundcert.dynamics/1"


@dataclass(frozen=True, slots=True)
class DynamicsReport:
    """Measures of one trajectory (each with its fit diagnostics) and, when asked for, its stability bound.

    Attributes:
        source: the file read (or ``"<Trajectory>"``).
        n_iterates, dim: recorded iterates and their dimension (the JL dimension when projected).
        first_step, last_step, total_steps: the recorded window and the steps the recorder saw.
        ph_dim_estimate: Euclidean PH dimension of the iterates (Birdal et al. 2021).
        ph_dim_loss_estimate: l1 PH dimension of the loss vectors (Dupuis et al. 2023), or ``None``.
        grad_noise_tail_estimate: BG tail index of the gradient noise (Simsekli et al. 2019), or ``None``.
        increment_tail_estimate: tail index of the increments (Simsekli et al. 2020).
        jl: the recorder's JL metadata (dimension, measured min/max ratio, distortion), ``None`` when exact.
        stability: the stability bound, or ``None`` when no constants were given.
        skipped: ``(measure, reason)`` for every measure not computed.
    """

    source: str
    n_iterates: int
    dim: int
    first_step: int
    last_step: int
    total_steps: int
    ph_dim_estimate: PHDimEstimate
    ph_dim_loss_estimate: PHDimEstimate | None
    grad_noise_tail_estimate: TailIndexEstimate | None
    increment_tail_estimate: TailIndexEstimate
    jl: dict[str, Any] | None
    stability: StabilityBound | None
    skipped: tuple[tuple[str, str], ...]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data; non-finite floats become the strings ``"inf"``, ``"-inf"``, ``"nan"``."""
        def ph(e: PHDimEstimate | None) -> dict[str, Any] | None:
            if e is None:
                return None
            return {"dimension": e.dimension, "slope": e.slope, "intercept": e.intercept, "r_squared": e.r_squared,
                    "sizes": list(e.sizes), "lengths": [list(r) for r in e.lengths], "alpha": e.alpha,
                    "metric": e.metric, "sampling": e.sampling, "seed": e.seed, "n_points": e.n_points}

        def tail(e: TailIndexEstimate | None) -> dict[str, Any] | None:
            if e is None:
                return None
            return {"alpha_estimate": e.alpha_estimate, "per_block": [list(p) for p in e.per_block],
                    "per_projection": list(e.per_projection), "n_samples": e.n_samples, "dim": e.dim}

        doc = {
            "format": FORMAT,
            "trajectory": {"source": self.source, "n_iterates": self.n_iterates, "dim": self.dim,
                           "first_step": self.first_step, "last_step": self.last_step,
                           "total_steps": self.total_steps},
            "ph_dim_estimate": ph(self.ph_dim_estimate), "ph_dim_loss_estimate": ph(self.ph_dim_loss_estimate),
            "grad_noise_tail_estimate": tail(self.grad_noise_tail_estimate),
            "increment_tail_estimate": tail(self.increment_tail_estimate),
            "jl_distortion": self.jl,
            "stability_bound": None if self.stability is None else self.stability.to_dict(),
            "skipped": dict(self.skipped),
        }
        return _finite(doc)


def _finite(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_finite(v) for v in x]
    return x


def ph_schedule(n_points: int, n_min: int | None, step: int | None) -> tuple[int, int]:
    """The default PH sample sizes for ``n_points`` iterates: ``n_min = N // 4``, ``step = max(1, N // 8)``."""
    return (max(2, n_points // 4) if n_min is None else n_min, max(1, n_points // 8) if step is None else step)


def _finite_rows(name: str, a: np.ndarray, steps: np.ndarray | None) -> None:
    bad = ~np.isfinite(a).reshape(a.shape[0], -1).all(axis=1)
    if bad.any():
        i = int(np.argmax(bad))
        at = f"recorded step {int(steps[i])}" if steps is not None and i < len(steps) else f"row {i}"
        raise InvalidInput(f"the trajectory's {name} contain NaN or Inf at {at}: the run diverged; record a finite run")


def open_trajectory(path: str | os.PathLike[str]) -> Trajectory:
    """:func:`certify.training.trajectory.load_trajectory`, with a one-line error for a path that is not a file."""
    if not Path(path).is_file():
        raise InvalidInput(f"TRAJECTORY={str(path)!r} is not a file: pass the .npz written by TrajectoryRecorder.save")
    return load_trajectory(path)


def analyze_trajectory(
    traj: Trajectory | str | os.PathLike[str],
    *,
    n_min: int | None = None,
    n_max: int | None = None,
    step: int | None = None,
    n_repeats: int = 1,
    seed: int = 0,
    n_projections: int = 10,
    block_sizes: Sequence[int] | None = None,
    stability: StabilityInputs | None = None,
    progress: bool = False,
    source: str | None = None,
) -> DynamicsReport:
    """Every dynamics measure of a recorded trajectory, and the stability bound when ``stability`` is given.

    Args:
        traj: a :class:`certify.training.trajectory.Trajectory` or the path of a file from ``TrajectoryRecorder.save``.
        n_min, n_max, step, n_repeats, seed: the PH sample sizes and sampling (:func:`kernels.ph_dim`); defaults
            from :func:`ph_schedule`, ``n_max`` = all iterates.
        n_projections, block_sizes: the tail-index estimators' random directions and block sizes.
        stability: the loss constants for :func:`certify.quantities.stability.stability_bound`, or ``None``.
        progress: a bar over the stages (:mod:`certify.reports.progress`: drawn only when stderr is a terminal).
        source: how to name ``traj`` in the report (default: its path, or ``"<Trajectory>"``).

    Raises:
        InvalidInput: not a trajectory file, fewer than :data:`MIN_ITERATES` iterates, NaN/Inf in the record.
        HypothesisNotMet: a condition of the stability theorem fails on the recorded run.
    """
    if not isinstance(traj, Trajectory):
        source = str(traj) if source is None else source
        traj = open_trajectory(traj)
    source = "<Trajectory>" if source is None else source
    X = np.asarray(traj.iterates)
    if X.ndim != 2 or X.shape[0] < MIN_ITERATES:
        raise InvalidInput(f"the trajectory has {X.shape[0] if X.ndim else 0} iterates but a PH-dimension fit needs at "
                           f"least {MIN_ITERATES}: record more steps (TrajectoryRecorder(last_n >= {MIN_ITERATES}))")
    steps = np.asarray(traj.steps)
    _finite_rows("iterates", X, steps)
    for name, arr, at in (("losses", traj.losses, steps), ("gradients", traj.grads, traj.grad_steps)):
        if arr is not None:
            _finite_rows(name, np.asarray(arr), None if at is None else np.asarray(at))
    # the stability bound first: its refusals (hypotheses) cost nothing and should not wait for the fits
    bound = stability_bound(traj, stability) if stability is not None else None
    lo, st = ph_schedule(X.shape[0], n_min, step)
    ph_kw: dict[str, Any] = {"n_min": lo, "n_max": n_max, "step": st, "n_repeats": n_repeats, "seed": seed}
    skipped: list[tuple[str, str]] = []

    def ph_loss() -> PHDimEstimate | None:
        if traj.losses is None:
            skipped.append(("ph_dim_loss_estimate", "no per-example losses recorded (TrajectoryRecorder(loss_subset=...))"))
            return None
        return _labelled("ph_dim_loss_estimate", ph_dim_loss, np.asarray(traj.losses), **ph_kw)

    def grad_noise_tail() -> TailIndexEstimate | None:
        if traj.grads is None:
            skipped.append(("grad_noise_tail_estimate", "no gradients recorded (TrajectoryRecorder(record_grads=True))"))
            return None
        if len(traj.grads) < 8:
            skipped.append(("grad_noise_tail_estimate", f"{len(traj.grads)} gradients recorded, at least 8 needed"))
            return None
        G = np.asarray(traj.grads, dtype=np.float64)
        return _labelled("grad_noise_tail_estimate", bg_tail_index_estimate, G - G.mean(axis=0), block_sizes=block_sizes)

    stages = {
        "ph_dim_estimate": lambda: _labelled("ph_dim_estimate", ph_dim, X, **ph_kw),
        "ph_dim_loss_estimate": ph_loss,
        "grad_noise_tail_estimate": grad_noise_tail,
        "increment_tail_estimate": lambda: _labelled("increment_tail_estimate", trajectory_tail_index_estimate, X,
                                                     n_projections=n_projections, seed=seed, block_sizes=block_sizes),
    }
    with progress_bar(stages.items(), desc="dynamics measures", total=len(stages), unit="measure",
                      enabled=progress) as bar:
        found = {name: run() for name, run in bar}
    if bound is None:
        skipped.append(("stability_bound", "no loss constants given (--regime, --lipschitz, --smoothness)"))
    return DynamicsReport(
        source=source, n_iterates=int(X.shape[0]), dim=int(X.shape[1]), first_step=int(steps[0]),
        last_step=int(steps[-1]), total_steps=int(traj.metadata.get("total_steps", steps[-1])),
        ph_dim_estimate=found["ph_dim_estimate"], ph_dim_loss_estimate=found["ph_dim_loss_estimate"],
        grad_noise_tail_estimate=found["grad_noise_tail_estimate"], increment_tail_estimate=found["increment_tail_estimate"],
        jl=traj.metadata.get("jl"), stability=bound, skipped=tuple(skipped),
    )


def _labelled(label: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Run a kernel; its input errors name the measure they came from."""
    try:
        return fn(*args, **kwargs)
    except InvalidInput as exc:
        raise InvalidInput(f"{label}: {exc}") from None
