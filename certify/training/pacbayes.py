"""PAC-Bayes posterior optimisation from a trained network, and its certificate.

The data path (each step reads only what the previous one wrote):

1. **prior**: data-independent (the seeded initialisation ``w0``, variance ``lambda_j = c exp(-j/b)`` from a grid,
   paid for by the union of :data:`theorems.pac_bayes.dziugaite_roy2017`) or data-dependent (a network trained
   *only* on the prior part of a seeded split, fixed variance ``sigma_prior^2``; the bound is
   :data:`theorems.pac_bayes.pac_bayes_kl` with ``m`` the size of the other part, on which ``emp_risk`` is measured);
2. **trained network**: SGD/Adam from the prior mean; the posterior ``N(mu, diag sigma^2)`` starts at it;
3. **posterior optimisation**: one of the objectives of Perez-Ortiz et al. 2021 (``f_quad``, ``f_lambda``,
   ``f_classic``) or Dziugaite & Roy's (``dziugaite_roy``: ``L + sqrt(K/2)`` with their union budget and a learnt
   prior variance), on a bounded cross-entropy surrogate ``L`` (probabilities clamped at ``p_min``, divided by
   ``ln(1/p_min)``);
4. **stored posterior** (safetensors, sha256): everything below reads this file;
5. **KL** as an enclosure of the exact real for the stored floats (:func:`kl_enclosure`);
6. **Monte Carlo**: the 0-1 errors of sampled networks on the bound set, counted exactly, turned into an upper bound
   on the posterior's empirical risk by a kl (Chernoff) bound with its own ``delta_mc`` (:func:`mc_emp_upper`);
7. **certificate**: the theorem evaluated by interval arithmetic with the rigorous ``kl_inv``; the delta split lists
   ``delta`` (the PAC-Bayes bound) and ``delta_mc``; the claim holds with probability ``>= 1 - delta - delta_mc``.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

import theorems
from certify.certificate import Certificate, strict_float_torch
from certify.models.posterior import GaussianMLP, StoredPosterior, mlp_init, save_posterior
from certify.models.predict import mlp_errors
from certify.pipeline import assemble
from certify.quantities.pacbayes import (
    McMode,
    PosteriorContext,
    PriorVariance,
    kl_enclosure,
    kl_float,
    mc_emp_upper,
    mc_errors,
)
from certify.quantities.registry import provide
from theorems import Interval

__all__ = ["Objective", "McMode", "PriorVariance", "PacBayesConfig", "PacBayesResult", "kl_enclosure",
           "mc_errors", "mc_emp_upper", "train_network", "optimize_posterior", "pacbayes_certificate", "run_pacbayes",
           "split_indices", "objective_value", "bounded_ce", "budget_torch", "config_record", "best_j"]

Objective = Literal["f_quad", "f_lambda", "f_classic", "dziugaite_roy"]
PriorKind = Literal["data_independent", "data_dependent"]


# ------------------------------------------------------------------------------------------------------ training
def split_indices(n: int, n_prior: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded split of ``range(n)``: ``(prior part, bound part)``, each sorted."""
    perm = np.random.Generator(np.random.PCG64(seed)).permutation(n)
    return np.sort(perm[:n_prior]), np.sort(perm[n_prior:])


def bounded_ce(logits, y, p_min: float):
    import torch
    import torch.nn.functional as F

    logp = torch.clamp(F.log_softmax(logits, dim=1), min=math.log(p_min))
    return F.nll_loss(logp, y) / math.log(1 / p_min)


