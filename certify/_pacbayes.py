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
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import numpy as np
import sympy

import theorems
from boundcert.errors import InvalidInput
from certify._certificate import Certificate, InputRecord, utc_timestamp
from certify._pipeline import environment, theorem_record
from certify._posterior import GaussianMLP, StoredPosterior, load_posterior, mlp_init, save_posterior
from kernels._gaussian_kl import sum_log_enclosure, sum_sq_exact
from theorems import Interval, enclose
from theorems._interval import iexp, ilog
from theorems._symbols import KlInv

__all__ = ["Objective", "McMode", "PriorVariance", "PacBayesConfig", "PacBayesResult", "kl_enclosure",
           "mc_errors", "mc_emp_upper", "train_network", "optimize_posterior", "pacbayes_certificate", "run_pacbayes",
           "split_indices"]

Objective = Literal["f_quad", "f_lambda", "f_classic", "dziugaite_roy"]
McMode = Literal["per_network", "per_example"]
PriorKind = Literal["data_independent", "data_dependent"]


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


def kl_enclosure(post: StoredPosterior, prior_var: PriorVariance) -> Interval:
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


def _kl_float(s: float, log_sigma: float, d: int, log_var: float) -> float:
    return 0.5 * (s / math.exp(log_var) - d + d * log_var - 2 * log_sigma)


# -------------------------------------------------------------------------------------------------- Monte Carlo
def mc_errors(post: StoredPosterior, x: np.ndarray, y: np.ndarray, n: int, *, mode: McMode, seed: int,
              batch: int = 2048, progress: bool = True) -> int:
    """0-1 errors of ``n`` passes of sampled networks over ``(x, y)``, an exact integer out of ``n * len(y)``.

    ``per_network``: each pass draws one network (weights sampled once) and classifies every example with it.
    ``per_example``: each pass draws an independent network for every example (local reparameterisation).
    """
    import torch
    import torch.nn.functional as F
    from tqdm import tqdm

    torch.manual_seed(seed)
    net = post.module()
    xt, yt = torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(np.asarray(y, dtype=np.int64))
    errors = 0
    n_layers = len(post.mu) // 2
    mus = [torch.from_numpy(m.copy()) for m in post.mu]
    sig = [torch.from_numpy(s.copy()) for s in post.sigma]
    with torch.no_grad():
        for _ in tqdm(range(n), desc=f"monte carlo ({mode})", unit="pass", disable=not progress):
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


