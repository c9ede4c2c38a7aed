"""report.md / report.html: escaped cells, maths rendered offline (SVG, no script, no network), the ranking table,
figures that carry labels and a log scale; the progress helper steps aside when stderr is not a terminal."""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

import theorems
from certify.certificate import Certificate
from certify.certificate.format import InputRecord, theorem_record
from certify.reports import report as report_mod
from certify.reports.analyze import LayerRow
from certify.reports.markup import latex_svg, md_cell, md_text, md_with_math
from certify.reports.progress import progress
from certify.reports.report import build_report, bound_terms

ROOT = Path(__file__).resolve().parents[2]
PIPE_DETAIL = "sum over classes of ||X_c||_F (inputs (x, 1)); a*b, `tick`, $5, [link](x), <b>bold</b>, back\\slash"


def _cert(tid: str, detail: str = PIPE_DETAIL, name: str = "kl") -> Certificate:
    """A certificate of ``tid`` at its documented example, built as the pipeline does (inputs, hypotheses)."""
    th = theorems.get(tid)
    ex = th.example_values()
    enc = th.enclose_inputs(ex)
    result = th.evaluate(**ex)
    inputs = tuple(InputRecord(n, enc[n], "user", detail if n == name else f"{n}={ex[n]}") for n in sorted(enc))
    hyps = tuple({"name": h.name, "statement": h.statement, "status": "checked" if h.check else "assumed"}
                 for h in th.hypotheses)
    return Certificate(theorem=theorem_record(th), inputs=inputs, hypotheses=hyps, result=result,
                       claim=f"the {th.bounded} is at most {result.hi_str(6)}", model={"sha256": "0" * 64},
                       data={"name": "toy", "n": 10, "sha256": "1" * 64}, delta={"total": "0.05"}, environment={},
                       reproduce="certify run ...", created="2026-01-01T00:00:00Z")


