"""The certification pipeline: model + data + theorem -> quantities (enclosures) -> interval evaluation -> Certificate.

Each quantity a theorem declares is produced by a *provider* (:data:`PROVIDERS`): a function of the run's context
that returns an enclosure of the exact value with its provenance. A theorem is certifiable from a model when every
quantity its statement reads has a provider; otherwise :func:`certify` refuses and names what is missing.

Rounding model of the foundation providers: ``m`` and ``k`` are exact integers (counts); ``delta`` is the user's
decimal string enclosed exactly. The classifier ``h`` is the network as evaluated by torch in float32 on the CPU
(TF32 off, eval mode); its predictions on the test set define ``k`` exactly.
"""

from __future__ import annotations

import hashlib
import os
import platform
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np
import sympy
from decimal import Decimal
from fractions import Fraction

import theorems
from boundcert import __version__
from boundcert.errors import HypothesisNotMet, InvalidInput, UnsoundEnvironment
from certify._certificate import Certificate, InputRecord, utc_timestamp
from certify._data import Dataset, load_data
from theorems import Interval, Theorem, enclose, parse_exact

__all__ = ["certify", "RunContext", "Provided", "PROVIDERS", "register_provider", "model_sha256", "environment", "theorem_record"]


@dataclass(frozen=True, slots=True)
class Provided:
    """A provider's answer: the enclosure, a source tag (``data``, ``user``, ``kernel:NAME vN``) and a detail."""

    value: Interval
    source: str
    detail: str = ""


@dataclass(slots=True)
class RunContext:
    """What providers may read: the model, the data, the user's delta, and a cache for shared work."""

    model: Any
    data: Dataset
    delta: Interval
    delta_text: str
    cache: dict[str, Any] = field(default_factory=dict)
    theorem: Any = None
    options: dict[str, Any] = field(default_factory=dict)

    def predictions(self) -> np.ndarray:
        """Class predictions of the model on the data (cached), float32 CPU forward pass, TF32 off."""
        if "predictions" not in self.cache:
            self.cache["predictions"] = predict(self.model, self.data)
        return self.cache["predictions"]


Provider = Callable[[RunContext], Provided]
PROVIDERS: dict[str, Provider] = {}


def register_provider(name: str) -> Callable[[Provider], Provider]:
    """Decorator: ``@register_provider("k")`` makes a function the provider of quantity ``k``."""

    def deco(fn: Provider) -> Provider:
        PROVIDERS[name] = fn
        return fn

    return deco


@register_provider("m")
def _m(ctx: RunContext) -> Provided:
    return Provided(enclose(ctx.data.n), "data", f"number of examples in {ctx.data.name}:{ctx.data.split}")


@register_provider("k")
def _k(ctx: RunContext) -> Provided:
    wrong = int(np.count_nonzero(ctx.predictions() != ctx.data.y))
    return Provided(enclose(wrong), "data", f"misclassified examples of {ctx.data.name}:{ctx.data.split} (argmax)")


@register_provider("delta")
def _delta(ctx: RunContext) -> Provided:
    return Provided(ctx.delta, "user", f"delta={ctx.delta_text}")


def predict(model: Any, data: Dataset, batch: int = 4096) -> np.ndarray:
    """Argmax predictions of a torch module in eval mode (float32 CPU, TF32 off)."""
    import torch

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    model.eval()
    outs = []
    with torch.no_grad():
        for i in range(0, data.n, batch):
            xb = torch.from_numpy(data.x[i : i + batch])
            try:
                logits = model(xb)
            except RuntimeError as exc:
                raise InvalidInput(
                    f"the model cannot take data {data.name!r} of shape {tuple(data.x.shape[1:])} per example "
                    f"({str(exc).splitlines()[0]}): give data that matches the model's input"
                ) from None
            if logits.ndim != 2:
                raise InvalidInput(f"the model outputs shape {tuple(logits.shape)}: a classifier must output (batch, classes)")
            if i == 0 and int(data.y.max()) >= logits.shape[1]:
                raise InvalidInput(
                    f"data {data.name!r} has label {int(data.y.max())} but the model has {logits.shape[1]} classes: "
                    "labels must be class indices below the number of outputs"
                )
            outs.append(torch.argmax(logits, dim=1).numpy())
    return np.concatenate(outs).astype(np.int64)


