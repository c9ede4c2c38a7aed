"""Synthetic learning problems whose true risk is known exactly: the ground truth of the validity harness.

A :class:`Scenario` runs the whole learn-then-bound procedure ``n`` times at once (vectorised numpy): draw a sample
from a known distribution, learn (or fix) a predictor or a posterior, and return for every trial the theorem's
inputs (``m``, ``k``, ``emp_risk``, ``kl``, ``delta``...) together with the *true* risk of what was learnt. The
harness (:func:`theorems.testing.validate`) evaluates the bound on each trial and counts the trials where
``bound < true risk``.

Built-in problems (each true risk in closed form or by exact enumeration, to float precision, far below 1e-6):

* :class:`GaussianLinear` (test-set bounds): two classes, ``x | y ~ N(+-s/2 e_1, I_d)``, equal priors; a linear
  classifier learnt on a training sample (difference of class means); ``k`` its errors on ``m`` fresh test points;
  true risk ``(Phi(-(w.mu_1 + b)/|w|) + Phi((w.mu_0 + b)/|w|)) / 2``.
* :class:`Thresholds` (PAC-Bayes): ``x ~ U[0,1]``, ``y = [x > theta] xor Bernoulli(eta)``; ``H`` = ``n_hyp``
  thresholds, uniform prior; posterior = the prior (``KL = 0``), a point mass on the empirical risk minimiser
  (``KL = ln |H|``), or a Gibbs posterior (``KL`` exact); true risk of threshold ``t``: ``eta + (1 - 2 eta)|t - theta|``.
* :class:`TeacherNetwork` (both): inputs uniform on a 64 x 64 grid of ``[-1,1]^2`` (so the "test set" is the whole
  population and the risk is an exact count), labels from a fixed random ReLU teacher with label noise ``eta``,
  students = ``n_students`` perturbed copies of the teacher fixed in advance, the one with the fewest training errors
  is learnt. ``mode="test_set"``: ``k`` its errors on ``m`` fresh points; ``mode="pac_bayes"``: its training error
  on the ``m`` points it was chosen on, with ``KL = ln n_students`` (point mass under a uniform prior).
"""

from __future__ import annotations

import abc
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import ClassVar, Literal, Mapping, Sequence

import mpmath
import numpy as np
from scipy.special import ndtr

from boundcert.errors import InvalidInput
from theorems.testing._strategies import format_exact

__all__ = ["Trials", "Scenario", "GaussianLinear", "Thresholds", "TeacherNetwork", "log_upper"]

_CHUNK = 2_000_000  # booleans per vectorised block


@dataclass(frozen=True, slots=True)
class Trials:
    """``n`` runs of a scenario: per-trial inputs of the theorem, shared inputs, and the exact true risks.

    ``inputs[name][i]`` is the value of quantity ``name`` in trial ``i`` (an int, or an exact decimal / ``p/q``
    string, or a float taken exactly); ``shared`` holds inputs common to all trials (``delta``);
    ``true_risk[i]`` the true value of what the theorem bounds for trial ``i`` (the risk of what it learnt under
    the scenario's known distribution; for a ``claim = "mean"`` scenario, the realised value of the random
    variable whose expectation is bounded, e.g. a generalization gap). ``value_range``: a-priori range of those
    values (needed by the mean test).
    """

    inputs: Mapping[str, Sequence[object]]
    shared: Mapping[str, object]
    true_risk: np.ndarray
    value_range: tuple[float, float] | None = None

    def row(self, i: int) -> dict[str, object]:
        out = dict(self.shared)
        out.update({k: v[i] for k, v in self.inputs.items()})
        return out


