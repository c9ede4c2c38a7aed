"""PAC-Bayes posterior optimisation from a network, and its certificate: one path for the user's torch module
(Linear, Conv1d/Conv2d with any groups, BatchNorm) and for the library's own MLP, which is one such module
(:func:`certify.models.posterior.library_mlp`, run by :func:`run_pacbayes`).

The data path (each step reads only what the previous one wrote):

1. **prior**: data-dependent (Perez-Ortiz et al. 2021: the architecture trained from the seeded initialisation
   :func:`certify.models.module_posterior.seeded_init` on the prior part of a seeded split *only*, BatchNorm in
   train mode, so its running statistics come from the prior part too; they are then fixed, the same in ``P`` and
   every sampled network; fixed variance ``sigma_prior^2``; :data:`theorems.pac_bayes.pac_bayes_kl` with ``m`` the
   bound part, on which ``emp_risk`` is measured) or data-independent (Dziugaite & Roy 2017: the seeded
   initialisation ``w0``, BatchNorm in *eval* mode so its statistics stay at 0 and 1, variance ``lambda_j = c
   exp(-j/b)`` from a grid, paid for by the union of :data:`theorems.pac_bayes.dziugaite_roy2017`). The model file
   fixes the architecture and which parameters carry a posterior; its trained weights are *not* the prior (they have
   seen the whole training set, the bound part included);
2. **network**: Adam on the cross-entropy from the prior mean (data-independent prior) or the prior itself;
3. **posterior optimisation** (:func:`optimize_posterior`): one of the objectives of Perez-Ortiz et al. 2021
   (``f_quad``, ``f_lambda``, ``f_classic``) or Dziugaite & Roy's (``dziugaite_roy``: ``L + sqrt(K/2)`` with their
   union budget and a learnt prior variance), on a bounded cross-entropy surrogate ``L`` (probabilities clamped at
   ``p_min``, divided by ``ln(1/p_min)``); one network sampled per minibatch through
   :func:`torch.func.functional_call`, or per example by the local reparameterisation for a Flatten/Linear/ReLU
   stack (:func:`certify.models.module_posterior.local_forward`);
4. **stored posterior** (safetensors, sha256): everything below reads this file;
5. **KL** as an enclosure of the exact real for the stored floats (:func:`kl_enclosure`);
6. **Monte Carlo**: the 0-1 errors of sampled networks on the bound set, counted exactly, turned into an upper bound
   on the posterior's empirical risk by a kl (Chernoff) bound with its own ``delta_mc`` (:func:`mc_emp_upper`);
7. **certificate**: the theorem evaluated by interval arithmetic with the rigorous ``kl_inv``; the delta split lists
   ``delta`` (the PAC-Bayes bound) and ``delta_mc``; the claim holds with probability ``>= 1 - delta - delta_mc``.

Certificates of the earlier MLP-only path (format ``boundcert-gaussian-mlp-v1``, :mod:`certify.models.posterior`)
still verify and replay; new ones are all module posteriors.
"""

from __future__ import annotations

import copy
import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

import theorems
from boundcert.errors import InvalidInput
from certify.certificate import Certificate, strict_float_torch
from certify.models.module_posterior import (LOCAL, linear_stack, local_forward, posterior_parameters,
                                             sampled_forward, save_module_posterior, seeded_init, state_arrays)
from certify.models.posterior import library_mlp, save_library_mlp
from certify.models.predict import count_errors, predict
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
from certify.reports.progress import progress as progress_bar
from theorems import Interval, enclose

__all__ = ["Objective", "McMode", "PriorVariance", "PacBayesConfig", "PacBayesResult", "kl_enclosure",
           "mc_errors", "mc_emp_upper", "train_module", "optimize_posterior", "pacbayes_certificate",
           "run_pacbayes", "run_module_pacbayes", "split_indices", "bound_indices", "check_model_data",
           "place_model_file", "library_mlp", "save_library_mlp", "objective_value", "bounded_ce", "budget_torch",
           "config_record", "best_j"]

Objective = Literal["f_quad", "f_lambda", "f_classic", "dziugaite_roy"]
PriorKind = Literal["data_independent", "data_dependent"]


