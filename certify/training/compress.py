"""Compression certificates: prune, quantise, code with a real coder, and bound the rebuilt network's risk; one path
for the user's torch module (``certify compress MODEL``) and the library's MLP (:func:`run_compression`), which is
one such module (:func:`certify.models.posterior.library_mlp`).

Two fixed decoders (:class:`certify.models.compressed.ModuleDecoder`, chosen before the data is seen; their
parameters are recorded in the certificate):

* ``direct`` (Zhou et al. 2019 style): every parameter of the *trained* network is ``scale * n_i`` with integers
  ``n_i`` (pruned weights are 0, optionally after masked fine-tuning), coded sparsely (zero runs + levels,
  :mod:`certify.models.codec`); the float32 ``scale`` and the BatchNorm running statistics (float32 words) are a
  prefix of the code. The code may depend on the data (the Occam bound's prior is over all codes).
* ``subspace`` (Lotfi et al. 2022, intrinsic-dimension training): the architecture from the seeded initialisation
  ``w0`` (:func:`certify.models.module_posterior.seeded_init`, BatchNorm in eval mode with statistics 0 and 1), the
  weights ``w = w0 + P (scale n)`` with the ``D x d`` Rademacher matrix ``P`` generated from the decoder's seed,
  ``n`` the ``d`` coded integers; a model file's trained weights are not used (a data-independent certificate).
  ``P n`` is an exact integer product (int64), ``w = float32(float64(w0) + float64(scale) * (P n))``: every
  operation is an IEEE elementwise operation, so the decoder rebuilds the model bit for bit on any IEEE machine.

The certificate is about the network the decoder rebuilds from the code. Its training errors ``k`` are counted
exactly (torch float32 CPU forward pass, argmax; TF32 off), ``emp_risk = k/m`` is an exact rational, and the code
length ``code_bits`` is the exact number of bits the encoder wrote (side information included). The bound is
:data:`theorems.compression.occam_catoni` (Catoni with the union over gamma); gamma is chosen to minimise it.
Certificates of the earlier MLP-only decoder (:class:`certify.models.compressed.Decoder`) still verify and replay.
"""

from __future__ import annotations

import copy
import math
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Mapping

import numpy as np

import theorems
from boundcert.errors import InvalidInput
from certify.certificate import Certificate, atomic_write_bytes, strict_float_torch
from certify.models.codec import Code, encode
from certify.models.compressed import Decoder, ModuleDecoder, rebuild
from certify.models.hashing import file_sha256, weights_sha256
from certify.models.module_posterior import sampled_forward, seeded_init, state_arrays
from certify.models.posterior import library_mlp, save_library_mlp
from certify.pipeline import assemble
from certify.quantities.code_length import CodeContext
from certify.quantities.registry import provide
from certify.reports.progress import progress as progress_bar
from certify.training.pacbayes import check_model_data, config_record, place_model_file, train_module
from theorems import Interval, enclose

__all__ = ["Decoder", "ModuleDecoder", "quantise", "rebuild", "encode_model", "train_subspace",
           "compression_certificate", "QuantMethod", "CompressionConfig", "CompressionResult",
           "run_module_compression", "run_compression"]

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


