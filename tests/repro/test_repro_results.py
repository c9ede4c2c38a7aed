"""certify.repro.results, the one helper layer of the paper_repro/ scripts: one ``row`` for all of them (``within``
judged from numbers or given, a ``why`` wherever it cannot go without one), the results file of the harness."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import pytest

from certify import repro
from certify.repro import results as rs

ROOT = Path(__file__).resolve().parents[2]


def test_within_is_judged_from_numbers_and_a_why_is_kept_only_when_needed():
    ok = rs.row("a", 1.0, 1.04, 0.05, why="reason for a failure")
    assert ok == {"name": "a", "paper": 1.0, "ours": 1.04, "tolerance": 0.05, "within": True}
    bad = rs.row("a", 1.0, 1.06, 0.05, why="too far")
    assert bad["within"] is False and bad["why"] == "too far"


def test_a_row_not_within_must_say_why():
    with pytest.raises(ValueError, match="say why"):
        rs.row("a", 1.0, 2.0, 0.05)
    with pytest.raises(ValueError, match="say why"):
        rs.row("a", "> 0", -1.0, "sign", False)


def test_within_that_cannot_be_judged_must_be_given():
    for paper, tol in ((None, None), ("holds", "min >= 0"), (1.0, None)):
        with pytest.raises(ValueError, match="cannot be judged"):
            rs.row("a", paper, 0.5, tol, why="w")


def test_a_row_without_a_paper_value_says_what_it_is():
    with pytest.raises(ValueError, match="without a paper value"):
        rs.row("measurement", None, 0.5, None, within=True)
    r = rs.row("measurement", None, 0.5, None, within=True, why="measurement")
    assert r["within"] is True and r["why"] == "measurement"


def test_values_are_plain_and_unrounded():
    r = rs.row("a", np.float64(0.1), np.float32(0.5), np.int64(1), why="w")
    assert type(r["paper"]) is float and type(r["ours"]) is float and type(r["tolerance"]) is int
    bound = 0.40546621484793377
    assert rs.row("b", 0.4, bound, 0.01)["ours"] == bound  # a rounded upper end could fall below the bound
    assert rs.row("c", None, math.inf, None, within=False, why="diverged")["ours"] == "inf"


def test_direction_row():
    assert rs.direction_row("d", 0.3, "> 0")["within"] is True
    r = rs.direction_row("d", 0.3, "< 0")
    assert r["within"] is False and r["why"] and r["tolerance"] == "sign"


def test_write_follows_the_format(tmp_path):
    rows = [rs.row("a", 1.0, 1.0, 0.0), rs.row("b", None, 0.2, None, within=True, why="measurement")]
    fig = rs.bar_figure("t", rows)
    path = rs.write("toy", tmp_path, paper="P", claim="C", scale="S", rows=rows, certificates=[], quick=True,
                    started=time.perf_counter(), fig=fig, extra={"x": np.arange(3)})
    assert path == tmp_path / "toy.json" and (tmp_path / "toy.png").is_file()
    res = json.loads(path.read_text())
    assert repro.validate_results(res) == []
    assert res["quick"] is True and res["command"] == "certify repro toy --quick" and res["data"] == {"x": [0, 1, 2]}
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((ROOT / "docs" / "repro.schema.json").read_text())
    assert list(jsonschema.Draft202012Validator(schema).iter_errors(res)) == []


def test_parser_defaults_to_the_results_directory():
    args = rs.parser("d").parse_args(["--quick"])
    assert args.quick and args.seed == 0 and Path(args.out) == rs.RESULTS_DIR == repro.REPRO_DIR / "results"


def test_one_helper_layer():
    """No results helper exists twice: paper_repro/_common.py keeps only script-local helpers."""
    import ast

    common = ast.parse((ROOT / "paper_repro" / "_common.py").read_text())
    defined = {n.name for n in common.body if isinstance(n, ast.FunctionDef)}
    assert not defined & set(rs.__all__) and "numeric_row" not in defined
    assert not (ROOT / "certify" / "_repro.py").exists()
