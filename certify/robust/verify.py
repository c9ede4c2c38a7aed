"""``certify robust``: per-sample verdicts, certified robust accuracy and the test-set bound on the robust error.

Pipeline: load the model (its IR graph) and the held-out data -> :func:`kernels.bounds.margin_bounds` (IBP,
CROWN or alpha-CROWN with the slope search of :mod:`certify.robust.alpha`; outward rounding) on the ball
intersected with the domain -> for every sample not verified, a PGD search
(:mod:`certify.robust.attack`) -> verdicts. Verdicts:

* ``verified``: the margin's proven lower bound is > 0: every input of the set is classified as the label by the
  exact real network with the stored weights (claim 1); ``verified_float32`` also holds when the bound minus the
  float32 evaluation-error bound is > 0 (claim 2: the float32 execution in any summation order);
* ``attacked``: a counterexample in the set (checked in exact rationals) that the float32 torch evaluation
  misclassifies; ``exact`` says whether the exact network is proven to misclassify it too;
* ``not verified``: neither.

The certificate (:func:`certify.pipeline.assemble`, context ``"robust"``) is ``robust.robust_error_test_set`` with
``k_uncertified`` the number of samples not verified on the whole ball (no domain), which bounds the number of
robust errors of the exact network on the l2 ball of radius eps that the theorem states (an l-inf ball of radius
eps contains it). Its hypothesis ``h_certified_sound`` is recorded as checked, discharged by the soundness of the
method used on the ball used (:func:`discharged_by`: in ``k_uncertified``'s detail and in ``extra``), which
``certify check`` verifies through the provider's declared discharge. The domain-restricted verdicts and
accuracies go into the certificate's ``extra``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import numpy as np

from boundcert.errors import InvalidInput
from certify.data import Dataset, load_data
from certify.quantities.registry import Provided, register_provider
from certify.robust.options import RobustOptions
from theorems import Interval, enclose

__all__ = ["RobustContext", "RobustResult", "run_robust", "verify_samples", "discharged_by", "THEOREM"]

THEOREM = "robust.robust_error_test_set"
ALPHA_STEPS = 20
SOURCE = "kernels.bounds.margin_bounds v1"


@dataclass(frozen=True, slots=True, eq=False)
class RobustResult:
    """Verdicts (one string per sample), the kernel's bounds and the summary numbers; ``certificate`` or ``None``."""

    verdicts: tuple[str, ...]
    lower: np.ndarray
    lower_float32: np.ndarray | None
    exact_attacks: tuple[bool, ...]
    certified_accuracy: float
    certified_accuracy_float32: float | None
    k_uncertified: int
    float32_note: str
    certificate: Any = None
    certificate_path: str | None = None

    def summary(self) -> dict[str, Any]:
        v = self.verdicts
        return {"n": len(v), "verified": v.count("verified"), "attacked": v.count("attacked"),
                "not_verified": v.count("not verified"), "certified_accuracy": self.certified_accuracy,
                "certified_accuracy_float32": self.certified_accuracy_float32, "k_uncertified": self.k_uncertified,
                "attacks_misclassified_exactly": int(sum(self.exact_attacks)), "float32_note": self.float32_note}


def _slopes(opts: RobustOptions) -> Any:
    """The slope optimiser of alpha-CROWN (a search; the kernel re-evaluates its slopes rigorously)."""
    if opts.method != "alpha-crown":
        return None
    from certify.robust.alpha import optimise_slopes

    return optimise_slopes(steps=ALPHA_STEPS)


def verify_samples(graph: Any, module: Any, x: np.ndarray, y: np.ndarray, opts: RobustOptions,
                   progress: bool = False) -> RobustResult:
    """The verdicts of the module docstring for the rows of ``x`` (float32 values, taken exactly)."""
    from kernels.bounds import InputSet, margin_bounds

    lo, hi = opts.domain_bounds()
    xs = np.asarray(x, dtype=np.float64)
    if lo is not None and (np.any(xs < lo) or np.any(xs > hi)):
        raise InvalidInput(f"data: inputs lie outside the domain {opts.domain}: give --domain none or the data's range")
    method, slopes = opts.method, _slopes(opts)
    S = InputSet(opts.norm, opts.eps_float, lo, hi)
    mb = margin_bounds(graph, xs, y, S, method, float32=opts.float32, slopes=slopes)
    verified = mb.lower > 0
    if lo is None:
        k_unc = int(np.count_nonzero(~verified))
    else:  # the certificate's k: verified on the whole ball (a larger set; only the in-domain verified can pass)
        idx = np.nonzero(verified)[0]
        whole = margin_bounds(graph, xs[idx], y[idx], InputSet(opts.norm, opts.eps_float, None, None), method,
                              slopes=slopes) if idx.size else None
        k_unc = int(len(y) - (0 if whole is None else np.count_nonzero(whole.lower > 0)))
    verdicts = ["verified" if v else "not verified" for v in verified]
    exact = [False] * len(y)
    todo = np.nonzero(~verified)[0]
    if todo.size:
        from certify.robust.attack import exact_misclassified, pgd

        found = pgd(module, np.asarray(x, dtype=np.float32)[todo], y[todo], opts)
        for i, cand in zip(todo, found):
            if cand is not None:
                verdicts[i] = "attacked"
                exact[i] = exact_misclassified(graph, cand, int(y[i]))
    f32 = mb.float32_lower
    n = max(len(y), 1)
    return RobustResult(tuple(verdicts), mb.lower, f32, tuple(exact), float(np.count_nonzero(verified)) / n,
                        None if f32 is None else float(np.count_nonzero(f32 > 0)) / n, k_unc, mb.float32_note)


