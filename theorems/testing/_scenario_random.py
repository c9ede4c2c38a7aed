"""Many independent random classifiers on pure-noise labels: the scenario where a PAC-Bayes bound is nearly tight.

:class:`RandomClass`. ``y`` is a fair coin independent of ``x`` (label noise ``1/2``), so *every* classifier has
true risk exactly ``1/2``. The prior is uniform on ``n_hyp`` classifiers fixed before the sample, each a random
function of ``x`` (an independent fair bit per point, drawn once from a fixed seed); the posterior is a point mass on
the empirical risk minimiser, ``KL(Q||P) = ln n_hyp`` (given as a decimal rounded up, :func:`log_upper`).

Why this design (the power to catch a wrong constant). Thresholds are strongly correlated, so the minimum of their
training errors barely moves below ``1/2`` and a PAC-Bayes bound with a constant too small by a factor of two
inside the square root still holds there. With independent classifiers the union bound that the KL term pays for is
nearly tight: ``P[min_j emp_j < 1/2 - t] ~ n_hyp exp(-2 m t^2)``. At the McAllester radius
``t^2 = (ln n_hyp + ln(2 sqrt(m)/delta)) / (2m)`` this is ``~ delta / (2 sqrt(m))``; with ``4m`` in place of ``2m``
it becomes ``~ sqrt(n_hyp delta / (2 sqrt(m)))``, which is close to 1 for ``n_hyp = 10^6``.

Exact law, not a float approximation of one: for points in general position (distinct ``x_i``, probability 1) the
error counts of the ``n_hyp`` classifiers are i.i.d. ``Binomial(m, 1/2)`` given the sample, so the training error
of the minimiser is drawn from the law of the minimum of ``n_hyp`` such counts,
``P[min <= k] = 1 - P[Bin(m, 1/2) > k]^n_hyp``, by inversion (log-survival function: no cancellation). The true
risk is exactly ``1/2`` whatever the learner picks; ``emp_risk = min/m`` is an exact fraction.

Reference: the lower-bound construction behind the tightness of Occam/PAC-Bayes bounds for finite classes, e.g.
Langford, JMLR 2005, Sec. 4.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from scipy.stats import binom

from boundcert.errors import InvalidInput
from theorems.testing._scenarios import Scenario, Trials, _check_common, log_upper
from theorems.testing._strategies import format_exact

__all__ = ["RandomClass"]


@dataclass(frozen=True)
class RandomClass(Scenario):
    """PAC-Bayes on ``n_hyp`` independent random classifiers, pure-noise labels, ERM posterior (risk exactly 1/2).

    Attributes:
        m: training-set size; delta: confidence parameter (decimal string); n_hyp: size of the class (the prior
        is uniform on it, the posterior a point mass: ``KL = ln n_hyp``).
    """

    m: int
    delta: str
    n_hyp: int = 10**6
    provides = frozenset({"m", "emp_risk", "kl", "delta"})

    def draw(self, n: int, rng: np.random.Generator) -> Trials:
        _check_common(self.m, self.delta)
        if self.n_hyp < 1:
            raise InvalidInput(f"RandomClass n_hyp={self.n_hyp} must be >= 1")
        ks = np.arange(self.m + 1)
        # log P[min > k] = n_hyp * log P[Bin(m, 1/2) > k]; P[min <= k] = -expm1(that)
        with np.errstate(divide="ignore"):
            cdf_min = -np.expm1(self.n_hyp * binom.logsf(ks, self.m, 0.5))
        cdf_min[-1] = 1.0
        mins = np.searchsorted(cdf_min, rng.random(n), side="left")
        emp = [format_exact(Fraction(int(c), self.m)) for c in mins]
        return Trials({"emp_risk": emp}, {"m": self.m, "kl": log_upper(self.n_hyp), "delta": self.delta},
                      np.full(n, 0.5))
