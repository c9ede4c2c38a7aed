"""Diagonal Gaussian posteriors over a user's torch module: which parameters carry a posterior, a seeded
data-independent initialisation, the stored form that is certified, and the Monte Carlo error count.

Parameters with a posterior (:func:`posterior_parameters`): the weights and biases of ``Linear``, ``Conv1d`` and
``Conv2d`` (any ``groups``) and the affine ``weight``/``bias`` of ``BatchNorm1d``/``BatchNorm2d``. A module with any
other parameter is refused (the layer is named); so is a module without any. Buffers (BatchNorm running statistics,
``num_batches_tracked``) are *fixed*: they are stored beside the posterior, are the same in every sampled network and
in the prior, and so do not enter the KL; every network is evaluated in eval mode (running statistics used).

A sampled network is the user's module with its parameters replaced by ``mu + sigma * eps`` (``eps`` standard
normal, float32), evaluated by :func:`torch.func.functional_call`; nothing in the module is modified.

Stored form (safetensors, format ``boundcert-gaussian-module-v1``): ``mu.NAME``, ``sigma.NAME``, ``prior_mu.NAME``
(float32) per parameter in :func:`posterior_parameters` order, ``fixed.NAME`` per buffer, the parameter order in the
metadata. The KL enclosure (:func:`certify.quantities.pacbayes.kl_enclosure`) reads :meth:`StoredModulePosterior.flat`
of this file; the Monte Carlo count (:func:`module_mc_errors`) reads the same file and the module's structure.

Monte Carlo (exact integer counts of argmax errors of the float32 CPU execution, TF32 off): ``per_network`` draws one
network per pass for every example; ``per_example`` draws an independent network for every example (per-example
parameters, batched by :func:`torch.func.vmap`; or, for a posterior stored with ``meta["sampler"] ==
"local_reparameterisation"`` over a :func:`linear_stack` such as the library's MLP, by :func:`local_forward`). The draws come from torch's CPU generator seeded with ``seed`` in a
fixed order (batch size :func:`mc_batch_size`), so a replay on the same software draws the same networks. Float32
sampling only changes which networks are drawn; the count is exact for the networks drawn.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from boundcert.errors import InvalidInput
from certify.models.hashing import file_sha256
from certify.models.posterior import PosteriorArrays

__all__ = ["FORMAT", "LOCAL", "StoredModulePosterior", "posterior_parameters", "seeded_init", "state_arrays",
           "save_module_posterior", "load_module_posterior", "module_mc_errors", "mc_batch_size", "sampled_forward",
           "linear_stack", "local_forward"]

FORMAT = "boundcert-gaussian-module-v1"
LOCAL = "local_reparameterisation"  # meta["sampler"] of a posterior whose per-example draws use local_forward
_PERTURBED = ("Linear", "Conv1d", "Conv2d", "BatchNorm1d", "BatchNorm2d")


def _kinds():
    import torch.nn as nn

    return (nn.Linear, nn.Conv1d, nn.Conv2d, nn.BatchNorm1d, nn.BatchNorm2d)


def posterior_parameters(module: Any) -> tuple[str, ...]:
    """Names of the parameters that carry a posterior, in ``named_parameters`` order.

    Raises:
        InvalidInput: a parameter of another layer type (named), or no parameter with a posterior at all.
    """
    kinds = _kinds()
    owner = {}
    for mname, sub in module.named_modules():
        for pname, _ in sub.named_parameters(recurse=False):
            owner[f"{mname}.{pname}" if mname else pname] = sub
    names = []
    for name, _ in module.named_parameters():
        sub = owner[name]
        if not isinstance(sub, kinds):
            kind = getattr(sub, "original_name", None)
            what = f"a TorchScript {kind} layer" if kind else f"a {type(sub).__name__} layer"
            raise InvalidInput(f"parameter {name!r} belongs to {what}, which has no posterior: PAC-Bayes posteriors "
                               f"cover eager {', '.join(_PERTURBED)} layers (save the weights as safetensors with "
                               "--arch, or make the other parameters buffers)")
        names.append(name)
    if not names:
        raise InvalidInput(f"the model ({type(module).__name__}) has no parameter with a posterior: give a network "
                           f"with {', '.join(_PERTURBED)} layers")
    return tuple(names)


def state_arrays(module: Any) -> dict[str, np.ndarray]:
    """The module's state dict as numpy arrays (copies; float tensors as float32)."""
    out = {}
    for k, v in module.state_dict().items():
        a = v.detach().cpu().numpy().copy()
        out[k] = a.astype(np.float32) if np.issubdtype(a.dtype, np.floating) else a
    return out


