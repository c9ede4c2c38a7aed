"""Norm and margin bounds: worked examples against hand-written 256-bit references, the grid union, refusals."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mpmath import mp

import theorems
from boundcert.errors import HypothesisNotMet, InvalidInput
from catalogue_ref import PREC, F, contains, margin_fixed_grid, margin_union

BASE = {"m": "60000", "emp_margin_risk": "0.02", "margin": "1", "x_frob": "2400", "delta": "0.05"}


def _c(name: str, **v) -> mpmath.mpf:
    """The complexity constant c of each class (R_S <= c u / m), written from the papers / derivations."""
    with mp.workprec(PREC):
        x = F(v.get("x_frob", 0))
        if name == "norm.bartlett_mendelson_linear":
            return x
        if name == "norm.bartlett_mendelson_two_layer":
            return 2 * x
        if name == "norm.golowich2018_frobenius":  # GRS Thm. 1: (sqrt(2 ln(2) d) + 1)
            return (mpmath.sqrt(2 * mpmath.log(2) * F(v["depth"])) + 1) * x
        if name == "norm.neyshabur2015_frobenius":
            return mpmath.power(2, F(v["depth"]) - 1) * x
        # l1-inf and path norm: 2^(d-1) sqrt(2 ln(2D)) max_c ||X_c||
        return mpmath.power(2, F(v["depth"]) - 1) * mpmath.sqrt(2 * mpmath.log(2 * F(v["input_dim"]))) * F(
            v["x_col_max"])


CASES = [
    ("norm.bartlett_mendelson_linear", "w_norm", {}),
    ("norm.bartlett_mendelson_two_layer", "path_norm_2layer", {}),
    ("norm.golowich2018_frobenius", "prod_frob", {"depth": "3"}),
    ("norm.neyshabur2015_frobenius", "prod_frob", {"depth": "4"}),
    ("norm.neyshabur2015_l1inf", "prod_l1inf", {"depth": "3", "input_dim": "64", "x_col_max": "120"}),
    ("norm.neyshabur2015_path", "path_norm_l1", {"depth": "2", "input_dim": "784", "x_col_max": "90"}),
]


@pytest.mark.parametrize("tid,uname,extra", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("u,gamma", [("0.5", "1"), ("37.25", "0.8"), ("1e6", "3")])
def test_margin_bound_worked_example(tid, uname, extra, u, gamma):
    t = theorems.get(tid)
    values = dict(BASE, margin=gamma, **extra, **{uname: u})
    if "x_frob" not in t.names:
        values.pop("x_frob")
    r = t.evaluate(**values)
    ref = margin_union("0.02", _c(tid, **values), u, gamma, "60000", "0.05")
    assert contains(r, ref)


@settings(max_examples=40, deadline=None)
@given(st.floats(min_value=1e-3, max_value=1e12), st.floats(min_value=1e-3, max_value=1e3))
def test_grid_union_dominates_the_fixed_class_bound(u, gamma):
    """The statement is >= the bound of the grid class u_j >= u/gamma it stands for (the derivation's claim)."""
    t = theorems.get("norm.golowich2018_frobenius")
    values = dict(BASE, margin=gamma, prod_frob=u, depth="3")
    r = t.evaluate(**values)
    ratio = max(u / gamma, 1.0)
    j = max(0, math.ceil(8 * math.log2(ratio)))
    while 2 ** (j / 8) < u / gamma:  # guard against float rounding in the index
        j += 1
    fixed = margin_fixed_grid("0.02", _c(t.id, **values), j, "60000", "0.05")
    assert fixed <= r.hi


def test_bartlett2017_rademacher_lemma_a8():
    t = theorems.get("norm.bartlett2017_rademacher")
    v = {"m": "60000", "x_frob": "2400", "spectral_complexity": "50", "margin": "5", "max_params": "200704"}
    r = t.evaluate(**v)
    with mp.workprec(PREC):
        n = F(60000)
        c_sum = (4 / F(5)) * (F(2400) / mpmath.sqrt(n)) * F(50)  # (sum_i C_i^(2/3))^(3/2) with C_i of Lemma A.8
        ref = 4 / n + 9 * mpmath.log(n) / mpmath.sqrt(n) * mpmath.sqrt(mpmath.log(2 * F(200704))) * c_sum
    assert contains(r, ref)


def test_bartlett2017_per_layer_complexity_matches_aggregate():
    """(sum_i C_i^(2/3))^(3/2) with per-layer C_i equals the aggregate (4/gamma)(||X||/sqrt n) R_A used here."""
    rng = np.random.default_rng(3)
    s, b, rho = rng.uniform(0.5, 3, 4), rng.uniform(1, 20, 4), np.ones(4)
    with mp.workprec(PREC):
        xs, n, g = F(2400), F(60000), F(5)
        prod = mpmath.fprod(F(float(v)) for v in s * rho)
        per_layer = [4 / g * xs / mpmath.sqrt(n) * prod * F(float(bi)) / F(float(si)) for si, bi in zip(s, b)]
        lhs = mpmath.fsum(c ** (mpmath.mpf(2) / 3) for c in per_layer) ** (mpmath.mpf(3) / 2)
        r_a = prod * mpmath.fsum((F(float(bi)) / F(float(si))) ** (mpmath.mpf(2) / 3) for si, bi in zip(s, b)) ** (
            mpmath.mpf(3) / 2)
        rhs = 4 / g * xs / mpmath.sqrt(n) * r_a
        assert abs(lhs - rhs) <= mpmath.mpf(2) ** -200 * rhs


def test_order_results_are_not_bounds():
    for tid in ("norm.bartlett2017_spectral", "norm.neyshabur2018_spectral"):
        t = theorems.get(tid)
        assert t.kind == "order" and t.relation == "lesssim"


@pytest.mark.parametrize(
    "bad",
    [{"margin": "0"}, {"margin": "-1"}, {"m": "0"}, {"delta": "1"}, {"emp_margin_risk": "1.5"}, {"prod_frob": "-2"},
     {"depth": "2.5"}],
)
def test_refusals(bad):
    t = theorems.get("norm.golowich2018_frobenius")
    with pytest.raises(InvalidInput):
        t.evaluate(**{**BASE, "prod_frob": "10", "depth": "3", **bad})


def test_bartlett2017_rademacher_needs_m_ge_2():
    t = theorems.get("norm.bartlett2017_rademacher")
    with pytest.raises(HypothesisNotMet):
        t.evaluate(m=1, x_frob=1, spectral_complexity=1, margin=1, max_params=10)


MC_CASES = [
    ("norm.golowich2018_frobenius_multiclass", "prod_frob", "norm.golowich2018_frobenius",
     {"depth": "3", "x_frob_class_sum": "1800"}),
    ("norm.neyshabur2015_frobenius_multiclass", "prod_frob", "norm.neyshabur2015_frobenius",
     {"depth": "2", "x_frob_class_sum": "1800"}),
    ("norm.neyshabur2015_path_multiclass", "path_norm_l1", "norm.neyshabur2015_path",
     {"depth": "3", "input_dim": "64", "x_col_max_class_sum": "300"}),
]


@pytest.mark.parametrize("tid,uname,binary,extra", MC_CASES, ids=[c[0] for c in MC_CASES])
def test_multiclass_worked_example(tid, uname, binary, extra):
    """c picks up the factor k and the per-class data norm (module docstring, multiclass reduction)."""
    t = theorems.get(tid)
    values = {"m": "1437", "emp_margin_risk": "0.01", "margin": "2", "classes": "10", "delta": "0.05", uname: "40",
              **extra}
    r = t.evaluate(**values)
    data = {"x_frob": extra.get("x_frob_class_sum"), "x_col_max": extra.get("x_col_max_class_sum")}
    with mp.workprec(PREC):
        c1 = _c(binary, **{k: v for k, v in {**extra, **data}.items() if v is not None})
        c = 10 * c1
    assert contains(r, margin_union("0.01", c, "40", "2", "1437", "0.05"))
    # k = 1 with the same data norm is the binary statement's value
    one = t.evaluate(**dict(values, classes="1"))
    assert contains(one, margin_union("0.01", c1, "40", "2", "1437", "0.05"))
