"""Compression quantities of the ``code`` context (Occam / Catoni bounds on a compressed network): ``m``, the exact
empirical risk ``k/m`` of the network the decoder rebuilds, the exact code length ``code_bits``, the Catoni
parameter ``gamma`` and ``delta``.

Rounding model: ``k`` counts the argmax errors of the rebuilt float32 network exactly (torch float32 CPU forward,
TF32 off; :mod:`certify.models.predict`), so ``emp_risk`` is an exact rational; ``code_bits`` is the exact number of
bits the encoder wrote (side information included); ``gamma`` is a choice that minimises the float value of the bound
(the union over gamma is inside the statement, so the choice costs nothing).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from certify.models.codec import Code
from certify.models.compressed import Decoder, ModuleDecoder, rebuild
from certify.models.hashing import file_sha256
from certify.models.predict import mlp_errors
from certify.quantities.registry import Provided, register_provider
from theorems import enclose

__all__ = ["CodeContext", "best_gamma"]


@dataclass(slots=True)
class CodeContext:
    """What ``code`` providers read: the decoder, the code and the file it was written to, the training sample
    ``(x, y)`` (described in ``data``), the user's ``delta``, and a cache (the rebuilt weights, their error count)."""

    kind: ClassVar[str] = "code"
    decoder: Decoder | ModuleDecoder
    code: Code
    code_path: Path
    x: np.ndarray
    y: np.ndarray
    data: dict[str, Any]
    delta: str
    cache: dict[str, Any] = field(default_factory=dict)

    def weights(self) -> list[np.ndarray]:
        """The float32 weights the decoder rebuilds from the code (bit-exact), computed once."""
        if "weights" not in self.cache:
            self.cache["weights"] = (self.decoder.rebuild(self.code) if isinstance(self.decoder, ModuleDecoder)
                                     else rebuild(self.decoder, self.code))
        return self.cache["weights"]

    def errors(self) -> int:
        """Exact training errors of the rebuilt network, counted once."""
        if "errors" not in self.cache:
            self.cache["errors"] = (self.decoder.errors(self.weights(), self.x, self.y)
                                    if isinstance(self.decoder, ModuleDecoder) else
                                    mlp_errors(self.weights(), self.x, self.y))
        return self.cache["errors"]


def best_gamma(m: int, k: int, code_bits: int, delta: str) -> int:
    """Integer ``gamma >= 1`` that minimises the float value of the Occam-Catoni bound (a choice; the union pays)."""
    emp = k / m
    kl = code_bits * math.log(2) + 2 * math.log(code_bits) + math.log(math.pi**2 / 6)
    a4 = 1e-4

    def f(g: float) -> float:
        budget = (1 + a4) / g * (kl + math.log(1 / float(delta)) + 2 * math.log(2 + math.log(g) / math.log(1 + a4)))
        a = g / m
        return -math.expm1(-a * (emp + budget)) / -math.expm1(-a)

    grid = np.exp(np.linspace(0, math.log(100 * m), 4000))
    return int(round(min(grid, key=f)))


@register_provider("m", context="code")
def _m(ctx: CodeContext) -> Provided:
    return Provided(enclose(len(ctx.y)), "data", f"training examples ({ctx.data.get('name')}:{ctx.data.get('split')})")


@register_provider("emp_risk", context="code")
def _emp_risk(ctx: CodeContext) -> Provided:
    k = ctx.errors()
    return Provided(enclose(Fraction(k, len(ctx.y))), "data",
                    f"exact k/m: k={k} training errors of the rebuilt network (float32 CPU forward, argmax)")


@register_provider("code_bits", context="code")
def _code_bits(ctx: CodeContext) -> Provided:
    return Provided(enclose(ctx.code.n_bits), "model", f"exact length of the code in {ctx.code_path.name} "
                    f"(sha256 {file_sha256(ctx.code_path)}), side information included")


@register_provider("gamma", context="code")
def _gamma(ctx: CodeContext) -> Provided:
    g = best_gamma(len(ctx.y), ctx.errors(), ctx.code.n_bits, ctx.delta)
    return Provided(enclose(g), "user", "chosen to minimise the bound; the union over gamma is in the statement")


@register_provider("delta", context="code")
def _delta(ctx: CodeContext) -> Provided:
    return Provided(enclose(ctx.delta), "user", f"delta={ctx.delta}")
