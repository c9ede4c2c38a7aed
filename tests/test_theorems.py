"""The registry and every registered bound: evaluate() encloses an independent 256-bit evaluation of its statement."""

from __future__ import annotations

import mpmath
import pytest
import sympy
import theorems
from boundcert.errors import HypothesisNotMet, InvalidInput
from theorems import BinomTailInv, KlInv

FOUNDATION_IDS = {
    "test_set.binomial_tail", "test_set.kl_chernoff", "test_set.hoeffding", "pac_bayes.kl", "pac_bayes.mcallester",
    "pac_bayes.catoni", "pac_bayes.dziugaite_roy2017",
}


def test_dziugaite_roy_2017_table_1_t600():
    """emp_risk = kl^-1(0.028, ln(2/0.01)/150000), KL = 5144, m = 55000, delta = 0.025, j = 100 -> 0.16362
    (the paper prints 0.161 for T-600; its train error 0.028 is rounded)."""
    c = theorems.eval_tree(theorems.to_tree(sympy.log(2 / sympy.Rational(1, 100)) / 150000), {})
    emp = theorems.kl_inv("0.028", c)
    got = theorems.get("pac_bayes.dziugaite_roy2017").evaluate(emp_risk=emp, kl=5144, m=55000, delta="0.025", j=100)
    assert got.lo >= mpmath.mpf("0.163615") and got.hi <= mpmath.mpf("0.163625")
    assert got.hi_str(5) == "0.16362"


def test_foundation_theorems_registered_with_contract_ids():
    assert FOUNDATION_IDS <= set(theorems.ids())
    for tid in FOUNDATION_IDS:
        t = theorems.get(tid)
        assert t.kind == "bound" and t.reference.locator and t.reference.citation


def test_quantity_names_follow_the_contract():
    names = {q.name for t in theorems.all() for q in t.quantities}
    assert {"m", "k", "delta", "emp_risk", "kl", "j"} <= names


def test_public_surface_matches_all():
    for name in theorems.__all__:
        assert hasattr(theorems, name), name
    import certify
    import kernels

    for mod in (certify, kernels):
        for name in mod.__all__:
            assert hasattr(mod, name), (mod.__name__, name)


def test_docs_catalogue_matches_registry(tmp_path):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "docs"))
    from _catalogue import write_catalogue

    write_catalogue(tmp_path)
    pages = {p.stem for p in tmp_path.glob("*.rst")} - {"index"}
    assert pages == set(theorems.ids())
    index = (tmp_path / "index.rst").read_text()
    for tid in theorems.ids():
        assert f"theorem-{tid}" in index


def test_statements_export_to_trees_and_latex():
    for t in theorems.all():
        tree = t.tree()
        assert theorems.tree_symbols(tree) <= set(t.names)
        assert t.latex() and t.claim_latex()


def test_special_functions_latex():
    m, k, d, q, c = sympy.symbols("m k delta q c")
    assert r"\mathrm{kl}^{-1}" in sympy.latex(KlInv(q, c))
    assert r"\overline{\mathrm{Bin}}" in sympy.latex(BinomTailInv(m, k, d))


@pytest.mark.parametrize(
    "values, error",
    [
        ({"m": 10, "k": 12, "delta": "0.05"}, HypothesisNotMet),
        ({"m": 10, "k": 2, "delta": 0}, InvalidInput),
        ({"m": 10, "k": 2, "delta": "1.5"}, InvalidInput),
        ({"m": 10, "k": 2}, InvalidInput),
        ({"m": 10, "k": 2, "delta": "abc"}, InvalidInput),
        ({"m": 10, "k": 2, "delta": "0.1", "z": 1}, InvalidInput),
        ({"m": 10.5, "k": 2, "delta": "0.1"}, InvalidInput),
        ({"m": 0, "k": 0, "delta": "0.1"}, InvalidInput),
    ],
)
def test_bad_inputs_are_refused(values, error):
    for tid in ("test_set.binomial_tail", "test_set.kl_chernoff", "test_set.hoeffding"):
        with pytest.raises(error):
            theorems.get(tid).evaluate(**values)


def test_pac_bayes_kl_needs_m_at_least_8():
    with pytest.raises(HypothesisNotMet, match="h_m_ge_8"):
        theorems.get("pac_bayes.kl").evaluate(m=7, emp_risk="0.1", kl=1, delta="0.05")


def test_unknown_id_suggests_close_ids():
    with pytest.raises(InvalidInput, match="did you mean"):
        theorems.get("pac_bayes.kll")


def test_enclosure_inputs_are_accepted():
    from kernels import Enclosure

    t = theorems.get("pac_bayes.mcallester")
    r = t.evaluate(m=1000, emp_risk=Enclosure(0.1, 0.11), kl=Enclosure(10.0, 12.0), delta="0.05")
    lo = t.evaluate(m=1000, emp_risk=0.1, kl=10.0, delta="0.05")
    hi = t.evaluate(m=1000, emp_risk=0.11, kl=12.0, delta="0.05")
    assert r.lo <= lo.lo and r.hi >= hi.hi


def test_extreme_inputs_climb_the_precision_ladder():
    """Catoni with gamma = 5e-324: 1 - exp(-gamma/m) straddles 0 at 128 bits; evaluation retries at more bits.
    For a -> 0, Phi_a^-1(q) -> q = emp + (kl + ln(1/delta))/gamma (reference: that limit at 4096 bits)."""
    t = theorems.get("pac_bayes.catoni")
    got = t.evaluate(m=1, emp_risk="0", kl="0", delta="0.5", gamma="5e-324")
    with mpmath.workprec(4096):
        gamma = mpmath.mpf("5e-324")  # the decimal, as passed (not the float 4.94e-324)
        a = gamma
        q = mpmath.log(2) / gamma
        want = (1 - mpmath.exp(-a * q)) / (1 - mpmath.exp(-a))
    assert got.lo <= want <= got.hi