@dataclass(slots=True)
class RobustContext:
    """What ``robust`` providers read: the result of the verification, the data and the user's delta."""

    kind: ClassVar[str] = "robust"
    result: RobustResult
    data: Dataset
    delta_text: str
    discharged_by: str = ""
    cache: dict[str, Any] = field(default_factory=dict)


@register_provider("m", context="robust")
def _m(ctx: RobustContext) -> Provided:
    return Provided(enclose(ctx.data.n), "data", f"number of test examples ({ctx.data.name}:{ctx.data.split})")


@register_provider("delta", context="robust")
def _delta(ctx: RobustContext) -> Provided:
    return Provided(enclose(ctx.delta_text, name="delta"), "user", "the user's decimal, enclosed exactly")


def discharged_by(method: str, norm: str, eps: str) -> str:
    """What discharges ``h_certified_sound`` in a ``certify robust`` certificate: the method's soundness on the ball."""
    name = {"ibp": "IBP", "crown": "CROWN", "alpha-crown": "alpha-CROWN"}[method]
    ball = ("the l2 ball of radius eps" if norm == "l2" else
            "the l-inf ball of radius eps, which contains the l2 ball of radius eps")
    return (f"h_certified_sound: {name} bound propagation with outward rounding (kernels.bounds.margin_bounds, "
            f"method={method!r}) proves every margin lower bound > 0 on {ball} (eps={eps}, no input domain) for the "
            "exact real network with the stored weights")


@register_provider("k_uncertified", context="robust", discharges=("h_certified_sound",))
def _k(ctx: RobustContext) -> Provided:
    return Provided(Interval(enclose(ctx.result.k_uncertified).lo, enclose(ctx.result.k_uncertified).hi),
                    f"kernel:{SOURCE}", "test points not verified robust on the whole ball (no domain): an upper "
                                        "bound on the robust errors of the exact real network with the stored "
                                        f"weights; {ctx.discharged_by}")


def _load(model: Any, data: Any, arch: str | None, n: int | None) -> tuple[Any, Dataset]:
    from certify.models import LoadedModel, load_model

    loaded = model if isinstance(model, LoadedModel) else load_model(model, arch)
    if loaded.network is None:
        raise InvalidInput(f"the model has no network translation ({loaded.unsupported}): certify robust reads the "
                           "weights")
    ds = data if isinstance(data, Dataset) else load_data(data)
    if n is not None and n < ds.n:
        ds = Dataset.from_arrays(ds.x[:n], ds.y[:n], name=f"{ds.name}[:{n}]", split=ds.split)
    return loaded, ds


def run_robust(model: Any, data: Any, opts: RobustOptions, *, arch: str | None = None, out: str | None = None,
               reproduce: str = "", progress: bool = False) -> RobustResult:
    """Verify ``model`` on ``data`` and assemble the certificate (written to ``out`` when given)."""
    import theorems
    from certify.certificate.environment import check_environment
    from certify.data.roles import check_role
    from certify.models.hashing import model_sha256
    from certify.models.predict import predict
    from certify.pipeline import assemble, run_claim
    from certify.quantities.registry import provide

    check_environment()
    loaded, ds = _load(model, data, arch, opts.n)
    t = theorems.get(THEOREM)
    check_role(t, ds)
    predict(loaded.module, ds.x, name=ds.name, labels=ds.y)  # shape and label mismatches refused first
    res = verify_samples(loaded.network, loaded.module, ds.x, ds.y.astype(np.int64), opts, progress)
    how = discharged_by(opts.method, opts.norm, opts.eps)
    ctx = RobustContext(res, ds, opts.delta, how)
    provided = provide(ctx, theorems.tree_symbols(t.tree()))
    info: dict[str, Any] = {"sha256": model_sha256(loaded.module)}
    if loaded.file_sha256 is not None:
        info.update(file_sha256=loaded.file_sha256, path=os.path.basename(loaded.path or ""))
    if arch:
        info["arch"] = arch
    extra = {"robust": {**res.summary(), "method": opts.method, "norm": opts.norm, "eps": opts.eps,
                        "domain": opts.domain, "kernel": SOURCE, "hypotheses_discharged": [how],
                        "claims": ["exact: every sample verified is classified as its label on the whole set by the "
                                   "exact real network with the stored float weights",
                                   "float32: verified_float32 samples are also classified as their label by the "
                                   "network executed in float32 with any summation order (direct summation)"],
                        "certificate_k": "samples not verified on the whole ball without the domain (the theorem "
                                         "states the l2 ball of radius eps; an l-inf ball contains it)",
                        "verdicts": list(res.verdicts), "attacked_exact": [bool(e) for e in res.exact_attacks],
                        "margin_lower": [float(v) for v in res.lower],
                        "margin_lower_float32": None if res.lower_float32 is None
                        else [float(v) for v in res.lower_float32]}}
    cert = assemble(t, provided, context="robust", claim=lambda r: run_claim(t, r, opts.delta), model=info,
                    data={"name": ds.name, "split": ds.split, "n": ds.n, "sha256": ds.sha256,
                          **({"file_sha256": ds.file_sha256} if ds.file_sha256 else {})},
                    delta={"total": opts.delta, "split": [{"use": t.id, "delta": opts.delta}]},
                    options=opts.to_dict(), reproduce=reproduce, extra=extra)
    path = str(cert.save(out)) if out else None
    return replace(res, certificate=cert, certificate_path=path)
