"""Compression certificates: prune, quantise, code with a real coder, and bound the rebuilt network's risk.

Two fixed decoders (chosen before the data is seen; their parameters are recorded in the certificate):

* ``direct`` (Zhou et al. 2019 style): every weight and bias of an MLP is ``scale * n_i`` with integers ``n_i``
  (pruned weights are 0), coded sparsely (zero runs + levels, :mod:`certify.models.codec`); the float32 ``scale`` is a
  32-bit prefix of the code.
* ``subspace`` (Lotfi et al. 2022, intrinsic-dimension training): the weights are ``w = w0 + P (scale n)`` with
  ``w0`` and the ``D x d`` Rademacher matrix ``P`` generated from the decoder's seed, ``n`` the ``d`` coded integers.
  ``P n`` is an exact integer product (int64), ``w = float32(float64(w0) + float64(scale) * (P n))``: every
  operation is an IEEE elementwise operation, so the decoder rebuilds the model bit for bit on any IEEE machine.

The certificate is about the network the decoder rebuilds from the code. Its training errors ``k`` are counted
exactly (torch float32 CPU forward pass, argmax; TF32 off), ``emp_risk = k/m`` is an exact rational, and the code
length ``code_bits`` is the exact number of bits the encoder wrote (side information included). The bound is
:data:`theorems.compression.occam_catoni` (Catoni with the union over gamma); gamma is chosen to minimise it.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Mapping

import numpy as np

import theorems
from certify.certificate import Certificate, atomic_write_bytes
from certify.models.codec import Code, encode
from certify.models.compressed import Decoder, rebuild, split_flat
from certify.models.hashing import file_sha256, weights_sha256
from certify.models.posterior import mlp_init
from certify.models.predict import mlp_errors
from certify.pipeline import assemble
from certify.quantities.code_length import CodeContext
from certify.quantities.registry import provide
from theorems import Interval

__all__ = ["Decoder", "quantise", "rebuild", "train_subspace", "compression_certificate",
           "QuantMethod", "CompressionConfig", "CompressionResult", "run_compression"]

QuantMethod = Literal["kmeans", "uniform"]


def quantise(z: np.ndarray, *, n_levels: int, method: QuantMethod, prune: float = 0.0, grid: int = 1 << 12,
             seed: int = 0) -> tuple[np.ndarray, np.float32]:
    """Integers ``n`` and a float32 ``scale`` with ``scale * n ~ z``.

    ``prune``: the fraction of smallest-magnitude entries set to 0. Levels: ``uniform`` (``n_levels`` evenly spaced
    over the range) or ``kmeans`` (learned: 1-d k-means on the kept entries), each then snapped to the integer grid
    ``scale * k`` with ``scale = max|z| / grid``.
    """
    z = np.asarray(z, dtype=np.float64).ravel()
    scale = np.float32(max(np.max(np.abs(z)), 1e-30) / grid)
    keep = np.ones(z.size, dtype=bool)
    if prune > 0:
        keep = np.abs(z) > np.quantile(np.abs(z), prune)
    zk = z[keep]
    if method == "uniform":
        centers = np.linspace(zk.min(), zk.max(), n_levels)
    else:
        centers = np.quantile(zk, (np.arange(n_levels) + 0.5) / n_levels)
        for _ in range(30):
            lab = np.argmin(np.abs(zk[:, None] - centers[None, :]), axis=1)
            for c in range(n_levels):
                if np.any(lab == c):
                    centers[c] = zk[lab == c].mean()
    ints = np.round(centers / float(scale)).astype(np.int64)
    lab = np.argmin(np.abs(zk[:, None] - centers[None, :]), axis=1)
    n = np.zeros(z.size, dtype=np.int64)
    n[keep] = ints[lab]
    return n, scale


def encode_model(decoder: Decoder, n: np.ndarray, scale: np.float32, side: tuple[int, ...] = ()) -> Code:
    """The code: the float32 scale's 32 bits, the ``side`` words, then the integers (format of
    :mod:`certify.models.codec`)."""
    word = struct.unpack("<I", struct.pack("<f", float(scale)))[0]
    return encode(n, sparse=decoder.sparse, prefix=(word, *side))


def train_subspace(decoder: Decoder, x: np.ndarray, y: np.ndarray, *, epochs: int, lr: float = 1e-2,
                   batch: int = 256, seed: int = 0, progress: bool = True) -> np.ndarray:
    """Train the ``d`` subspace coordinates ``z`` (``w = w0 + P z``) with Adam on the cross-entropy."""
    import torch
    import torch.nn.functional as F
    from tqdm import tqdm

    torch.manual_seed(seed)
    P = torch.from_numpy(decoder.projection().astype(np.float32))
    w0 = torch.from_numpy(decoder.w0())
    u = torch.nn.Parameter(torch.zeros(decoder.d))  # z = u / sqrt(d): P z has O(1) entries per unit of u
    opt = torch.optim.Adam([u], lr=lr)
    root = math.sqrt(decoder.d)
    xt = torch.from_numpy(np.ascontiguousarray(x.reshape(len(x), -1)))
    yt = torch.from_numpy(y.astype(np.int64))
    rng = np.random.Generator(np.random.PCG64(seed))
    sizes = decoder.sizes
    bar = tqdm(range(epochs), desc=f"subspace training (d={decoder.d})", unit="epoch", disable=not progress)
    for _ in bar:
        order = torch.from_numpy(rng.permutation(len(yt)))
        for i in range(0, len(yt), batch):
            idx = order[i : i + batch]
            flat = w0 + P @ (u / root)
            h, j = xt[idx], 0
            for li, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
                W = flat[j : j + a * b].view(b, a)
                bb = flat[j + a * b : j + a * b + b]
                j += a * b + b
                h = F.linear(h, W, bb)
                if li < len(sizes) - 2:
                    h = F.relu(h)
            loss = F.cross_entropy(h, yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        bar.set_postfix(loss=f"{loss.item():.3f}")
    return u.detach().numpy().astype(np.float64) / root


def compression_certificate(decoder: Decoder, code: Code, code_path: str | Path, x: np.ndarray, y: np.ndarray, *,
                            delta: str, data: dict, extra: dict, reproduce: str,
                            options: Mapping[str, Any] | None = None) -> Certificate:
    """Write the code, then provide the ``code`` context's quantities (the rebuilt model's exact errors, the exact
    code length) and assemble the Occam-Catoni certificate."""
    code_path = Path(code_path)
    atomic_write_bytes(code_path, code.data)
    ctx = CodeContext(decoder, code, code_path, x, y, data, delta)
    t = theorems.get("compression.occam_catoni")
    provided = provide(ctx, theorems.tree_symbols(t.tree()))
    whash = weights_sha256(ctx.weights())

    def claim(result: Interval) -> str:  # the checker's own generator: it regenerates and compares this text
        from certify.checker.core import claim_subject, claim_text

        subject, over, exact = claim_subject({}, {"code_bits": code.n_bits, "path": code_path.name,
                                                  "weights_sha256": whash})
        return claim_text(subject, at_least=False, end=result.hi_str(20), delta_total=delta, over=over, exact=exact)

    ex = dict(extra)
    gamma = int(provided["gamma"].value.lo)
    ex.update({"train_errors": ctx.errors(), "code_bits": code.n_bits, "gamma": gamma, "decoder": decoder.describe()})
    return assemble(
        t, provided, context="code", claim=claim,
        model={"path": code_path.name, "path_is_relative_to": "the certificate's directory",
               "code_sha256": file_sha256(code_path), "code_bits": code.n_bits, "weights_sha256": whash,
               "decoder": decoder.describe(), "arch": decoder.arch_text()},
        data=data, delta={"total": delta, "split": [{"use": t.id, "delta": delta}]},
        options=dict(options or {}), reproduce=reproduce, extra=ex,
    )


@dataclass(frozen=True, slots=True)
class CompressionConfig:
    """One compression run (seeds: ``seed`` for the decoder's ``w0``/``P`` and for training)."""

    sizes: tuple[int, ...]
    kind: Literal["direct", "subspace"] = "subspace"
    d: int = 1000
    n_levels: int = 8
    method: QuantMethod = "kmeans"
    prune: float = 0.0
    epochs: int = 5
    lr: float = 1e-2
    batch: int = 256
    delta: str = "0.05"
    seed: int = 0
    finetune_epochs: int = 0  # direct decoder: masked retraining after pruning (Han et al. 2016 / Zhou et al. 2019)


@dataclass(frozen=True, slots=True)
class CompressionResult:
    certificate: Certificate
    certificate_path: Path
    code_path: Path
    estimates: dict


def run_compression(cfg: CompressionConfig, train: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray],
                    out: str | Path, *, data_info: dict, reproduce: str = "", progress: bool = True
                    ) -> CompressionResult:
    """Train (subspace coordinates, or a plain MLP for ``direct``), quantise, code, certify; writes ``model.code``
    and ``certificate.json`` in ``out``."""
    import torch

    from certify.certificate import torch_threads
    from certify.training.pacbayes import config_record, train_network

    torch.set_num_threads(torch_threads(min(2, torch.get_num_threads())))
    out = Path(out)
    x = np.ascontiguousarray(train[0].reshape(len(train[0]), -1), dtype=np.float32)
    y = np.asarray(train[1])
    xt, yt = np.ascontiguousarray(test[0].reshape(len(test[0]), -1), dtype=np.float32), np.asarray(test[1])
    dec = Decoder(cfg.sizes, cfg.kind, d=cfg.d if cfg.kind == "subspace" else 0, seed=cfg.seed,
                  sparse=cfg.kind == "direct" or cfg.prune > 0)
    if cfg.kind == "subspace":
        z = train_subspace(dec, x, y, epochs=cfg.epochs, lr=cfg.lr, batch=cfg.batch, seed=cfg.seed,
                           progress=progress)
    else:
        ws = train_network(cfg.sizes, mlp_init(cfg.sizes, cfg.seed), x, y, epochs=cfg.epochs, lr=cfg.lr,
                           batch=cfg.batch, seed=cfg.seed, progress=progress)
        if cfg.prune > 0 and cfg.finetune_epochs > 0:
            flat = np.concatenate([w.ravel() for w in ws])
            keep = (np.abs(flat) > np.quantile(np.abs(flat), cfg.prune)).astype(np.float32)
            masks = split_flat(cfg.sizes, keep)
            ws = train_network(cfg.sizes, [w * m_ for w, m_ in zip(ws, masks)], x, y, epochs=cfg.finetune_epochs,
                               lr=cfg.lr, batch=cfg.batch, seed=cfg.seed + 1, progress=progress,
                               desc="fine-tuning the pruned network", masks=masks)
        z = np.concatenate([w.ravel() for w in ws]).astype(np.float64)
    n, scale = quantise(z, n_levels=cfg.n_levels, method=cfg.method, prune=cfg.prune)
    code = encode_model(dec, n, scale)
    cert = compression_certificate(
        dec, code, out / "model.code", x, y, delta=cfg.delta, data={**data_info, "n": int(len(y))},
        extra={"config": {k: getattr(cfg, k) for k in cfg.__slots__}, "seeds": {"decoder_and_training": cfg.seed}},
        reproduce=reproduce, options={"kind": "compress", "config": config_record(cfg), "data": data_info.get("spec")})
    weights = rebuild(dec, code)
    estimates = {"test_error_estimate": mlp_errors(weights, xt, yt) / len(yt),
                 "train_error": cert.extra["train_errors"] / len(y), "code_bits": code.n_bits,
                 "nonzero": int(np.count_nonzero(n)), "n_coded": int(n.size)}
    cert = Certificate(**{**{f: getattr(cert, f) for f in cert.__slots__},
                          "extra": {**cert.extra, "estimates": estimates}})
    path = cert.save(out / "certificate.json")
    return CompressionResult(cert, path, out / "model.code", estimates)