# --------------------------------------------------------------------------------------------------- configuration
@dataclass(frozen=True, slots=True)
class PacBayesConfig:
    """One PAC-Bayes run. Seeds: ``seed`` (init, training, sampling offsets), ``split_seed`` (data-dependent split).

    ``sizes``: the library MLP's widths for :func:`run_pacbayes`; ``()`` when the user's module fixes the
    architecture (:func:`run_module_pacbayes`). ``prior_shift``: augment the inputs by a random circular shift in
    ``[-shift, shift]`` along the last axis per batch while training the prior / the network (MNIST-1D's signals
    are translated).

    Raises:
        InvalidInput: a delta outside (0, 1), sigma_prior <= 0, an unknown prior, a prior fraction outside (0, 1),
            non-positive passes or batch, negative epochs or shift.
    """

    sizes: tuple[int, ...] = ()
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
    prior_shift: int = 0

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
        if self.mc_passes < 1 or self.prior_epochs < 0 or self.posterior_epochs < 0 or self.batch < 1 \
                or self.prior_shift < 0:
            raise InvalidInput(f"mc_passes={self.mc_passes}, prior_epochs={self.prior_epochs}, posterior_epochs="
                               f"{self.posterior_epochs}, batch={self.batch}, prior_shift={self.prior_shift}: give "
                               "mc_passes, batch >= 1, epochs and shift >= 0")


@dataclass(frozen=True, slots=True)
class PacBayesResult:
    certificate: Certificate
    certificate_path: Path
    posterior_path: Path
    estimates: dict = field(default_factory=dict)


def config_record(cfg: Any) -> dict[str, Any]:
    """A run configuration as JSON values (tuples as lists), every field."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in ((k, getattr(cfg, k)) for k in cfg.__slots__)}


# ---------------------------------------------------------------------------------------------------- the inputs
def split_indices(n: int, n_prior: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded split of ``range(n)``: ``(prior part, bound part)``, each sorted."""
    perm = np.random.Generator(np.random.PCG64(seed)).permutation(n)
    return np.sort(perm[:n_prior]), np.sort(perm[n_prior:])


def bound_indices(cfg: PacBayesConfig, n: int) -> tuple[np.ndarray, np.ndarray]:
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


# ------------------------------------------------------------------------------------------------------ training
def _load_state(template: Any, state: dict[str, np.ndarray]) -> Any:
    import torch

    net = copy.deepcopy(template)
    net.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in state.items()}, strict=True)
    return net


