"""The PAC-Bayes flatness bound: the largest flat posterior scale on a fixed grid, then a ``pac_bayes.kl``
certificate at that scale with the union over the grid paid. Two posterior families, one code path (``posterior``):

* ``"isotropic"``: ``Q_j = N(w, sigma_j^2 I)``, prior ``P_j = N(w0, sigma_j^2 I)``;
* ``"mag"`` (magnitude-aware, Jiang et al. 2020 App. C): ``Q_j = N(w, diag(s^2))`` with ``s_i = fl32(sqrt(sigma_j^2
  w_i^2 + eps^2))`` (the float32 rounding of the float64 evaluation: the posterior *is* the stored ``s``, so the KL
  is exact for it), prior ``P_{j,k} = N(w0, lambda_k I)``, ``lambda_k = tau_k^2`` with ``tau_k`` on a second fixed
  grid (``prior_sigmas``).

Construction (Dziugaite & Roy 2017 Sec. 4-5 for the grid; Jiang et al. 2020 App. C for the flatness search):

1. *Search* (a measure): for each ``sigma_j`` of the grid ``G`` (fixed in the options), the Monte Carlo increase of
   the training 0-1 error under ``u ~ Q_j - w`` over ``search_draws`` draws; ``sigma`` is the largest grid value
   whose increase is ``<= target`` (the smallest grid value when none is). For ``"mag"`` the prior scale ``tau_k``
   is then the grid point whose KL (float evaluation, a choice only) is smallest.
2. *Bound*: ``pac_bayes.kl`` holds for every prior of the grid (``|G|`` priors, ``|G| |T|`` for ``"mag"``) at
   ``delta / (number of priors)`` each, hence for all at once with probability ``>= 1 - delta`` (union bound): the
   certificate uses that share and its delta split records the others. ``w0 = 0`` or a given initialisation (fixed
   before the sample: recorded as an assumed hypothesis).
3. Inputs: isotropic ``KL = ||w - w0||^2 / (2 sigma^2)`` with ``||w - w0||^2`` exact in integers
   (:func:`kernels._gaussian_kl.sum_sq_exact`) and the decimal ``sigma`` enclosed; magnitude-aware ``KL = 1/2 [(sum
   s_i^2 + ||w - w0||^2) / lambda - d + d ln lambda - 2 sum ln s_i]`` by
   :func:`certify.quantities.pacbayes.kl_enclosure` (sums exact, logs enclosed as in :mod:`kernels._gaussian_kl`,
   the rest outward-rounded interval arithmetic). ``emp_risk``: an upper bound on the 0-1 empirical risk of ``Q``
   from ``mc_passes`` passes that draw an independent network for every example, the kl (Chernoff) bound at
   ``delta_mc`` (:func:`certify.quantities.pacbayes.mc_emp_upper`, ``per_example``), with fresh draws (not the
   search's). The claim holds with probability ``>= 1 - delta - delta_mc``.

Sampling model: the draws are float32 samples ``w + s * torch.randn`` of ``Q``, the idealisation every PAC-Bayes
implementation makes (as :mod:`certify.quantities.pacbayes`). Buffers (batch-norm statistics) are not perturbed.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any, ClassVar, cast

import numpy as np

import theorems
from boundcert.errors import InvalidInput
from certify.certificate import Certificate
from certify.landscape.params import FlatModel, flat_model
from certify.quantities.pacbayes import PriorVariance, kl_enclosure, kl_float, mc_emp_upper
from certify.quantities.registry import Provided, provide, register_provider
from kernels._gaussian_kl import sum_sq_exact
from theorems import Interval, enclose

__all__ = ["FlatnessOptions", "FlatnessContext", "THEOREM", "flatness_search", "flatness_certificate", "run_flatness",
           "model_record", "data_record"]

THEOREM = "pac_bayes.kl"
DEFAULT_SIGMAS = ("1", "0.5", "0.2", "0.1", "0.05", "0.02", "0.01", "0.005", "0.002", "0.001")
DEFAULT_PRIOR_SIGMAS = tuple(f"{2 ** (-j / 4):.3g}" for j in range(40))  # 1 down to 0.00108, ratio 2^(1/4)
POSTERIORS = ("isotropic", "mag")


@dataclass(frozen=True, slots=True)
class FlatnessOptions:
    """Options of the PAC-Bayes flatness certificate (recorded as ``options`` with ``kind="flatness"``).

    Attributes:
        delta: the PAC-Bayes confidence, shared evenly by the grid points; delta_mc: the Monte Carlo kl bound's.
        sigmas: the grid of posterior/prior scales (decimal strings, fixed before the sample).
        target: the allowed increase of the training 0-1 error in the search (Jiang: 0.1).
        search_draws: Monte Carlo draws per grid point in the search; mc_passes: passes of the certified estimate.
        seed: the search draws (``seed``) and the certified draws (``seed + 1``).
        prior_mean: ``"zero"`` or ``"init"`` (the initialisation checkpoint given with the run).
        posterior: ``"isotropic"`` or ``"mag"`` (magnitude-aware, module docstring); mag_eps: its ``eps``;
        prior_sigmas: the prior scales ``tau_k`` of ``"mag"`` (empty: :data:`DEFAULT_PRIOR_SIGMAS`; ignored, and
            to be left empty, for ``"isotropic"``, whose prior scale is the posterior's).
    """

    delta: str = "0.05"
    delta_mc: str = "0.01"
    sigmas: tuple[str, ...] = DEFAULT_SIGMAS
    target: str = "0.1"
    search_draws: int = 8
    mc_passes: int = 10
    seed: int = 0
    prior_mean: str = "zero"
    posterior: str = "isotropic"
    mag_eps: str = "0.001"
    prior_sigmas: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "sigmas", tuple(str(s) for s in self.sigmas))
        if self.posterior not in POSTERIORS:
            raise InvalidInput(f"posterior={self.posterior!r} must be 'isotropic' or 'mag'")
        if self.posterior == "isotropic" and self.prior_sigmas:
            raise InvalidInput("prior_sigmas is for posterior='mag': the isotropic prior's scale is the posterior's; "
                               "drop --prior-sigmas or use --flatness-certificate mag")
        if self.posterior == "mag" and not self.prior_sigmas:
            object.__setattr__(self, "prior_sigmas", DEFAULT_PRIOR_SIGMAS)
        object.__setattr__(self, "prior_sigmas", tuple(str(s) for s in self.prior_sigmas))
        for s in self.prior_sigmas:
            if not enclose(s, name="prior_sigma").lo > 0:
                raise InvalidInput(f"prior_sigma={s} must be > 0: give positive decimal scales")
        if len({Fraction(s) for s in self.prior_sigmas}) != len(self.prior_sigmas):
            raise InvalidInput(f"prior_sigmas={','.join(self.prior_sigmas)} has repeated values: give each once")
        if not enclose(str(self.mag_eps), name="mag_eps").lo > 0:
            raise InvalidInput(f"mag_eps={self.mag_eps} must be > 0, e.g. 0.001")
        for name in ("delta", "delta_mc"):
            d = enclose(str(getattr(self, name)), name=name)
            if not (d.lo > 0 and d.hi < 1):
                raise InvalidInput(f"{name}={getattr(self, name)} must lie strictly between 0 and 1, e.g. 0.05")
        if not self.sigmas:
            raise InvalidInput("sigmas is empty: give a grid of scales, e.g. --sigmas 0.1,0.05,0.02,0.01")
        for s in self.sigmas:
            if not enclose(s, name="sigma").lo > 0:
                raise InvalidInput(f"sigma={s} must be > 0: give positive decimal scales")
        if len({Fraction(s) for s in self.sigmas}) != len(self.sigmas):
            raise InvalidInput(f"sigmas={','.join(self.sigmas)} has repeated values: give each scale once")
        t = enclose(str(self.target), name="target")
        if not (t.lo > 0 and t.hi < 1):
            raise InvalidInput(f"target={self.target} must lie in (0, 1), e.g. 0.1")
        for name in ("search_draws", "mc_passes"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise InvalidInput(f"{name}={v!r} must be an integer >= 1")
        if self.prior_mean not in ("zero", "init"):
            raise InvalidInput(f"prior_mean={self.prior_mean!r} must be 'zero' or 'init'")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["sigmas"] = list(self.sigmas)
        d["prior_sigmas"] = list(self.prior_sigmas)
        return {"kind": "flatness", **d}

    def n_priors(self) -> int:
        """The number of priors the union bound runs over (``|G|``, or ``|G| |T|`` for ``"mag"``)."""
        return len(self.sigmas) * max(1, len(self.prior_sigmas))

    def grid_name(self) -> str:
        """What the union bound runs over, in words."""
        return "sigma grid" if self.posterior == "isotropic" else "sigma x prior-scale grid"

    def delta_each(self) -> Fraction:
        return Fraction(self.delta) / self.n_priors()

    def std(self, w: np.ndarray, sigma: str) -> np.ndarray | float:
        """The posterior's standard deviations at scale ``sigma``: the float ``sigma`` (isotropic), or the float32
        ``fl32(sqrt(sigma^2 w_i^2 + eps^2))`` of the stored ``w`` (mag; deterministic IEEE operations)."""
        if self.posterior == "isotropic":
            return float(sigma)
        w64 = np.asarray(w, dtype=np.float64)
        return np.sqrt(float(sigma) ** 2 * w64 * w64 + float(self.mag_eps) ** 2).astype(np.float32)

    def describe(self, sigma: str, prior_sigma: str) -> str:
        if self.posterior == "isotropic":
            return f"N(w, {sigma}^2 I)"
        return (f"N(w, diag(s^2)), s_i = fl32(sqrt({sigma}^2 w_i^2 + {self.mag_eps}^2)), prior N(w0, "
                f"{prior_sigma}^2 I)")


@dataclass(frozen=True, slots=True)
class _DiagonalPosterior:
    """``N(mu, diag(sigma^2))`` and its prior mean, in the ``flat()`` shape :func:`kl_enclosure` reads."""

    mu: np.ndarray
    sigma: np.ndarray
    prior: np.ndarray

    def flat(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.mu, self.sigma, self.prior


@dataclass(slots=True)
class FlatnessContext:
    """What ``flatness`` providers read: the float32 flat model, the prior mean, the chosen scale, the options."""

    kind: ClassVar[str] = "flatness"
    fm: FlatModel
    w0: np.ndarray
    sigma: str
    opts: FlatnessOptions
    data: dict[str, Any]
    prior_sigma: str = ""
    cache: dict[str, Any] = field(default_factory=dict)

    def std(self) -> np.ndarray | float:
        if "std" not in self.cache:
            self.cache["std"] = self.opts.std(self.fm.numpy_w(), self.sigma)
        return self.cache["std"]

    def mc_record(self) -> tuple[Interval, dict[str, Any]]:
        if "mc" not in self.cache:
            errs = per_example_errors(self.fm, self.std(), self.opts.mc_passes, self.opts.seed + 1)
            self.cache["mc"] = mc_emp_upper(errs, self.opts.mc_passes, self.fm.n, self.opts.delta_mc, "per_example")
        return self.cache["mc"]


def _fraction_text(f: Fraction) -> str:
    return str(f.numerator) if f.denominator == 1 else f"{f.numerator}/{f.denominator}"


@register_provider("m", context="flatness")
def _m(ctx: FlatnessContext) -> Provided:
    return Provided(enclose(ctx.fm.n), "data", f"examples of the training sample ({ctx.data.get('name')})")


@register_provider("delta", context="flatness")
def _delta(ctx: FlatnessContext) -> Provided:
    each = ctx.opts.delta_each()
    return Provided(enclose(each), "user", f"delta/|grid| = {ctx.opts.delta}/{ctx.opts.n_priors()} (union over the "
                                           f"{ctx.opts.grid_name()})")


@register_provider("kl", context="flatness")
def _kl(ctx: FlatnessContext) -> Provided:
    w = ctx.fm.numpy_w()
    if ctx.opts.posterior == "mag":
        post = _DiagonalPosterior(w, cast(np.ndarray, ctx.std()), ctx.w0)
        kl = kl_enclosure(cast(Any, post), PriorVariance(sigma=ctx.prior_sigma))
        return Provided(kl, "kernel:gaussian_kl_sums v1",
                        f"KL({ctx.opts.describe(ctx.sigma, ctx.prior_sigma)}) with w0={ctx.opts.prior_mean}, "
                        f"{w.size} parameters (sums exact, logs enclosed)")
    s = enclose(sum_sq_exact(np.zeros_like(w), w, ctx.w0))
    sig = enclose(ctx.sigma, name="sigma")
    kl = s / (enclose(2) * sig * sig)
    return Provided(kl, "kernel:gaussian_kl_sums v1",
                    f"KL(N(w, sigma^2 I) || N(w0, sigma^2 I)) = ||w - w0||^2 / (2 sigma^2), sigma={ctx.sigma}, "
                    f"w0={ctx.opts.prior_mean}, {w.size} parameters (||w - w0||^2 exact)")


@register_provider("emp_risk", context="flatness")
def _emp_risk(ctx: FlatnessContext) -> Provided:
    up, rec = ctx.mc_record()
    return Provided(up, "monte_carlo:kl_chernoff v1",
                    f"upper bound on the 0-1 empirical risk of {ctx.opts.describe(ctx.sigma, ctx.prior_sigma)} from "
                    f"{rec['n_passes']} passes "
                    f"(per_example), errors={rec['errors']}, delta_mc={rec['delta_mc']}; derivation in "
                    "extra.emp_risk_derivation")


def per_example_errors(fm: FlatModel, std: np.ndarray | float, passes: int, seed: int) -> int:
    """0-1 errors of ``passes`` passes over the data, each example classified by its own draw ``w + std u``
    (``std`` a float or one standard deviation per parameter)."""
    import torch
    from torch.func import vmap

    g = torch.Generator().manual_seed(seed)
    sd = torch.from_numpy(std) if isinstance(std, np.ndarray) else float(std)
    chunk = max(1, min(512, int(2e7 // max(fm.dim, 1))))
    errors = 0

    def one(wf: Any, xi: Any) -> Any:
        return fm.logits(wf, xi.unsqueeze(0))[0]

    with torch.no_grad():
        for _ in range(passes):
            for i in range(0, fm.n, chunk):
                xb, yb = fm.x[i : i + chunk], fm.y[i : i + chunk]
                W = fm.w.unsqueeze(0) + sd * torch.randn((xb.shape[0], fm.dim), generator=g, dtype=fm.w.dtype)
                errors += int((vmap(one)(W, xb).argmax(1) != yb).sum())
    return errors


def flatness_search(fm: FlatModel, opts: FlatnessOptions) -> tuple[str, list[dict[str, Any]]]:
    """The largest grid scale whose Monte Carlo error increase is ``<= target`` (module docstring, step 1)."""
    import torch

    base = fm.error_and_loss(fm.w)[0]
    g = torch.Generator().manual_seed(opts.seed)
    noise = [torch.randn(fm.w.shape, generator=g, dtype=fm.w.dtype) for _ in range(opts.search_draws)]
    rows, chosen = [], None
    target = float(Fraction(opts.target))
    w = fm.numpy_w()
    for s in sorted(opts.sigmas, key=Fraction, reverse=True):
        std = opts.std(w, s)
        sd = torch.from_numpy(std) if isinstance(std, np.ndarray) else std
        inc = float(np.mean([fm.error_and_loss(fm.w + sd * xi)[0] for xi in noise])) - base
        rows.append({"sigma": s, "error_increase_estimate": inc})
        if chosen is None and inc <= target:
            chosen = s
    return (chosen if chosen is not None else min(opts.sigmas, key=Fraction)), rows


def prior_scale(w: np.ndarray, std: np.ndarray, w0: np.ndarray, grid: tuple[str, ...]) -> str:
    """The prior scale of ``grid`` whose KL (float evaluation: a choice, covered by the union bound) is smallest."""
    s = float(sum_sq_exact(std, w, w0))
    log_sd = float(np.log(std.astype(np.float64)).sum())
    return min(grid, key=lambda t: (kl_float(s, log_sd, int(w.size), 2 * math.log(float(t))), Fraction(t)))


def flatness_certificate(module: Any, x: np.ndarray, y: np.ndarray, opts: FlatnessOptions, *,
                         model_info: dict[str, Any], data_info: dict[str, Any], init: Any = None,
                         init_info: dict[str, Any] | None = None, reproduce: str = "") -> Certificate:
    """The PAC-Bayes flatness certificate of ``module`` on its training sample ``(x, y)`` (module docstring).

    Args:
        module: the trained classifier; x, y: the training sample the bound is about.
        opts: :class:`FlatnessOptions`; init: the initialisation module (``opts.prior_mean == "init"``).
        model_info, data_info: recorded as the certificate's ``model`` / ``data``; init_info: the initialisation's
            record (path, sha256). reproduce: the command line.
    Raises:
        InvalidInput: bad options, ``prior_mean="init"`` without an initialisation, mismatched architectures.
    """
    from certify.pipeline import assemble

    fm = flat_model(module, x, y, dtype="float32", batch=2048)
    if opts.prior_mean == "init":
        if init is None:
            raise InvalidInput("prior_mean='init' needs the initialisation checkpoint: give --init FILE")
        fi = flat_model(init, x[:1], y[:1], dtype="float32")
        if fi.names != fm.names or fi.shapes != fm.shapes:
            raise InvalidInput("the initialisation's parameters differ from the model's: give the same architecture")
        w0 = fi.numpy_w()
    else:
        w0 = np.zeros(fm.dim, dtype=np.float32)
    sigma, rows = flatness_search(fm, opts)
    t = theorems.get(THEOREM)
    ctx = FlatnessContext(fm, w0, sigma, opts, dict(data_info), prior_sigma=sigma)
    if opts.posterior == "mag":
        ctx.prior_sigma = prior_scale(fm.numpy_w(), cast(np.ndarray, ctx.std()), w0, opts.prior_sigmas)
    provided = provide(ctx, theorems.tree_symbols(t.tree()))
    _, rec = ctx.mc_record()
    each = opts.delta_each()
    total = str(Decimal(opts.delta) + Decimal(opts.delta_mc))
    split = [{"use": THEOREM, "delta": _fraction_text(each)}]
    if opts.n_priors() > 1:
        split.append({"use": f"union bound: the other {opts.n_priors() - 1} priors of the {opts.grid_name()}",
                      "delta": _fraction_text(Fraction(opts.delta) - each)})
    split.append({"use": "monte_carlo:kl_chernoff (emp_risk of Q)", "delta": opts.delta_mc})

    model = dict(model_info)
    model["kind"] = (f"diagonal Gaussian posterior {opts.describe(sigma, ctx.prior_sigma)}: w the parameters of "
                     f"the model file, sigma = {sigma} (extra.flatness)")
    model.setdefault("path", "<module>")

    def claim(result: Interval) -> str:
        from certify.checker.core import claim_subject, claim_text

        subject, over, exact = claim_subject({}, model)
        return claim_text(subject, at_least=False, end=result.hi_str(20), delta_total=total, over=over, exact=exact)

    extra = {"flatness": {"sigma": sigma, "grid": list(opts.sigmas), "search": rows, "posterior": opts.posterior,
                          "prior_sigma": ctx.prior_sigma, "prior_grid": list(opts.prior_sigmas),
                          "base_error": fm.error_and_loss(fm.w)[0], "n_params": fm.dim,
                          "prior": {"mean": opts.prior_mean, **(init_info or {})}},
             "emp_risk_derivation": rec}
    return assemble(t, provided, context="flatness", claim=claim, model=model, data=data_info,
                    delta={"total": total, "split": split}, options=opts.to_dict(), reproduce=reproduce, extra=extra)




def model_record(loaded: Any) -> dict[str, Any]:
    """What a certificate records about a loaded model file (path as given, hashes, format, architecture)."""
    from certify.models.hashing import model_sha256

    info: dict[str, Any] = {"sha256": model_sha256(loaded.module)}
    if loaded.path is not None:  # a bare name: ``check --recompute`` reads it only beside the certificate
        info["path"] = Path(loaded.path).name
    if loaded.file_sha256 is not None:
        info["file_sha256"] = loaded.file_sha256
        info["format"] = loaded.description.split(" file ")[0]
    if loaded.arch:
        info["arch"] = loaded.arch
    return info


def data_record(ds: Any, spec: str) -> dict[str, Any]:
    """What a certificate records about the training sample (``spec``: the ``--data`` text, replayed by recompute)."""
    if Path(spec).is_file():
        spec = Path(spec).name  # a bare name, as the model's
    return {"name": ds.name, "split": ds.split, "n": ds.n, "sha256": ds.sha256, "spec": spec,
            **({"file_sha256": ds.file_sha256} if ds.file_sha256 else {})}


def run_flatness(model: str, data: str, opts: FlatnessOptions, *, arch: str | None = None, init: str | None = None,
                 reproduce: str = "") -> Certificate:
    """:func:`flatness_certificate` from a model file and a data specification (``certify landscape`` and
    ``certify check --recompute`` both come through here). Files are recorded by their bare names: ``--recompute``
    reads them beside the certificate, or from ``--model`` / ``--data``; the initialisation only beside it."""
    from certify.data import load_data
    from certify.models import load_model

    loaded = load_model(model, arch)
    ds = load_data(data)
    init_module, init_info = None, None
    if opts.prior_mean == "init" or init is not None:
        if init is None:
            raise InvalidInput("prior_mean='init' needs the initialisation checkpoint: give --init FILE")
        li = load_model(init, arch)
        init_module = li.module
        init_info = {"path": Path(str(li.path)).name, "file_sha256": li.file_sha256}
        if opts.prior_mean != "init":
            raise InvalidInput("--init was given but the prior mean is 'zero': add --prior-mean init or drop --init")
    return flatness_certificate(loaded.module, ds.x, ds.y, opts, model_info=model_record(loaded),
                                data_info=data_record(ds, str(data)), init=init_module, init_info=init_info,
                                reproduce=reproduce)
