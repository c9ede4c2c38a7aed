"""Linear classifiers on Gaussian data: ground truth for the robustness results of :mod:`theorems.robustness`.

For a linear classifier ``h(x) = [z(x) > 0]``, ``z(x) = w.x + b``, written as the two-logit map
``f(x) = (z/2, -z/2)`` (and ``f = (-z/2, z/2)`` swapped by label), everything is in closed form:

* the l2 Lipschitz constant of ``f`` is ``|| [w/2; -w/2] ||_2 = |w| / sqrt(2)`` and the logit margin is ``|z|``, so
  the Lipschitz-margin radius ``M / (sqrt(2) L) = |z| / |w|`` is *exactly* the distance to the decision boundary
  (Tsuzuku et al. 2018, Prop. 1, is tight here: any larger constant is caught);
* a point is robustly correct at radius ``eps`` iff ``y z(x) / |w| > eps`` (``y = +-1``), and the certificate
  certifies exactly these points;
* with ``x | y ~ N(y-th mean, I_d)`` the robust error is ``(Phi(eps - s_1) + Phi(eps + s_0)) / 2``,
  ``s_c = (w.mu_c + b) / |w|`` (``eps = 0``: the error of :class:`~theorems.testing.GaussianLinear`).

Scenarios: :class:`RobustTestSet` (``robust.robust_error_test_set``: learnt classifier, ``k_uncertified`` on ``m``
fresh points, truth = population robust error), :class:`CertifiedSample` (``robust.certified_accuracy``: truth =
the sample's exact robust accuracy), :class:`RobustRadius` (``robust.tsuzuku2018_radius``: a fixed integer
classifier ``w = (3, 4)``, ``|w| = 5``, on lattice points, so the truth ``|z|/5`` is an exact rational).
Float counts near the boundary are made conservative (a point within ``1e-9`` relative of ``eps`` is uncertified).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import mpmath
import numpy as np
from scipy.special import ndtr

from boundcert.errors import InvalidInput
from theorems.testing._scenarios import GaussianLinear, Scenario, Trials, _check_common, _chunks
from theorems.testing._strategies import format_exact

__all__ = ["RobustTestSet", "CertifiedSample", "RobustRadius"]

_SLACK = 1e-9


def _signed_distance(x: np.ndarray, y: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``y z(x) / |w|`` with ``y`` in {-1, +1}: (trials, points)."""
    z = np.einsum("tmd,td->tm", x, w) + b[:, None]
    return np.where(y, 1.0, -1.0) * z / np.linalg.norm(w, axis=1)[:, None]


def _sample(base: GaussianLinear, size: int, a: int, z: int, rng: np.random.Generator):
    mu1 = np.zeros(base.dim)
    mu1[0] = base.separation / 2
    y = rng.random((z - a, size)) < 0.5
    x = rng.standard_normal((z - a, size, base.dim)) + np.where(y[..., None], mu1, -mu1)
    return x, y


@dataclass(frozen=True)
class RobustTestSet(Scenario):
    """Test-set bound on the robust error: ``k_uncertified`` of ``m`` fresh points, truth in closed form.

    Attributes: as :class:`~theorems.testing.GaussianLinear`, plus ``eps`` (the l2 radius, fixed in advance).
    """

    m: int
    delta: str
    eps: float = 0.2
    separation: float = 1.0
    dim: int = 2
    n_train: int = 20
    provides = frozenset({"m", "k_uncertified", "delta"})

    def draw(self, n: int, rng: np.random.Generator) -> Trials:
        _check_common(self.m, self.delta)
        if self.eps < 0:
            raise InvalidInput(f"eps={self.eps} must be >= 0")
        base = GaussianLinear(self.m, self.delta, self.separation, self.dim, self.n_train)
        w, b, mu1 = base.learn(n, rng)
        norm = np.linalg.norm(w, axis=1)
        s1, s0 = (w @ mu1 + b) / norm, (-(w @ mu1) + b) / norm
        true = 0.5 * ndtr(self.eps - s1) + 0.5 * ndtr(self.eps + s0)
        k = np.empty(n, dtype=np.int64)
        for a, z in _chunks(n, self.m * self.dim):
            x, y = _sample(base, self.m, a, z, rng)
            k[a:z] = (_signed_distance(x, y, w[a:z], b[a:z]) <= self.eps * (1 + _SLACK) + _SLACK).sum(1)
        return Trials({"k_uncertified": k.tolist()}, {"m": self.m, "delta": self.delta}, true)


@dataclass(frozen=True)
class CertifiedSample(Scenario):
    """Certified accuracy on a sample (a lower bound): truth = the sample's exact robust accuracy at ``eps``."""

    m: int
    eps: float = 0.2
    separation: float = 1.0
    dim: int = 2
    n_train: int = 20
    provides = frozenset({"m", "n_certified"})
    relation = ">="

    def draw(self, n: int, rng: np.random.Generator) -> Trials:
        if self.m < 1:
            raise InvalidInput(f"scenario m={self.m} must be >= 1")
        base = GaussianLinear(self.m, "0.5", self.separation, self.dim, self.n_train)
        w, b, _ = base.learn(n, rng)
        cert = np.empty(n, dtype=np.int64)
        robust = np.empty(n)
        for a, z in _chunks(n, self.m * self.dim):
            x, y = _sample(base, self.m, a, z, rng)
            dist = _signed_distance(x, y, w[a:z], b[a:z])
            cert[a:z] = (dist > self.eps * (1 + _SLACK) + _SLACK).sum(1)
            robust[a:z] = (dist > self.eps).mean(1)
        return Trials({"n_certified": cert.tolist()}, {"m": self.m}, robust)


@dataclass(frozen=True)
class RobustRadius(Scenario):
    """Certified radius (a lower bound) of ``z = 3 x_1 + 4 x_2 + b`` at lattice points: exact rational truth.

    Attributes: ``grid``: points ``(i, j) / grid`` with ``|i|, |j| <= grid``; ``offset``: ``b``, a float with
    ``offset * grid`` not an integer, so that no lattice point lies on the boundary (margin 0 is outside the
    theorem's domain).
    """

    grid: int = 8
    offset: float = 0.0625
    provides = frozenset({"logit_margin", "lipschitz"})
    relation = ">="

    def draw(self, n: int, rng: np.random.Generator) -> Trials:
        if self.grid < 1:
            raise InvalidInput(f"grid={self.grid} must be >= 1")
        ij = rng.integers(-self.grid, self.grid + 1, (n, 2))
        b = Fraction(self.offset)
        if (b * self.grid).denominator == 1:
            raise InvalidInput(f"offset={self.offset} * grid={self.grid} is an integer: lattice points would lie on "
                               "the decision boundary; choose an offset such as 1/(2 grid)")
        keep = [abs(Fraction(3 * int(i) + 4 * int(j), self.grid) + b) for i, j in ij]
        # L = |w| / sqrt(2) = 5 / sqrt(2), passed as an upper decimal enclosure
        with mpmath.workprec(200):
            lip = Fraction(mpmath.nstr(5 / mpmath.sqrt(2), 40)) + Fraction(1, 10**35)
        return Trials({"logit_margin": [format_exact(v) for v in keep]}, {"lipschitz": format_exact(lip)},
                      np.array([float(v / 5) for v in keep]))
