"""A finite class of coded thresholds: ground truth for the Occam (compression) bounds of :mod:`theorems.compression`.

:class:`CodedThresholds`. ``x ~ U[0, 1]``, ``y = [x > theta] xor Bernoulli(eta)``. The fixed decoder maps an
``l``-bit string ``c`` (``l >= 1``) to the threshold classifier ``x -> [x > (c + 1/2) / 2^l]``: every code of every
length is in the prior of the compression theorems (mass ``(6/pi^2) l^-2 2^-l``), the learner looks only at the
lengths in ``levels``. Learning: ``"erm"``, the empirical risk minimiser over all codes of the lengths in ``levels``
(first on ties, shortest code first); ``"srm"``, the code minimising the float proxy
``k/m + sqrt((l ln 2 + 2 ln l + ln(pi^2/6) + ln(1/delta)) / (2m))`` (structural risk minimisation: the chosen
length depends on the sample, which the bounds allow since they hold for every code at once).

``gamma`` (Catoni forms): per trial the value on the grid ``m 2^-j`` that minimises the bound; the union over
``gamma`` in ``compression.occam_catoni`` allows a data-dependent choice.

Exact: the true risk of threshold ``t`` is ``eta + (1 - 2 eta) |t - theta|`` (float, error ~1e-16); ``k`` is an
integer count, ``emp_risk = k/m`` an exact fraction, ``code_bits = l`` an integer.

References: Langford, JMLR 2005, Sec. 4 (Occam's razor bound); Zhou et al., ICLR 2019; Lotfi et al., NeurIPS 2022.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

import numpy as np

from boundcert.errors import InvalidInput
from theorems.testing._scenarios import Scenario, Trials, _check_common, _chunks
from theorems.testing._strategies import format_exact

__all__ = ["CodedThresholds"]


@dataclass(frozen=True)
class CodedThresholds(Scenario):
    """Occam bounds: a threshold learnt from ``m`` noisy examples, described by a code of ``code_bits`` bits.

    Attributes:
        m: training-set size; delta: confidence parameter (decimal string);
        levels: the code lengths the learner considers; theta: target threshold; eta: label noise;
        select: ``"erm"`` or ``"srm"`` (see the module docstring).
    """

    m: int
    delta: str
    levels: tuple[int, ...] = (1, 2, 3, 4)
    theta: float = 0.3
    eta: float = 0.2
    select: Literal["erm", "srm"] = "erm"
    provides = frozenset({"m", "k", "emp_risk", "code_bits", "gamma", "delta"})
    binds = frozenset({"code_bits"})

    def _codes(self) -> tuple[np.ndarray, np.ndarray]:
        """(code length, threshold) of every code considered, shortest codes first."""
        if not self.levels or min(self.levels) < 1:
            raise InvalidInput(f"levels={self.levels!r}: code lengths must be integers >= 1")
        bits = np.concatenate([np.full(2**l, l) for l in self.levels])
        t = np.concatenate([(np.arange(2**l) + 0.5) / 2**l for l in self.levels])
        return bits, t

    def draw(self, n: int, rng: np.random.Generator) -> Trials:
        _check_common(self.m, self.delta)
        bits, t = self._codes()
        risk = self.eta + (1 - 2 * self.eta) * np.abs(t - self.theta)
        errs = np.empty((n, t.size), dtype=np.int64)
        for a, z in _chunks(n, self.m * t.size):
            x = rng.random((z - a, self.m))
            y = (x > self.theta) ^ (rng.random((z - a, self.m)) < self.eta)
            errs[a:z] = ((x[..., None] > t) != y[..., None]).sum(1)
        if self.select == "erm":
            score = errs.astype(float)
        elif self.select == "srm":
            pen = bits * math.log(2) + 2 * np.log(bits) + math.log(math.pi**2 / 6) + math.log(1 / float(self.delta))
            score = errs / self.m + np.sqrt(pen / (2 * self.m))
        else:
            raise InvalidInput(f"select={self.select!r}: use 'erm' or 'srm'")
        i = score.argmin(1)
        k = errs[np.arange(n), i]
        return Trials(
            {"k": k.tolist(), "emp_risk": [format_exact(Fraction(int(c), self.m)) for c in k],
             "code_bits": bits[i].tolist(), "gamma": self._gamma(k / self.m, bits[i]).tolist()},
            {"m": self.m, "delta": self.delta},
            risk[i],
        )

    def _gamma(self, emp: np.ndarray, bits: np.ndarray) -> np.ndarray:
        """Per trial, the ``gamma`` on the grid ``m 2^-j >= 1`` that minimises the Catoni-union form (floats).

        Choosing ``gamma`` after seeing the sample is allowed: the union over ``gamma`` is paid in the statement.
        """
        grid = np.array([g for g in (self.m / 2.0**j for j in range(12)) if g >= 1])
        kl = bits * math.log(2) + 2 * np.log(bits) + math.log(math.pi**2 / 6)
        alpha = 1e-4
        budget = (1 + alpha) / grid * (kl[:, None] + math.log(1 / float(self.delta))
                                       + 2 * np.log(2 + np.log(grid) / math.log1p(alpha)))
        a = grid / self.m
        val = -np.expm1(-a * (emp[:, None] + budget)) / -np.expm1(-a)
        return grid[val.argmin(1)]