class Scenario(abc.ABC):
    """A synthetic learning problem with a known true risk; subclasses are frozen dataclasses.

    Subclasses set :attr:`provides` (the quantity names they produce) and implement :meth:`draw`. Optional:
    :attr:`binds` (names a theorem must take for the inputs to mean what the scenario means: ``k`` counted on the
    training sample is a valid input only with the ``code_bits`` of an Occam bound, never to a test-set bound),
    :attr:`relation` (``"<="``: the scenario's truth is bounded above; ``">="``: below) and :attr:`claim`
    (``"per_trial"``: the bound must hold in each trial but with probability ``1 - delta``; ``"mean"``: it bounds
    the *expectation* of the per-trial values, tested on their mean).
    """

    provides: frozenset[str] = frozenset()
    binds: ClassVar[frozenset[str]] = frozenset()
    relation: ClassVar[Literal["<=", ">="]] = "<="
    claim: ClassVar[Literal["per_trial", "mean"]] = "per_trial"

    @property
    def name(self) -> str:
        return type(self).__name__

    def describe(self) -> str:
        fields = ", ".join(f"{k}={getattr(self, k)}" for k in getattr(self, "__dataclass_fields__", {}))
        return f"{self.name}({fields})"

    @abc.abstractmethod
    def draw(self, n: int, rng: np.random.Generator) -> Trials:
        """Run the learn-then-bound procedure ``n`` times; return the theorem inputs and the true risks."""


def log_upper(x: int) -> str:
    """``ln(x)`` as a decimal string rounded *up* at 30 digits (an upper bound on a KL in nats)."""
    with mpmath.workprec(200):
        v = mpmath.log(x)
        s = mpmath.nstr(v, 32, strip_zeros=False)
    f = Fraction(s) + Fraction(1, 10**28)
    q = math.ceil(f * 10**28)
    return f"{q // 10**28}.{q % 10**28:028d}"


