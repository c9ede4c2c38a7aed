"""Resource limits (issue 15): every stress input answers within 10 s, the checker with NOT VERIFIED and its step, the
library and the CLI with a one-line refusal (exit 2); never a hang, never a traceback."""

from __future__ import annotations

import copy
import time

import pytest

from checker_fuzz import real_certificate
from pipeline_support import run_in_process

from boundcert.errors import InvalidInput
from certify.checker import check

LIMIT_S = 10


@pytest.fixture(scope="module")
def certs():
    return {tid: real_certificate(tid) for tid in ("test_set.kl_chernoff", "test_set.binomial_tail")}


def _input(c, name, value):
    c["inputs"][name]["lo"] = c["inputs"][name]["hi"] = value
    return c


def _tree(c, tree):
    c["theorem"]["statement_tree"], c["witnesses"] = tree, []
    return c


STRESS = {
    "m = 1e999999999": lambda c: _input(c, "m", "1e999999999"),
    "m = 0x1p99999999999": lambda c: _input(c, "m", "0x1p99999999999"),
    "delta = 1e-100000000": lambda c: _input(c, "delta", "1e-100000000"),
    "20001-digit number": lambda c: _input(c, "k", "1" * 20001),
    "pow exponent 0x1p1000000": lambda c: _tree(c, {"op": "pow", "args": [{"var": "m"}, {"num": "0x1p1000000"}]}),
    "pow of 1 to 0x1p1000000": lambda c: _tree(c, {"op": "pow", "args": [{"num": "1"}, {"num": "0x1p1000000"}]}),
    "exp of 2^40": lambda c: _tree(c, {"op": "exp", "args": [{"num": "0x1p40"}]}),
    "exp of -2^40": lambda c: _tree(c, {"op": "exp", "args": [{"num": "-0x1p40"}]}),
    "exp of -2^1000000": lambda c: _tree(c, {"op": "exp", "args": [{"num": "-0x1p1000000"}]}),
    "magnitude 2^(2^20) squared": lambda c: _tree(c, {"op": "*", "args": [{"num": "0x1p1048000"}] * 40}),
    "deep tree": lambda c: _tree(c, _deep(5000)),
    "wide tree": lambda c: _tree(c, {"op": "+", "args": [{"num": "1"}] * 50000}),
}


def _deep(n):
    tree = {"num": "1"}
    for _ in range(n):
        tree = {"op": "-", "args": [tree]}
    return tree


def test_a_deeply_nested_certificate_file_is_a_verdict(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text('{"format_version": 1, "x": ' + "[" * 100000 + "]" * 100000 + "}")
    r = check(str(path))
    assert not r.ok and r.step and "\n" not in r.step


@pytest.mark.parametrize("name", sorted(STRESS))
def test_checker_stress_answers_within_10_s(certs, name):
    c = STRESS[name](copy.deepcopy(certs["test_set.kl_chernoff"]))
    t0 = time.perf_counter()
    r = check(c)
    assert time.perf_counter() - t0 < LIMIT_S, name
    assert not r.ok and r.step and "\n" not in r.step, (name, r.step)


def test_binomial_tail_cost_bound_in_the_checker(certs):
    c = _input(_input(copy.deepcopy(certs["test_set.binomial_tail"]), "m", "1000000000000000"), "k", "500000000000000")
    c["data"]["n"] = 10**15
    t0 = time.perf_counter()
    r = check(c)
    assert time.perf_counter() - t0 < LIMIT_S and not r.ok and "cost bound" in r.step, r.step


@pytest.mark.parametrize("args, match", [
    (["test_set.kl_chernoff", "m=100", "k=5", "delta=1e-100000000"], "parse limits"),
    (["test_set.kl_chernoff", "m=1e999999999", "k=5", "delta=0.05"], "parse limits"),
    (["test_set.kl_chernoff", "m=0x1p99999999999", "k=5", "delta=0.05"], "parse limits"),
    (["test_set.binomial_tail", "m=1000000000000000", "k=500000000000000", "delta=0.05"], "cost bound"),
    (["test_set.kl_chernoff", "m=1e90000", "k=5", "delta=0.05"], "cost bound"),
    (["test_set.kl_chernoff", "m=100", "k=5", "delta=0.05", "--digits", "0"], "--digits"),
])
def test_theorems_eval_stress_is_refused_in_one_line(capsys, args, match):
    t0 = time.perf_counter()
    code, out, err = run_in_process(capsys, "theorems", "eval", *args)
    assert time.perf_counter() - t0 < LIMIT_S
    assert code == 2 and len(err.strip().splitlines()) == 1 and match in err, err


def test_library_limits_match_the_checker():
    from certify.checker import core
    from theorems import _interval, parse_exact

    assert (_interval.MAX_CHARS, _interval.MAX_EXP10, _interval.MAX_EXP2) == (core.MAX_CHARS, core.MAX_EXP10,
                                                                               core.MAX_EXP2)
    for ok in ("1e100000", "0x1p1048576", "0x1.8p-4", " 1 / 20 ", "1_000"):
        parse_exact(ok)
        core.parse_number(ok, "x")
    for bad in ("1e100001", "0x1p1048577", "0x1.8p-1048576", "1" * 20001):
        with pytest.raises(InvalidInput):
            parse_exact(bad)
        with pytest.raises(core.Fail):
            core.parse_number(bad, "x")