class _Tables(HTMLParser):
    """Every table's rows as lists of cell texts, and the text outside attributes (to look for raw LaTeX)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self.text: list[str] = []
        self.imgs: list[dict[str, str]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "img":
            self.imgs.append(dict(attrs))

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)


def _parse(page: str) -> _Tables:
    p = _Tables()
    p.feed(page)
    return p


def _md_rows(markdown: str) -> list[list[str]]:
    """Markdown table rows split the way GitHub does: at every pipe not preceded by a backslash."""
    return [re.split(r"(?<!\\)\|", line.strip())[1:-1] for line in markdown.splitlines() if line.startswith("|")]


# -- escaping --------------------------------------------------------------------------------------------------


def test_pipe_in_a_quantity_stays_in_its_cell_in_markdown_and_html():
    cert = _cert("pac_bayes.mcallester")
    rep = build_report(cert)
    rows = _md_rows(rep.markdown)
    assert rows and all(len(r) == len(rows[0]) for r in rows if len(r) != 4)  # 4: ranking tables (absent here)
    inputs_rows = [r for r in rows if len(r) == 5]
    assert len(inputs_rows) == 2 + len(cert.inputs)  # header, separator, one per input
    tables = _parse(rep.html).tables
    inputs_table = next(t for t in tables if t[0] == ["quantity", "lo", "hi", "source", "detail"])
    assert all(len(r) == 5 for r in inputs_table)
    detail = {r[0]: r[4] for r in inputs_table[1:]}
    assert detail["kl"] == PIPE_DETAIL  # the exact text, nothing split, nothing turned into markup


@pytest.mark.parametrize("text", ["||X_c||_F", "a|b\\|c", "*x* _y_ `z` $w$", "[a](b) <i>", "a\\", "#h", "snake_case"])
def test_md_cell_is_one_cell_and_reads_back_exactly(text):
    from certify.reports.markup import markdown_to_html

    cell = md_cell(text)
    assert len(re.split(r"(?<!\\)\|", cell.replace("\\\\", ""))) == 1  # no unescaped pipe (escaped backslashes aside)
    page = markdown_to_html(f"| h |\n|---|\n| {cell} |", {})
    assert _parse(page).tables == [[["h"], [text]]]
    assert md_text("snake_case") == "snake_case"  # intraword underscores are left alone (readable Markdown)


def test_text_around_maths_is_escaped_and_maths_kept():
    assert md_with_math(r"labels $y \in [k]$ with a*b") == r"labels $y \in [k]$ with a\*b"
    assert md_with_math("costs $5") == r"costs \$5"


# -- maths offline ---------------------------------------------------------------------------------------------


def test_maths_is_rendered_as_svg_with_no_script_and_no_network():
    cert = _cert("pac_bayes.mcallester", detail="KL(Q||P) of the posterior")
    rep = build_report(cert)
    assert "$$" + " ".join(cert.theorem["claim_latex"].split()) + "$$" in rep.markdown  # Markdown keeps LaTeX
    assert "$m \\ge 8$" in rep.markdown
    page = rep.html
    parsed = _parse(page)
    visible = "".join(parsed.text)
    assert "$" not in visible and "\\le" not in visible and "\\ge" not in visible and "\\frac" not in visible
    assert "<script" not in page.lower() and "<link" not in page.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    maths = [i for i in parsed.imgs if "math" in i.get("class", "")]
    alts = {i["alt"] for i in maths}
    assert " ".join(cert.theorem["claim_latex"].split()) in alts and r"m \ge 8" in alts
    for img in maths:
        assert img["src"].startswith("data:image/svg+xml;base64,")
        svg = base64.b64decode(img["src"].split(",", 1)[1])
        root = ET.fromstring(svg)
        assert root.tag.endswith("svg")
        assert not [e for e in root.iter() if e.tag.endswith("text")]  # glyphs are paths: no font needed
        assert b"http" not in svg.replace(b"http://www.w3.org/", b"").replace(b"http://purl.org/dc/", b"") \
            .replace(b"http://creativecommons.org/ns#", b"").replace(b"http://matplotlib.org/", b"")
        assert re.fullmatch(r"height:[0-9.]+em;vertical-align:-?[0-9.]+em", img["style"])


def test_every_statement_and_hypothesis_of_the_catalogue_parses_in_mathtext():
    """mathtext's parser is where a formula can fail (drawing a parsed formula cannot): every claim and hypothesis
    of the catalogue, translated as :func:`latex_svg` translates it, parses."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.mathtext import MathTextParser

    from certify.reports.markup import _to_mathtext

    sources = []
    for t in theorems.all():
        sources.append(" ".join(t.claim_latex().split()))
        for h in t.hypotheses:
            sources += re.findall(r"\$([^$]+)\$", h.statement)
    parser, failed = MathTextParser("path"), []
    for src in sources:
        try:
            parser.parse(f"${_to_mathtext(src)}$", dpi=72, prop=FontProperties(size=12))
        except ValueError:
            failed.append(src)
    assert len(sources) > 50 and not failed, failed[:3]
    assert latex_svg(sources[0]) is not None


def test_unparseable_latex_falls_back_to_its_source_in_code():
    from certify.reports.markup import markdown_to_html

    page = markdown_to_html(r"see $\notamacro{x}$", {})
    assert r'<code class="tex">\notamacro{x}</code>' in page


def test_report_is_deterministic():
    cert = _cert("pac_bayes.mcallester")
    assert build_report(cert).html == build_report(cert).html


# -- ranking ---------------------------------------------------------------------------------------------------

RANKING = [
    {"theorem": "test_set.binomial_tail", "relation": "<=", "bound": "0.297014", "bounded": "test error", "rank": "1"},
    {"theorem": "test_set.hoeffding", "relation": "<=", "bound": "0.310331", "bounded": "test error", "rank": "2"},
    {"theorem": "robust.x", "relation": "<=", "bound": "0.62", "bounded": "robust risk P[||d||_2 <= eps]", "rank": "1"},
    {"theorem": "norm.a", "relation": "<=", "bound": "650.871", "bounded": "margin risk", "rank": "1"},
    {"theorem": "norm.b", "relation": "<=", "bound": "9378.35", "bounded": "margin risk", "rank": "2"},
]


def test_ranking_table_per_claim_in_markdown_and_html():
    rep = build_report(_cert("test_set.binomial_tail"), ranking=RANKING)
    assert "## Ranking" in rep.markdown and "union bound" in rep.markdown
    tables = [t for t in _parse(rep.html).tables if t[0] == ["rank", "theorem", "relation", "bound"]]
    got = [[(r[0], r[1], r[2], r[3]) for r in t[1:]] for t in tables]
    want = [[(r["rank"], r["theorem"], r["relation"], r["bound"]) for r in RANKING if r["bounded"] == b]
            for b in ("test error", "robust risk P[||d||_2 <= eps]", "margin risk")]
    assert got == want
    visible = "".join(_parse(rep.html).text)
    assert "robust risk P[||d||_2 <= eps]" in visible  # the claim heading, escaped, reads back exactly
    assert "report-ranking.png" in rep.figures