# ------------------------------------------------------------------------------------------------------ training
def split_indices(n: int, n_prior: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded split of ``range(n)``: ``(prior part, bound part)``, each sorted."""
    perm = np.random.Generator(np.random.PCG64(seed)).permutation(n)
    return np.sort(perm[:n_prior]), np.sort(perm[n_prior:])


def _bounded_ce(logits, y, p_min: float):
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


def _budget_torch(kl, m: int, delta: float, *, objective: Objective, log_var=None, c: float = 0.1, b: int = 100):
    import torch

    if objective == "dziugaite_roy":
        j = torch.clamp(b * (math.log(c) - log_var), min=1.0)
        return (kl + 2 * torch.log(j) + math.log(math.pi**2 * m / (6 * delta))) / (m - 1)
    return (kl + math.log(2 * math.sqrt(m) / delta)) / m


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
            loss = _bounded_ce(net(xt[idx], mode="local"), yt[idx], p_min)
            K = _budget_torch(net.kl_train(lv), m_bound, delta, objective=objective, log_var=lv, c=c, b=b)
            if objective == "f_quad":
                obj = (torch.sqrt(loss + K / 2) + torch.sqrt(K / 2)) ** 2
            elif objective == "f_lambda":
                lam = 2 * torch.sigmoid(lam_logit) * 0.999
                obj = loss / (1 - lam / 2) + K / (lam * (1 - lam / 2))
            else:  # f_classic and Dziugaite-Roy's objective (their budget)
                obj = loss + torch.sqrt(K / 2)
            opt.zero_grad()
            obj.backward()
            opt.step()
        bar.set_postfix(obj=f"{float(obj.detach()):.4f}", loss=f"{float(loss.detach()):.3f}")
    return float(lv.detach())


# --------------------------------------------------------------------------------------------------- certificate
def _add_decimals(a: str, b: str) -> str:
    from decimal import Decimal

    return str(Decimal(a) + Decimal(b))


def pacbayes_certificate(post: StoredPosterior, *, theorem_id: str, m: int, emp_up: Interval, mc_record: dict,
                         kl: Interval, prior_var: PriorVariance, delta: str, data: dict, extra: dict,
                         reproduce: str) -> Certificate:
    """Evaluate the PAC-Bayes theorem at the enclosed inputs and wrap everything in a :class:`Certificate`."""
    t = theorems.get(theorem_id)
    values: dict[str, tuple[Interval, str, str]] = {
        "m": (enclose(m), "data", f"examples of the bound set ({data.get('name')}, {data.get('part')})"),
        "emp_risk": (emp_up, "monte_carlo:kl_chernoff v1",
                     f"upper bound on the posterior's empirical risk from {mc_record['n_passes']} Monte Carlo passes "
                     f"({mc_record['mode']}), errors={mc_record['errors']}, delta_mc={mc_record['delta_mc']}; "
                     "derivation in extra.emp_risk_derivation"),
        "kl": (kl, "kernel:gaussian_kl_sums v1",
               f"KL(Q||P) of the stored posterior {Path(post.path).name} (sha256 {post.sha256}), prior {prior_var.describe()}"),
        "delta": (enclose(delta), "user", f"delta={delta}"),
    }
    if "j" in theorems.tree_symbols(t.tree()):
        values["j"] = (enclose(prior_var.j), "model", prior_var.describe())
    enclosed = t.enclose_inputs({k: v[0] for k, v in values.items()})
    checks = t.check_hypotheses(enclosed)
    witnesses: list[dict] = []
    result = theorems.eval_tree(t.tree(), enclosed, witnesses)
    total = _add_decimals(delta, mc_record["delta_mc"])
    claim = (f"With probability at least 1 - {total} over the sample and the Monte Carlo draws, the 0-1 risk of the "
             f"stochastic classifier Q (the Gaussian posterior stored in {Path(post.path).name}, sha256 "
             f"{post.sha256[:16]}...) is at most {result.hi_str(6)}.")
    ex = dict(extra)
    ex["emp_risk_derivation"] = mc_record
    ex["posterior"] = {"path": Path(post.path).name, "sha256": post.sha256, "sizes": list(post.sizes),
                       "n_params": post.n_params, "meta": post.meta}
    return Certificate(
        theorem=theorem_record(t),
        inputs=tuple(InputRecord(k, v[0], v[1], v[2]) for k, v in values.items()),
        hypotheses=tuple({"name": c.name, "statement": c.statement, "status": c.status} for c in checks),
        result=result,
        claim=claim,
        model={"path": Path(post.path).name, "path_is_relative_to": "the certificate's directory",
               "sha256": post.sha256, "kind": "diagonal Gaussian posterior over an MLP",
               "arch": f"MLP {'-'.join(map(str, post.sizes))} ReLU"},
        data=data,
        delta={"total": total, "split": [{"use": theorem_id, "delta": delta},
                                          {"use": f"monte_carlo.kl_chernoff ({mc_record['mode']})",
                                           "delta": mc_record["delta_mc"]}]},
        environment=environment(),
        reproduce=reproduce,
        created=utc_timestamp(),
        extra=ex,
        witnesses=tuple(witnesses),
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
    return _count_errors(weights, x, y) / len(y)


def _count_errors(weights, x, y) -> int:
    """Exact number of argmax errors of the MLP ``weights`` on ``(x, y)`` (float32 torch CPU)."""
    import torch
    import torch.nn.functional as F

    h = torch.from_numpy(np.ascontiguousarray(x.reshape(len(x), -1)))
    ws = [torch.from_numpy(w) for w in weights]
    with torch.no_grad():
        for li in range(len(ws) // 2):
            h = F.linear(h, ws[2 * li], ws[2 * li + 1])
            if li < len(ws) // 2 - 1:
                h = F.relu(h)
    return int(np.count_nonzero(h.argmax(1).numpy() != np.asarray(y)))


def _best_j(post: StoredPosterior, log_var_guess: float, c: str, b: int) -> int:
    """Grid index near the learnt variance that minimises the float KL + 2 ln j (a choice, paid by the union)."""
    mu, sigma, prior = post.flat()
    s = float(np.sum(sigma.astype(np.float64) ** 2 + (mu.astype(np.float64) - prior) ** 2))
    ls = float(np.sum(np.log(sigma.astype(np.float64))))
    j0 = max(1, int(round(b * (math.log(float(c)) - log_var_guess))))
    cands = range(max(1, j0 - 3 * b), j0 + 3 * b + 1)
    lc = math.log(float(c))
    return min(cands, key=lambda j: _kl_float(s, ls, sigma.size, lc - j / b) + 2 * math.log(j))


def run_pacbayes(cfg: PacBayesConfig, train: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray],
                 out: str | Path, *, data_info: dict, reproduce: str = "", progress: bool = True) -> PacBayesResult:
    """The whole path of the module docstring; writes ``posterior.safetensors`` and ``certificate.json`` in ``out``."""
    import torch

    from certify._jobs import torch_threads

    torch.set_num_threads(torch_threads(min(2, torch.get_num_threads())))
    torch.backends.cuda.matmul.allow_tf32 = False
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
        pv = PriorVariance(c=cfg.grid_c, b=cfg.grid_b, j=_best_j(post, lv, cfg.grid_c, cfg.grid_b))
    kl = kl_enclosure(post, pv)
    m = int(len(bi))
    errs = mc_errors(post, x[bi], y[bi], cfg.mc_passes, mode=cfg.mc_mode, seed=cfg.seed + 7, progress=progress)
    emp_up, rec = mc_emp_upper(errs, cfg.mc_passes, m, cfg.delta_mc, cfg.mc_mode)
    test_errs = mc_errors(post, xt_, yt_, 1, mode="per_example", seed=cfg.seed + 11, progress=False)
    estimates = {
        "stochastic_test_error_estimate": test_errs / len(yt_),
        "stochastic_bound_set_error_estimate": errs / (cfg.mc_passes * m),
        "mean_network_test_error_estimate": _mean_error(list(post.mu), xt_, yt_),
        "mean_network_bound_set_error_estimate": _mean_error(list(post.mu), x[bi], y[bi]),
        "prior_mean_test_error_estimate": _mean_error(list(post.prior_mu), xt_, yt_),
        "kl_upper": float(kl.hi),  # the enclosure's upper end (rounded to a float for reading)
    }
    data = dict(data_info)
    data.update({"part": "bound part" if cfg.prior == "data_dependent" else "train", "n": m, "n_bound": m,
                 "split": split})
    extra = {"config": {k: getattr(cfg, k) for k in cfg.__slots__}, "seeds": {"init_and_training": cfg.seed,
             "split": cfg.split_seed, "monte_carlo": cfg.seed + 7, "test_estimate": cfg.seed + 11},
             "prior": {"kind": cfg.prior, "variance": pv.describe()}, "estimates": estimates}
    cert = pacbayes_certificate(post, theorem_id=theorem_id, m=m, emp_up=emp_up, mc_record=rec, kl=kl,
                                prior_var=pv, delta=cfg.delta, data=data, extra=extra, reproduce=reproduce)
    path = cert.save(out / "certificate.json")
    return PacBayesResult(cert, path, Path(post.path), estimates)


def load_and_kl(path: str | Path, prior_var: PriorVariance) -> Interval:
    """Convenience: the KL enclosure of a posterior file."""
    return kl_enclosure(load_posterior(path), prior_var)


_ = (Fraction, Any)
