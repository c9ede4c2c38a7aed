"""The library's MLP (:func:`library_mlp`, a torch module like any user's, posteriors over it are module posteriors
of :mod:`certify.models.module_posterior`), and the stored MLP posterior format of earlier certificates.

Format ``boundcert-gaussian-mlp-v1`` (written by releases before the MLP path was folded into the module path, read
here so that their certificates still verify and replay): ``mu.i``, ``sigma.i``, ``prior_mu.i`` (float32) per layer
tensor ``[W1, b1, W2, b2, ...]`` in a safetensors file, the widths in the metadata. Every step of a replay (the KL
enclosure, the Monte Carlo sampling through :class:`GaussianMLP`) reads that file; the certificate names its sha256.

Sampling. ``forward(x, mode="local")`` draws an independent network *per example* by the local reparameterisation
(Kingma et al. 2015): for a layer with independent Gaussian weights the pre-activation of one example is exactly
Gaussian with mean ``x mu^T + b_mu`` and variance ``x^2 (sigma^2)^T + sigma_b^2``; layers are independent, so the
output has the law of a network drawn from Q for that example alone. ``mode="network"`` draws one network for the
whole batch. Float32 sampling noise only changes which networks are drawn, not the posterior being certified.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from boundcert.errors import InvalidInput
from certify.models.hashing import file_sha256

__all__ = ["GaussianMLP", "StoredPosterior", "load_posterior", "mlp_init", "library_mlp", "save_library_mlp",
           "SampleMode"]

SampleMode = Literal["local", "network", "mean"]


def mlp_init(sizes: tuple[int, ...], seed: int) -> list[np.ndarray]:
    """Seeded data-independent initialisation ``[W1, b1, W2, b2, ...]`` (float32).

    Weights uniform on the grid ``k / 2^15 * sqrt(1/fan_in) * sqrt(3)``-scaled (He-like), built from integers of
    numpy's PCG64 so that the values are reproducible bit for bit; biases 0.
    """
    rng = np.random.Generator(np.random.PCG64(seed))
    out: list[np.ndarray] = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        k = rng.integers(-(1 << 15), 1 << 15, size=(b, a), dtype=np.int64)
        scale = np.float32(np.sqrt(6.0 / a) / (1 << 15))
        out.append((k.astype(np.float32) * scale).astype(np.float32))
        out.append(np.zeros(b, dtype=np.float32))
    return out


def library_mlp(sizes: tuple[int, ...]) -> Any:
    """The library's MLP as a torch module: ``Flatten`` then ``Linear`` layers of widths ``sizes`` with ReLU between
    (its :func:`certify.models.module_posterior.seeded_init` is :func:`mlp_init`, bit for bit).

    Raises:
        InvalidInput: fewer than two widths, or a width below 1.
    """
    import torch

    from certify.models.zoo import _mlp

    if len(sizes) < 2 or min(sizes) < 1:
        raise InvalidInput(f"sizes={tuple(sizes)}: give at least an input and an output width, e.g. 784,256,10")
    return torch.nn.Sequential(torch.nn.Flatten(), *_mlp(tuple(sizes))).eval()


def save_library_mlp(sizes: tuple[int, ...], out: str | Path) -> tuple[Any, dict]:
    """:func:`library_mlp` written atomically as TorchScript ``out/model.pt`` (the model file the certificate names;
    the loader rebuilds it as the eager module, its weights are never used); returns the module and the
    ``model_info`` record of :func:`certify.training.pacbayes.run_module_pacbayes`."""
    import io

    import torch

    from certify.certificate import atomic_write_bytes

    net = library_mlp(sizes)
    path = Path(out) / "model.pt"
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    torch.jit.save(torch.jit.script(net), buf)
    atomic_write_bytes(path, buf.getvalue())
    return net, {"name": path.name, "path": str(path.resolve()), "arch": None, "file_sha256": file_sha256(path),
                 "description": f"the library's MLP {'-'.join(map(str, sizes))} ReLU (TorchScript {path.name})"}


class GaussianMLP:
    """Factory namespace (the torch class is built lazily so that importing certify does not import torch)."""

    def __new__(cls, sizes: tuple[int, ...], mean_init: list[np.ndarray], prior_mean: list[np.ndarray],
                sigma_init: float):
        return _make_module(sizes, mean_init, prior_mean, sigma_init)


def _make_module(sizes, mean_init, prior_mean, sigma_init):
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    class _GaussianMLP(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.sizes = tuple(sizes)
            rho0 = float(np.log(np.expm1(sigma_init)))
            self.mu = nn.ParameterList([nn.Parameter(torch.from_numpy(np.array(t, dtype=np.float32))) for t in mean_init])
            self.rho = nn.ParameterList([nn.Parameter(torch.full(t.shape, rho0)) for t in mean_init])
            for i, t in enumerate(prior_mean):
                self.register_buffer(f"prior{i}", torch.from_numpy(np.array(t, dtype=np.float32)))

        def prior(self) -> list:
            return [getattr(self, f"prior{i}") for i in range(len(self.mu))]

        def sigmas(self) -> list:
            return [F.softplus(r) for r in self.rho]

        def forward(self, x, mode: SampleMode = "local"):
            h = x.reshape(x.shape[0], -1)
            sig = self.sigmas()
            n_layers = len(self.mu) // 2
            for li in range(n_layers):
                W, b = self.mu[2 * li], self.mu[2 * li + 1]
                sW, sb = sig[2 * li], sig[2 * li + 1]
                if mode == "mean":
                    h = F.linear(h, W, b)
                elif mode == "network":
                    h = F.linear(h, W + sW * torch.randn_like(W), b + sb * torch.randn_like(b))
                else:
                    mean = F.linear(h, W, b)
                    var = F.linear(h * h, sW * sW, sb * sb)
                    h = mean + torch.sqrt(var) * torch.randn_like(mean)
                if li < n_layers - 1:
                    h = F.relu(h)
            return h

    return _GaussianMLP()


class PosteriorArrays:
    """What every stored diagonal Gaussian posterior offers: its ``mu``, ``sigma`` and prior mean flattened in
    storage order, and the number of parameters (a mixin of the stored posterior dataclasses)."""

    __slots__ = ()
    mu: tuple[np.ndarray, ...]
    sigma: tuple[np.ndarray, ...]
    prior_mu: tuple[np.ndarray, ...]

    def flat(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        cat = lambda ts: np.concatenate([t.ravel() for t in ts])  # noqa: E731
        return cat(self.mu), cat(self.sigma), cat(self.prior_mu)

    @property
    def n_params(self) -> int:
        return int(sum(t.size for t in self.mu))


@dataclass(frozen=True, slots=True)
class StoredPosterior(PosteriorArrays):
    """The certified object: float32 ``mu``, ``sigma`` and the prior's mean, per layer tensor, as stored."""

    sizes: tuple[int, ...]
    mu: tuple[np.ndarray, ...]
    sigma: tuple[np.ndarray, ...]
    prior_mu: tuple[np.ndarray, ...]
    path: str
    sha256: str
    meta: dict

    def arch_text(self) -> str:
        return f"MLP {'-'.join(map(str, self.sizes))} ReLU"

    def kind_text(self) -> str:
        return "diagonal Gaussian posterior over an MLP"

    def module(self):
        """A :class:`GaussianMLP` whose ``mu`` and ``sigma`` are the stored values (sigma reproduced exactly)."""
        import torch

        net = GaussianMLP(self.sizes, list(self.mu), list(self.prior_mu), 0.01)
        sig = [torch.from_numpy(s.copy()) for s in self.sigma]
        net.sigmas = lambda: sig  # the stored sigma, bit for bit (no softplus round trip)
        return net.eval()


def load_posterior(path: str | Path) -> StoredPosterior:
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise InvalidInput(f"posterior={str(path)!r} does not exist: give the safetensors file `certify optimize` wrote")
    with safe_open(str(path), framework="numpy") as fh:
        md = fh.metadata() or {}
        if md.get("format") != "boundcert-gaussian-mlp-v1":
            raise InvalidInput(f"posterior={str(path)!r} is not a boundcert Gaussian MLP posterior (metadata format)")
        sizes = tuple(json.loads(md["sizes"]))
        n = 2 * (len(sizes) - 1)
        get = lambda k: tuple(np.ascontiguousarray(fh.get_tensor(f"{k}.{i}")) for i in range(n))  # noqa: E731
        mu, sigma, prior = get("mu"), get("sigma"), get("prior_mu")
    for s in sigma:
        if not (np.all(np.isfinite(s)) and np.all(s > 0)):
            raise InvalidInput(f"posterior={str(path)!r} has a sigma that is not finite and > 0")
    return StoredPosterior(sizes, mu, sigma, prior, str(path), file_sha256(path), json.loads(md.get("meta", "{}")))
