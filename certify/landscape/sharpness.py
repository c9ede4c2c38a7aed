"""Sharpness and flatness measures of Jiang, Neyshabur, Mobahi, Krishnan, Bengio, "Fantastic Generalization Measures
and Where to Find Them", ICLR 2020, Sec. 6 and App. C (as we read them; the search constants are ours).

Perturbation scales, each the largest on a log-bisection such that the training 0-1 error of the perturbed network
exceeds that of ``w`` by at most ``target`` (the paper: 0.1; its networks reach ~0 training error, where "exceeds
that of w by" and "is at most" coincide):

* ``sigma'`` (PAC-Bayes, random perturbation): ``E_u err(w + u) - err(w) <= target``, ``u ~ N(0, sigma'^2 I)``,
  the expectation a Monte Carlo mean over ``n_mc`` draws (common random numbers across the bisection);
* ``sigma'_mag`` (magnitude-aware): ``u_i ~ N(0, sigma'^2 w_i^2 + eps^2)``, ``eps = 1e-3``;
* ``alpha'`` (sharpness, worst case): ``max_{|u_i| <= alpha'} err(w + u) - err(w) <= target``, the max approximated
  by ``n_ascent`` steps of projected sign-gradient ascent on the cross-entropy from a random start in the box;
* ``alpha'_mag``: the box ``|u_i| <= alpha' |w_i| + eps``.

Measures (Jiang's names): ``pacbayes.flatness = 1/sigma'^2``, ``pacbayes.mag.flatness = 1/sigma'_mag^2``,
``sharpness.flatness = 1/alpha'^2``, ``sharpness.mag.flatness = 1/alpha'_mag^2``; ``pacbayes.orig =
||w||^2 / (4 sigma'^2) + log(m / sigma') + 10``, ``pacbayes.init`` (``w - w0``) and, with ``s = sigma'_mag`` and
``omega`` parameters, ``pacbayes.mag.init = 1/4 sum_i log((eps^2 + (s^2 + 1) ||w - w0||^2 / omega) / (eps^2 + s^2
(w_i - w0_i)^2)) + log(m / s) + 10`` when an initialisation is given (the formulas as the reference implementation of
Dziugaite et al. 2020, nitarshan/robust-generalization-measures, writes them; its comments number them 48, 49, 53,
56, 61). Norms here run over every floating parameter (that implementation leaves biases out).
Every number here is a measurement on finitely many draws and ascent steps, in float32: an ``*_estimate``, never a
bound. The PAC-Bayes *bound* at a flatness scale is :mod:`certify.landscape.flatness`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Callable

import numpy as np

from boundcert.errors import InvalidInput
from certify.landscape.params import FlatModel, flat_model

__all__ = ["SharpnessMeasures", "sharpness_measures", "largest_scale", "MAG_EPS"]

MAG_EPS = 1e-3


@dataclass(frozen=True, slots=True)
class SharpnessMeasures:
    """Jiang et al.'s sharpness / flatness measures of one model on its training data (all estimates)."""

    base_error: float
    base_loss: float
    target: float
    n_params: int
    m: int
    sigma_estimate: float
    sigma_mag_estimate: float
    alpha_estimate: float
    alpha_mag_estimate: float
    pacbayes_flatness_estimate: float
    pacbayes_mag_flatness_estimate: float
    sharpness_flatness_estimate: float
    sharpness_mag_flatness_estimate: float
    pacbayes_orig_estimate: float
    pacbayes_init_estimate: float | None
    pacbayes_mag_init_estimate: float | None
    n_mc: int
    n_ascent: int
    n_bisect: int
    seed: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def largest_scale(increase: Callable[[float], float], target: float, lo: float, hi: float, n_bisect: int) -> float:
    """The largest scale in ``[lo, hi]`` (log-bisection, ``n_bisect`` halvings) with ``increase(scale) <= target``;
    ``lo`` when even ``lo`` exceeds it, ``hi`` when ``hi`` does not."""
    if increase(hi) <= target:
        return hi
    if increase(lo) > target:
        return lo
    a, b = math.log(lo), math.log(hi)
    for _ in range(n_bisect):
        c = 0.5 * (a + b)
        if increase(math.exp(c)) <= target:
            a = c
        else:
            b = c
    return math.exp(a)


def _random_increase(fm: FlatModel, base: float, noise: list[Any], mag: bool) -> Callable[[float], float]:
    import torch

    absw = fm.w.abs()

    def inc(s: float) -> float:
        errs = []
        for xi in noise:
            std = torch.sqrt((s * absw) ** 2 + MAG_EPS**2) if mag else s
            errs.append(fm.error_and_loss(fm.w + std * xi)[0])
        return float(np.mean(errs)) - base

    return inc


