"""PAC-Bayes quantities of the ``posterior`` context: ``KL(Q||P)`` of a stored Gaussian posterior and the Monte
Carlo upper bound on its empirical risk, with ``m``, ``delta`` and the prior-grid index ``j``.

Rounding model: the KL is an enclosure of the exact real for the stored float32 values (:func:`kl_enclosure`);
the Monte Carlo error count is an exact integer, turned into an upper bound on the posterior's empirical risk by a
kl (Chernoff) bound with its own ``delta_mc`` (:func:`mc_emp_upper`), evaluated with the rigorous ``kl_inv``. The
claim then holds with probability ``>= 1 - delta - delta_mc`` (both in the certificate's delta split).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import sympy

import theorems
from boundcert.errors import InvalidInput
from certify.models.module_posterior import StoredModulePosterior, module_mc_errors
from certify.models.posterior import StoredPosterior
from certify.quantities.registry import Provided, register_provider
from kernels._gaussian_kl import sum_log_enclosure, sum_sq_exact
from theorems import Interval, enclose
from theorems._interval import iexp, ilog
from theorems._symbols import KlInv

__all__ = ["McMode", "PriorVariance", "PosteriorContext", "kl_enclosure", "kl_float", "mc_errors", "mc_emp_upper"]

McMode = Literal["per_network", "per_example"]


# ---------------------------------------------------------------------------------------------------------- KL
@dataclass(frozen=True, slots=True)
class PriorVariance:
    """The prior's variance: ``sigma^2`` exactly (``sigma`` a decimal string), or ``c exp(-j/b)`` on the grid."""

    sigma: str | None = None
    c: str = "0.1"
    b: int = 100
    j: int | None = None

    def log_var(self) -> Interval:
        if self.sigma is not None:
            return ilog(enclose(self.sigma) * enclose(self.sigma))
        if self.j is None or self.j < 1:
            raise InvalidInput(f"prior variance grid index j={self.j!r} must be an integer >= 1")
        return ilog(enclose(self.c)) - enclose(self.j) / enclose(self.b)

    def describe(self) -> str:
        if self.sigma is not None:
            return f"sigma_prior={self.sigma} (variance sigma^2, fixed before the sample)"
        return f"lambda_j = {self.c} exp(-j/{self.b}), j={self.j}"


def kl_enclosure(post: StoredPosterior | StoredModulePosterior, prior_var: PriorVariance) -> Interval:
    """Enclosure of ``KL(N(mu, diag sigma^2) || N(prior_mu, lambda I))`` for the stored float32 values.

    ``KL = 1/2 [S/lambda - d + d ln lambda - 2 sum ln sigma]``; ``S`` is summed exactly in integers, the log-sum is
    enclosed as in :mod:`kernels._gaussian_kl` (mpmath logs at 100 bits with a 2^20-ulp margin), and the rest is
    outward-rounded interval arithmetic (``lambda`` via the directed ``exp``/``log`` of :mod:`theorems._rounding`).
    """
    mu, sigma, prior = post.flat()
    s = enclose(sum_sq_exact(sigma, mu, prior))
    lo, hi = sum_log_enclosure(sigma)
    log_sigma = Interval(enclose(lo).lo, enclose(hi).hi)
    d = enclose(int(sigma.size))
    lv = prior_var.log_var()
    kl = (s / iexp(lv) - d + d * lv - 2 * log_sigma) / 2
    return Interval(max(kl.lo, 0), max(kl.hi, 0)) if kl.hi >= 0 else kl


def kl_float(s: float, log_sigma: float, d: int, log_var: float) -> float:
    return 0.5 * (s / math.exp(log_var) - d + d * log_var - 2 * log_sigma)


# -------------------------------------------------------------------------------------------------- Monte Carlo
def mc_errors(post: StoredPosterior | StoredModulePosterior, x: np.ndarray, y: np.ndarray, n: int, *, mode: McMode, seed: int,
              batch: int = 2048, progress: bool = True) -> int:
    """0-1 errors of ``n`` passes of sampled networks over ``(x, y)``, an exact integer out of ``n * len(y)``.

    ``per_network``: each pass draws one network (weights sampled once) and classifies every example with it.
    ``per_example``: each pass draws an independent network for every example (local reparameterisation).
    A :class:`StoredModulePosterior` (a user's module) is counted by
    :func:`certify.models.module_posterior.module_mc_errors` (per-example parameters, no local reparameterisation).
    """
    import torch
    import torch.nn.functional as F

    from certify.reports.progress import progress as progress_bar

    if isinstance(post, StoredModulePosterior):
        return module_mc_errors(post, x, y, n, mode=mode, seed=seed, progress=progress)
    torch.manual_seed(seed)
    net = post.module()
    xt, yt = torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(np.asarray(y, dtype=np.int64))
    errors = 0
    n_layers = len(post.mu) // 2
    mus = [torch.from_numpy(m.copy()) for m in post.mu]
    sig = [torch.from_numpy(s.copy()) for s in post.sigma]
    with torch.no_grad():
        for _ in progress_bar(range(n), desc=f"monte carlo ({mode})", unit="pass", enabled=progress):
            if mode == "per_network":
                ws = [m + s * torch.randn_like(m) for m, s in zip(mus, sig)]
            for i in range(0, len(yt), batch):
                xb = xt[i : i + batch]
                if mode == "per_network":
                    h = xb.reshape(xb.shape[0], -1)
                    for li in range(n_layers):
                        h = F.linear(h, ws[2 * li], ws[2 * li + 1])
                        if li < n_layers - 1:
                            h = F.relu(h)
                else:
                    h = net(xb, mode="local")
                errors += int((h.argmax(1) != yt[i : i + batch]).sum())
    return errors


