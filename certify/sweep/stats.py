"""Rank correlation of a measure with the generalization gap over a zoo, as in Jiang et al. (2020), Sec. 4.

* Kendall's tau (their eq. 3): ``tau = 1 / (n (n - 1)) * sum_{i != j} sign(mu_i - mu_j) sign(g_i - g_j)`` over the
  models (tau-a: a tie in either value counts 0), computed exactly as a :class:`fractions.Fraction`.
* Granulated Kendall coefficient (their eq. 4-5): for each hyperparameter axis ``i``, ``psi_i`` is the mean, over
  every setting of the *other* axes, of tau over the models that differ only in axis ``i``; ``Psi`` is the mean of
  ``psi_i`` over the axes. On an incomplete grid (failed jobs) a group with fewer than two models has no tau and is
  left out of the mean, and an axis with no such group is left out of ``Psi``; the counts are reported.

These are measurements of a ranking (no bound is made from them); the values are exact for the given inputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Mapping, Sequence

from boundcert.errors import InvalidInput

__all__ = ["kendall_tau", "Granulated", "granulated_kendall"]


def _sign(a: Any, b: Any) -> int:
    return (a > b) - (a < b)


def kendall_tau(measure: Sequence[Any], gap: Sequence[Any]) -> Fraction:
    """Jiang et al.'s Kendall tau (tau-a) of ``measure`` against ``gap``, exactly.

    Raises:
        InvalidInput: sequences of different lengths, or fewer than two models.
    """
    n = len(measure)
    if n != len(gap):
        raise InvalidInput(f"kendall_tau: {n} measure values but {len(gap)} gaps: give one of each per model")
    if n < 2:
        raise InvalidInput(f"kendall_tau needs at least two models, got {n}")
    s = sum(_sign(measure[i], measure[j]) * _sign(gap[i], gap[j]) for i in range(n) for j in range(i + 1, n))
    return Fraction(2 * s, n * (n - 1))


@dataclass(frozen=True, slots=True)
class Granulated:
    """``psi``: Psi (None when no axis has a group of two models); ``per_axis``: psi_i by axis (None: no group);
    ``groups``: the number of groups each psi_i averages."""

    psi: Fraction | None
    per_axis: dict[str, Fraction | None]
    groups: dict[str, int]


def granulated_kendall(measure: Sequence[Any], gap: Sequence[Any],
                       hparams: Sequence[Mapping[str, Any]]) -> Granulated:
    """Jiang et al.'s granulated Kendall coefficient over the hyperparameter axes of ``hparams`` (one dict per
    model, the same keys for all). Axes with a single value are not varied and are left out."""
    n = len(measure)
    if not (n == len(gap) == len(hparams)):
        raise InvalidInput(f"granulated_kendall: {n} measures, {len(gap)} gaps, {len(hparams)} hyperparameter "
                           "settings: give one of each per model")
    axes = sorted(hparams[0]) if n else []
    if any(sorted(h) != axes for h in hparams):
        raise InvalidInput("granulated_kendall: the models do not share the same hyperparameter axes")
    per_axis: dict[str, Fraction | None] = {}
    groups: dict[str, int] = {}
    for ax in axes:
        if len({repr(h[ax]) for h in hparams}) < 2:
            continue
        by_rest: dict[tuple, list[int]] = {}
        for i, h in enumerate(hparams):
            by_rest.setdefault(tuple(repr(h[a]) for a in axes if a != ax), []).append(i)
        taus = [kendall_tau([measure[i] for i in idx], [gap[i] for i in idx])
                for idx in by_rest.values() if len(idx) >= 2]
        groups[ax] = len(taus)
        per_axis[ax] = sum(taus, Fraction(0)) / len(taus) if taus else None
    defined = [v for v in per_axis.values() if v is not None]
    return Granulated(sum(defined, Fraction(0)) / len(defined) if defined else None, per_axis, groups)