def _worst_increase(fm: FlatModel, base: float, n_ascent: int, seed: int, mag: bool) -> Callable[[float], float]:
    import torch

    absw = fm.w.abs()

    def inc(a: float) -> float:
        box = a * absw + MAG_EPS if mag else torch.full_like(fm.w, a)
        g = torch.Generator().manual_seed(seed)
        u = (torch.rand(fm.w.shape, generator=g, dtype=fm.w.dtype) * 2 - 1) * box
        step = 2.0 * box / max(n_ascent, 1)
        for _ in range(n_ascent):
            u = u.detach().requires_grad_(True)
            (grad,) = torch.autograd.grad(fm.loss(fm.w + u), u)
            u = torch.clamp(u.detach() + step * grad.sign(), -box, box)
        return fm.error_and_loss(fm.w + u.detach())[0] - base

    return inc


def sharpness_measures(module: Any, x: np.ndarray, y: np.ndarray, *, init: Any = None, target: float = 0.1,
                       n_mc: int = 8, n_ascent: int = 10, n_bisect: int = 10, scale_range: tuple[float, float] =
                       (1e-5, 10.0), seed: int = 0, batch: int = 2048, progress: bool = False) -> SharpnessMeasures:
    """Jiang et al.'s sharpness and PAC-Bayes flatness measures (module docstring) of ``module`` on ``(x, y)``.

    Args:
        init: the initialisation (an ``nn.Module`` of the same architecture) for ``pacbayes.init``, or ``None``.
        target: the allowed increase of the training 0-1 error (Jiang: 0.1).
        n_mc, n_ascent, n_bisect: Monte Carlo draws per scale, ascent steps per scale, bisection halvings.
        scale_range: the search interval of every scale; seed: all draws; progress: a tqdm bar over the 4 searches.
    """
    import torch
    from tqdm import tqdm

    if not (0.0 < float(target) < 1.0):
        raise InvalidInput(f"target={target!r} must lie in (0, 1): the allowed increase of the training error, "
                           "e.g. 0.1")
    lo, hi = scale_range
    if not (0.0 < lo < hi):
        raise InvalidInput(f"scale_range={scale_range!r} must be (lo, hi) with 0 < lo < hi")
    fm = flat_model(module, x, y, dtype="float32", batch=batch)
    base_err, base_loss = fm.error_and_loss(fm.w)
    g = torch.Generator().manual_seed(seed)
    noise = [torch.randn(fm.w.shape, generator=g) for _ in range(n_mc)]
    searches = {
        "sigma": _random_increase(fm, base_err, noise, mag=False),
        "sigma_mag": _random_increase(fm, base_err, noise, mag=True),
        "alpha": _worst_increase(fm, base_err, n_ascent, seed, mag=False),
        "alpha_mag": _worst_increase(fm, base_err, n_ascent, seed, mag=True),
    }
    found = {}
    for name, inc in tqdm(searches.items(), desc="sharpness searches", unit="search", disable=not progress,
                          leave=False):
        found[name] = largest_scale(inc, float(target), lo, hi, n_bisect)
    w = fm.w.double()
    m = fm.n
    s = found["sigma"]
    orig = float(w @ w) / (4 * s * s) + math.log(m / s) + 10
    init_val = mag_init = None
    if init is not None:
        fi = flat_model(init, x[:1], y[:1], dtype="float32")
        if fi.dim != fm.dim:
            raise InvalidInput(f"the initialisation has {fi.dim} parameters, the model {fm.dim}: give the same "
                               "architecture")
        dw = w - fi.w.double()
        init_val = float(dw @ dw) / (4 * s * s) + math.log(m / s) + 10
        sm, eps2 = found["sigma_mag"], MAG_EPS**2
        num = eps2 + (sm**2 + 1) * float(dw @ dw) / fm.dim
        mag_init = 0.25 * float(torch.log(num / (eps2 + sm**2 * dw**2)).sum()) + math.log(m / sm) + 10
    return SharpnessMeasures(
        base_error=base_err, base_loss=base_loss, target=float(target), n_params=fm.dim, m=m,
        sigma_estimate=s, sigma_mag_estimate=found["sigma_mag"], alpha_estimate=found["alpha"],
        alpha_mag_estimate=found["alpha_mag"], pacbayes_flatness_estimate=1 / s**2,
        pacbayes_mag_flatness_estimate=1 / found["sigma_mag"] ** 2,
        sharpness_flatness_estimate=1 / found["alpha"] ** 2,
        sharpness_mag_flatness_estimate=1 / found["alpha_mag"] ** 2,
        pacbayes_orig_estimate=orig, pacbayes_init_estimate=init_val, pacbayes_mag_init_estimate=mag_init,
        n_mc=n_mc, n_ascent=n_ascent,
        n_bisect=n_bisect, seed=seed,
    )
