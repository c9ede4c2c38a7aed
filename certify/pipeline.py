"""The certification pipeline: resolve -> environment -> provide -> evaluate -> assemble.

:func:`certify` (``certify run``) resolves the model and data, checks the floating-point environment, provides every
quantity the theorem's statement reads from the ``model`` context of the registry (:mod:`certify.quantities`), and
hands them to :func:`assemble`. ``certify optimize`` and ``certify compress`` provide theirs from the ``posterior`` and
``code`` contexts and call the same :func:`assemble`: it is the one place that encloses inputs, checks hypotheses,
evaluates the statement and builds a :class:`Certificate`.

Rounding model of the foundation providers: ``m`` and ``k`` are exact integers (counts); ``delta`` is the user's
decimal string enclosed exactly. The classifier ``h`` is the network as evaluated by torch in float32 on the CPU
(TF32 off, eval mode); its predictions on the test set define ``k`` exactly.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Mapping

import theorems
from boundcert.errors import HypothesisNotMet, InvalidInput
from certify import quantities as _quantities  # noqa: F401  (registers every provider)
from certify.certificate import Certificate, InputRecord, environment, theorem_record, utc_timestamp
from certify.certificate.environment import check_environment
from certify.data import Dataset, load_data
from certify.data.roles import check_role
from certify.data.torch_data import from_torch, is_torch_data
from certify.models.hashing import model_sha256
from certify.options import DEFAULT_EPS, RunOptions
from certify.quantities.registry import PROVIDERS, Provided, RunContext, discharged, provide
from theorems import Interval, Theorem, enclose

__all__ = ["certify", "assemble"]


def assemble(t: Theorem, provided: Mapping[str, Provided], *, context: str, claim: Callable[[Interval], str],
             model: Mapping[str, Any], data: Mapping[str, Any], delta: Mapping[str, Any],
             options: Mapping[str, Any], reproduce: str = "", extra: Mapping[str, Any] | None = None) -> Certificate:
    """The one certificate assembler: enclose the provided inputs, check the hypotheses, evaluate the statement.

    Args:
        t: the theorem (kind ``bound``).
        provided: every quantity the statement reads, by name.
        context: the registry context the quantities came from; hypotheses that their quantities declare as
            discharged are recorded as ``checked``.
        claim: the claim in words, from the result enclosure.
        model, data, delta, options, reproduce, extra: recorded as given (``delta``: ``{"total", "split"}``).
    Raises:
        HypothesisNotMet: a hypothesis the theorem checks from its inputs fails.
    """
    from theorems._theorem import HypothesisCheck

    values = {name: p.value for name, p in provided.items()}
    enclosed = t.enclose_inputs(values)
    proven = discharged(context, provided)
    checks = tuple(HypothesisCheck(c.name, c.statement, "checked" if c.name in proven else c.status)
                   for c in t.check_hypotheses(enclosed))
    witnesses: list[dict[str, Any]] = []
    result = theorems.eval_tree(t.tree(), enclosed, witnesses)
    return Certificate(
        theorem=theorem_record(t),
        inputs=tuple(InputRecord(n, p.value, p.source, p.detail) for n, p in provided.items()),
        hypotheses=tuple({"name": c.name, "statement": c.statement, "status": c.status} for c in checks),
        result=result,
        claim=claim(result),
        model=dict(model),
        data=dict(data),
        delta=dict(delta),
        environment=environment(),
        reproduce=reproduce,
        created=utc_timestamp(),
        extra=dict(extra or {}),
        witnesses=tuple(witnesses),
        options=dict(options),
    )


def _resolve_data(data: object) -> Dataset:
    if isinstance(data, Dataset):
        return data
    if isinstance(data, (str, os.PathLike)):
        return load_data(data)
    if isinstance(data, tuple) and len(data) == 2:
        return Dataset.from_arrays(*data)
    if is_torch_data(data):
        return from_torch(data)
    raise InvalidInput(f"data ({type(data).__name__}) is not usable: give (x, y) arrays, a Dataset, a torch Dataset or "
                       "DataLoader, a data file or a built-in name")


def _refuse(t: Theorem) -> None:
    """Hypotheses ``certify run`` refuses outright: a binary-output statement on a multiclass classifier."""
    if any(h.name == "h_binary" for h in t.hypotheses):
        raise HypothesisNotMet(f"theorem {t.id} needs one real output and labels +-1: use its _multiclass variant")


def run_claim(t: Theorem, result: Interval, delta_text: str) -> str:
    """The claim in words, generated from the proven content by the checker's own :func:`claim_text` (which the
    checker compares): bounded quantity, the result's end rounded outward to 6 digits, ``1 - delta``."""
    from certify.checker.core import claim_text

    at_least = t.relation == ">="
    return claim_text(t.bounded, at_least=at_least, end=result.lo_str(20) if at_least else result.hi_str(20),
                      delta_total=None if t.confidence is None else delta_text)


