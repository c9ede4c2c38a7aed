"""PAC-Bayes certificates for a user's own torch module (Linear, Conv1d/Conv2d with any groups, BatchNorm) and data.

The same data path as :mod:`certify.training.pacbayes` (prior -> network -> posterior -> stored posterior -> KL
enclosure -> Monte Carlo bound -> certificate), on the user's module through
:mod:`certify.models.module_posterior`:

* **the model file fixes the architecture** and the parameters that carry a posterior; its trained weights are *not*
  the prior (they have seen the whole training set, the bound part included);
* **prior** ``data_dependent`` (Perez-Ortiz et al. 2021): the architecture is trained from the seeded
  initialisation :func:`seeded_init` on the prior part of a seeded split only, BatchNorm in train mode, so its
  running statistics come from the prior part too; they are then fixed (stored, the same in ``P`` and every sampled
  network). The posterior starts at the prior mean; ``theorems.pac_bayes.pac_bayes_kl`` with ``m`` the bound part.
* **prior** ``data_independent`` (Dziugaite & Roy 2017): the prior mean is the seeded initialisation, the network is
  trained from it on the whole training set with BatchNorm in *eval* mode (running statistics stay at the data-
  independent 0 and 1, so BatchNorm is an affine layer); the prior variance is learnt and paid for by the union over
  the grid ``c exp(-j/b)``;
* **posterior optimisation**: one network sampled per minibatch (reparameterisation through
  :func:`torch.func.functional_call`), the objectives of :func:`certify.training.pacbayes.objective_value`;
* what is certified is the stored file; KL and the Monte Carlo count read it (:mod:`certify.quantities.pacbayes`).
"""

from __future__ import annotations

import copy
import hashlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from boundcert.errors import InvalidInput
from certify.certificate import strict_float_torch
from certify.models.module_posterior import (posterior_parameters, sampled_forward, save_module_posterior,
                                             seeded_init, state_arrays)
from certify.models.predict import count_errors, predict
from certify.quantities.pacbayes import McMode, PosteriorContext, PriorVariance, kl_enclosure, mc_errors
from certify.training.pacbayes import (Objective, PacBayesResult, PriorKind, best_j, bounded_ce, budget_torch,
                                       config_record, objective_value, pacbayes_certificate, split_indices)
from theorems import enclose

__all__ = ["ModulePacBayesConfig", "train_module", "optimize_module_posterior", "run_module_pacbayes",
           "bound_indices", "check_model_data", "place_model_file"]


@dataclass(frozen=True, slots=True)
class ModulePacBayesConfig:
    """One PAC-Bayes run on a user's module (fields as :class:`certify.training.pacbayes.PacBayesConfig`, without
    ``sizes``: the module fixes the architecture)."""

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

    def __post_init__(self) -> None:
        for name in ("delta", "delta_mc"):
            d = enclose(str(getattr(self, name)), name=name)
            if not (d.lo > 0 and d.hi < 1):
                raise InvalidInput(f"{name}={getattr(self, name)} must lie strictly between 0 and 1: give e.g. 0.025")
        if not enclose(str(self.sigma_prior), name="sigma_prior").lo > 0:
            raise InvalidInput(f"sigma_prior={self.sigma_prior} must be > 0: give e.g. --sigma-prior 0.03")
        if self.prior not in ("data_dependent", "data_independent"):
            raise InvalidInput(f"prior={self.prior!r}: give data_dependent or data_independent")
        if not 0 < float(self.prior_fraction) < 1:
            raise InvalidInput(f"prior_fraction={self.prior_fraction}: the prior part must be a fraction strictly "
                               "between 0 and 1 of the training data, e.g. --prior-fraction 0.5")
        if self.mc_passes < 1 or self.prior_epochs < 0 or self.posterior_epochs < 0 or self.batch < 1:
            raise InvalidInput(f"mc_passes={self.mc_passes}, prior_epochs={self.prior_epochs}, posterior_epochs="
                               f"{self.posterior_epochs}, batch={self.batch}: give mc_passes, batch >= 1, epochs >= 0")