def train_subspace(decoder: ModuleDecoder, x: np.ndarray, y: np.ndarray, *, epochs: int, lr: float = 1e-2,
                   batch: int = 256, seed: int = 0, progress: bool = True) -> np.ndarray:
    """Train the ``d`` subspace coordinates ``z`` (``w = w0 + P z``) with Adam on the cross-entropy, the module in
    eval mode (buffers fixed at the seeded initialisation's)."""
    import torch
    import torch.nn.functional as F

    torch.manual_seed(seed)
    tmpl = copy.deepcopy(decoder.template).eval()
    P = torch.from_numpy(decoder.projection().astype(np.float32))
    w0 = torch.from_numpy(decoder.w0())
    init = seeded_init(decoder.template, decoder.seed)
    fixed = {k: torch.from_numpy(np.array(init[k])) for k in decoder.keys if k not in decoder.names}
    u = torch.nn.Parameter(torch.zeros(decoder.d))  # z = u / sqrt(d): P z has O(1) entries per unit of u
    opt = torch.optim.Adam([u], lr=lr)
    root = math.sqrt(decoder.d)
    xt, yt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)), torch.from_numpy(y.astype(np.int64))
    rng = np.random.Generator(np.random.PCG64(seed))
    bar = progress_bar(range(epochs), desc=f"subspace training (d={decoder.d})", unit="epoch", enabled=progress)
    for _ in bar:
        order = torch.from_numpy(rng.permutation(len(yt)))
        for i in range(0, len(yt), batch):
            idx = order[i : i + batch]
            flat = w0 + P @ (u / root)
            params, j = {}, 0
            for name, shape in zip(decoder.names, decoder.shapes):
                size = int(np.prod(shape))
                params[name] = flat[j : j + size].view(shape)
                j += size
            loss = F.cross_entropy(sampled_forward(tmpl, params, fixed, xt[idx]), yt[idx])
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
    """One compression run (seeds: ``seed`` for the decoder's ``w0``/``P`` and for training).

    ``sizes``: the library MLP's widths for :func:`run_compression`; ``()`` when the user's module fixes the
    architecture (:func:`run_module_compression`). ``epochs``/``lr``: subspace training, or (``direct`` on the
    library MLP) the training of the network that is coded; ``finetune_epochs``: ``direct`` with ``prune > 0``,
    masked retraining after pruning (Han et al. 2016 / Zhou et al. 2019).

    Raises:
        InvalidInput: delta outside (0, 1), prune outside [0, 1), levels outside [2, 255], negative epochs, batch < 1.
    """

    sizes: tuple[int, ...] = ()
    kind: Literal["direct", "subspace"] = "subspace"
    d: int = 1000
    n_levels: int = 16
    method: QuantMethod = "kmeans"
    prune: float = 0.0
    epochs: int = 5
    lr: float = 1e-2
    batch: int = 256
    delta: str = "0.05"
    seed: int = 0
    finetune_epochs: int = 0

    def __post_init__(self) -> None:
        d = enclose(str(self.delta), name="delta")
        if not (d.lo > 0 and d.hi < 1):
            raise InvalidInput(f"delta={self.delta} must lie strictly between 0 and 1: give e.g. --delta 0.05")
        if not 0 <= float(self.prune) < 1:
            raise InvalidInput(f"prune={self.prune} must be a fraction in [0, 1): give e.g. --prune 0.5")
        if not 2 <= self.n_levels <= 255:
            raise InvalidInput(f"levels={self.n_levels} must be in [2, 255]")
        if self.epochs < 0 or self.finetune_epochs < 0 or self.batch < 1:
            raise InvalidInput(f"epochs={self.epochs}, finetune_epochs={self.finetune_epochs}, batch={self.batch}: "
                               "give epochs >= 0 and batch >= 1")


@dataclass(frozen=True, slots=True)
class CompressionResult:
    certificate: Certificate
    certificate_path: Path
    code_path: Path
    estimates: dict


def _buffer_words(decoder: ModuleDecoder, state: Mapping[str, Any]) -> tuple[int, ...]:
    words: list[int] = []
    for k in decoder.float_buffers:
        words.extend(np.asarray(state[k], dtype=np.float32).ravel().view(np.uint32).tolist())
    return tuple(words)