def train_network(sizes: tuple[int, ...], init: list[np.ndarray], x: np.ndarray, y: np.ndarray, *, epochs: int,
                  lr: float = 1e-3, batch: int = 256, seed: int = 0, progress: bool = True,
                  desc: str = "training", masks: list[np.ndarray] | None = None, shift: int = 0) -> list[np.ndarray]:
    """Deterministic MLP (Adam, cross-entropy) from ``init``; returns the trained weights (float32).

    ``masks``: 0/1 arrays; masked-out entries are held at 0 (fine-tuning after pruning). ``shift``: augment 1-d
    inputs by a random circular shift in ``[-shift, shift]`` per batch (MNIST-1D's signals are translated)."""
    import torch
    import torch.nn.functional as F
    from tqdm import tqdm

    torch.manual_seed(seed)
    params = [torch.nn.Parameter(torch.from_numpy(t.copy())) for t in init]
    mk = [torch.from_numpy(m.astype(np.float32)) for m in masks] if masks is not None else None
    opt = torch.optim.Adam(params, lr=lr)
    xt, yt = torch.from_numpy(np.ascontiguousarray(x.reshape(len(x), -1))), torch.from_numpy(y.astype(np.int64))
    rng = np.random.Generator(np.random.PCG64(seed))
    n_layers = len(params) // 2
    bar = tqdm(range(epochs), desc=desc, unit="epoch", disable=not progress)
    for _ in bar:
        order = torch.from_numpy(rng.permutation(len(yt)))
        for i in range(0, len(yt), batch):
            idx = order[i : i + batch]
            h = xt[idx]
            if shift:
                h = torch.roll(h, int(rng.integers(-shift, shift + 1)), dims=1)
            for li in range(n_layers):
                h = F.linear(h, params[2 * li], params[2 * li + 1])
                if li < n_layers - 1:
                    h = F.relu(h)
            loss = F.cross_entropy(h, yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            if mk is not None:
                with torch.no_grad():
                    for p_, m_ in zip(params, mk):
                        p_.mul_(m_)
        bar.set_postfix(loss=f"{loss.item():.3f}")
    return [p.detach().numpy().astype(np.float32) for p in params]


def budget_torch(kl, m: int, delta: float, *, objective: Objective, log_var=None, c: float = 0.1, b: int = 100):
    import torch

    if objective == "dziugaite_roy":
        j = torch.clamp(b * (math.log(c) - log_var), min=1.0)
        return (kl + 2 * torch.log(j) + math.log(math.pi**2 * m / (6 * delta))) / (m - 1)
    return (kl + math.log(2 * math.sqrt(m) / delta)) / m


def objective_value(objective: Objective, loss, K, lam_logit):
    """The training objective from the surrogate loss ``loss`` and the budget ``K`` (torch): ``f_quad``,
    ``f_lambda`` (``lambda = 2 sigmoid(lam_logit) 0.999``), or ``L + sqrt(K/2)`` (``f_classic``, Dziugaite-Roy)."""
    import torch

    if objective == "f_quad":
        return (torch.sqrt(loss + K / 2) + torch.sqrt(K / 2)) ** 2
    if objective == "f_lambda":
        lam = 2 * torch.sigmoid(lam_logit) * 0.999
        return loss / (1 - lam / 2) + K / (lam * (1 - lam / 2))
    return loss + torch.sqrt(K / 2)  # f_classic and Dziugaite-Roy's objective (their budget)


def optimize_posterior(net, x: np.ndarray, y: np.ndarray, *, m_bound: int, objective: Objective, delta: float,
                       log_prior_var: float, learn_prior_var: bool, epochs: int, lr: float = 1e-3,
                       batch: int = 256, p_min: float = 1e-4, seed: int = 0, progress: bool = True,
                       c: float = 0.1, b: int = 100) -> float:
    """Minimise the chosen objective over ``mu``, ``rho`` (and the prior variance when ``learn_prior_var``).

    Returns the final (learnt or fixed) ``log`` prior variance as a float: only a *guide* for choosing ``j``.
    """
    import torch
    from tqdm import tqdm

    torch.manual_seed(seed)
    lv = torch.nn.Parameter(torch.tensor(float(log_prior_var), dtype=torch.float64), requires_grad=learn_prior_var)
    lam_logit = torch.nn.Parameter(torch.tensor(0.0))
    params = list(net.parameters()) + ([lv] if learn_prior_var else []) + ([lam_logit] if objective == "f_lambda" else [])
    opt = torch.optim.Adam(params, lr=lr)
    xt, yt = torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(y.astype(np.int64))
    rng = np.random.Generator(np.random.PCG64(seed + 1))
    bar = tqdm(range(epochs), desc=f"posterior ({objective})", unit="epoch", disable=not progress)
    for _ in bar:
        order = torch.from_numpy(rng.permutation(len(yt)))
        for i in range(0, len(yt), batch):
            idx = order[i : i + batch]
            loss = bounded_ce(net(xt[idx], mode="local"), yt[idx], p_min)
            K = budget_torch(net.kl_train(lv), m_bound, delta, objective=objective, log_var=lv, c=c, b=b)
            obj = objective_value(objective, loss, K, lam_logit)
            opt.zero_grad()
            obj.backward()
            opt.step()
        bar.set_postfix(obj=f"{float(obj.detach()):.4f}", loss=f"{float(loss.detach()):.3f}")
    return float(lv.detach())


# --------------------------------------------------------------------------------------------------- certificate
def _add_decimals(a: str, b: str) -> str:
    from decimal import Decimal

    return str(Decimal(a) + Decimal(b))


def pacbayes_certificate(ctx: PosteriorContext, *, theorem_id: str, extra: dict, options: dict,
                         reproduce: str) -> Certificate:
    """Provide the theorem's quantities from the ``posterior`` context and assemble the certificate."""
    t = theorems.get(theorem_id)
    provided = provide(ctx, theorems.tree_symbols(t.tree()))
    _, rec = ctx.mc_record()
    total = _add_decimals(ctx.delta, ctx.delta_mc)
    post = ctx.post

    def claim(result: Interval) -> str:  # the checker's own generator: it regenerates and compares this text
        from certify.checker.core import claim_subject, claim_text

        subject, over, exact = claim_subject({}, {"kind": "diagonal Gaussian posterior", "path": Path(post.path).name,
                                                  "sha256": post.sha256})
        return claim_text(subject, at_least=False, end=result.hi_str(20), delta_total=total, over=over, exact=exact)

    ex = dict(extra)
    ex["emp_risk_derivation"] = rec
    ex["posterior"] = {"path": Path(post.path).name, "sha256": post.sha256, "n_params": post.n_params,
                       "meta": post.meta,
                       **({"sizes": list(post.sizes)} if hasattr(post, "sizes") else {"names": list(post.names)})}
    return assemble(
        t, provided, context="posterior", claim=claim,
        model={"path": Path(post.path).name, "path_is_relative_to": "the certificate's directory",
               "sha256": post.sha256, "kind": post.kind_text(), "arch": post.arch_text()},
        data=ctx.data,
        delta={"total": total, "split": [{"use": theorem_id, "delta": ctx.delta},
                                          {"use": f"monte_carlo.kl_chernoff ({rec['mode']})",
                                           "delta": rec["delta_mc"]}]},
        options=options, reproduce=reproduce, extra=ex,
    )


# ------------------------------------------------------------------------------------------------- orchestration
@dataclass(frozen=True, slots=True)
class PacBayesConfig:
    """One PAC-Bayes run. Seeds: ``seed`` (init, training, sampling offsets), ``split_seed`` (data-dependent split)."""

    sizes: tuple[int, ...]
    prior: PriorKind = "data_dependent"
    objective: Objective = "f_quad"
    delta: str = "0.025"
    delta_mc: str = "0.01"
    sigma_prior: str = "0.03"
    prior_fraction: float = 0.5
    grid_c: str = "0.1"
    grid_b: int = 100
    prior_epochs: int = 10
    posterior_epochs: int = 3
    lr: float = 1e-3
    posterior_lr: float = 1e-3
    batch: int = 256
    mc_passes: int = 10
    mc_mode: McMode = "per_example"
    seed: int = 0
    split_seed: int = 1
    p_min: float = 1e-4
    prior_shift: int = 0  # circular-shift augmentation of 1-d inputs when training the prior / the network


@dataclass(frozen=True, slots=True)
class PacBayesResult:
    certificate: Certificate
    certificate_path: Path
    posterior_path: Path
    estimates: dict = field(default_factory=dict)


def _mean_error(weights, x, y) -> float:
    return mlp_errors(weights, x, y) / len(y)


def config_record(cfg: Any) -> dict[str, Any]:
    """A run configuration as JSON values (tuples as lists), every field."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in ((k, getattr(cfg, k)) for k in cfg.__slots__)}


def best_j(post: StoredPosterior, log_var_guess: float, c: str, b: int) -> int:
    """Grid index near the learnt variance that minimises the float KL + 2 ln j (a choice, paid by the union)."""
    mu, sigma, prior = post.flat()
    s = float(np.sum(sigma.astype(np.float64) ** 2 + (mu.astype(np.float64) - prior) ** 2))
    ls = float(np.sum(np.log(sigma.astype(np.float64))))
    j0 = max(1, int(round(b * (math.log(float(c)) - log_var_guess))))
    cands = range(max(1, j0 - 3 * b), j0 + 3 * b + 1)
    lc = math.log(float(c))
    return min(cands, key=lambda j: kl_float(s, ls, sigma.size, lc - j / b) + 2 * math.log(j))


def run_pacbayes(cfg: PacBayesConfig, train: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray],
                 out: str | Path, *, data_info: dict, reproduce: str = "", progress: bool = True) -> PacBayesResult:
    """The whole path of the module docstring; writes ``posterior.safetensors`` and ``certificate.json`` in ``out``.

    ``data_info["spec"]`` (from :func:`certify.data.splits.load_xy`) names the built-in data ``train`` and ``test``
    came from; it is recorded with the configuration (the certificate's ``options``) so that ``certify check
    --recompute`` can re-derive every input."""
    import torch

    from certify.certificate import torch_threads

    torch.set_num_threads(torch_threads(min(2, torch.get_num_threads())))
    strict_float_torch()
    out = Path(out)
    x, y = train
    x = np.ascontiguousarray(x.reshape(len(x), -1), dtype=np.float32)
    xt_, yt_ = np.ascontiguousarray(test[0].reshape(len(test[0]), -1), dtype=np.float32), test[1]
    w0 = mlp_init(cfg.sizes, cfg.seed)
    if cfg.prior == "data_dependent":
        n_prior = int(round(cfg.prior_fraction * len(y)))
        pi, bi = split_indices(len(y), n_prior, cfg.split_seed)
        prior_w = train_network(cfg.sizes, w0, x[pi], y[pi], epochs=cfg.prior_epochs, lr=cfg.lr, batch=cfg.batch,
                                seed=cfg.seed, progress=progress, desc="prior (prior part only)",
                                shift=cfg.prior_shift)
        mean_init = prior_w
        theorem_id = "pac_bayes.kl"
        log_var = 2 * math.log(float(cfg.sigma_prior))
        learn_var = False
        post_x, post_y = x, y  # Q may depend on all data; only P must not see the bound part
        split = {"seed": cfg.split_seed, "n_prior": int(len(pi)), "n_bound": int(len(bi)),
                 "bound_indices_sha256": hashlib.sha256(bi.astype(np.int64).tobytes()).hexdigest(),
                 "how": "numpy PCG64(seed).permutation(n): first n_prior indices = prior part"}
    else:
        bi = np.arange(len(y))
        prior_w = w0
        mean_init = train_network(cfg.sizes, w0, x, y, epochs=cfg.prior_epochs, lr=cfg.lr, batch=cfg.batch,
                                  seed=cfg.seed, progress=progress, desc="network (from w0)", shift=cfg.prior_shift)
        theorem_id = "pac_bayes.dziugaite_roy2017"
        log_var = math.log(float(cfg.grid_c)) - 300 / cfg.grid_b  # a start inside the grid; learnt below
        learn_var = True
        post_x, post_y = x, y
        split = {"n_bound": int(len(y)), "how": "whole training set (prior = seeded initialisation w0)"}
    objective: Objective = cfg.objective
    net = GaussianMLP(cfg.sizes, mean_init, prior_w, float(cfg.sigma_prior))
    lv = optimize_posterior(net, post_x, post_y, m_bound=len(bi), objective=objective, delta=float(cfg.delta),
                            log_prior_var=log_var, learn_prior_var=learn_var, epochs=cfg.posterior_epochs,
                            lr=cfg.posterior_lr, batch=cfg.batch, p_min=cfg.p_min, seed=cfg.seed, progress=progress,
                            c=float(cfg.grid_c), b=cfg.grid_b)
    post = save_posterior(net, out / "posterior.safetensors",
                          meta={"objective": objective, "prior": cfg.prior, "seed": cfg.seed})
    if cfg.prior == "data_dependent":
        pv = PriorVariance(sigma=cfg.sigma_prior)
    else:
        pv = PriorVariance(c=cfg.grid_c, b=cfg.grid_b, j=best_j(post, lv, cfg.grid_c, cfg.grid_b))
    kl = kl_enclosure(post, pv)
    m = int(len(bi))
    data = dict(data_info)
    data.update({"part": "bound part" if cfg.prior == "data_dependent" else "train", "n": m, "n_bound": m,
                 "split": split})
    ctx = PosteriorContext(post, pv, x[bi], y[bi], data, cfg.delta, cfg.mc_passes, cfg.mc_mode, cfg.seed + 7,
                           cfg.delta_mc, progress)
    errs = ctx.mc_record()[1]["errors"]
    test_errs = mc_errors(post, xt_, yt_, 1, mode="per_example", seed=cfg.seed + 11, progress=False)
    estimates = {
        "stochastic_test_error_estimate": test_errs / len(yt_),
        "stochastic_bound_set_error_estimate": errs / (cfg.mc_passes * m),
        "mean_network_test_error_estimate": _mean_error(list(post.mu), xt_, yt_),
        "mean_network_bound_set_error_estimate": _mean_error(list(post.mu), x[bi], y[bi]),
        "prior_mean_test_error_estimate": _mean_error(list(post.prior_mu), xt_, yt_),
        "kl_upper": float(kl.hi),  # the enclosure's upper end (rounded to a float for reading)
    }
    extra = {"config": {k: getattr(cfg, k) for k in cfg.__slots__}, "seeds": {"init_and_training": cfg.seed,
             "split": cfg.split_seed, "monte_carlo": cfg.seed + 7, "test_estimate": cfg.seed + 11},
             "prior": {"kind": cfg.prior, "variance": pv.describe()}, "estimates": estimates}
    options = {"kind": "optimize", "config": config_record(cfg), "data": data_info.get("spec"),
               "prior_variance": {"sigma": pv.sigma, "c": pv.c, "b": pv.b, "j": pv.j}}
    cert = pacbayes_certificate(ctx, theorem_id=theorem_id, extra=extra, options=options, reproduce=reproduce)
    path = cert.save(out / "certificate.json")
    return PacBayesResult(cert, path, Path(post.path), estimates)