def _chunks(n: int, per_trial: int) -> list[tuple[int, int]]:
    step = max(1, _CHUNK // max(per_trial, 1))
    return [(a, min(n, a + step)) for a in range(0, n, step)]


def _check_common(m: int, delta: str) -> None:
    if m < 1:
        raise InvalidInput(f"scenario m={m} must be >= 1")
    d = Fraction(delta)
    if not 0 < d < 1:
        raise InvalidInput(f"scenario delta={delta!r} must lie in (0, 1)")


@dataclass(frozen=True)
class GaussianLinear(Scenario):
    """Test-set bound for a learnt linear classifier on Gaussian class-conditional data (risk by ``Phi``).

    Attributes:
        m: test-set size; delta: the confidence parameter passed to the bound (a decimal string);
        separation: distance ``s`` between the class means (Bayes risk ``Phi(-s/2)``; 0.1 gives ~0.48);
        dim: input dimension; n_train: training-set size for the class-mean classifier.
    """

    m: int
    delta: str
    separation: float = 0.1
    dim: int = 2
    n_train: int = 20
    provides = frozenset({"m", "k", "delta"})

    def learn(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``n`` classifiers ``(w, b)`` learnt on independent training samples, and the class mean ``mu_1``."""
        d, s = self.dim, self.separation
        mu1 = np.zeros(d)
        mu1[0] = s / 2
        mu0 = -mu1
        # learn: w = mean_1 - mean_0, b = -w.(mean_1 + mean_0)/2 (both classes present: at least one of each)
        ytr = rng.random((n, self.n_train)) < 0.5
        ytr[:, 0], ytr[:, 1] = True, False
        xtr = rng.standard_normal((n, self.n_train, d)) + np.where(ytr[..., None], mu1, mu0)
        c1 = (xtr * ytr[..., None]).sum(1) / ytr.sum(1)[:, None]
        c0 = (xtr * ~ytr[..., None]).sum(1) / (~ytr).sum(1)[:, None]
        w = c1 - c0
        return w, -(w * (c1 + c0)).sum(1) / 2, mu1

    def draw(self, n: int, rng: np.random.Generator) -> Trials:
        _check_common(self.m, self.delta)
        d = self.dim
        w, b, mu1 = self.learn(n, rng)
        mu0 = -mu1
        norm = np.linalg.norm(w, axis=1)
        true = 0.5 * ndtr(-(w @ mu1 + b) / norm) + 0.5 * ndtr((w @ mu0 + b) / norm)
        # bound: k errors on m fresh test points
        k = np.empty(n, dtype=np.int64)
        for a, z in _chunks(n, self.m * d):
            yte = rng.random((z - a, self.m)) < 0.5
            xte = rng.standard_normal((z - a, self.m, d)) + np.where(yte[..., None], mu1, mu0)
            pred = np.einsum("tmd,td->tm", xte, w[a:z]) + b[a:z, None] > 0
            k[a:z] = (pred != yte).sum(1)
        return Trials({"k": k.tolist()}, {"m": self.m, "delta": self.delta}, true)


@dataclass(frozen=True)
class Thresholds(Scenario):
    """PAC-Bayes on a finite class of thresholds on ``[0, 1]`` with label noise (risks exact).

    Attributes:
        m: training-set size; delta: confidence parameter (decimal string);
        n_hyp: number of thresholds ``t_i = (i + 1/2)/n_hyp``; theta: the target threshold; eta: label noise;
        posterior: ``"prior"`` (Q = P, KL = 0), ``"erm"`` (point mass on the empirical risk minimiser,
        KL = ln n_hyp) or ``"gibbs"`` (Q_i proportional to exp(-beta m emp_i), KL exact in floats).
    """

    m: int
    delta: str
    n_hyp: int = 1
    theta: float = 0.5
    eta: float = 0.3
    posterior: Literal["prior", "erm", "gibbs"] = "prior"
    beta: float = 1.0
    provides = frozenset({"m", "emp_risk", "kl", "delta"})

    def draw(self, n: int, rng: np.random.Generator) -> Trials:
        _check_common(self.m, self.delta)
        t = (np.arange(self.n_hyp) + 0.5) / self.n_hyp
        risk = self.eta + (1 - 2 * self.eta) * np.abs(t - self.theta)
        errs = np.empty((n, self.n_hyp), dtype=np.int64)
        for a, z in _chunks(n, self.m * self.n_hyp):
            x = rng.random((z - a, self.m))
            y = (x > self.theta) ^ (rng.random((z - a, self.m)) < self.eta)
            pred = x[..., None] > t
            errs[a:z] = (pred != y[..., None]).sum(1)
        if self.posterior == "prior":
            tot = errs.sum(1)
            emp = [_exact(Fraction(int(c), self.m * self.n_hyp)) for c in tot]
            return Trials({"emp_risk": emp}, {"m": self.m, "kl": 0, "delta": self.delta},
                          np.full(n, risk.mean()))
        if self.posterior == "erm":
            i = errs.argmin(1)
            emp = [_exact(Fraction(int(c), self.m)) for c in errs[np.arange(n), i]]
            return Trials({"emp_risk": emp}, {"m": self.m, "kl": log_upper(self.n_hyp), "delta": self.delta},
                          risk[i])
        if self.posterior == "gibbs":
            e = errs / self.m
            logits = -self.beta * self.m * e
            logits -= logits.max(1, keepdims=True)
            q = np.exp(logits)
            q /= q.sum(1, keepdims=True)
            with np.errstate(divide="ignore", invalid="ignore"):
                kl = np.where(q > 0, q * np.log(q * self.n_hyp), 0.0).sum(1)
            emp = (q * e).sum(1)
            # float round-off is ~1e-16: inflate both inputs by far more so the bound's inputs stay upper bounds
            kl_up = np.maximum(kl, 0) * (1 + 1e-9) + 1e-12
            emp_up = np.minimum(emp * (1 + 1e-9) + 1e-12, 1.0)
            return Trials({"emp_risk": emp_up.tolist(), "kl": kl_up.tolist()}, {"m": self.m, "delta": self.delta},
                          q @ risk)
        raise InvalidInput(f"posterior={self.posterior!r}: use 'prior', 'erm' or 'gibbs'")


def _exact(f: Fraction) -> str | int:
    return format_exact(f)


@dataclass(frozen=True)
class TeacherNetwork(Scenario):
    """A ReLU teacher with label noise on a finite input grid; a student chosen by ERM among fixed candidates.

    Attributes:
        m: test-set size (``mode="test_set"``) or training-set size (``mode="pac_bayes"``);
        delta: confidence parameter (decimal string); eta: label noise; n_students: candidate students;
        spread: scale of the students' weight perturbation; n_train: training size in test-set mode;
        grid: the input distribution is uniform on a ``grid x grid`` lattice of ``[-1, 1]^2``;
        width: hidden units of the teacher; net_seed: seed of the teacher and students (fixed before any data).
    """

    m: int
    delta: str
    mode: Literal["test_set", "pac_bayes"] = "test_set"
    eta: float = 0.2
    n_students: int = 8
    spread: float = 0.5
    n_train: int = 30
    grid: int = 64
    width: int = 16
    net_seed: int = 1234

    @property
    def provides(self) -> frozenset[str]:  # type: ignore[override]
        return frozenset({"m", "k", "delta"} if self.mode == "test_set" else {"m", "emp_risk", "kl", "delta"})

    def _population(self) -> tuple[np.ndarray, np.ndarray]:
        """(teacher labels on the grid, candidate predictions on the grid)."""
        g = np.linspace(-1, 1, self.grid)
        pts = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)
        r = np.random.default_rng(self.net_seed)
        w1, b1 = r.standard_normal((2, self.width)), r.standard_normal(self.width) * 0.5
        w2 = r.standard_normal(self.width)
        b2 = -np.median(np.maximum(pts @ w1 + b1, 0) @ w2)  # balanced classes

        def net(a1, c1, a2, c2):
            return np.maximum(pts @ a1 + c1, 0) @ a2 + c2 > 0

        teacher = net(w1, b1, w2, b2)
        students = np.stack([
            net(w1 + self.spread * r.standard_normal(w1.shape), b1 + self.spread * r.standard_normal(b1.shape),
                w2 + self.spread * r.standard_normal(w2.shape), b2)
            for _ in range(self.n_students)
        ])
        return teacher, students

    def draw(self, n: int, rng: np.random.Generator) -> Trials:
        _check_common(self.m, self.delta)
        teacher, students = self._population()
        npts = teacher.size
        # exact risk of student c: P(student != y) = eta + (1 - 2 eta) P(student != teacher), grid uniform
        risk = self.eta + (1 - 2 * self.eta) * (students != teacher).mean(1)

        def errors(size: int, a: int, z: int) -> np.ndarray:
            idx = rng.integers(0, npts, (z - a, size))
            y = teacher[idx] ^ (rng.random((z - a, size)) < self.eta)
            return (students[:, idx] != y[None]).sum(2).T  # (trials, students)

        n_fit = self.n_train if self.mode == "test_set" else self.m
        chosen = np.empty(n, dtype=np.int64)
        train_err = np.empty(n, dtype=np.int64)
        for a, z in _chunks(n, n_fit * self.n_students):
            e = errors(n_fit, a, z)
            chosen[a:z] = e.argmin(1)
            train_err[a:z] = e[np.arange(z - a), chosen[a:z]]
        true = risk[chosen]
        if self.mode == "pac_bayes":
            emp = [_exact(Fraction(int(c), self.m)) for c in train_err]
            return Trials({"emp_risk": emp}, {"m": self.m, "kl": log_upper(self.n_students), "delta": self.delta},
                          true)
        k = np.empty(n, dtype=np.int64)
        for a, z in _chunks(n, self.m):
            idx = rng.integers(0, npts, (z - a, self.m))
            y = teacher[idx] ^ (rng.random((z - a, self.m)) < self.eta)
            k[a:z] = (students[chosen[a:z, None], idx] != y).sum(1)
        return Trials({"k": k.tolist()}, {"m": self.m, "delta": self.delta}, true)
