"""report.html and report.md: the claim in words and as a formula, the ranking of a ``--theorem all`` run, the
inputs, which hypotheses were assumed rather than checked, per-layer quantities, and figures.

Figures (matplotlib, PNG; embedded as base64 in the HTML, written beside the Markdown): the margin distribution, the
terms of the bound on a log scale (only when the statement is a sum of two or more terms: no one-bar chart), the
per-layer norms, and the bounds of each claim in a ranking. Figures show enclosures' upper ends (a lower bound's
lower end); they illustrate, the certificate proves.

Maths: report.md keeps LaTeX as ``$...$`` / ``$$...$$`` (GitHub and Jupyter render it); report.html shows it as SVG
drawn offline by matplotlib's mathtext (:mod:`certify.reports.markup`: no JavaScript, no CDN, no font files), with
the LaTeX source as alt text. Every table cell is escaped (:func:`~certify.reports.markup.md_cell`): a quantity such
as ``||X_c||_F`` stays in its cell in both files.
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

import theorems
from certify.certificate import Certificate
from certify.reports.analyze import LayerRow
from certify.reports.markup import markdown_to_html, md_cell, md_text, md_with_math

__all__ = ["Report", "build_report", "bound_terms", "ranking_groups"]

_CSS = (
    "body{font-family:sans-serif;max-width:62em;margin:2em auto;padding:0 1em;line-height:1.45;color:#222}"
    "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .6em;"
    "font-variant-numeric:tabular-nums;vertical-align:top}th{background:#f3f3f3;text-align:left}"
    "div.table{overflow-x:auto}code{background:#f3f3f3;padding:0 .2em}"
    "p.claim{font-size:1.15em;border-left:4px solid #2a7;padding-left:.8em}"
    "div.math-display{overflow-x:auto;overflow-y:hidden;margin:.8em 0;padding:.3em 0}"
    "img.math{max-width:none;border:0}figure{margin:1em 0}figure img{max-width:100%}"
    "figcaption{color:#555;font-size:.9em}"
)


@dataclass(frozen=True, slots=True)
class Report:
    markdown: str
    html: str
    figures: dict[str, bytes]  # file name -> PNG bytes


def bound_terms(cert: Certificate) -> list[tuple[str, float]]:
    """The top-level summands of the statement (or its inputs), each as the upper end of its enclosure."""
    tree = cert.theorem["statement_tree"]
    values = {r.name: r.value for r in cert.inputs}
    if tree.get("op") == "+":
        out = []
        for i, arg in enumerate(tree["args"]):
            names = sorted(theorems.tree_symbols(arg))
            label = names[0] if len(names) == 1 and "var" in arg else f"term {i + 1} ({', '.join(names) or 'const'})"
            out.append((label, float(theorems.eval_tree(arg, values).hi)))
        return out
    return [("bound", float(cert.result.hi))]


def ranking_groups(ranking: Sequence[Mapping[str, str]]) -> list[tuple[str, list[Mapping[str, str]]]]:
    """The rows of :func:`certify.jobs.run.ranking` grouped by claim (``bounded``), in the order given."""
    groups: dict[str, list[Mapping[str, str]]] = {}
    for r in ranking:
        groups.setdefault(str(r.get("bounded", "")), []).append(r)
    return list(groups.items())


def _png(fig: Any) -> bytes:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def _wrap(text: str, width: int = 38) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width)) or text


def _margins_figure(cert: Certificate, margins: np.ndarray) -> bytes:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 3.2))
    ax.hist(np.clip(margins, np.quantile(margins, 0.005), None), bins=60, color="#4477aa")
    ax.axvline(0, color="k", lw=1)
    chosen = next((r.value for r in cert.inputs if r.name == "margin"), None)
    if chosen is not None:
        ax.axvline(float(chosen.hi), color="#cc3311", ls="--", label=f"margin used by the bound ({chosen.hi_str(4)})")
        ax.legend()
    ax.set_xlabel("certified logit margin of an example (lower end of its enclosure)")
    ax.set_ylabel("examples")
    ax.set_title(f"Margins of the {margins.size} examples")
    return _png(fig)


def _terms_figure(cert: Certificate, terms: list[tuple[str, float]]) -> bytes:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 1.5 + 0.5 * len(terms)))
    labels = [_wrap(t[0]) for t in terms]
    pos = [v if v > 0 else np.nan for _, v in terms]
    y = np.arange(len(terms))[::-1]
    ax.barh(y, pos, color="#228833")
    ax.set_yticks(y, labels)
    ax.set_xscale("log")
    finite = [v for v in pos if v == v]
    ax.set_xlim(min(finite) / 3, max(finite) * 8)
    for yi, (_, v) in zip(y, terms):
        if v > 0:
            ax.annotate(f"{v:.4g}", (v, yi), xytext=(4, 0), textcoords="offset points", va="center", fontsize=9)
        else:
            ax.annotate(f"{v:.4g} (not drawn: log scale)", (min(finite) / 3, yi), xytext=(4, 0),
                        textcoords="offset points", va="center", fontsize=9)
    ax.set_xlabel("upper end of the term's enclosure (log scale)")
    ax.set_title(f"Terms of {cert.theorem['id']} (they sum to the bound {cert.result.hi_str(6)})", fontsize=10)
    return _png(fig)


def _layers_figure(layers: Sequence[LayerRow]) -> bytes:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(max(6.4, 0.9 * len(layers) + 2), 3.6))
    x = np.arange(len(layers))
    frob = [float(r.frobenius_hi) for r in layers]
    spec = [float(r.spectral_hi) for r in layers]
    b1 = ax.bar(x - 0.2, frob, 0.4, label="Frobenius norm", color="#4477aa")
    b2 = ax.bar(x + 0.2, spec, 0.4, label="spectral norm", color="#ee6677")
    positive = [v for v in frob + spec if v > 0]
    if positive and max(positive) / min(positive) > 50:
        ax.set_yscale("log")
        ax.set_ylabel("norm, upper end of the enclosure\n(log scale)")
    else:
        ax.set_ylabel("norm, upper end of the enclosure")
    ax.bar_label(b1, fmt="%.3g", fontsize=8)
    ax.bar_label(b2, fmt="%.3g", fontsize=8)
    ax.set_xticks(x, [f"{r.name}\n{r.kind} {r.shape}" for r in layers], fontsize=8)
    ax.set_xlabel("weight layer (name, kind, shape)")
    ax.set_title("Certified per-layer weight norms")
    ax.margins(y=0.15)
    ax.legend()
    return _png(fig)


def _ranking_figure(groups: list[tuple[str, list[Mapping[str, str]]]]) -> bytes:
    import matplotlib.pyplot as plt

    groups = [(b, rows) for b, rows in groups if len(rows) >= 2]
    heights = [0.8 + 0.45 * len(rows) for _, rows in groups]
    fig, axes = plt.subplots(len(groups), 1, figsize=(6.4, sum(heights) + 0.6),
                             gridspec_kw={"height_ratios": heights}, squeeze=False)
    for ax, (bounded, rows) in zip(axes[:, 0], groups):
        vals = [float(r["bound"]) for r in rows]
        y = np.arange(len(rows))[::-1]
        ax.barh(y, [v if v > 0 else np.nan for v in vals], color="#228833")
        ax.set_yticks(y, [f"{r.get('rank', i + 1)}. {r['theorem']} ({r['relation']})" for i, r in enumerate(rows)],
                      fontsize=8)
        positive = [v for v in vals if v > 0]
        if positive and max(positive) / min(positive) > 20:
            ax.set_xscale("log")
        if positive:
            ax.set_xlim(right=max(positive) * (8 if ax.get_xscale() == "log" else 1.25))
        for yi, v in zip(y, vals):
            if v > 0:
                ax.annotate(f"{v:.4g}", (v, yi), xytext=(4, 0), textcoords="offset points", va="center", fontsize=8)
        ax.set_title(_wrap(bounded, 80), fontsize=9)
    axes[-1, 0].set_xlabel("certified bound" + (" (log scale)" if axes[-1, 0].get_xscale() == "log" else ""))
    fig.tight_layout()
    return _png(fig)


def _figures(cert: Certificate, layers: Sequence[LayerRow], margins: np.ndarray | None,
             groups: list[tuple[str, list[Mapping[str, str]]]]) -> tuple[dict[str, bytes], dict[str, str]]:
    """(file name -> PNG, file name -> caption)."""
    import matplotlib

    matplotlib.use("Agg")
    figs: dict[str, bytes] = {}
    captions: dict[str, str] = {}
    if margins is not None and margins.size:
        figs["report-margins.png"] = _margins_figure(cert, margins)
        captions["report-margins.png"] = "Distribution of the certified margins (lower ends) over the sample"
    terms = bound_terms(cert)
    if len(terms) >= 2 and any(v > 0 for _, v in terms):
        figs["report-terms.png"] = _terms_figure(cert, terms)
        captions["report-terms.png"] = "Terms of the bound (upper ends), log scale"
    if layers:
        figs["report-layers.png"] = _layers_figure(layers)
        captions["report-layers.png"] = "Certified Frobenius and spectral norms of each weight layer (upper ends)"
    if any(len(rows) >= 2 for _, rows in groups):
        figs["report-ranking.png"] = _ranking_figure(groups)
        captions["report-ranking.png"] = "Certified bounds of each claim with two or more certificates"
    return figs, captions


def _ranking_md(groups: list[tuple[str, list[Mapping[str, str]]]], shown: str, n: int) -> list[str]:
    md = ["## Ranking", "",
          "`--theorem all` " + md_text(f"certified {n} theorems. Bounds are ranked only against bounds of the "
                                       "same claim (the same bounded quantity). Each certificate holds at its own "
                                       "delta: choosing the smallest after the fact needs a union bound "
                                       "(delta / N each)."),
          "", f"This report details the first: `{shown}`; each certificate is in its own file, "
              "`certificate-ID.json`.", ""]
    for bounded, rows in groups:
        md += [f"**{md_text(bounded)}**", "", "| rank | theorem | relation | bound |", "|---|---|---|---|"]
        md += [f"| {md_cell(r.get('rank', i + 1))} | {md_cell(r['theorem'])} | {md_cell(r['relation'])} | "
               f"{md_cell(r['bound'])} |" for i, r in enumerate(rows)]
        md.append("")
    return md


def build_report(cert: Certificate, layers: Sequence[LayerRow] = (), margins: np.ndarray | None = None,
                 ranking: Sequence[Mapping[str, str]] | None = None) -> Report:
    """report.md and report.html for ``cert``.

    Args:
        cert: the certificate the report details (with ``--theorem all``: the first of the ranking).
        layers: per-layer rows of :func:`certify.reports.analyze.analyze_network`.
        margins: certified margins (lower ends) of the sample, for the histogram.
        ranking: the rows of :func:`certify.jobs.run.ranking` (``theorem``, ``relation``, ``bound``, ``bounded``,
            ``rank``) when a run certified several theorems; rendered as one table per claim, plus a figure.
    """
    groups = ranking_groups(ranking) if ranking and len(ranking) > 1 else []
    figs, captions = _figures(cert, layers, margins, groups)
    d = cert.to_dict()
    assumed = [h for h in d["hypotheses"] if h["status"] == "assumed"]
    checked = [h for h in d["hypotheses"] if h["status"] == "checked"]
    ref = d["theorem"]["reference"]
    md = [f"# Certificate report: `{d['theorem']['id']}`", "", f"**{md_text(d['claim'])}**", "",
          md_text(f"Theorem: {d['theorem']['title']} ({ref['citation']} {ref['locator']})."), ""]
    if d["theorem"].get("claim_latex"):
        md += ["$$" + " ".join(d["theorem"]["claim_latex"].split()) + "$$", ""]
    md += [md_text(f"Result enclosure: [{d['result']['lo']}, {d['result']['hi']}]."), ""]
    if groups:
        md += _ranking_md(groups, d["theorem"]["id"], len(ranking or ()))
    md += ["## Inputs", "", "| quantity | lo | hi | source | detail |", "|---|---|---|---|---|"]
    md += [f"| {md_cell(n)} | {md_cell(r['lo_decimal'])} | {md_cell(r['hi_decimal'])} | {md_cell(r['source'])} | "
           f"{md_cell(r['detail'])} |" for n, r in d["inputs"].items()]
    md += ["", "## Hypotheses", "", "Checked mechanically:", ""]
    md += [f"- `{h['name']}`: {md_with_math(h['statement'])}" for h in checked] or ["- none"]
    md += ["", "**Assumed, not checked** (the claim holds only if these do):", ""]
    md += [f"- `{h['name']}`: {md_with_math(h['statement'])}" for h in assumed] or ["- none"]
    if layers:
        md += ["", "## Per-layer quantities (certified enclosures)", "",
               "| layer | kind | shape | Frobenius | spectral | stable rank |", "|---|---|---|---|---|---|"]
        md += [f"| {md_cell(r.name)} | {md_cell(r.kind)} | {md_cell(r.shape)} | "
               f"{md_cell(f'[{r.frobenius_lo}, {r.frobenius_hi}]')} | "
               f"{md_cell(f'[{r.spectral_lo}, {r.spectral_hi}]')} | "
               f"{md_cell(f'[{r.stable_rank_lo}, {r.stable_rank_hi}]')} |" for r in layers]
    md += ["", "## Figures", ""]
    if len(bound_terms(cert)) < 2:
        md += ["The statement is a single term, so no figure of its terms is drawn.", ""]
    for name in figs:
        md += [f"![{md_text(captions[name])}]({name})", ""]
    md += [md_text(f"Model sha256 {d['model']['sha256']}; data {d['data']['name']} ({d['data']['n']} examples, "
                   f"sha256 {d['data']['sha256']})."), "",
           "Reproduce: `sh reproduce.sh` (re-runs the command, then the checker).", ""]
    markdown = "\n".join(md)
    images = {n: f"data:image/png;base64,{base64.b64encode(png).decode()}" for n, png in figs.items()}
    page = ("<!doctype html><html><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>boundcert report: {html.escape(d['theorem']['id'])}</title>"
            f"<style>{_CSS}</style></head><body>{markdown_to_html(markdown, images)}</body></html>\n")
    return Report(markdown, page, figs)
