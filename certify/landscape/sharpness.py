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

Measures (Jiang's names; ``omega`` the number of parameters, ``m`` the sample size, ``s = sigma'``,
``s_mag = sigma'_mag``, ``a = alpha'``, ``a_mag = alpha'_mag``, ``w0`` the initialisation):

* flatness: ``pacbayes.flatness = 1/s^2``, ``pacbayes.mag.flatness = 1/s_mag^2``, ``sharpness.flatness = 1/a^2``,
  ``sharpness.mag.flatness = 1/a_mag^2``;
* PAC-Bayes (as the reference implementation of Dziugaite et al. 2020, nitarshan/robust-generalization-measures,
  writes them; its comments number them 48, 49, 53, 56, 57, 61): ``pacbayes.orig = ||w||^2 / (4 s^2) + log(m / s) +
  10``, ``pacbayes.init`` (``w - w0``), ``pacbayes.mag.init = 1/4 sum_i log((eps^2 + (s_mag^2 + 1) ||w - w0||^2 /
  omega) / (eps^2 + s_mag^2 (w_i - w0_i)^2)) + log(m / s_mag) + 10`` and ``pacbayes.mag.orig``, the same with
  ``||w||^2`` in the numerator (the reference keeps ``w_i - w0_i`` in the denominator; without an initialisation
  we take ``w0 = 0`` there);
* worst case (Jiang App. C as we read them; the reference above has none): ``sharpness.orig = ||w||^2 log(2 omega)
  / (4 a^2) + log(m / a) + 10``, ``sharpness.init`` (``w - w0``), ``sharpness.mag.init = 1/4 sum_i log((eps^2 +
  (a_mag^2 + 4 log(2 omega / delta)) ||w - w0||^2 / omega) / (eps^2 + a_mag^2 (w_i - w0_i)^2)) + log(m / a_mag) +
  10`` and ``sharpness.mag.orig`` (``||w||^2`` in the numerator, as for PAC-Bayes), ``delta = 0.05``
  (:data:`SHARPNESS_DELTA`); the ``log(m / .)`` term is written with the searched scale as the reference writes the
  PAC-Bayes ones.

Norms here run over every floating parameter (the reference leaves biases out). The ``*.init`` measures need an
initialisation and are ``None`` without one.
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

__all__ = ["SharpnessMeasures", "sharpness_measures", "largest_scale", "MAG_EPS", "SHARPNESS_DELTA"]

MAG_EPS = 1e-3
SHARPNESS_DELTA = 0.05


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
    pacbayes_mag_orig_estimate: float
    sharpness_orig_estimate: float
    sharpness_init_estimate: float | None
    sharpness_mag_orig_estimate: float
    sharpness_mag_init_estimate: float | None
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


def _norm_measure(v: Any, k: float, scale: float, m: int) -> float:
    """``k ||v||^2 / scale^2 + log(m / scale) + 10`` (the ``*.orig`` / ``*.init`` shape, module docstring)."""
    return k * float(v @ v) / (scale * scale) + math.log(m / scale) + 10


def _mag_measure(num: Any, den: Any, coef: float, scale: float, m: int) -> float:
    """``1/4 sum_i log((eps^2 + coef ||num||^2 / omega) / (eps^2 + scale^2 den_i^2)) + log(m / scale) + 10``
    (the magnitude-aware shape, module docstring)."""
    import torch

    eps2 = MAG_EPS**2
    top = eps2 + coef * float(num @ num) / num.numel()
    return 0.25 * float(torch.log(top / (eps2 + scale * scale * den * den)).sum()) + math.log(m / scale) + 10


def sharpness_measures(module: Any, x: np.ndarray, y: np.ndarray, *, init: Any = None, target: float = 0.1,
                       n_mc: int = 8, n_ascent: int = 10, n_bisect: int = 10, scale_range: tuple[float, float] =
                       (1e-5, 10.0), seed: int = 0, batch: int = 2048, progress: bool = False) -> SharpnessMeasures:
    """Jiang et al.'s sharpness and PAC-Bayes flatness measures (module docstring) of ``module`` on ``(x, y)``.

    Args:
        init: the initialisation (an ``nn.Module`` of the same architecture) for ``pacbayes.init``, or ``None``.
        target: the allowed increase of the training 0-1 error (Jiang: 0.1).
        n_mc, n_ascent, n_bisect: Monte Carlo draws per scale, ascent steps per scale, bisection halvings.
        scale_range: the search interval of every scale; seed: all draws; progress: a bar over the 4 searches
            (:mod:`certify.reports.progress`).
    """
    import torch

    from certify.reports.progress import progress as bar

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
    for name, inc in bar(searches.items(), desc="sharpness searches", unit="search", enabled=progress,
                         total=len(searches)):
        found[name] = largest_scale(inc, float(target), lo, hi, n_bisect)
    w = fm.w.double()
    m, omega = fm.n, fm.dim
    dw = None
    if init is not None:
        fi = flat_model(init, x[:1], y[:1], dtype="float32")
        if fi.dim != fm.dim:
            raise InvalidInput(f"the initialisation has {fi.dim} parameters, the model {fm.dim}: give the same "
                               "architecture")
        dw = w - fi.w.double()
    s, sm, a, am = found["sigma"], found["sigma_mag"], found["alpha"], found["alpha_mag"]
    k_sharp = math.log(2 * omega) / 4  # ||.||^2 log(2 omega) / (4 a^2)
    c_sharp = 4 * math.log(2 * omega / SHARPNESS_DELTA)
    den = dw if dw is not None else w  # the reference's denominator: w - w0 (w0 = 0 without an initialisation)
    est = {"pacbayes_orig": _norm_measure(w, 0.25, s, m), "sharpness_orig": _norm_measure(w, k_sharp, a, m),
           "pacbayes_mag_orig": _mag_measure(w, den, sm * sm + 1, sm, m),
           "sharpness_mag_orig": _mag_measure(w, den, am * am + c_sharp, am, m)}
    if dw is not None:
        est.update(pacbayes_init=_norm_measure(dw, 0.25, s, m), sharpness_init=_norm_measure(dw, k_sharp, a, m),
                   pacbayes_mag_init=_mag_measure(dw, dw, sm * sm + 1, sm, m),
                   sharpness_mag_init=_mag_measure(dw, dw, am * am + c_sharp, am, m))
    return SharpnessMeasures(
        base_error=base_err, base_loss=base_loss, target=float(target), n_params=fm.dim, m=m,
        sigma_estimate=s, sigma_mag_estimate=sm, alpha_estimate=a, alpha_mag_estimate=am,
        pacbayes_flatness_estimate=1 / s**2, pacbayes_mag_flatness_estimate=1 / sm**2,
        sharpness_flatness_estimate=1 / a**2, sharpness_mag_flatness_estimate=1 / am**2,
        **{f"{k}_estimate": est.get(k) for k in ("pacbayes_orig", "pacbayes_init", "pacbayes_mag_init",
                                                 "pacbayes_mag_orig", "sharpness_orig", "sharpness_init",
                                                 "sharpness_mag_orig", "sharpness_mag_init")},
        n_mc=n_mc, n_ascent=n_ascent,
        n_bisect=n_bisect, seed=seed,
    )