def test_no_ranking_section_for_a_single_certificate():
    rep = build_report(_cert("test_set.binomial_tail"), ranking=RANKING[:1])
    assert "## Ranking" not in rep.markdown and "report-ranking.png" not in rep.figures


# -- figures ---------------------------------------------------------------------------------------------------


@pytest.fixture
def figures(monkeypatch):
    """The matplotlib figures build_report draws, by the order drawn (captured before they are closed)."""
    drawn = []
    real = report_mod._png

    def capture(fig):
        drawn.append(fig)
        return real(fig)

    monkeypatch.setattr(report_mod, "_png", capture)
    return drawn


def test_terms_on_a_log_scale_with_labels(figures):
    cert = _cert("pac_bayes.mcallester")
    terms = bound_terms(cert)
    assert len(terms) == 2
    rep = build_report(cert)
    assert "report-terms.png" in rep.figures
    (ax,) = figures[0].axes
    assert ax.get_xscale() == "log" and "log scale" in ax.get_xlabel()
    assert [t.get_text() for t in ax.get_yticklabels()] == [label for label, _ in terms]
    notes = [c.get_text() for c in ax.texts]
    assert [f"{v:.4g}" for _, v in terms] == notes  # each bar carries its value
    assert cert.result.hi_str(6) in ax.get_title()


def test_single_term_bound_draws_no_one_bar_chart():
    cert = _cert("test_set.binomial_tail")
    assert len(bound_terms(cert)) == 1
    rep = build_report(cert)
    assert "report-terms.png" not in rep.figures and "single term" in rep.markdown


def test_layer_chart_is_labelled(figures):
    rows = [LayerRow("fc1", "Linear", "128x64", 8192, "6.59", "6.6", "1.36", "1.37", "x", "23", "24"),
            LayerRow("fc2", "Linear", "10x128", 1280, "1.93", "1.94", "0.76", "0.77", "x", "6", "7")]
    build_report(_cert("test_set.binomial_tail"), layers=rows, margins=np.linspace(-1, 3, 50))
    margins_ax, layers_ax = figures[0].axes[0], figures[1].axes[0]
    assert margins_ax.get_xlabel() and margins_ax.get_ylabel() == "examples" and margins_ax.get_title()
    assert layers_ax.get_ylabel().startswith("norm") and layers_ax.get_xlabel() and layers_ax.get_title()
    assert [t.get_text() for t in layers_ax.get_xticklabels()] == ["fc1\nLinear 128x64", "fc2\nLinear 10x128"]
    assert {t.get_text() for t in layers_ax.get_legend().get_texts()} == {"Frobenius norm", "spectral norm"}
    assert sorted(float(c.get_text()) for c in layers_ax.texts) == [0.77, 1.37, 1.94, 6.6]  # upper ends, labelled


# -- progress bars ---------------------------------------------------------------------------------------------


def _bar_stderr(env_value: str | None) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("BOUNDCERT_PROGRESS", None)
    if env_value is not None:
        env["BOUNDCERT_PROGRESS"] = env_value
    code = "from certify.reports.progress import progress\nfor _ in progress(range(300), desc='work'): pass\n"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stderr


def test_progress_steps_aside_when_stderr_is_not_a_terminal():
    assert _bar_stderr(None) == ""  # piped: no bar, no carriage-return redraws
    assert "work" in _bar_stderr("1")  # forced on
    assert _bar_stderr("0") == ""


def test_progress_yields_the_items_and_supports_tqdm_calls_when_disabled(capsys, monkeypatch):
    monkeypatch.delenv("BOUNDCERT_PROGRESS", raising=False)
    items = [1, 2, 3]
    bar = progress(items, enabled=False)
    bar.set_postfix(loss=0.5)  # what the training loops call
    assert list(bar) == items and bar.disable
    assert list(progress(iter(items), desc="x")) == items
    monkeypatch.setenv("BOUNDCERT_PROGRESS", "1")
    assert progress(items, enabled=False).disable  # the caller's "off" wins over the environment
    assert capsys.readouterr().err == ""