def _needed(t: Theorem) -> set[str]:
    """The quantities the statement reads; refuses a theorem that reads one no ``model`` provider computes."""
    needed = theorems.tree_symbols(t.tree())
    missing = sorted(n for n in needed if n not in PROVIDERS)
    if missing:
        raise InvalidInput(
            f"theorem {t.id} needs {', '.join(missing)}, which `certify run` cannot compute from a model yet: "
            f"evaluate it with `certify theorems eval {t.id} NAME=VALUE...`"
        )
    return needed


def certify(
    model: Any,
    data: object,
    theorem: str = "test_set.binomial_tail",
    delta: object = "0.05",
    *,
    model_info: Mapping[str, Any] | None = None,
    reproduce: str = "",
    arch: str | None = None,
    margin: str | None = None,
    eps: str | None = None,
    cache: dict[str, Any] | None = None,
) -> Certificate:
    """Certify ``model`` on ``data`` with the registered bound ``theorem`` at confidence ``1 - delta``.

    Args:
        model: a torch ``nn.Module`` classifier (outputs logits of shape (batch, classes)), a model file
            (safetensors, state dict, TorchScript; ``arch`` for weight-only files) or a :class:`LoadedModel`.
        data: ``(x, y)`` arrays/tensors, a :class:`Dataset`, a data file (.npz, .pt) or a built-in name (its test
            split; ``NAME:train`` for the training split).
        theorem: id of a registered theorem of kind ``bound``.
        delta: the confidence parameter, in (0, 1); a decimal string is taken exactly.
        model_info: what to record about the model (path, architecture); its sha256 is added.
        reproduce: the command that reproduces this certificate.
        arch: ``package.module:factory`` for files that hold only weights.
        margin: the margin of the norm bounds (decimal); default: the best of a few data quantiles.
        eps: the l2 radius of the robustness bounds (decimal, default 0.1).
        cache: shared work between several theorems on the same model and data (``--theorem all``).
    Every option that changes a number is recorded in the certificate's ``options`` (:class:`RunOptions`) and
    replayed by ``certify check --recompute``.
    Raises:
        InvalidInput: bad delta, data, model/data mismatch, a theorem that is not a bound or needs quantities
            no provider computes.
        HypothesisNotMet: a mechanically checked hypothesis fails.
    """
    from certify.models import LoadedModel, load_model

    t = theorems.get(theorem)
    if t.kind != "bound":
        raise InvalidInput(f"theorem {t.id} is of kind {t.kind!r}: only kind 'bound' results produce certificates")
    opts = RunOptions(delta=str(delta), eps=str(eps) if eps is not None else DEFAULT_EPS,
                      margin=None if margin is None else str(margin))
    needed = _needed(t)
    loaded = model if isinstance(model, LoadedModel) else load_model(model, arch)
    ds = _resolve_data(data)
    check_role(t, ds)
    cache = {} if cache is None else cache
    if cache.get("data_sha256") != ds.sha256:
        cache.clear()
        cache["data_sha256"] = ds.sha256
    cache["loaded"] = loaded
    ctx = RunContext(model=loaded.module, data=ds, delta=enclose(opts.delta, name="delta"), delta_text=opts.delta,
                     cache=cache, theorem=t, options={"margin": opts.margin, "eps": opts.eps})
    check_environment()
    ctx.predictions()  # shape and label mismatches are refused before any provider runs
    _refuse(t)
    provided = provide(ctx, needed)
    info = dict(model_info or {})
    info["sha256"] = model_sha256(loaded.module)
    if loaded.file_sha256 is not None:
        info["file_sha256"] = loaded.file_sha256
        info.setdefault("path", os.path.basename(loaded.path or ""))
        info.setdefault("format", loaded.description.split(" file ")[0])
    if loaded.arch:
        info.setdefault("arch", loaded.arch)
    return assemble(
        t, provided, context="model", claim=lambda result: run_claim(t, result, opts.delta),
        model=info,
        data={"name": ds.name, "split": ds.split, "n": ds.n, "sha256": ds.sha256,
              **({"file_sha256": ds.file_sha256} if ds.file_sha256 else {})},
        delta={"total": opts.delta, "split": [{"use": t.id, "delta": opts.delta}]},
        options=opts.to_dict(), reproduce=reproduce,
    )
