"""The uniform-stability bound of a recorded SGD run, evaluated on the step sizes the run actually used.

Hardt, Recht, Singer, "Train faster, generalize better: stability of stochastic gradient descent", ICML 2016:
Theorems 3.8 (convex), 3.9 (strongly convex) and 3.12 (non-convex), registered as ``stability.hardt2016_*``
(:mod:`theorems.stability`). The file supplies the schedule ``alpha_1..alpha_T`` (``step_size_history``, or the
ring buffer when it covers every step), the number of steps ``T`` and the optimiser; the user supplies what the
file cannot know: the Lipschitz constant ``L`` and smoothness ``beta`` of the loss, the sample size ``n`` (unless
the recorder stored it) and, for the strongly convex case, ``gamma``.

Every input reaches :meth:`theorems.Theorem.evaluate` exactly: the step sizes are float64 numbers taken as the
binary rationals they are, their sum and ``max_t t alpha_t`` are exact :class:`fractions.Fraction` values, user
constants are decimal strings read exactly. The result is the theorem's outward-rounded enclosure; its upper end
is the bound (on the *expected* generalization gap; no confidence level).

Checked from the file before evaluation (a failure is a one-line :class:`HypothesisNotMet`): plain SGD (no
momentum, no weight decay, not maximising), one step size per step across parameter groups, finite
non-negative step sizes, and the regime's schedule condition: ``alpha_t <= 2/beta`` (convex), a constant
``alpha <= 1/beta`` (strongly convex), non-increasing ``alpha_t <= c/t`` (non-convex; ``c`` defaults to the
smallest admissible value ``max_t t alpha_t``). What the file cannot show is listed as assumed: convexity, the
constants, bounded loss, uniform sampling, and that the recording started at the data-independent initialisation.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal

import numpy as np

from boundcert.errors import HypothesisNotMet, InvalidInput
from certify.training.trajectory import Trajectory
from theorems import HypothesisCheck, Interval, get, parse_exact

__all__ = ["Regime", "REGIMES", "StabilityInputs", "StabilityBound", "recorded_schedule", "stability_bound"]

Regime = Literal["convex", "strongly-convex", "nonconvex"]
#: Regime -> registered theorem id.
REGIMES: dict[str, str] = {
    "convex": "stability.hardt2016_convex",
    "strongly-convex": "stability.hardt2016_strongly_convex",
    "nonconvex": "stability.hardt2016_nonconvex",
}
_START = ("h_start_at_init: the recording began at the first step of training, from an initialisation that does "
          "not depend on the sample (the file cannot show this)")
_FLAGS = {"lipschitz": "--lipschitz", "smoothness": "--smoothness", "sample_size": "--sample-size",
          "strong_convexity": "--strong-convexity", "c": "--c"}


@dataclass(frozen=True, slots=True)
class StabilityInputs:
    """What the trajectory file cannot know: the user's constants for the loss (exact decimal strings or numbers).

    Attributes:
        regime: ``"convex"`` (Thm. 3.8), ``"strongly-convex"`` (Thm. 3.9) or ``"nonconvex"`` (Thm. 3.12).
        lipschitz: ``L``, Lipschitz constant of the loss in the weights, for every example.
        smoothness: ``beta``, Lipschitz constant of the loss gradient.
        sample_size: ``n``, the number of training examples (``None``: read from the file's metadata).
        strong_convexity: ``gamma`` (strongly convex regime only).
        c: the ``c`` of ``alpha_t <= c/t`` (non-convex only; ``None``: ``max_t t alpha_t`` from the file).
    """

    regime: Regime
    lipschitz: str | int | float | Fraction
    smoothness: str | int | float | Fraction
    sample_size: int | None = None
    strong_convexity: str | int | float | Fraction | None = None
    c: str | int | float | Fraction | None = None


@dataclass(frozen=True, slots=True)
class StabilityBound:
    """The theorem's enclosure at the recorded schedule; ``enclosure.hi`` is the bound.

    Attributes:
        theorem_id, theorem_version: the registered theorem evaluated.
        regime: the regime the user asserted.
        enclosure: outward-rounded :class:`theorems.Interval` containing the exact value of the statement.
        inputs: ``(name, exact string)`` pairs passed to :meth:`Theorem.evaluate` (decimal, ``p/q`` or hex float).
        hypotheses: the theorem's hypotheses, each ``checked`` (mechanically, by the theorem) or ``assumed``.
        checked_from_file: conditions this module verified on the recorded run.
        assumed: further assumptions of this use of the theorem that nothing can check.
        bounded, holds_for: what is bounded, and in which sense (in expectation).
    """

    theorem_id: str
    theorem_version: int
    regime: Regime
    enclosure: Interval
    inputs: tuple[tuple[str, str], ...]
    hypotheses: tuple[HypothesisCheck, ...]
    checked_from_file: tuple[str, ...]
    assumed: tuple[str, ...]
    bounded: str
    holds_for: str

    @property
    def bound(self) -> str:
        """The bound: the enclosure's upper end as a decimal string rounded up."""
        return self.enclosure.hi_str(20)

    def to_dict(self) -> dict[str, Any]:
        return {
            "theorem": self.theorem_id, "theorem_version": self.theorem_version, "regime": self.regime,
            "bound": self.bound, "lo": self.enclosure.lo_str(20), "hi": self.enclosure.hi_str(20),
            "bounded": self.bounded, "holds_for": self.holds_for, "inputs": dict(self.inputs),
            "hypotheses": [{"name": h.name, "statement": h.statement, "status": h.status} for h in self.hypotheses],
            "checked_from_file": list(self.checked_from_file), "assumed": list(self.assumed),
        }


def recorded_schedule(traj: Trajectory) -> tuple[np.ndarray, str]:
    """The step size of every step ``t = 1..T`` as an ``(T, groups)`` float64 array, and where it came from.

    Raises:
        InvalidInput: the file does not hold every step (ring buffer overwritten, ``every > 1``, no step sizes).
    """
    total = traj.metadata.get("total_steps")
    if traj.step_size_history is not None:
        hist = np.asarray(traj.step_size_history, dtype=np.float64)
        if hist.ndim != 2 or hist.shape[0] == 0 or (isinstance(total, int) and hist.shape[0] != total):
            raise InvalidInput(f"step_size_history has shape {hist.shape!r} but the file records total_steps="
                               f"{total!r}: the file is inconsistent; record the run again")
        return hist, "step_size_history"
    if traj.step_sizes is None:
        raise InvalidInput("the trajectory holds no step sizes (no optimiser step was seen): record with "
                           "TrajectoryRecorder.attach(optimizer) or the Lightning hooks")
    steps = np.asarray(traj.steps)
    T = int(steps[-1]) if steps.size else 0
    if T < 1 or steps[0] != 0 or not np.array_equal(steps, np.arange(T + 1)):
        raise InvalidInput(f"the file holds the step sizes of steps {int(steps[0])}..{int(steps[-1])} only "
                           f"(every={traj.metadata.get('every')!r}, last_n={traj.metadata.get('last_n')!r}) and no "
                           "step_size_history: the stability bound needs every step 1..T; record with the current "
                           "TrajectoryRecorder (it keeps the whole schedule)")
    return np.asarray(traj.step_sizes, dtype=np.float64)[1:], "step_sizes"


def _exact(value: object, name: str) -> Fraction:
    if isinstance(value, bool) or value is None:
        raise InvalidInput(f"{_FLAGS.get(name, name)}={value!r} is not a number: give a decimal such as 0.25")
    if isinstance(value, str):
        return parse_exact(value, name=_FLAGS.get(name, name))
    if isinstance(value, (int, Fraction)):
        return Fraction(value)
    if isinstance(value, float) and np.isfinite(value):
        return Fraction(value)
    raise InvalidInput(f"{_FLAGS.get(name, name)}={value!r} is not a finite number: give a decimal such as 0.25")


def _exact_text(x: Fraction) -> str:
    return str(x.numerator) if x.denominator == 1 else f"{x.numerator}/{x.denominator}"


def _check_optimizer(meta: dict[str, Any]) -> str:
    opt = meta.get("optimizer")
    if not isinstance(opt, dict) or opt.get("class") != "SGD":
        name = opt.get("class") if isinstance(opt, dict) else None
        raise HypothesisNotMet(f"optimizer={name!r} in the trajectory: Hardt et al. (2016) bound plain SGD steps "
                               "w - alpha_t grad f; record a run of torch.optim.SGD")
    for k, g in enumerate(opt.get("groups") or [opt.get("defaults", {})]):
        for key, ok in (("momentum", 0), ("weight_decay", 0), ("nesterov", False), ("maximize", False)):
            if g.get(key, ok) not in (ok,):
                raise HypothesisNotMet(f"SGD param group {k} has {key}={g.get(key)!r}: Hardt et al. (2016) bound "
                                       f"plain SGD steps; record a run with {key}={ok!r}")
    return "optimizer: torch.optim.SGD without momentum, weight decay or maximize"


def _schedule_fractions(hist: np.ndarray) -> list[Fraction]:
    if not np.all(np.isfinite(hist)) or np.any(hist < 0):
        bad = int(np.argmax(~np.isfinite(hist).all(axis=1) | (hist < 0).any(axis=1)))
        raise InvalidInput(f"the recorded step size at step t={bad + 1} is {hist[bad].tolist()!r}: step sizes must "
                           "be finite and >= 0 (a step without an optimiser lr cannot be bounded)")
    if hist.shape[1] > 1 and not np.all(hist == hist[:, :1]):
        bad = int(np.argmax(~np.all(hist == hist[:, :1], axis=1)))
        raise HypothesisNotMet(f"the parameter groups use different step sizes {hist[bad].tolist()!r} at step "
                               f"t={bad + 1}: the bound is for one step size per step; train with one lr for all groups")
    return [Fraction(float(a)) for a in hist[:, 0]]


def stability_bound(traj: Trajectory, inputs: StabilityInputs) -> StabilityBound:
    """Evaluate the Hardt-Recht-Singer bound of ``inputs.regime`` on the run recorded in ``traj``.

    Raises:
        InvalidInput: a constant is not a number, the sample size is missing or conflicts with the file, the
            file does not hold the whole schedule.
        HypothesisNotMet: a condition of the theorem fails on the recorded run (optimiser, step sizes).
    """
    if inputs.regime not in REGIMES:
        raise InvalidInput(f"regime={inputs.regime!r} is not supported: use one of {', '.join(REGIMES)}")
    theorem = get(REGIMES[inputs.regime])
    L, beta = _exact(inputs.lipschitz, "lipschitz"), _exact(inputs.smoothness, "smoothness")
    if L <= 0 or beta <= 0:
        raise InvalidInput(f"--lipschitz={inputs.lipschitz!r} and --smoothness={inputs.smoothness!r} must be > 0")
    n = _sample_size(traj, inputs.sample_size)
    checked = [_check_optimizer(traj.metadata)]
    hist, source = recorded_schedule(traj)
    alphas = _schedule_fractions(hist)
    checked.append(f"schedule: all T={len(alphas)} step sizes from {source}, one per step, finite, >= 0")
    T, amax = len(alphas), max(alphas)
    if amax == 0:
        raise InvalidInput("every recorded step size is 0: the weights never moved; nothing to bound")
    values: dict[str, object] = {"n": n, "lipschitz": _as_given(inputs.lipschitz, L), "beta": _as_given(inputs.smoothness, beta)}
    if inputs.regime == "convex":
        _step_limit(alphas, Fraction(2) / beta, "2/beta", inputs.smoothness, "Theorem 3.8 (convex)")
        values |= {"max_step": amax, "sum_step": sum(alphas, Fraction(0))}
        checked.append("alpha_t <= 2/beta for every recorded step t")
    elif inputs.regime == "strongly-convex":
        if inputs.strong_convexity is None:
            raise InvalidInput("--regime strongly-convex needs --strong-convexity GAMMA (the strong-convexity constant)")
        if any(a != alphas[0] for a in alphas):
            t = next(i for i, a in enumerate(alphas) if a != alphas[0]) + 1
            raise HypothesisNotMet(f"the recorded step size changes at step t={t} ({float(alphas[t - 1])!r} after "
                                   f"{float(alphas[0])!r}): Theorem 3.9 (strongly convex) needs a constant step; "
                                   "use --regime convex")
        _step_limit(alphas, Fraction(1) / beta, "1/beta", inputs.smoothness, "Theorem 3.9 (strongly convex)")
        values |= {"max_step": amax, "gamma": _as_given(inputs.strong_convexity, _exact(inputs.strong_convexity, "strong_convexity"))}
        checked.append("constant step alpha <= 1/beta")
    else:
        for t in range(1, T):
            if alphas[t] > alphas[t - 1]:
                raise HypothesisNotMet(f"the recorded step size increases at step t={t + 1} ({float(alphas[t - 1])!r} "
                                       f"-> {float(alphas[t])!r}): Theorem 3.12 (non-convex) needs non-increasing "
                                       "steps alpha_t <= c/t; use a decaying schedule such as lr = c/t")
        max_t_step = max(Fraction(t + 1) * a for t, a in enumerate(alphas))
        c = max_t_step if inputs.c is None else _exact(inputs.c, "c")
        if max_t_step > c:
            t = max(range(T), key=lambda i: (i + 1) * alphas[i]) + 1
            raise HypothesisNotMet(f"--c={inputs.c!r} is below t * alpha_t = {float(max_t_step)!r} at step t={t}: "
                                   f"Theorem 3.12 needs alpha_t <= c/t; omit --c to use the smallest admissible c")
        values |= {"c": c if inputs.c is None else _as_given(inputs.c, c), "max_t_step": max_t_step, "T": T}
        checked.append("alpha_t non-increasing and alpha_t <= c/t for every recorded step t")
    enclosed = theorem.enclose_inputs(values)
    hyps = theorem.check_hypotheses(enclosed, values)
    enclosure = theorem.evaluate(**values)
    return StabilityBound(
        theorem_id=theorem.id, theorem_version=theorem.version, regime=inputs.regime, enclosure=enclosure,
        inputs=tuple((k, _text(v)) for k, v in values.items()), hypotheses=hyps,
        checked_from_file=tuple(checked), assumed=(_START,), bounded=theorem.bounded, holds_for=theorem.holds_for,
    )


def _as_given(raw: object, exact: Fraction) -> object:
    """The user's value as typed when it is a string (read exactly by the theorem), else the exact Fraction."""
    return raw if isinstance(raw, str) else exact


def _text(v: object) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, float):
        return v.hex()
    return _exact_text(Fraction(v))  # int or Fraction


def _step_limit(alphas: list[Fraction], limit: Fraction, what: str, beta_raw: object, where: str) -> None:
    t, a = max(enumerate(alphas, start=1), key=lambda p: p[1])
    if a > limit:
        raise HypothesisNotMet(f"the recorded step size alpha_t={float(a)!r} at step t={t} exceeds {what}="
                               f"{float(limit)!r} (--smoothness={beta_raw!r}): {where} needs alpha_t <= {what} at "
                               "every step; train with smaller steps or check beta")


def _sample_size(traj: Trajectory, given: int | None) -> int:
    stored = traj.metadata.get("sample_size")
    if given is not None and (isinstance(given, bool) or not isinstance(given, int) or given < 1):
        raise InvalidInput(f"--sample-size={given!r} must be an integer >= 1 (the number of training examples)")
    if given is not None and stored is not None and given != stored:
        raise InvalidInput(f"--sample-size={given!r} conflicts with sample_size={stored!r} stored in the trajectory: "
                           "omit --sample-size or pass the stored value")
    n = given if given is not None else stored
    if n is None:
        raise InvalidInput("the trajectory does not store the sample size: pass --sample-size M (the number of "
                           "training examples), or record with TrajectoryRecorder(..., sample_size=M)")
    return int(n)
