"""report.html and report.md: the claim in words, per-layer quantities, the margin distribution and the bound's terms
as figures (matplotlib, PNG; embedded as base64 in the HTML, written beside the Markdown), and which hypotheses were
assumed rather than checked. Figures show enclosures' upper ends; they illustrate, the certificate proves.
"""

from __future__ import annotations

import base64
import html
import io
import re
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

import theorems
from certify.certificate import Certificate
from certify.reports.analyze import LayerRow

__all__ = ["Report", "build_report", "bound_terms"]


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


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight", metadata={"Software": None})
    import matplotlib.pyplot as plt

    plt.close(fig)
    return buf.getvalue()


def _figures(cert: Certificate, layers: Sequence[LayerRow], margins: np.ndarray | None) -> dict[str, bytes]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figs: dict[str, bytes] = {}
    if margins is not None and margins.size:
        fig, ax = plt.subplots(figsize=(6, 3))
        ax.hist(np.clip(margins, np.quantile(margins, 0.005), None), bins=60, color="#4477aa")
        ax.axvline(0, color="k", lw=1)
        chosen = next((r.value for r in cert.inputs if r.name == "margin"), None)
        if chosen is not None:
            ax.axvline(float(chosen.hi), color="#cc3311", ls="--", label=f"margin {chosen.hi_str(4)}")
            ax.legend()
        ax.set_xlabel("certified logit margin (lower end)")
        ax.set_ylabel("examples")
        figs["report-margins.png"] = _png(fig)
    terms = bound_terms(cert)
    fig, ax = plt.subplots(figsize=(6, 1.6 + 0.4 * len(terms)))
    ax.barh([t[0] for t in terms], [t[1] for t in terms], color="#228833")
    ax.set_xlabel("upper end of the term")
    ax.set_title(f"{cert.theorem['id']}: bound {cert.result.hi_str(6)}")
    figs["report-terms.png"] = _png(fig)
    if layers:
        fig, ax = plt.subplots(figsize=(6, 3))
        x = np.arange(len(layers))
        ax.bar(x - 0.2, [float(r.frobenius_hi) for r in layers], 0.4, label="Frobenius (upper)")
        ax.bar(x + 0.2, [float(r.spectral_hi) for r in layers], 0.4, label="spectral (upper)")
        ax.set_xticks(x, [r.name for r in layers], rotation=30)
        ax.legend()
        figs["report-layers.png"] = _png(fig)
    return figs


def _inline(text: str) -> str:
    """Escape, then the inline markdown the report uses: **bold** and `code`."""
    out = html.escape(text)
    out = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", out)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", out)


def _markdown_to_html(markdown: str, images: dict[str, str]) -> str:
    """The markdown subset of :func:`build_report` (headings, paragraphs, lists, tables, images) as HTML."""
    out: list[str] = []
    lines = markdown.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
        elif line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            out.append(f"<h{level}>{_inline(line[level:].strip())}</h{level}>")
            i += 1
        elif line.startswith("|"):
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                if not set(lines[i]) <= set("|-: "):
                    rows.append([c.strip() for c in lines[i].strip().strip("|").split("|")])
                i += 1
            head, body = rows[0], rows[1:]
            out.append("<table><tr>" + "".join(f"<th>{_inline(c)}</th>" for c in head) + "</tr>"
                       + "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in r) + "</tr>" for r in body)
                       + "</table>")
        elif line.startswith("- "):
            items = []
            while i < len(lines) and lines[i].startswith("- "):
                items.append(f"<li>{_inline(lines[i][2:])}</li>")
                i += 1
            out.append("<ul>" + "".join(items) + "</ul>")
        elif (m := re.fullmatch(r"!\[(.+?)\]\((.+?)\)", line.strip())) and m.group(2) in images:
            out.append(f'<p><img alt="{html.escape(m.group(1))}" src="{images[m.group(2)]}"></p>')
            i += 1
        else:
            cls = ' class="claim"' if line.startswith("**") and line.endswith("**") else ""
            out.append(f"<p{cls}>{_inline(line)}</p>")
            i += 1
    return "\n".join(out)


def build_report(cert: Certificate, layers: Sequence[LayerRow] = (), margins: np.ndarray | None = None) -> Report:
    figs = _figures(cert, layers, margins)
    d = cert.to_dict()
    assumed = [h for h in d["hypotheses"] if h["status"] == "assumed"]
    checked = [h for h in d["hypotheses"] if h["status"] == "checked"]
    ref = d["theorem"]["reference"]
    md = [f"# Certificate report: {d['theorem']['id']}", "", f"**{d['claim']}**", "",
          f"Theorem: {d['theorem']['title']} ({ref['citation']} {ref['locator']}).", "",
          f"Result enclosure: [{d['result']['lo']}, {d['result']['hi']}].", "",
          "## Inputs", "", "| quantity | lo | hi | source | detail |", "|---|---|---|---|---|"]
    md += [f"| {n} | {r['lo_decimal']} | {r['hi_decimal']} | {r['source']} | {r['detail']} |"
           for n, r in d["inputs"].items()]
    md += ["", "## Hypotheses", "", "Checked mechanically:", ""] + [f"- `{h['name']}`: {h['statement']}" for h in checked]
    md += ["", "**Assumed, not checked** (the claim holds only if these do):", ""]
    md += [f"- `{h['name']}`: {h['statement']}" for h in assumed] or ["- none"]
    if layers:
        md += ["", "## Per-layer quantities (certified enclosures)", "",
               "| layer | kind | shape | Frobenius | spectral | stable rank |", "|---|---|---|---|---|---|"]
        md += [f"| {r.name} | {r.kind} | {r.shape} | [{r.frobenius_lo}, {r.frobenius_hi}] | "
               f"[{r.spectral_lo}, {r.spectral_hi}] | [{r.stable_rank_lo}, {r.stable_rank_hi}] |" for r in layers]
    md += ["", "## Figures", ""] + [f"![{n}]({n})" for n in figs]
    md += ["", f"Model sha256 {d['model']['sha256']}; data {d['data']['name']} ({d['data']['n']} examples, sha256 "
           f"{d['data']['sha256']}).", "", "Reproduce: `sh reproduce.sh` (re-runs the command, then the checker).", ""]
    markdown = "\n".join(md)
    images = {n: f"data:image/png;base64,{base64.b64encode(png).decode()}" for n, png in figs.items()}
    page = ("<!doctype html><html><head><meta charset='utf-8'><title>boundcert report</title><style>"
            "body{font-family:sans-serif;max-width:62em;margin:2em auto;line-height:1.45;color:#222}"
            "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .6em;"
            "font-variant-numeric:tabular-nums}th{background:#f3f3f3}code{background:#f3f3f3;padding:0 .2em}"
            "p.claim{font-size:1.15em;border-left:4px solid #2a7;padding-left:.8em}img{max-width:100%}</style>"
            f"</head><body>{_markdown_to_html(markdown, images)}</body></html>\n")
    return Report(markdown, page, figs)
