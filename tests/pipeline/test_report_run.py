"""``certify run`` writes a report whose ranking is the job's ranking.json, whose maths is rendered (no raw LaTeX in
report.html) and whose cells keep a ``||X_c||_F`` detail whole; piped output carries no progress-bar redraws."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest

torch = pytest.importorskip("torch")

from pipeline_support import cli, save_all, save_npz, trained  # noqa: E402
from pipeline_support import run_in_process as run  # noqa: E402

NORM = "norm.neyshabur2015_frobenius_multiclass"


class _Cells(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.text: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)


@pytest.fixture(scope="module")
def mlp(tmp_path_factory):
    d = tmp_path_factory.mktemp("mlp")
    model, train, test = trained("mlp")
    return {**save_all(model, d), "test": save_npz(test, d / "test.npz"), "train": save_npz(train, d / "train.npz")}


def test_theorem_all_report_has_the_ranking_of_ranking_json(capsys, mlp, tmp_path):
    out = tmp_path / "all"
    code, _, err = run(capsys, "run", mlp["safetensors"], "--arch", "certify.zoo:digits_mlp", "--train-data",
                       mlp["train"], "--test-data", mlp["test"], "--theorem", "all", "--out", out)
    assert code == 0, err
    rank = json.loads((out / "ranking.json").read_text())["ranking"]
    assert len(rank) > 1
    page = _Cells()
    page.feed((out / "report.html").read_text())
    shown = [tuple(r) for r in page.rows if len(r) == 4 and r != ["rank", "theorem", "relation", "bound"]]
    assert shown == [(r["rank"], r["theorem"], r["relation"], r["bound"]) for r in rank]
    md = (out / "report.md").read_text()
    assert "## Ranking" in md and (out / "report-ranking.png").is_file()
    assert "$" not in "".join(page.text)  # maths is drawn, not left as LaTeX


def test_norm_report_keeps_the_frobenius_detail_in_its_cell(capsys, mlp, tmp_path):
    out = tmp_path / "norm"
    code, _, err = run(capsys, "run", mlp["safetensors"], "--arch", "certify.zoo:digits_mlp", "--data", mlp["train"],
                       "--theorem", NORM, "--out", out)
    assert code == 0, err
    cert = json.loads((out / "certificate.json").read_text())
    page = _Cells()
    page.feed((out / "report.html").read_text())
    inputs = {r[0]: r for r in page.rows if len(r) == 5}
    detail = cert["inputs"]["x_frob_class_sum"]["detail"]
    assert "||X_c||_F" in detail and inputs["x_frob_class_sum"][4] == detail
    md_rows = [re.split(r"(?<!\\)\|", line)[1:-1] for line in (out / "report.md").read_text().splitlines()
               if line.startswith("| x_frob_class_sum")]
    assert len(md_rows) == 1 and len(md_rows[0]) == 5
    assert (out / "report-terms.png").is_file()  # a sum of three terms: drawn on a log scale


def test_piped_run_prints_no_progress_redraws(mlp, tmp_path):
    r = cli("run", str(mlp["torchscript"]), "--data", str(mlp["test"]), "--theorem", "all", "--out",
            str(tmp_path / "piped"))
    assert r.returncode == 0, r.stderr
    assert "\r" not in r.stderr and "it/s" not in r.stderr