def seeded_init(module: Any, seed: int) -> dict[str, np.ndarray]:
    """A data-independent, bit-reproducible state for the module's architecture (float32 / int64 arrays).

    Linear/Conv weights: uniform on the grid ``k / 2^15 * sqrt(6 / fan_in)`` (``k`` integers of numpy's PCG64,
    He-uniform scale, ``fan_in`` = entries of one output filter); their biases 0; BatchNorm weight 1, bias 0,
    running mean 0, running variance 1, ``num_batches_tracked`` 0. Entries are drawn in state-dict order.
    """
    import torch.nn as nn

    posterior_parameters(module)  # refuses layers without a posterior before anything else
    rng = np.random.Generator(np.random.PCG64(seed))
    out: dict[str, np.ndarray] = {}
    for mname, sub in module.named_modules():
        for key, t in list(sub.named_parameters(recurse=False)) + list(sub.named_buffers(recurse=False)):
            full = f"{mname}.{key}" if mname else key
            shape = tuple(t.shape)
            if isinstance(sub, (nn.Linear, nn.Conv1d, nn.Conv2d)) and key == "weight":
                fan_in = int(np.prod(shape[1:]))
                k = rng.integers(-(1 << 15), 1 << 15, size=shape, dtype=np.int64)
                out[full] = (k.astype(np.float32) * np.float32(np.sqrt(6.0 / fan_in) / (1 << 15))).astype(np.float32)
            elif key in ("weight", "running_var"):
                out[full] = np.ones(shape, dtype=np.float32)
            elif key == "num_batches_tracked":
                out[full] = np.zeros(shape, dtype=np.int64)
            else:
                out[full] = np.zeros(shape, dtype=np.float32)
    return {k: out[k] for k in module.state_dict()}


@dataclass(frozen=True, slots=True, eq=False)
class StoredModulePosterior(PosteriorArrays):
    """The certified object: float32 ``mu``, ``sigma``, prior mean per parameter, the fixed buffers, as stored;
    ``template`` is the user's module (structure only: its own tensors are never read)."""

    names: tuple[str, ...]
    mu: tuple[np.ndarray, ...]
    sigma: tuple[np.ndarray, ...]
    prior_mu: tuple[np.ndarray, ...]
    fixed: dict
    path: str
    sha256: str
    meta: dict
    template: Any = None

    def arch_text(self) -> str:
        return str(self.meta.get("arch") or type(self.template).__name__)

    def kind_text(self) -> str:
        return "diagonal Gaussian posterior over a torch module (Linear/Conv/BatchNorm parameters)"

    def mean_state(self) -> dict[str, np.ndarray]:
        return {**dict(zip(self.names, self.mu)), **self.fixed}

    def prior_state(self) -> dict[str, np.ndarray]:
        return {**dict(zip(self.names, self.prior_mu)), **self.fixed}


