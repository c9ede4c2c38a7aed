"""``certify sweep --report``: the correlation study over the zoo (Jiang et al. 2020, Sec. 4).

For every model with a finished ``gap`` job, the generalization gap is its measured ``empirical_gap`` (test error
minus training error of the float32 network, exact fractions of the two samples). Each column is then ranked against
it: every theorem's certified upper end (``result_hi``, the bound) and every measure of the ``analyze`` job
(``sum_log_spectral_hi`` ...) and of the ``dynamics`` job (``ph_dim_estimate`` ...; ``*_estimate`` are fitted
estimates), and Jiang et al.'s margin-normalised measures (:data:`DERIVED`: ``log(prod ||W||_2^2 / margin^2)``
..., with the 10th percentile of the float32 training margins that the ``gap`` job measures). Output under
``DIR/report/``: ``report.json`` (tau, Psi, psi per axis, the number of models), ``report.md`` and ``report.png``
(a bar chart of tau and Psi).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

from boundcert.errors import InvalidInput
from certify.sweep.stats import granulated_kendall, kendall_tau

__all__ = ["Correlation", "correlation_study", "study_columns", "write_report"]


@dataclass(frozen=True, slots=True)
class Correlation:
    """One column against the gap: Kendall tau, Psi (None: no axis varies in a complete group), psi per axis."""

    column: str
    kind: str  # "bound" (a theorem's certified upper end) or "measure"
    models: int
    tau: float
    psi: float | None
    per_axis: dict[str, float | None]

    def to_dict(self) -> dict[str, Any]:
        return {"column": self.column, "kind": self.kind, "models": self.models, "tau": self.tau, "psi": self.psi,
                "per_axis": self.per_axis}


Measure = Callable[[dict[str, float]], Any]  # a model's measures -> a value, or None


def _scaled(name: str, factor: float = 1.0) -> Measure:
    return lambda m: None if m.get(name) is None else factor * m[name]


def _over_margin2(log_of: Measure) -> Measure:
    """``log(value / margin^2)`` from ``log(value)``; None without a positive margin."""
    def f(m: dict[str, float]) -> float | None:
        g, v = m.get("train_margin_q10"), log_of(m)
        return None if g is None or v is None or g <= 0 else v - 2 * math.log(g)

    return f


#: Jiang et al. 2020's margin-normalised measures (App. C) from one model's ``analyze`` measures and the 10th
#: percentile of its training margins (``gap`` job), in logs (a rank correlation does not see a monotone map).
DERIVED: dict[str, Measure] = {
    "log_prod_spec_over_margin2": _over_margin2(_scaled("sum_log_spectral_hi", 2.0)),
    "log_prod_fro_over_margin2": _over_margin2(_scaled("sum_log_frobenius_hi", 2.0)),
    "log_sum_of_spec_over_margin2": _over_margin2(_scaled("log_sum_of_spec_hi")),
    "log_inverse_margin2": _over_margin2(lambda m: 0.0),
}


def _columns(rows: Iterable[dict[str, Any]]) -> tuple[dict[str, float], dict[str, dict[str, Any]],
                                                       dict[str, dict[str, float]], dict[str, str]]:
    gaps: dict[str, float] = {}
    hp: dict[str, dict[str, Any]] = {}
    cols: dict[str, dict[str, float]] = {}
    kinds: dict[str, str] = {}
    per_model: dict[str, dict[str, float]] = {}  # every measure of a model, for DERIVED
    for r in rows:
        if r["status"] != "ok":
            continue
        model = r["model"]
        hp[model] = json.loads(r["hparams"] or "{}")
        if r["kind"] == "gap":
            gm = json.loads(r["measures"])
            gaps[model] = gm["empirical_gap"]
            if isinstance(gm.get("train_margin_q10"), (int, float)):
                per_model.setdefault(model, {})["train_margin_q10"] = gm["train_margin_q10"]
        elif r["kind"] == "theorem":
            col = f"{r['theorem']} (bound)"
            cols.setdefault(col, {})[model] = r["result_hi_float"]
            kinds[col] = "bound"
        elif r["kind"] in ("analyze", "dynamics"):
            for name, v in json.loads(r["measures"]).items():
                if isinstance(v, (int, float)) and math.isfinite(v):
                    cols.setdefault(name, {})[model] = v
                    kinds[name] = "measure"
                    per_model.setdefault(model, {})[name] = v
    for name, f in DERIVED.items():
        for model, m in per_model.items():
            v = f(m)
            if v is not None and math.isfinite(v):
                cols.setdefault(name, {})[model] = v
                kinds[name] = "measure"
    return gaps, hp, cols, kinds


def study_columns(rows: Iterable[dict[str, Any]]) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """What the study ranks: ``(gap by model, {column: value by model})`` (the bounds' upper ends as floats, the
    measures, the margin-normalised measures)."""
    gaps, _, cols, _ = _columns(rows)
    return gaps, cols


def correlation_study(rows: Iterable[dict[str, Any]]) -> list[Correlation]:
    """Tau and Psi of every bound and measure column against the gap, over the models that have both.

    Raises:
        InvalidInput: fewer than two models with a finished ``gap`` job.
    """
    gaps, hp, cols, kinds = _columns(rows)
    if len(gaps) < 2:
        raise InvalidInput(f"--report needs a 'gap' job finished on at least two models (found {len(gaps)}): add "
                           "[[jobs]] kind = \"gap\" and train_data to the spec")
    out = []
    for col in sorted(cols):
        models = sorted(m for m in cols[col] if m in gaps)
        if len(models) < 2:
            continue
        mu, g = [cols[col][m] for m in models], [gaps[m] for m in models]
        gr = granulated_kendall(mu, g, [hp[m] for m in models]) if all(hp[m] for m in models) else None
        out.append(Correlation(col, kinds[col], len(models), float(kendall_tau(mu, g)),
                               None if gr is None or gr.psi is None else float(gr.psi),
                               {} if gr is None else {a: None if v is None else float(v)
                                                      for a, v in gr.per_axis.items()}))
    return out


def write_report(rows: Iterable[dict[str, Any]], out: str | Path) -> Path:
    """Write ``out/report/report.{json,md,png}``; returns the directory."""
    import matplotlib

    matplotlib.use("Agg")
    import io

    import matplotlib.pyplot as plt

    from certify.certificate import atomic_write_bytes, atomic_write_text

    rows = list(rows)
    study = correlation_study(rows)
    d = Path(out) / "report"
    n_models = len({r["model"] for r in rows if r["kind"] == "gap" and r["status"] == "ok"})
    doc = {"gap": "empirical_gap = test error - training error (measured, not a bound)", "models": n_models,
           "reference": "Jiang et al. 2020, Fantastic generalization measures, Sec. 4 (eq. 3 tau, eq. 4-5 Psi)",
           "correlations": [c.to_dict() for c in study]}
    md = ["# Correlation with the generalization gap", "",
          f"{n_models} models; Kendall tau (Jiang et al. eq. 3) and granulated Kendall Psi (eq. 4-5).", "",
          "| column | kind | models | tau | Psi |", "|---|---|---|---|---|"]
    md += [f"| {c.column} | {c.kind} | {c.models} | {c.tau:.3f} | {'-' if c.psi is None else f'{c.psi:.3f}'} |"
           for c in study]
    fig, ax = plt.subplots(figsize=(8, 1.5 + 0.4 * max(1, len(study))))
    ys = range(len(study))
    ax.barh([y - 0.2 for y in ys], [c.tau for c in study], height=0.4, label="Kendall tau")
    ax.barh([y + 0.2 for y in ys], [c.psi or 0.0 for c in study], height=0.4, label="granulated Psi")
    ax.set_yticks(list(ys), [c.column for c in study], fontsize=8)
    ax.axvline(0, color="k", lw=0.5)
    ax.set_xlim(-1, 1)
    ax.legend(fontsize=8)
    ax.set_title(f"correlation with the generalization gap ({n_models} models)")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    atomic_write_text(d / "report.json", json.dumps(doc, indent=2, sort_keys=True) + "\n")
    atomic_write_text(d / "report.md", "\n".join(md) + "\n")
    atomic_write_bytes(d / "report.png", buf.getvalue())
    return d
