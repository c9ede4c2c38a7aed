"""SGD on a finite population: ground truth for the stability bounds of :mod:`theorems.stability` (in expectation).

:class:`SGDStability`. The data distribution is uniform on ``N`` points ``x_j = (cos t_j, sin t_j)`` of the unit
circle (``|x| = 1``, so every Lipschitz and smoothness constant below is exact) with ``P[y = 1 | x_j] = p_j``, a
fixed smooth function of ``t_j``. A trial draws ``n`` examples, runs SGM from ``w_0 = 0`` for ``T`` steps with
indices drawn uniformly with replacement (Hardt, Recht, Singer, ICML 2016, Sec. 2), and records the
generalization gap ``R(w_T) - R_S(w_T)``, both risks exact (float) sums: ``R`` over the ``N`` points weighted by
``p_j``, ``R_S`` over the sample. The theorems bound ``E[R - R_S]``; the harness tests the mean of the gaps
(``claim = "mean"``, :mod:`theorems.testing._mean_test`), never single runs.

Losses (``u = y w.x``, ``s`` the logistic sigmoid):

* ``"logistic"`` (convex, Thm. 3.8): ``ln(1 + e^{-u})``; ``L = 1``, ``beta = 1/4``; constant step ``step``
  (``<= 2/beta``); ``sum_step = T step``. Gaps lie in ``[-B, B]`` with ``B = ln(1 + e^{T step})`` as
  ``|w_T| <= T step L``.
* ``"ridge"`` (``lam``-strongly convex, Thm. 3.9): ``ln(1 + e^{-u}) + lam |w|^2 / 2`` with SGM projected on the ball
  ``|w| <= radius``, where ``L = 1 + lam radius``, ``beta = 1/4 + lam``, ``gamma = lam``; constant step
  (``<= 1/beta``). The regulariser cancels in the gap, ``B = ln(1 + e^{radius})``.
* ``"sigmoid"`` (non-convex, values in ``(0, 1)``, Thm. 3.12): ``s(-u)``; ``L = 1/4``,
  ``beta = max |s''| = 1/(6 sqrt(3)) < 0.0963``; steps ``alpha_t = c / t``; gaps in ``[-1, 1]``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

import numpy as np
from scipy.special import expit

from boundcert.errors import InvalidInput
from theorems.testing._scenarios import Scenario, Trials
from theorems.testing._strategies import format_exact

__all__ = ["SGDStability"]

_PROVIDES = {
    "logistic": frozenset({"n", "lipschitz", "beta", "max_step", "sum_step"}),
    "ridge": frozenset({"n", "lipschitz", "beta", "max_step", "gamma"}),
    "sigmoid": frozenset({"n", "lipschitz", "beta", "c", "max_t_step", "T"}),
}


def _loss(loss: str, u: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, -u) if loss in ("logistic", "ridge") else expit(-u)


def _dloss(loss: str, u: np.ndarray) -> np.ndarray:
    """d loss / d u."""
    if loss in ("logistic", "ridge"):
        return -expit(-u)
    s = expit(-u)
    return -s * (1 - s)


@dataclass(frozen=True)
class SGDStability(Scenario):
    """Expected generalization gap of SGM on ``n`` examples (see the module docstring for the losses).

    Attributes:
        n: sample size; loss: ``"logistic"``, ``"ridge"`` or ``"sigmoid"``; steps: ``T``; step: the constant step
        (``c`` for ``"sigmoid"``: ``alpha_t = c/t``); lam, radius: regulariser and projection radius of ``"ridge"``;
        points: ``N``; slope: ``p_j = s(slope cos t_j)``.
    """

    n: int
    loss: Literal["logistic", "ridge", "sigmoid"] = "logistic"
    steps: int = 20
    step: float = 0.5
    lam: float = 0.5
    radius: float = 2.0
    points: int = 64
    slope: float = 2.0
    claim = "mean"

    @property
    def provides(self) -> frozenset[str]:  # type: ignore[override]
        return _PROVIDES[self.loss]

    @property
    def binds(self) -> frozenset[str]:  # type: ignore[override]
        return frozenset({"sum_step"} if self.loss == "logistic" else {"gamma"} if self.loss == "ridge" else {"T"})

    def _constants(self) -> dict[str, object]:
        """The theorem's inputs, exact for the float parameters actually used (Fractions, no rounding)."""
        step, lam = Fraction(self.step), Fraction(self.lam)
        if self.loss == "logistic":
            return {"lipschitz": 1, "beta": "0.25", "max_step": format_exact(step),
                    "sum_step": format_exact(self.steps * step)}
        if self.loss == "ridge":
            return {"lipschitz": format_exact(1 + lam * Fraction(self.radius)), "beta": format_exact(Fraction(1, 4) + lam),
                    "max_step": format_exact(step), "gamma": format_exact(lam)}
        return {"lipschitz": "0.25", "beta": "0.0963", "c": format_exact(step), "max_t_step": format_exact(step),
                "T": self.steps}

    def _range(self) -> float:
        """A-priori bound ``B`` on ``|R - R_S|`` (with a relative margin of 1e-9 for float round-off)."""
        if self.loss == "logistic":
            b = math.log1p(math.exp(self.steps * self.step))
        else:
            b = math.log1p(math.exp(self.radius)) if self.loss == "ridge" else 1.0
        return b * (1 + 1e-9)

    def draw(self, trials: int, rng: np.random.Generator) -> Trials:
        if self.n < 2 or self.steps < 1 or self.step <= 0:
            raise InvalidInput(f"n={self.n} (>= 2), steps={self.steps} (>= 1), step={self.step} (> 0) required")
        if self.loss not in _PROVIDES:
            raise InvalidInput(f"loss={self.loss!r}: use 'logistic', 'ridge' or 'sigmoid'")
        t = 2 * np.pi * (np.arange(self.points) + 0.5) / self.points
        pts = np.stack([np.cos(t), np.sin(t)], 1)
        p1 = expit(self.slope * np.cos(t))
        idx = rng.integers(0, self.points, (trials, self.n))
        x = pts[idx]  # (trials, n, 2)
        y = np.where(rng.random((trials, self.n)) < p1[idx], 1.0, -1.0)
        w = np.zeros((trials, 2))
        rows = np.arange(trials)
        for step_no in range(1, self.steps + 1):
            i = rng.integers(0, self.n, trials)
            xi, yi = x[rows, i], y[rows, i]
            u = yi * (w * xi).sum(1)
            grad = (_dloss(self.loss, u) * yi)[:, None] * xi
            alpha = self.step / step_no if self.loss == "sigmoid" else self.step
            if self.loss == "ridge":
                grad = grad + self.lam * w
            w = w - alpha * grad
            if self.loss == "ridge":
                w = w * np.minimum(1.0, self.radius / np.maximum(np.linalg.norm(w, axis=1), 1e-300))[:, None]
        margin_pop = w @ pts.T  # (trials, N): w.x_j
        risk = (p1 * _loss(self.loss, margin_pop) + (1 - p1) * _loss(self.loss, -margin_pop)).mean(1)
        emp = _loss(self.loss, y * (w[:, None, :] * x).sum(2)).mean(1)
        b = self._range()
        return Trials({}, {"n": self.n, **self._constants()}, risk - emp, value_range=(-b, b))