def model_sha256(model: Any) -> str:
    """sha256 over the module's state dict: names in order, dtype, shape and bytes of every tensor."""
    h = hashlib.sha256(b"boundcert-state-dict-v1")
    for name, t in sorted(model.state_dict().items()):
        a = t.detach().cpu().contiguous().numpy()
        h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def environment() -> dict[str, Any]:
    """Versions and numeric flags of this run (recorded in the certificate)."""
    env: dict[str, Any] = {
        "boundcert": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "numpy": np.__version__,
    }
    import mpmath

    env["mpmath"] = mpmath.__version__
    if "torch" in sys.modules:
        import torch

        env["torch"] = torch.__version__
        env["torch_allow_tf32"] = bool(torch.backends.cuda.matmul.allow_tf32)
        env["torch_num_threads"] = torch.get_num_threads()
    return env


def theorem_record(t: Theorem) -> dict[str, Any]:
    """The ``theorem`` field of a certificate: id, version, statement (LaTeX and tree), reference."""
    return {
        "id": t.id,
        "version": t.version,
        "title": t.title,
        "kind": t.kind,
        "bounded": t.bounded,
        "holds_for": t.holds_for,
        "reference": {"key": t.reference.key, "citation": t.reference.citation, "locator": t.reference.locator},
        "statement_latex": t.latex(),
        "claim_latex": t.claim_latex(),
        "statement_tree": t.tree(),
        "confidence_tree": theorems.to_tree(t.confidence) if t.confidence is not None else None,
    }


def _resolve_data(data: object) -> Dataset:
    if isinstance(data, Dataset):
        return data
    if isinstance(data, (str, os.PathLike)):
        return load_data(data)
    if isinstance(data, tuple) and len(data) == 2:
        return Dataset.from_arrays(*data)
    raise InvalidInput(f"data ({type(data).__name__}) is not usable: give (x, y) arrays, a Dataset or a built-in name")


def check_environment() -> None:
    """Refuse an environment that voids the rounding model: subnormals flushed to zero (numpy or torch), TF32 on."""
    import torch

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    tiny = np.float64(2.0**-1022)
    numpy_ftz = (np.array([tiny]) / 2.0)[0] == 0.0
    torch_ftz = bool((torch.tensor([float(tiny)], dtype=torch.float64) / 2.0)[0] == 0.0)
    if numpy_ftz or torch_ftz:
        raise UnsoundEnvironment(
            "this process flushes subnormal numbers to zero (e.g. torch.set_flush_denormal(True) or a -ffast-math "
            "library): the certified error bounds assume gradual underflow; run in a default floating-point mode"
        )


def predict_check(ctx: RunContext) -> None:
    """Run the model once on the data (cached): shape and label mismatches are refused before any provider runs."""
    ctx.predictions()


def _model_hypotheses(t: Theorem, checks: tuple, ctx: RunContext) -> tuple:
    """Upgrade hypotheses about the network that the loader proves mechanically from ``assumed`` to ``checked``."""
    from theorems._theorem import HypothesisCheck

    out = []
    for c in checks:
        status = c.status
        if c.name == "h_homogeneous_activation" and "chain" in ctx.cache:
            status = "checked"  # certify._providers.chain_layers refused anything else
        elif c.name == "h_multiclass" and "chain" in ctx.cache:
            status = "checked"  # outputs = classes, labels below outputs (predict) and ties counted as errors
        elif c.name == "h_binary":
            raise HypothesisNotMet(f"theorem {t.id} needs one real output and labels +-1: use its _multiclass variant")
        elif c.name == "h_lipschitz_upper" and "lipschitz" in ctx.cache:
            status = "checked"
        out.append(HypothesisCheck(c.name, c.statement, status))
    return tuple(out)


