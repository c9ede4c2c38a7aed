"""The quantities registry: who computes each quantity a theorem reads, from which context, and which hypotheses
that computation discharges.

A *provider* is a function of a context that returns :class:`Provided` (an enclosure of the exact value, a source
tag and a detail). Providers register with :func:`register_provider` under a quantity name and a context kind:

* ``"model"`` (:class:`RunContext`): a trained network and a sample, for ``certify run`` (counts, norms, margins,
  robustness);
* ``"posterior"`` (:class:`certify.quantities.pacbayes.PosteriorContext`): a stored Gaussian posterior, its prior and
  the bound set, for ``certify optimize`` (the KL and the Monte Carlo empirical risk);
* ``"code"`` (:class:`certify.quantities.code_length.CodeContext`): a compressed model, for ``certify compress``;
* ``"flatness"`` (:mod:`certify.landscape.flatness`): the PAC-Bayes flatness certificate of ``certify landscape``;
* ``"robust"`` (:mod:`certify.robust`): local robustness verification (IBP/CROWN) of ``certify robust``.

A quantity declares the hypotheses its computation proves (``discharges``): when it is provided, the assembler
(:func:`certify.pipeline.assemble`) records those hypotheses as ``checked``; every other hypothesis stays as the
theorem states it (``assumed`` unless the theorem checks it from the inputs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Iterable, Literal

import numpy as np

from boundcert.errors import InvalidInput
from certify.data.dataset import Dataset
from certify.models.predict import predict
from theorems import Interval

__all__ = ["Provided", "Quantity", "RunContext", "Provider", "ContextKind", "REGISTRY", "PROVIDERS",
           "register_provider", "provide", "discharged", "providers_for", "load_providers", "context_of_options"]

ContextKind = Literal["model", "posterior", "code", "flatness", "robust"]


@dataclass(frozen=True, slots=True)
class Provided:
    """A provider's answer: the enclosure, a source tag (``data``, ``user``, ``kernel:NAME vN``) and a detail."""

    value: Interval
    source: str
    detail: str = ""


@dataclass(slots=True)
class RunContext:
    """What ``model`` providers may read: the model, the data, the user's delta, the run options, and a cache for
    work shared between quantities and between theorems on the same model and data (``--theorem all``)."""

    kind: ClassVar[str] = "model"
    model: Any
    data: Dataset
    delta: Interval
    delta_text: str
    cache: dict[str, Any] = field(default_factory=dict)
    theorem: Any = None
    options: dict[str, Any] = field(default_factory=dict)

    def network(self) -> Any:
        """The loaded model's :class:`certify.models.network.Network`; refuses (with the loader's reason) a model
        that could not be normalised to one."""
        loaded = self.cache.get("loaded")
        if loaded is None or loaded.network is None:
            raise InvalidInput(getattr(loaded, "unsupported", None) or "the model was not normalised to a network")
        return loaded.network

    def predictions(self) -> np.ndarray:
        """Class predictions of the model on the data (cached), float32 CPU forward pass, TF32 off."""
        if "predictions" not in self.cache:
            self.cache["predictions"] = predict(self.model, self.data.x, name=self.data.name, labels=self.data.y)
        return self.cache["predictions"]


Provider = Callable[[Any], Provided]


@dataclass(frozen=True, slots=True)
class Quantity:
    """One registered quantity: its name, context kind, provider, the hypotheses it discharges, and whether its
    value depends on the theorem (then it is provided afresh for each theorem instead of taken from the cache)."""

    name: str
    context: str
    provide: Provider
    discharges: tuple[str, ...] = ()
    per_theorem: bool = False


REGISTRY: dict[tuple[str, str], Quantity] = {}
#: The ``model`` context's providers by quantity name (what ``certify run`` can compute), kept as a plain mapping.
PROVIDERS: dict[str, Provider] = {}


def register_provider(name: str, *, context: ContextKind = "model", discharges: Iterable[str] = (),
                      per_theorem: bool = False) -> Callable[[Provider], Provider]:
    """Decorator: ``@register_provider("k")`` makes a function the provider of quantity ``k`` in ``context``."""

    def deco(fn: Provider) -> Provider:
        REGISTRY[(context, name)] = Quantity(name, context, fn, tuple(discharges), per_theorem)
        if context == "model":
            PROVIDERS[name] = fn
        return fn

    return deco


def providers_for(context: str) -> dict[str, Quantity]:
    """The quantities registered for one context kind, by name."""
    return {name: q for (kind, name), q in REGISTRY.items() if kind == context}


def provide(ctx: Any, names: Iterable[str], cache: dict[str, Any] | None = None) -> dict[str, Provided]:
    """Provide each of ``names`` from ``ctx`` (names sorted; cached in ``cache`` unless the quantity is per-theorem).

    Raises ``KeyError`` for a name with no provider in the context (callers check :func:`providers_for` first).
    """
    cache = getattr(ctx, "cache", None) if cache is None else cache
    out: dict[str, Provided] = {}
    for name in sorted(names):
        q = _quantity(ctx.kind, name)
        fn = PROVIDERS[name] if ctx.kind == "model" else REGISTRY[(ctx.kind, name)].provide
        key = f"provided:{name}"
        if cache is None:
            out[name] = fn(ctx)
            continue
        if key not in cache or (q is not None and q.per_theorem):
            cache[key] = fn(ctx)
        out[name] = cache[key]
    return out


def _quantity(context: str, name: str) -> Quantity | None:
    """The registered quantity, unless a ``model`` provider was replaced in :data:`PROVIDERS` (then its declared
    discharges and caching no longer describe the function that runs)."""
    q = REGISTRY.get((context, name))
    if q is not None and context == "model" and PROVIDERS.get(name) is not q.provide:
        return None
    return q


def discharged(context: str, names: Iterable[str]) -> frozenset[str]:
    """The hypotheses discharged by providing ``names`` in ``context``."""
    out: set[str] = set()
    for name in names:
        q = _quantity(context, name)
        if q is not None:
            out.update(q.discharges)
    return frozenset(out)


#: Every module that registers providers (imported by name: the registry sits below them all).
PROVIDER_MODULES = ("certify.quantities", "certify.landscape.flatness", "certify.robust.verify")
#: The context whose providers made a certificate, by its ``options.kind``.
CONTEXT_OF_KIND = {"run": "model", "optimize": "posterior", "compress": "code", "flatness": "flatness",
                   "robust": "robust"}


def load_providers() -> None:
    """Import every provider module, so that the registry (and each quantity's discharges) is complete."""
    import importlib

    for name in PROVIDER_MODULES:
        importlib.import_module(name)


def context_of_options(options: Any) -> str:
    """The registry context of a certificate from its recorded ``options`` (``model`` when none is recorded)."""
    kind = options.get("kind", "run") if isinstance(options, dict) else "run"
    return CONTEXT_OF_KIND.get(kind, "model")