def save_module_posterior(names, mu, sigma, prior_mu, fixed: dict[str, np.ndarray], path: str | Path,
                          meta: dict | None = None, template: Any = None) -> StoredModulePosterior:
    """Store the posterior (float32 ``mu``, ``sigma``, ``prior_mu`` per name; the fixed buffers) atomically."""
    import torch
    from safetensors.torch import save as save_bytes

    from certify.certificate import atomic_write_bytes

    tensors = {}
    for n, m_, s_, p_ in zip(names, mu, sigma, prior_mu):
        for key, a in (("mu", m_), ("sigma", s_), ("prior_mu", p_)):
            tensors[f"{key}.{n}"] = torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32).copy())
    for n, a in fixed.items():
        tensors[f"fixed.{n}"] = torch.from_numpy(np.ascontiguousarray(a).copy())
    md = {"format": FORMAT, "names": json.dumps(list(names)), "fixed": json.dumps(list(fixed)),
          "meta": json.dumps(meta or {}, sort_keys=True)}
    atomic_write_bytes(Path(path), save_bytes(tensors, metadata=md))
    return load_module_posterior(path, template)


def load_module_posterior(path: str | Path, template: Any = None) -> StoredModulePosterior:
    """Read a stored module posterior; with ``template``, its parameters and buffers must match the module's."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise InvalidInput(f"posterior={str(path)!r} does not exist: give the safetensors file `certify optimize` wrote")
    try:
        with safe_open(str(path), framework="numpy") as fh:
            md = fh.metadata() or {}
            if md.get("format") != FORMAT:
                raise InvalidInput(f"posterior={str(path)!r} is not a boundcert module posterior (metadata format)")
            names, fixed_names = tuple(json.loads(md["names"])), json.loads(md["fixed"])
            get = lambda k: tuple(np.ascontiguousarray(fh.get_tensor(f"{k}.{n}")) for n in names)  # noqa: E731
            mu, sigma, prior = get("mu"), get("sigma"), get("prior_mu")
            fixed = {n: np.ascontiguousarray(fh.get_tensor(f"fixed.{n}")) for n in fixed_names}
    except InvalidInput:
        raise
    except (OSError, KeyError, ValueError) as exc:
        raise InvalidInput(f"posterior={str(path)!r} is not a readable posterior file ({type(exc).__name__})") from None
    for n, s in zip(names, sigma):
        if not (np.all(np.isfinite(s)) and np.all(s > 0)):
            raise InvalidInput(f"posterior={str(path)!r}: sigma of {n!r} is not finite and > 0 everywhere")
    if template is not None:
        state = template.state_dict()
        if tuple(posterior_parameters(template)) != names or set(fixed) != set(state) - set(names):
            raise InvalidInput(f"posterior={str(path)!r} does not fit the model's parameters and buffers: give the "
                               "model (and --arch) the posterior was optimised for")
        for n, m_ in zip(names, mu):
            if tuple(state[n].shape) != m_.shape:
                raise InvalidInput(f"posterior={str(path)!r}: {n!r} has shape {m_.shape}, the model's is "
                                   f"{tuple(state[n].shape)}: give the matching model")
    return StoredModulePosterior(names, mu, sigma, prior, fixed, str(path), file_sha256(path),
                                 json.loads(md.get("meta", "{}")), template)


def sampled_forward(template: Any, params: dict, fixed: dict, x: Any) -> Any:
    """The module evaluated with ``params`` (parameters, torch tensors) and ``fixed`` (buffers), eval mode."""
    from torch.func import functional_call

    return functional_call(template, {**params, **fixed}, (x,))


def linear_stack(module: Any) -> bool:
    """``module`` is a ``Sequential`` of ``Flatten``, ``Linear`` and ``ReLU`` only (the library's MLP is one)."""
    import torch.nn as nn

    return isinstance(module, nn.Sequential) and len(module) > 0 and all(
        type(m) in (nn.Flatten, nn.Linear, nn.ReLU) for m in module)


def local_forward(template: Any, mu: dict, sigma: dict, x: Any) -> Any:
    """Logits of an independent network from ``N(mu, diag sigma^2)`` for *every example* of ``x``, by the local
    reparameterisation (Kingma, Salimans, Welling, NeurIPS 2015): for a ``Linear`` layer with independent Gaussian
    weights, the pre-activation of one example is exactly Gaussian with mean ``h mu_W^T + mu_b`` and variance
    ``h^2 (sigma_W^2)^T + sigma_b^2``, independent across units; layers are independent, so each row of the output
    has the law of that example's own network (exact in real arithmetic; float32 evaluation only changes which
    networks are drawn). ``template`` must be a :func:`linear_stack`; ``mu``/``sigma`` map parameter names to torch
    tensors (differentiable: also the training sampler)."""
    import torch
    import torch.nn.functional as F

    if not linear_stack(template):
        raise InvalidInput(f"local reparameterisation needs a Sequential of Flatten/Linear/ReLU, not "
                           f"{type(template).__name__}: draw per-example parameters instead")
    h = x
    for idx, layer in template.named_children():
        if isinstance(layer, torch.nn.Linear):
            w, b = f"{idx}.weight", f"{idx}.bias"
            mean = F.linear(h, mu[w], mu.get(b))
            var = F.linear(h * h, sigma[w] ** 2, sigma[b] ** 2 if b in sigma else None)
            h = mean + torch.sqrt(var) * torch.randn_like(mean)
        else:
            h = layer(h)
    return h


def mc_batch_size(n_params: int) -> int:
    """Examples per per-example batch: ``clip(2^24 // n_params, 1, 1024)`` (a fixed function of the model size, so
    that a replay draws the same networks)."""
    return int(min(1024, max(1, (1 << 24) // max(1, n_params))))


def module_mc_errors(post: StoredModulePosterior, x: np.ndarray, y: np.ndarray, n: int, *,
                     mode: Literal["per_network", "per_example"], seed: int, progress: bool = True) -> int:
    """0-1 errors of ``n`` Monte Carlo passes over ``(x, y)``, an exact integer out of ``n * len(y)``."""
    import torch
    from torch.func import vmap

    from certify.certificate.environment import strict_float_torch
    from certify.reports.progress import progress as bar

    if post.template is None:
        raise InvalidInput("the posterior was loaded without its model: give the model (and --arch) it belongs to")
    strict_float_torch()
    template = post.template.eval()
    local = post.meta.get("sampler") == LOCAL
    if local and not linear_stack(template):
        raise InvalidInput(f"posterior={post.path!r} was sampled by local reparameterisation, which needs a Sequential "
                           "of Flatten/Linear/ReLU: give the model it was optimised for")
    torch.manual_seed(seed)
    mus = {k: torch.from_numpy(m.copy()) for k, m in zip(post.names, post.mu)}
    sig = {k: torch.from_numpy(s.copy()) for k, s in zip(post.names, post.sigma)}
    fixed = {k: torch.from_numpy(np.array(v)) for k, v in post.fixed.items()}
    xt, yt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)), torch.from_numpy(np.asarray(y, np.int64))
    errors = 0

    def one(p, xi):
        return sampled_forward(template, p, fixed, xi[None])[0]

    with torch.no_grad():
        for _ in bar(range(n), desc=f"monte carlo ({mode})", unit="pass", enabled=progress):
            if mode == "per_network":
                ps = {k: mus[k] + sig[k] * torch.randn_like(mus[k]) for k in post.names}
                for i in range(0, len(yt), 4096):
                    out = sampled_forward(template, ps, fixed, xt[i : i + 4096])
                    errors += int((out.argmax(1) != yt[i : i + 4096]).sum())
                continue
            if local:
                for i in range(0, len(yt), 2048):
                    out = local_forward(template, mus, sig, xt[i : i + 2048])
                    errors += int((out.argmax(1) != yt[i : i + 2048]).sum())
                continue
            bsz = mc_batch_size(post.n_params)
            for i in range(0, len(yt), bsz):
                xb = xt[i : i + bsz]
                ps = {k: mus[k] + sig[k] * torch.randn((len(xb), *mus[k].shape)) for k in post.names}
                out = vmap(one)(ps, xb)
                errors += int((out.argmax(1) != yt[i : i + bsz]).sum())
    return errors