def _direct_values(cfg: CompressionConfig, dec: ModuleDecoder, template: Any, x: np.ndarray, y: np.ndarray,
                   progress: bool) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The trained parameters to code (after masked fine-tuning of the pruned network when asked) and the state."""
    state = state_arrays(template)
    flat = np.concatenate([state[n].astype(np.float64).ravel() for n in dec.names])
    if cfg.prune > 0 and cfg.finetune_epochs > 0:
        keep = np.abs(flat) > np.quantile(np.abs(flat), cfg.prune)
        masks, j = {}, 0
        for n, shape in zip(dec.names, dec.shapes):
            size = int(np.prod(shape))
            masks[n] = keep[j : j + size].reshape(shape).astype(np.float32)
            j += size
        state = train_module(template, {k: v * masks[k] if k in masks else v for k, v in state.items()}, x, y,
                             epochs=cfg.finetune_epochs, lr=cfg.lr, batch=cfg.batch, seed=cfg.seed + 1,
                             bn_train=False, progress=progress, desc="fine-tuning the pruned network", masks=masks)
        flat = np.concatenate([state[n].astype(np.float64).ravel() for n in dec.names])
    return flat, state


def run_module_compression(cfg: CompressionConfig, module: Any, train: tuple[np.ndarray, np.ndarray],
                           out: str | Path, *, data_info: dict, model_info: dict,
                           test: tuple[np.ndarray, np.ndarray] | None = None, reproduce: str = "",
                           progress: bool = True) -> CompressionResult:
    """Quantise (``direct``: the module's trained parameters) or subspace-train and quantise (``subspace``), code,
    certify; writes ``model.code`` and ``certificate.json`` in ``out``. ``data_info``/``model_info`` as in
    :func:`certify.training.pacbayes.run_module_pacbayes`."""
    import torch

    from certify.certificate import torch_threads

    torch.set_num_threads(torch_threads(min(2, torch.get_num_threads())))
    strict_float_torch()
    out = Path(out)
    template = copy.deepcopy(module).eval()
    x, y = np.ascontiguousarray(train[0], dtype=np.float32), np.asarray(train[1], dtype=np.int64)
    check_model_data(template, x, y, str(data_info.get("name", "train")))
    if test is not None:
        check_model_data(template, test[0], np.asarray(test[1]), "test")
    dec = ModuleDecoder.for_module(template, cfg.kind, d=cfg.d if cfg.kind == "subspace" else 0, seed=cfg.seed,
                                   sparse=cfg.kind == "direct" or cfg.prune > 0,
                                   arch=str(model_info.get("arch") or model_info.get("description") or ""))
    if cfg.kind == "subspace":
        z = train_subspace(dec, x, y, epochs=cfg.epochs, lr=cfg.lr, batch=cfg.batch, seed=cfg.seed,
                           progress=progress)
        side: tuple[int, ...] = ()
    else:
        z, state = _direct_values(cfg, dec, template, x, y, progress)
        side = _buffer_words(dec, state)
    n, scale = quantise(z, n_levels=cfg.n_levels, method=cfg.method, prune=cfg.prune)
    code = encode_model(dec, n, scale, side)
    options = {"kind": "compress", "family": "module", "config": config_record(cfg), "data": data_info.get("spec"),
               "model": place_model_file(dict(model_info), out)}
    data = {k: v for k, v in data_info.items() if k != "spec"}
    cert = compression_certificate(dec, code, out / "model.code", x, y, delta=cfg.delta,
                                   data={**data, "n": int(len(y))},
                                   extra={"config": config_record(cfg), "seeds": {"decoder_and_training": cfg.seed}},
                                   reproduce=reproduce, options=options)
    weights = dec.rebuild(code)
    estimates = {"train_error": cert.extra["train_errors"] / len(y), "code_bits": code.n_bits,
                 "nonzero": int(np.count_nonzero(n)), "n_coded": int(n.size)}
    if test is not None:
        estimates["test_error_estimate"] = dec.errors(weights, test[0], np.asarray(test[1])) / len(test[1])
    cert = Certificate(**{**{f: getattr(cert, f) for f in cert.__slots__},
                          "extra": {**cert.extra, "estimates": estimates}})
    path = cert.save(out / "certificate.json")
    return CompressionResult(cert, path, out / "model.code", estimates)


def run_compression(cfg: CompressionConfig, train: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray],
                    out: str | Path, *, data_info: dict, reproduce: str = "", progress: bool = True
                    ) -> CompressionResult:
    """:func:`run_module_compression` on the library's MLP of widths ``cfg.sizes`` (saved beside the certificate as
    ``model.pt``); for ``direct`` the MLP is first trained from its seeded initialisation (``epochs``, ``lr``)."""
    import torch

    if not cfg.sizes:
        raise InvalidInput("sizes=(): the library MLP needs its widths, e.g. sizes=(784, 64, 10); for your own "
                           "module use run_module_compression")
    x, y = np.asarray(train[0]), np.asarray(train[1], dtype=np.int64)
    check_model_data(library_mlp(cfg.sizes), x.reshape(len(x), -1), y, str(data_info.get("name", "train")))
    net, model_info = save_library_mlp(cfg.sizes, out)
    if cfg.kind == "direct":
        state = train_module(net, seeded_init(net, cfg.seed), x, y, epochs=cfg.epochs, lr=cfg.lr, batch=cfg.batch,
                             seed=cfg.seed, bn_train=False, progress=progress)
        net.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    return run_module_compression(cfg, net, train, out, data_info=data_info, model_info=model_info, test=test,
                                  reproduce=reproduce, progress=progress)