def bound_indices(cfg: ModulePacBayesConfig, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``(prior part, bound part)`` of ``range(n)``; the prior part is empty for a data-independent prior.

    Raises:
        InvalidInput: a split that leaves fewer than 1 prior or 8 bound examples (PAC-Bayes-kl needs m >= 8).
    """
    if cfg.prior == "data_independent":
        if n < 8:
            raise InvalidInput(f"the training data has {n} examples: PAC-Bayes-kl needs at least 8")
        return np.arange(0), np.arange(n)
    n_prior = int(round(float(cfg.prior_fraction) * n))
    if n_prior < 1 or n - n_prior < 8:
        raise InvalidInput(f"prior_fraction={cfg.prior_fraction} of {n} examples leaves {n_prior} for the prior and "
                           f"{n - n_prior} for the bound: the split must fit in the data (>= 1 and >= 8 examples)")
    return split_indices(n, n_prior, cfg.split_seed)


def check_model_data(module: Any, x: np.ndarray, y: np.ndarray, name: str) -> None:
    """The module takes the inputs and has an output per label (one line otherwise); nothing is written before."""
    if len(y) == 0:
        raise InvalidInput(f"data {name!r} is empty: give at least one example")
    predict(module, np.ascontiguousarray(x[:2], dtype=np.float32), name=name, labels=y)


def place_model_file(model_info: dict, out: Path) -> dict:
    """Copy the model file (``model_info["path"]``) beside the certificate, so that ``certify check --recompute``
    finds it by its bare name there; returns ``model_info`` with that ``name`` (``None`` when there is no file)."""
    from certify.certificate import atomic_write_bytes

    src = model_info.get("path")
    if not src or not Path(src).is_file():
        return {**model_info, "name": None}
    name = Path(src).name
    if name in ("posterior.safetensors", "certificate.json", "model.code"):
        name = "base-" + name
    dest = out / name
    if not (dest.exists() and dest.samefile(src)):
        atomic_write_bytes(dest, Path(src).read_bytes())
    return {**model_info, "name": name}


def _load_state(template: Any, state: dict[str, np.ndarray]) -> Any:
    import torch

    net = copy.deepcopy(template)
    net.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in state.items()}, strict=True)
    return net


def train_module(template: Any, state: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray, *, epochs: int,
                 lr: float, batch: int, seed: int, bn_train: bool, progress: bool = True,
                 desc: str = "training") -> dict[str, np.ndarray]:
    """Adam on the cross-entropy from ``state`` (a copy of ``template``); BatchNorm in train mode iff ``bn_train``.
    Returns the trained state dict (numpy)."""
    import torch
    import torch.nn.functional as F
    from tqdm import tqdm

    torch.manual_seed(seed)
    net = _load_state(template, state)
    net.train(bn_train)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    xt, yt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)), torch.from_numpy(y.astype(np.int64))
    rng = np.random.Generator(np.random.PCG64(seed))
    bar = tqdm(range(epochs), desc=desc, unit="epoch", disable=not progress)
    for _ in bar:
        order = torch.from_numpy(rng.permutation(len(yt)))
        for i in range(0, len(yt), batch):
            idx = order[i : i + batch]
            if bn_train and len(idx) < 2:
                continue  # BatchNorm cannot normalise one example in train mode
            loss = F.cross_entropy(net(xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        bar.set_postfix(loss=f"{loss.item():.3f}")
    return state_arrays(net.eval())


def optimize_module_posterior(template: Any, names: tuple[str, ...], mu0: dict, prior_mu: dict, fixed: dict,
                              x: np.ndarray, y: np.ndarray, *, m_bound: int, objective: Objective, delta: float,
                              log_prior_var: float, learn_prior_var: bool, sigma_init: float, epochs: int, lr: float,
                              batch: int, p_min: float, seed: int, c: float, b: int, progress: bool = True):
    """Minimise the objective over ``mu``, ``rho`` (``sigma = softplus(rho)``) and, when ``learn_prior_var``, the
    prior's log variance; one network sampled per minibatch. Returns ``(mu, sigma, log_var)`` (float32 arrays per
    name, a float guide for ``j``)."""
    import torch
    import torch.nn.functional as F
    from tqdm import tqdm

    torch.manual_seed(seed)
    tmpl = copy.deepcopy(template).eval()
    rho0 = float(np.log(np.expm1(sigma_init)))
    mu = {n: torch.nn.Parameter(torch.from_numpy(np.array(mu0[n], dtype=np.float32))) for n in names}
    rho = {n: torch.nn.Parameter(torch.full(mu[n].shape, rho0)) for n in names}
    pm = {n: torch.from_numpy(np.array(prior_mu[n], dtype=np.float64)) for n in names}
    fx = {k: torch.from_numpy(np.array(v)) for k, v in fixed.items()}
    lv = torch.nn.Parameter(torch.tensor(float(log_prior_var), dtype=torch.float64), requires_grad=learn_prior_var)
    lam_logit = torch.nn.Parameter(torch.tensor(0.0))
    params = (list(mu.values()) + list(rho.values()) + ([lv] if learn_prior_var else [])
              + ([lam_logit] if objective == "f_lambda" else []))
    opt = torch.optim.Adam(params, lr=lr)
    xt, yt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)), torch.from_numpy(y.astype(np.int64))
    rng = np.random.Generator(np.random.PCG64(seed + 1))
    d = sum(int(m.numel()) for m in mu.values())

    def kl_train():
        s2sum, logsum = 0.0, 0.0
        for n in names:
            s2 = F.softplus(rho[n]).double() ** 2
            s2sum = s2sum + (s2 + (mu[n].double() - pm[n]) ** 2).sum()
            logsum = logsum + torch.log(s2).sum()
        return 0.5 * (s2sum / torch.exp(lv) - d + d * lv - logsum)

    bar = tqdm(range(epochs), desc=f"posterior ({objective})", unit="epoch", disable=not progress)
    for _ in bar:
        order = torch.from_numpy(rng.permutation(len(yt)))
        for i in range(0, len(yt), batch):
            idx = order[i : i + batch]
            w = {n: mu[n] + F.softplus(rho[n]) * torch.randn_like(mu[n]) for n in names}
            loss = bounded_ce(sampled_forward(tmpl, w, fx, xt[idx]), yt[idx], p_min)
            K = budget_torch(kl_train(), m_bound, delta, objective=objective, log_var=lv, c=c, b=b)
            obj = objective_value(objective, loss, K, lam_logit)
            opt.zero_grad()
            obj.backward()
            opt.step()
        bar.set_postfix(obj=f"{float(obj.detach()):.4f}", loss=f"{float(loss.detach()):.3f}")
    with torch.no_grad():
        out_mu = {n: mu[n].detach().float().numpy().copy() for n in names}
        out_sig = {n: F.softplus(rho[n]).detach().float().numpy().copy() for n in names}
    return out_mu, out_sig, float(lv.detach())


def _errors(template: Any, state: dict, x: np.ndarray, y: np.ndarray) -> int:
    return count_errors(predict(_load_state(template, state), np.ascontiguousarray(x, dtype=np.float32)), y)


def run_module_pacbayes(cfg: ModulePacBayesConfig, module: Any, train: tuple[np.ndarray, np.ndarray],
                        out: str | Path, *, data_info: dict, model_info: dict,
                        test: tuple[np.ndarray, np.ndarray] | None = None, reproduce: str = "",
                        progress: bool = True) -> PacBayesResult:
    """The module docstring's path on ``module`` and ``train``; writes ``posterior.safetensors`` and
    ``certificate.json`` in ``out``.

    ``data_info``: the data record of the certificate, with ``"spec"`` (what ``certify check --recompute`` loads
    again: ``{"spec": str, "sha256": str}``); ``model_info``: the model file the architecture came from
    (``path``, ``arch``, ``file_sha256``), recorded in ``options.model`` for the replay; the file is copied beside
    the certificate (:func:`place_model_file`).
    """
    import torch

    from certify.certificate import torch_threads

    torch.set_num_threads(torch_threads(min(2, torch.get_num_threads())))
    strict_float_torch()
    template = copy.deepcopy(module).eval()
    names = posterior_parameters(template)
    x, y = np.ascontiguousarray(train[0], dtype=np.float32), np.asarray(train[1], dtype=np.int64)
    check_model_data(template, x, y, str(data_info.get("name", "train")))
    if test is not None:
        check_model_data(template, test[0], np.asarray(test[1]), "test")
    pi, bi = bound_indices(cfg, len(y))
    init = seeded_init(template, cfg.seed)
    if cfg.prior == "data_dependent":
        prior_state = train_module(template, init, x[pi], y[pi], epochs=cfg.prior_epochs, lr=cfg.lr,
                                   batch=cfg.batch, seed=cfg.seed, bn_train=True, progress=progress,
                                   desc="prior (prior part only)")
        mu0 = {n: prior_state[n] for n in names}
        theorem_id, log_var, learn = "pac_bayes.kl", 2 * math.log(float(cfg.sigma_prior)), False
        split = {"seed": cfg.split_seed, "n_prior": int(len(pi)), "n_bound": int(len(bi)),
                 "bound_indices_sha256": hashlib.sha256(bi.astype(np.int64).tobytes()).hexdigest(),
                 "how": "numpy PCG64(seed).permutation(n): first n_prior indices = prior part"}
    else:
        prior_state = init
        trained = train_module(template, init, x, y, epochs=cfg.prior_epochs, lr=cfg.lr, batch=cfg.batch,
                               seed=cfg.seed, bn_train=False, progress=progress, desc="network (from w0)")
        mu0 = {n: trained[n] for n in names}
        theorem_id, learn = "pac_bayes.dziugaite_roy2017", True
        log_var = math.log(float(cfg.grid_c)) - 300 / cfg.grid_b
        split = {"n_bound": int(len(y)), "how": "whole training set (prior = seeded initialisation w0)"}
    prior_mu = {n: prior_state[n] for n in names}
    fixed = {k: v for k, v in prior_state.items() if k not in names}
    mu, sigma, lv = optimize_module_posterior(
        template, names, mu0, prior_mu, fixed, x, y, m_bound=len(bi), objective=cfg.objective,
        delta=float(cfg.delta), log_prior_var=log_var, learn_prior_var=learn, sigma_init=float(cfg.sigma_prior),
        epochs=cfg.posterior_epochs, lr=cfg.posterior_lr, batch=cfg.batch, p_min=cfg.p_min, seed=cfg.seed,
        c=float(cfg.grid_c), b=cfg.grid_b, progress=progress)
    out = Path(out)
    post = save_module_posterior(names, [mu[n] for n in names], [sigma[n] for n in names],
                                 [prior_mu[n] for n in names], fixed, out / "posterior.safetensors",
                                 meta={"objective": cfg.objective, "prior": cfg.prior, "seed": cfg.seed,
                                       "arch": model_info.get("arch") or model_info.get("description")},
                                 template=template)
    pv = (PriorVariance(sigma=cfg.sigma_prior) if cfg.prior == "data_dependent"
          else PriorVariance(c=cfg.grid_c, b=cfg.grid_b, j=best_j(post, lv, cfg.grid_c, cfg.grid_b)))
    kl = kl_enclosure(post, pv)
    m = int(len(bi))
    data = {k: v for k, v in data_info.items() if k != "spec"}
    data.update({"part": "bound part" if cfg.prior == "data_dependent" else "train", "n": m, "n_bound": m,
                 "split": split})
    ctx = PosteriorContext(post, pv, x[bi], y[bi], data, cfg.delta, cfg.mc_passes, cfg.mc_mode, cfg.seed + 7,
                           cfg.delta_mc, progress)
    errs = ctx.mc_record()[1]["errors"]
    estimates = {"stochastic_bound_set_error_estimate": errs / (cfg.mc_passes * m),
                 "mean_network_bound_set_error_estimate": _errors(template, post.mean_state(), x[bi], y[bi]) / m,
                 "kl_upper": float(kl.hi)}
    if test is not None:
        xt_, yt_ = np.ascontiguousarray(test[0], dtype=np.float32), np.asarray(test[1], dtype=np.int64)
        estimates["stochastic_test_error_estimate"] = mc_errors(post, xt_, yt_, 1, mode="per_example",
                                                                seed=cfg.seed + 11, progress=False) / len(yt_)
        estimates["mean_network_test_error_estimate"] = _errors(template, post.mean_state(), xt_, yt_) / len(yt_)
        estimates["prior_mean_test_error_estimate"] = _errors(template, post.prior_state(), xt_, yt_) / len(yt_)
    extra = {"config": config_record(cfg), "seeds": {"init_and_training": cfg.seed, "split": cfg.split_seed,
             "monte_carlo": cfg.seed + 7, "test_estimate": cfg.seed + 11},
             "prior": {"kind": cfg.prior, "variance": pv.describe(),
                       "batchnorm_statistics": "from the prior network (prior part)" if cfg.prior == "data_dependent"
                       else "data-independent (running mean 0, variance 1)"},
             "estimates": estimates}
    options = {"kind": "optimize", "family": "module", "config": config_record(cfg), "data": data_info.get("spec"),
               "model": place_model_file(dict(model_info), out), "prior_variance": {"sigma": pv.sigma, "c": pv.c, "b": pv.b, "j": pv.j}}
    cert = pacbayes_certificate(ctx, theorem_id=theorem_id, extra=extra, options=options, reproduce=reproduce)
    path = cert.save(out / "certificate.json")
    return PacBayesResult(cert, path, Path(post.path), estimates)