def train_module(template: Any, state: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray, *, epochs: int,
                 lr: float, batch: int, seed: int, bn_train: bool, progress: bool = True, desc: str = "training",
                 masks: dict[str, np.ndarray] | None = None, shift: int = 0) -> dict[str, np.ndarray]:
    """Adam on the cross-entropy from ``state`` (a copy of ``template``); BatchNorm in train mode iff ``bn_train``
    (a minibatch of one example is then skipped). ``masks``: 0/1 arrays per parameter name; masked-out entries are
    held at 0 (fine-tuning after pruning). ``shift``: a random circular shift in ``[-shift, shift]`` of the inputs'
    last axis per batch. Returns the trained state dict (numpy)."""
    import torch
    import torch.nn.functional as F

    torch.manual_seed(seed)
    net = _load_state(template, state)
    net.train(bn_train)
    has_bn = bn_train and any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in net.modules())
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    mk = {n: torch.from_numpy(np.asarray(m, dtype=np.float32)) for n, m in (masks or {}).items()}
    named = dict(net.named_parameters())
    xt, yt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)), torch.from_numpy(y.astype(np.int64))
    rng = np.random.Generator(np.random.PCG64(seed))
    bar = progress_bar(range(epochs), desc=desc, unit="epoch", enabled=progress)
    for _ in bar:
        order = torch.from_numpy(rng.permutation(len(yt)))
        for i in range(0, len(yt), batch):
            idx = order[i : i + batch]
            if has_bn and len(idx) < 2:
                continue  # BatchNorm cannot normalise one example in train mode
            xb = xt[idx]
            if shift:
                xb = torch.roll(xb, int(rng.integers(-shift, shift + 1)), dims=-1)
            loss = F.cross_entropy(net(xb), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            if mk:
                with torch.no_grad():
                    for n, m_ in mk.items():
                        named[n].mul_(m_)
        bar.set_postfix(loss=f"{loss.item():.3f}")
    return state_arrays(net.eval())


def bounded_ce(logits, y, p_min: float):
    import torch
    import torch.nn.functional as F

    logp = torch.clamp(F.log_softmax(logits, dim=1), min=math.log(p_min))
    return F.nll_loss(logp, y) / math.log(1 / p_min)


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


def optimize_posterior(template: Any, names: tuple[str, ...], mu0: dict, prior_mu: dict, fixed: dict,
                       x: np.ndarray, y: np.ndarray, *, m_bound: int, objective: Objective, delta: float,
                       log_prior_var: float, learn_prior_var: bool, sigma_init: float, epochs: int, lr: float,
                       batch: int, p_min: float, seed: int, c: float, b: int, progress: bool = True):
    """Minimise the objective over ``mu``, ``rho`` (``sigma = softplus(rho)``) and, when ``learn_prior_var``, the
    prior's log variance. A :func:`linear_stack` draws a network per example (local reparameterisation), any other
    module one network per minibatch. The KL here is a float64 torch value for training only, never certified.
    Returns ``(mu, sigma, log_var)`` (float32 arrays per name, a float guide for ``j``)."""
    import torch
    import torch.nn.functional as F

    torch.manual_seed(seed)
    tmpl = copy.deepcopy(template).eval()
    local = linear_stack(tmpl)
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

    def sampled(xb):
        if local:
            return local_forward(tmpl, mu, {n: F.softplus(rho[n]) for n in names}, xb)
        w = {n: mu[n] + F.softplus(rho[n]) * torch.randn_like(mu[n]) for n in names}
        return sampled_forward(tmpl, w, fx, xb)

    bar = progress_bar(range(epochs), desc=f"posterior ({objective})", unit="epoch", enabled=progress)
    for _ in bar:
        order = torch.from_numpy(rng.permutation(len(yt)))
        for i in range(0, len(yt), batch):
            idx = order[i : i + batch]
            loss = bounded_ce(sampled(xt[idx]), yt[idx], p_min)
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


def best_j(post: Any, log_var_guess: float, c: str, b: int) -> int:
    """Grid index near the learnt variance that minimises the float KL + 2 ln j (a choice, paid by the union)."""
    mu, sigma, prior = post.flat()
    s = float(np.sum(sigma.astype(np.float64) ** 2 + (mu.astype(np.float64) - prior) ** 2))
    ls = float(np.sum(np.log(sigma.astype(np.float64))))
    j0 = max(1, int(round(b * (math.log(float(c)) - log_var_guess))))
    cands = range(max(1, j0 - 3 * b), j0 + 3 * b + 1)
    lc = math.log(float(c))
    return min(cands, key=lambda j: kl_float(s, ls, sigma.size, lc - j / b) + 2 * math.log(j))


# ------------------------------------------------------------------------------------------------- orchestration
def _errors(template: Any, state: dict, x: np.ndarray, y: np.ndarray) -> int:
    return count_errors(predict(_load_state(template, state), np.ascontiguousarray(x, dtype=np.float32)), y)


def run_module_pacbayes(cfg: PacBayesConfig, module: Any, train: tuple[np.ndarray, np.ndarray],
                        out: str | Path, *, data_info: dict, model_info: dict,
                        test: tuple[np.ndarray, np.ndarray] | None = None, reproduce: str = "",
                        progress: bool = True) -> PacBayesResult:
    """The module docstring's path on ``module`` and ``train``; writes ``posterior.safetensors`` and
    ``certificate.json`` in ``out``.

    ``data_info``: the data record of the certificate, with ``"spec"`` (what ``certify check --recompute`` loads
    again: ``{"spec": str, "sha256": str}`` for any data, or a built-in split of
    :func:`certify.data.splits.load_xy`); ``model_info``: the model file the architecture came from (``path``,
    ``arch``, ``file_sha256``), recorded in ``options.model`` for the replay; the file is copied beside the
    certificate (:func:`place_model_file`).
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
    common = {"epochs": cfg.prior_epochs, "lr": cfg.lr, "batch": cfg.batch, "seed": cfg.seed, "progress": progress,
              "shift": cfg.prior_shift}
    if cfg.prior == "data_dependent":
        prior_state = train_module(template, init, x[pi], y[pi], bn_train=True, desc="prior (prior part only)",
                                   **common)
        mu0 = {n: prior_state[n] for n in names}
        theorem_id, log_var, learn = "pac_bayes.kl", 2 * math.log(float(cfg.sigma_prior)), False
        split = {"seed": cfg.split_seed, "n_prior": int(len(pi)), "n_bound": int(len(bi)),
                 "bound_indices_sha256": hashlib.sha256(bi.astype(np.int64).tobytes()).hexdigest(),
                 "how": "numpy PCG64(seed).permutation(n): first n_prior indices = prior part"}
    else:
        prior_state = init
        trained = train_module(template, init, x, y, bn_train=False, desc="network (from w0)", **common)
        mu0 = {n: trained[n] for n in names}
        theorem_id, learn = "pac_bayes.dziugaite_roy2017", True
        log_var = math.log(float(cfg.grid_c)) - 300 / cfg.grid_b  # a start inside the grid; learnt
        split = {"n_bound": int(len(y)), "how": "whole training set (prior = seeded initialisation w0)"}
    prior_mu = {n: prior_state[n] for n in names}
    fixed = {k: v for k, v in prior_state.items() if k not in names}
    mu, sigma, lv = optimize_posterior(
        template, names, mu0, prior_mu, fixed, x, y, m_bound=len(bi), objective=cfg.objective,
        delta=float(cfg.delta), log_prior_var=log_var, learn_prior_var=learn, sigma_init=float(cfg.sigma_prior),
        epochs=cfg.posterior_epochs, lr=cfg.posterior_lr, batch=cfg.batch, p_min=cfg.p_min, seed=cfg.seed,
        c=float(cfg.grid_c), b=cfg.grid_b, progress=progress)
    out = Path(out)
    meta = {"objective": cfg.objective, "prior": cfg.prior, "seed": cfg.seed,
            "arch": model_info.get("arch") or model_info.get("description")}
    if linear_stack(template):
        meta["sampler"] = LOCAL  # per-example Monte Carlo draws by local reparameterisation (same law, cheaper)
    post = save_module_posterior(names, [mu[n] for n in names], [sigma[n] for n in names],
                                 [prior_mu[n] for n in names], fixed, out / "posterior.safetensors", meta=meta,
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
                 "kl_upper": float(kl.hi)}  # the enclosure's upper end (rounded to a float for reading)
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
               "model": place_model_file(dict(model_info), out),
               "prior_variance": {"sigma": pv.sigma, "c": pv.c, "b": pv.b, "j": pv.j}}
    cert = pacbayes_certificate(ctx, theorem_id=theorem_id, extra=extra, options=options, reproduce=reproduce)
    path = cert.save(out / "certificate.json")
    return PacBayesResult(cert, path, Path(post.path), estimates)


def run_pacbayes(cfg: PacBayesConfig, train: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray],
                 out: str | Path, *, data_info: dict, reproduce: str = "", progress: bool = True) -> PacBayesResult:
    """:func:`run_module_pacbayes` on the library's MLP of widths ``cfg.sizes`` (saved beside the certificate as
    ``model.pt``, :func:`save_library_mlp`). ``data_info["spec"]`` (from :func:`certify.data.splits.load_xy`) names
    the built-in data ``train`` and ``test`` came from, for ``certify check --recompute``."""
    if not cfg.sizes:
        raise InvalidInput("sizes=(): the library MLP needs its widths, e.g. sizes=(784, 256, 10); for your own "
                           "module use run_module_pacbayes")
    x = np.asarray(train[0])
    check_model_data(library_mlp(cfg.sizes), x.reshape(len(x), -1), np.asarray(train[1]),
                     str(data_info.get("name", "train")))  # refusals come before the model file is written
    bound_indices(cfg, len(x))
    net, model_info = save_library_mlp(cfg.sizes, out)
    return run_module_pacbayes(cfg, net, train, out, data_info=data_info, model_info=model_info, test=test,
                               reproduce=reproduce, progress=progress)