def mc_emp_upper(errors: int, n: int, m: int, delta_mc: str, mode: McMode) -> tuple[Interval, dict]:
    """Upper bound on the posterior's empirical risk from Monte Carlo error counts, and its derivation.

    ``per_network`` (Dziugaite & Roy 2017 Sec. 6; Perez-Ortiz et al. 2021 Sec. 6): the ``n`` per-network error rates
    are i.i.d. in [0, 1] with mean ``emp(Q)``; their average is ``errors / (n m)``; the kl Chernoff bound gives
    ``emp(Q) <= kl^-1(errors/(n m), ln(2/delta_mc)/n)`` with probability ``>= 1 - delta_mc`` (the ``2`` of the
    papers' two-sided form kept, conservative).
    ``per_example``: the ``n m`` losses ``l(h_{t,i}, z_i)`` with independently drawn ``h_{t,i}`` are independent in
    [0, 1] with average mean ``emp(Q)``; Hoeffding's (1963, Thm. 1) kl form for independent, not identically
    distributed variables gives ``emp(Q) <= kl^-1(errors/(n m), ln(1/delta_mc)/(n m))``.
    """
    k, N = sympy.symbols("mc_errors mc_draws")
    nn_, dd = sympy.symbols("mc_budget_n delta_mc")
    if mode == "per_network":
        expr = KlInv(k / N, sympy.log(2 / dd) / nn_)
        budget_n = n
    else:
        expr = KlInv(k / N, sympy.log(1 / dd) / nn_)
        budget_n = n * m
    tree = theorems.to_tree(expr)
    values = {"mc_errors": enclose(errors), "mc_draws": enclose(n * m), "mc_budget_n": enclose(budget_n),
              "delta_mc": enclose(delta_mc)}
    wit: list[dict] = []
    up = theorems.eval_tree(tree, values, wit)
    record = {"mode": mode, "tree": tree,
              "inputs": {"mc_errors": str(errors), "mc_draws": str(n * m), "mc_budget_n": str(budget_n),
                         "delta_mc": delta_mc},
              "check": "inputs.emp_risk.hi >= eval(tree, inputs).hi; both ends written exactly below",
              "delta_mc": delta_mc, "n_passes": n, "m": m, "errors": errors,
              "emp_risk_estimate": errors / (n * m), "result_hi": up.hi_str(20),
              "result_lo_exact": theorems.exact_hex(up.lo), "result_hi_exact": theorems.exact_hex(up.hi),
              "witnesses": [{"op": w["op"], "lo": theorems.exact_hex(w["lo"]), "hi": theorems.exact_hex(w["hi"])}
                            for w in wit]}
    return up, record


# ------------------------------------------------------------------------------------------------------ providers
@dataclass(slots=True)
class PosteriorContext:
    """What ``posterior`` providers read: the stored posterior and its prior variance, the bound set ``(x, y)`` (its
    description in ``data``), the Monte Carlo settings, the user's ``delta``, and a cache (the Monte Carlo record)."""

    kind: ClassVar[str] = "posterior"
    post: StoredPosterior
    prior_var: PriorVariance
    x: np.ndarray
    y: np.ndarray
    data: dict[str, Any]
    delta: str
    mc_passes: int
    mc_mode: McMode
    mc_seed: int
    delta_mc: str
    progress: bool = True
    cache: dict[str, Any] = field(default_factory=dict)

    def mc_record(self) -> dict[str, Any]:
        """The Monte Carlo derivation (errors over ``mc_passes`` passes, the kl bound, its witnesses), computed once."""
        if "mc" not in self.cache:
            errs = mc_errors(self.post, self.x, self.y, self.mc_passes, mode=self.mc_mode, seed=self.mc_seed,
                             progress=self.progress)
            self.cache["mc"] = mc_emp_upper(errs, self.mc_passes, len(self.y), self.delta_mc, self.mc_mode)
        return self.cache["mc"]


@register_provider("m", context="posterior")
def _m(ctx: PosteriorContext) -> Provided:
    return Provided(enclose(len(ctx.y)), "data",
                    f"examples of the bound set ({ctx.data.get('name')}, {ctx.data.get('part')})")


@register_provider("emp_risk", context="posterior")
def _emp_risk(ctx: PosteriorContext) -> Provided:
    up, rec = ctx.mc_record()
    return Provided(up, "monte_carlo:kl_chernoff v1",
                    f"upper bound on the posterior's empirical risk from {rec['n_passes']} Monte Carlo passes "
                    f"({rec['mode']}), errors={rec['errors']}, delta_mc={rec['delta_mc']}; "
                    "derivation in extra.emp_risk_derivation")


@register_provider("kl", context="posterior")
def _kl(ctx: PosteriorContext) -> Provided:
    return Provided(kl_enclosure(ctx.post, ctx.prior_var), "kernel:gaussian_kl_sums v1",
                    f"KL(Q||P) of the stored posterior {Path(ctx.post.path).name} (sha256 {ctx.post.sha256}), prior "
                    f"{ctx.prior_var.describe()}")


@register_provider("delta", context="posterior")
def _delta(ctx: PosteriorContext) -> Provided:
    return Provided(enclose(ctx.delta), "user", f"delta={ctx.delta}")


@register_provider("j", context="posterior")
def _j(ctx: PosteriorContext) -> Provided:
    return Provided(enclose(ctx.prior_var.j), "model", ctx.prior_var.describe())
