"""A one-sided test of ``E[X] <= b`` from i.i.d. bounded samples: the harness's check of bounds *in expectation*.

Bounds such as the uniform-stability bounds of Hardt et al. 2016 (``E[R(A(S)) - R_S(A(S))] <= eps_stab``) say
nothing about one run, so counting per-trial violations would be wrong. The harness instead tests
``H0: E[X] <= b`` with the **empirical Bernstein inequality** (A. Maurer, M. Pontil, "Empirical Bernstein bounds
and sample variance penalization", COLT 2009, Thm. 4): for ``n >= 2`` i.i.d. ``X_i`` in ``[lo, hi]`` and
``delta in (0, 1)``, with probability ``>= 1 - delta``

    ``E[X] >= mean - sqrt(2 V ln(2/delta) / n) - 7 (hi - lo) ln(2/delta) / (3 (n - 1))``,

``V`` the unbiased sample variance (their Thm. 4 applied to ``(hi - X)/(hi - lo)``). The p-value is the smallest
``delta`` whose lower confidence limit still exceeds ``b``: under ``H0`` it is at most ``delta`` with probability
``<= delta``, with no normal approximation. The range ``[lo, hi]`` must hold a priori (the scenario derives it
from the loss); a value outside it is a scenario bug and is refused.
"""

from __future__ import annotations

import math

import numpy as np

from boundcert.errors import InvalidInput

__all__ = ["mean_p_value", "mean_lower_confidence"]


def _check(values: np.ndarray, lo: float, hi: float) -> tuple[int, float, float]:
    n = int(values.size)
    if n < 2:
        raise InvalidInput(f"the mean test needs at least 2 trials, got {n}")
    if not hi > lo or values.min() < lo or values.max() > hi:
        raise InvalidInput(
            f"values in [{values.min():.6g}, {values.max():.6g}] are outside the declared range [{lo}, {hi}]: "
            "the scenario's a-priori range is wrong (a bug in the scenario)"
        )
    return n, float(values.mean()), float(values.var(ddof=1))


def mean_lower_confidence(values: np.ndarray, lo: float, hi: float, delta: float) -> float:
    """Lower confidence limit of ``E[X]`` at level ``1 - delta`` (Maurer-Pontil 2009, Thm. 4)."""
    n, mean, var = _check(values, lo, hi)
    u = math.log(2 / delta)
    return mean - math.sqrt(2 * var * u / n) - 7 * (hi - lo) * u / (3 * (n - 1))


def mean_p_value(values: np.ndarray, lo: float, hi: float, bound: float) -> float:
    """p-value of ``H0: E[X] <= bound``: the smallest ``delta`` with ``mean_lower_confidence(delta) >= bound``."""
    n, mean, var = _check(values, lo, hi)
    excess = mean - bound
    if excess <= 0:
        return 1.0
    # solve sqrt(2 V u / n) + K u = excess for u = ln(2/delta): quadratic in s = sqrt(u)
    a, k = math.sqrt(2 * var / n), 7 * (hi - lo) / (3 * (n - 1))
    s = (-a + math.sqrt(a * a + 4 * k * excess)) / (2 * k)
    return min(1.0, 2 * math.exp(-s * s))
