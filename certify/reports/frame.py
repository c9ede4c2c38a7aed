"""``certify.analyze``: the per-layer analysis as a pandas DataFrame (one row per weight layer), with ESD figures.

Certified columns come as enclosures: ``frobenius``, ``spectral``, ``stable_rank`` hold :class:`theorems.Interval`
objects (``lo <= exact <= hi`` for the stored weights) beside their outward-rounded decimal ends (``*_lo``,
``*_hi``, strings); ESD columns are float64 measurements named as in ``certify analyze --json`` (``*_estimate``,
``esd_*``: WeightWatcher's power-law fit, never a bound). ``df.attrs["skipped"]`` lists the operations the frontend
could not translate (name, op, reason); ``df.attrs["figures"]`` the ESD figures written with ``plot``.

Figures: per layer, the histogram of the eigenvalues of ``W^T W`` on log-log axes with the fitted power law
``p(x) ~ x^-alpha`` drawn from ``xmin`` (the same fit as the ``alpha_estimate`` column; a picture of a measure).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from boundcert.errors import InvalidInput
from certify.reports.analyze import LayerRow, analyze_network, skipped_layers
from theorems import Interval, parse_exact

__all__ = ["analyze", "esd_figure"]

_STRINGS = ("name", "kind", "shape", "frobenius_lo", "frobenius_hi", "spectral_lo", "spectral_hi", "spectral_source",
            "stable_rank_lo", "stable_rank_hi", "esd_matrices", "esd_warning", "operator_lo", "operator_hi",
            "operator_source")


def _interval(lo: str, hi: str) -> Interval:
    from theorems import enclose

    return Interval(enclose(parse_exact(lo)).lo, enclose(parse_exact(hi)).hi)


def analyze(model: Any, *, arch: str | None = None, input_shape: tuple[int, ...] | None = None, esd: bool = True,
            plot: bool | str | Path = False) -> Any:
    """Analyse every weight layer of ``model`` (an ``nn.Module`` or a file in any format ``load_model`` reads).

    ``input_shape`` (per example, e.g. ``(1, 28, 28)``) adds each convolution's certified operator norm
    (``operator_lo``/``operator_hi``); ``plot=True`` draws the ESD figures into ``./esd`` (a path: that directory).
    """
    import pandas as pd

    from certify.models import LoadedModel, load_model

    loaded = model if isinstance(model, LoadedModel) else load_model(model, arch)
    graph = loaded.graph if getattr(loaded, "graph", None) is not None else loaded.network
    if graph is None:
        raise InvalidInput(loaded.unsupported or "the model cannot be normalised to a network")
    rows: list[LayerRow] = analyze_network(graph, esd=esd, input_shape=input_shape)
    records = [r.to_dict() for r in rows]
    df = pd.DataFrame(records, columns=list(LayerRow.__dataclass_fields__))
    for col in df.columns:
        if col in _STRINGS:
            df[col] = df[col].astype("string")
        elif col == "params" or col.startswith("esd_n_"):
            df[col] = pd.to_numeric(df[col], errors="coerce").astype("Int64")
        else:
            df[col] = pd.to_numeric(df[col], errors="coerce").astype("float64")
    for what in ("frobenius", "spectral", "stable_rank"):
        df.insert(df.columns.get_loc(f"{what}_lo"), what,
                  pd.Series([_interval(r[f"{what}_lo"], r[f"{what}_hi"]) for r in records], dtype="object"))
    df.attrs["skipped"] = skipped_layers(graph)
    df.attrs["figures"] = []
    if plot is not False and esd:
        out = Path("esd" if plot is True else plot)
        df.attrs["figures"] = [str(esd_figure(node, out)) for node in graph.weight_layers]
    return df


def esd_figure(node: Any, out: Path) -> Path:
    """The ESD figure of one weight layer, written to ``out/esd-NAME.png`` (atomically)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from certify.certificate.io import atomic_write_bytes
    from kernels import conv2d_matrices, esd, powerlaw_fit_estimate

    W = node.layer.weight
    mats: Any = W
    if W.ndim > 2:
        mats = conv2d_matrices(W if W.ndim == 4 else W[:, :, None, :])
    evals = np.asarray(esd(mats), dtype=np.float64)
    evals = evals[evals > 0]
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    if evals.size:
        bins = np.logspace(np.log10(evals.min()), np.log10(evals.max()) + 1e-12, 40)
        ax.hist(evals, bins=bins, density=True, color="#4c72b0", alpha=0.8, label=f"{evals.size} eigenvalues")
        fit = powerlaw_fit_estimate(evals)
        if fit.method != "failed" and np.isfinite(fit.alpha):
            tail = evals[evals >= fit.xmin]
            xs = np.logspace(np.log10(fit.xmin), np.log10(evals.max()), 50)
            share = tail.size / evals.size
            ax.plot(xs, share * (fit.alpha - 1) / fit.xmin * (xs / fit.xmin) ** (-fit.alpha), "r-",
                    label=f"power law, alpha_estimate = {fit.alpha:.2f}")
            ax.axvline(fit.xmin, color="grey", ls=":", label=f"xmin = {fit.xmin:.3g}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.legend(fontsize=8)
    ax.set_xlabel("eigenvalue of W^T W")
    ax.set_ylabel("density")
    ax.set_title(f"ESD of {node.name} ({'x'.join(map(str, W.shape))}); a measure, not a bound", fontsize=9)
    fig.tight_layout()
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    path = Path(out) / f"esd-{node.name.replace('/', '_')}.png"
    atomic_write_bytes(path, buf.getvalue())
    return path
