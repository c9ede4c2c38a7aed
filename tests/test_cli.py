"""`certify theorems list|show|eval`: JSON contract, outward-rounded strings, one-line errors with exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
import pytest

import reference as ref
import theorems
from certify.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_list_json(capsys):
    code, out, _ = run(capsys, "theorems", "list", "--json")
    rows = json.loads(out)
    assert code == 0 and {r["id"] for r in rows} == set(theorems.ids())
    for r in rows:
        assert r["kind"] in {"bound", "measure", "order", "existence"} and r["reference"]["locator"]


def test_show_json(capsys):
    code, out, _ = run(capsys, "theorems", "show", "pac_bayes.kl", "--json")
    d = json.loads(out)
    assert code == 0 and d["id"] == "pac_bayes.kl" and "kl}^{-1}" in d["statement_latex"]
    assert {q["name"] for q in d["quantities"]} == {"m", "emp_risk", "kl", "delta"}
    assert any(h["name"] == "h_m_ge_8" and h["check"] == "mechanical" for h in d["hypotheses"])


def test_eval_json_strings_enclose_the_reference(capsys):
    code, out, _ = run(capsys, "theorems", "eval", "test_set.kl_chernoff", "m=1000", "k=30", "delta=0.05", "--json")
    d = json.loads(out)
    want = ref.kl_inv(ref.mpf_exact("30/1000"), __import__("mpmath").log(ref.mpf_exact("20")) / 1000)
    lo, hi = theorems.parse_exact(d["lo"]), theorems.parse_exact(d["hi"])  # exact rationals of the printed strings
    assert code == 0 and lo <= hi
    assert theorems.enclose(lo).hi <= want <= theorems.enclose(hi).lo  # the strings themselves enclose the value
    assert float(hi - lo) <= 1e-12 * float(hi)


@pytest.mark.parametrize(
    "argv",
    [
        ["theorems", "eval", "no.such.theorem", "m=1"],
        ["theorems", "eval", "test_set.hoeffding", "m=100", "k=3"],
        ["theorems", "eval", "test_set.hoeffding", "m=100", "k=3", "delta=0"],
        ["theorems", "eval", "test_set.hoeffding", "m=100", "k=3", "delta=1.5"],
        ["theorems", "eval", "test_set.hoeffding", "m=100", "k=300", "delta=0.05"],
        ["theorems", "eval", "test_set.hoeffding", "m=100", "k=three", "delta=0.05"],
        ["theorems", "eval", "test_set.hoeffding", "m=100", "k", "delta=0.05"],
        ["theorems", "show", "nope"],
    ],
)
def test_errors_are_one_line_and_exit_2(capsys, argv):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.startswith("certify: error: ") and err.count("\n") == 1


def test_console_script_exit_code_in_a_subprocess():
    p = subprocess.run([sys.executable, "-m", "certify", "theorems", "eval", "test_set.hoeffding", "m=5", "k=9",
                        "delta=0.1"], capture_output=True, text=True)
    assert p.returncode == 2 and "h_k_le_m" in p.stderr
    p = subprocess.run([sys.executable, "-m", "certify", "theorems", "eval", "test_set.hoeffding", "m=100", "k=5",
                        "delta=0.1", "--json"], capture_output=True, text=True)
    assert p.returncode == 0 and set(json.loads(p.stdout)) >= {"lo", "hi"}