def _claim(t: Theorem, result: Interval, delta_text: str) -> str:
    """The claim in words; the confidence is printed exactly (``1 - delta`` for a decimal delta)."""
    conf = ""
    if t.confidence is not None:
        if t.confidence == 1 - sympy.Symbol("delta"):
            exact = 1 - parse_exact(delta_text)
            shown = str(Decimal(exact.numerator) / Decimal(exact.denominator)) if _is_decimal(exact) else str(exact)
            conf = f"With probability at least 1 - {delta_text} = {shown} over the sample, "
        else:
            value = theorems.eval_tree(theorems.to_tree(t.confidence), {"delta": enclose(delta_text)})
            conf = f"With probability at least {value.lo_str(8)} over the sample, "
    end = f"at least {result.lo_str(6)}" if t.relation == ">=" else f"at most {result.hi_str(6)}"
    text = f"{conf}the {t.bounded} is {end}."
    return text[0].upper() + text[1:]


def _is_decimal(f: Fraction) -> bool:
    d = f.denominator
    for p in (2, 5):
        while d % p == 0:
            d //= p
    return d == 1


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
    Raises:
        InvalidInput: bad delta, data, model/data mismatch, a theorem that is not a bound or needs quantities
            no provider computes.
        HypothesisNotMet: a mechanically checked hypothesis fails.
    """
    import certify._providers  # noqa: F401  (registers the network providers)

    t = theorems.get(theorem)
    if t.kind != "bound":
        raise InvalidInput(f"theorem {t.id} is of kind {t.kind!r}: only kind 'bound' results produce certificates")
    delta_text = str(delta)
    d = enclose(delta_text, name="delta")
    if not (d.lo > 0 and d.hi < 1):
        raise InvalidInput(f"delta={delta_text} must lie strictly between 0 and 1: give e.g. --delta 0.05")
    needed = theorems.tree_symbols(t.tree())
    missing = sorted(n for n in needed if n not in PROVIDERS)
    if missing:
        raise InvalidInput(
            f"theorem {t.id} needs {', '.join(missing)}, which `certify run` cannot compute from a model yet: "
            f"evaluate it with `certify theorems eval {t.id} NAME=VALUE...`"
        )
    from certify.load import LoadedModel, load_model

    loaded = model if isinstance(model, LoadedModel) else load_model(model, arch)
    ds = _resolve_data(data)
    cache = {} if cache is None else cache
    if cache.get("data_sha256") != ds.sha256:
        cache.clear()
        cache["data_sha256"] = ds.sha256
    cache["loaded"] = loaded
    opts = {"margin": margin, "eps": eps or "0.1"}
    ctx = RunContext(model=loaded.module, data=ds, delta=d, delta_text=delta_text, cache=cache, theorem=t,
                     options=opts)
    check_environment()
    predict_check(ctx)
    provided = {}
    for name in sorted(needed):
        key = f"provided:{name}"
        if key not in cache or name in ("delta", "margin", "emp_margin_risk"):
            cache[key] = PROVIDERS[name](ctx)
        provided[name] = cache[key]
    values = {name: p.value for name, p in provided.items()}
    enclosed = t.enclose_inputs(values)
    checks = _model_hypotheses(t, t.check_hypotheses(enclosed), ctx)
    witnesses: list[dict[str, Any]] = []
    result = theorems.eval_tree(t.tree(), enclosed, witnesses)
    info = dict(model_info or {})
    info["sha256"] = model_sha256(loaded.module)
    if loaded.file_sha256 is not None:
        info["file_sha256"] = loaded.file_sha256
        info.setdefault("path", os.path.basename(loaded.path or ""))
        info.setdefault("format", loaded.description.split(" file ")[0])
    if loaded.arch:
        info.setdefault("arch", loaded.arch)
    return Certificate(
        theorem=theorem_record(t),
        inputs=tuple(InputRecord(n, p.value, p.source, p.detail) for n, p in provided.items()),
        hypotheses=tuple({"name": c.name, "statement": c.statement, "status": c.status} for c in checks),
        result=result,
        claim=_claim(t, result, delta_text),
        model=info,
        data={"name": ds.name, "split": ds.split, "n": ds.n, "sha256": ds.sha256,
              **({"file_sha256": ds.file_sha256} if ds.file_sha256 else {})},
        delta={"total": delta_text, "split": [{"use": t.id, "delta": delta_text}]},
        environment=environment(),
        reproduce=reproduce,
        created=utc_timestamp(),
        witnesses=tuple(witnesses),
    )
