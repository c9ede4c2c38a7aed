"""Compression certificates for a user's own torch module and data (``certify compress MODEL``).

Two decoders, fixed before the data is seen (:class:`certify.models.compressed.ModuleDecoder`):

* ``direct``: the user's *trained* parameters are pruned and quantised (:func:`certify.training.compress.quantise`)
  and coded; BatchNorm running statistics are coded as float32 side words. The code may depend on the data (the
  Occam bound's prior is over all codes, not over the data).
* ``subspace`` (Lotfi et al. 2022): the module's architecture, from the seeded initialisation ``w0``
  (:func:`certify.models.module_posterior.seeded_init`, running statistics 0 and 1, BatchNorm in eval mode so they
  stay fixed), is trained in the random subspace ``w = w0 + P z`` and ``z`` is quantised and coded. The trained
  weights of the model file are not used (only its architecture): a data-independent compression certificate.

The certificate is about the network the decoder rebuilds, whose training errors are counted exactly; the bound is
:data:`theorems.compression.occam_catoni` through :func:`certify.training.compress.compression_certificate`.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from boundcert.errors import InvalidInput
from certify.certificate import Certificate, strict_float_torch
from certify.models.compressed import ModuleDecoder
from certify.models.module_posterior import sampled_forward
from certify.training.compress import CompressionResult, QuantMethod, compression_certificate, encode_model, quantise
from certify.training.module_pacbayes import check_model_data, place_model_file
from certify.training.pacbayes import config_record
from theorems import enclose

__all__ = ["ModuleCompressionConfig", "train_module_subspace", "run_module_compression"]


@dataclass(frozen=True, slots=True)
class ModuleCompressionConfig:
    """One compression run on a user's module (seeds: ``seed`` for ``w0``, ``P`` and training)."""

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

    def __post_init__(self) -> None:
        d = enclose(str(self.delta), name="delta")
        if not (d.lo > 0 and d.hi < 1):
            raise InvalidInput(f"delta={self.delta} must lie strictly between 0 and 1: give e.g. --delta 0.05")
        if not 0 <= float(self.prune) < 1:
            raise InvalidInput(f"prune={self.prune} must be a fraction in [0, 1): give e.g. --prune 0.5")
        if not 2 <= self.n_levels <= 255:
            raise InvalidInput(f"levels={self.n_levels} must be in [2, 255]")
        if self.epochs < 0 or self.batch < 1:
            raise InvalidInput(f"epochs={self.epochs}, batch={self.batch}: give epochs >= 0 and batch >= 1")


def train_module_subspace(decoder: ModuleDecoder, x: np.ndarray, y: np.ndarray, *, epochs: int, lr: float,
                          batch: int, seed: int, progress: bool = True) -> np.ndarray:
    """Train the ``d`` subspace coordinates ``z`` (``w = w0 + P z``) with Adam on the cross-entropy, the module in
    eval mode (buffers fixed at the seeded initialisation's)."""
    import torch
    import torch.nn.functional as F
    from tqdm import tqdm

    from certify.models.module_posterior import seeded_init

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
    bar = tqdm(range(epochs), desc=f"subspace training (d={decoder.d})", unit="epoch", disable=not progress)
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


def _buffer_words(decoder: ModuleDecoder) -> tuple[int, ...]:
    state = decoder.template.state_dict()
    words: list[int] = []
    for k in decoder.float_buffers:
        words.extend(state[k].detach().float().numpy().ravel().view(np.uint32).tolist())
    return tuple(words)


def run_module_compression(cfg: ModuleCompressionConfig, module: Any, train: tuple[np.ndarray, np.ndarray],
                           out: str | Path, *, data_info: dict, model_info: dict,
                           test: tuple[np.ndarray, np.ndarray] | None = None, reproduce: str = "",
                           progress: bool = True) -> CompressionResult:
    """Quantise (``direct``) or subspace-train and quantise (``subspace``), code, certify; writes ``model.code`` and
    ``certificate.json`` in ``out``. ``data_info``/``model_info`` as in
    :func:`certify.training.module_pacbayes.run_module_pacbayes`."""
    import torch

    from certify.certificate import torch_threads

    torch.set_num_threads(torch_threads(min(2, torch.get_num_threads())))
    strict_float_torch()
    template = copy.deepcopy(module).eval()
    x, y = np.ascontiguousarray(train[0], dtype=np.float32), np.asarray(train[1], dtype=np.int64)
    check_model_data(template, x, y, str(data_info.get("name", "train")))
    if test is not None:
        check_model_data(template, test[0], np.asarray(test[1]), "test")
    dec = ModuleDecoder.for_module(template, cfg.kind, d=cfg.d if cfg.kind == "subspace" else 0, seed=cfg.seed,
                                   sparse=cfg.kind == "direct" or cfg.prune > 0,
                                   arch=str(model_info.get("arch") or model_info.get("description") or ""))
    if cfg.kind == "subspace":
        z = train_module_subspace(dec, x, y, epochs=cfg.epochs, lr=cfg.lr, batch=cfg.batch, seed=cfg.seed,
                                  progress=progress)
        side: tuple[int, ...] = ()
    else:
        state = template.state_dict()
        z = np.concatenate([state[n].detach().double().numpy().ravel() for n in dec.names])
        side = _buffer_words(dec)
    n, scale = quantise(z, n_levels=cfg.n_levels, method=cfg.method, prune=cfg.prune)
    code = encode_model(dec, n, scale, side)
    options = {"kind": "compress", "family": "module", "config": config_record(cfg), "data": data_info.get("spec"),
               "model": place_model_file(dict(model_info), Path(out))}
    data = {k: v for k, v in data_info.items() if k != "spec"}
    cert = compression_certificate(dec, code, Path(out) / "model.code", x, y, delta=cfg.delta,
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
    path = cert.save(Path(out) / "certificate.json")
    return CompressionResult(cert, path, Path(out) / "model.code", estimates)

