"""``certify test-theorem`` has the power to catch a factor 2 inside a square root, and reports every failure
with its inputs (a violation, an error raised by the user's statement, a crash inside a property check)."""

from __future__ import annotations

import json
import textwrap
from fractions import Fraction
from math import comb

import numpy as np
import pytest
from scipy.stats import binom

from certify.cli import main
from theorems.testing import RandomClass, default_scenarios, validate
import theorems

MCALLESTER = """
import sympy
from theorems.testing import make_bound

m, emp_risk, kl, delta = sympy.symbols("m emp_risk kl delta")
# McAllester (Maurer 2004 Thm 5 + Pinsker): emp + sqrt((KL + ln(2 sqrt(m)/delta)) / (2m))
right = make_bound("user.mcallester", emp_risk + sympy.sqrt((kl + sympy.log(2 * sympy.sqrt(m) / delta)) / (2 * m)))
# the reported miss: 4m where 2m belongs
wrong = make_bound("user.mcallester_4m",
                   emp_risk + sympy.sqrt((kl + sympy.log(2 * sympy.sqrt(m) / delta)) / (4 * m)))
"""

CRASHING = """
import dataclasses
import sympy
from theorems import Theorem
from theorems.testing import make_bound, GaussianLinear

m, k, delta = sympy.symbols("m k delta")
# undefined at m = 30 (a division by exactly zero in the statement)
pole = make_bound("user.pole", k / m + sympy.sqrt(sympy.log(1 / delta) / (2 * m)) + 1 / (m - 30) ** 2)
pole_scenarios = [GaussianLinear(m=30, delta="0.001")]


class _Fragile(Theorem):
    def evaluate(self, **values):
        if int(values.get("m", 0)) == 30:
            raise ZeroDivisionError("division by zero")
        return Theorem.evaluate(self, **values)


_base = make_bound("user.fragile", k / m + sympy.sqrt(sympy.log(1 / delta) / (2 * m)))
fragile = _Fragile(**{f.name: getattr(_base, f.name) for f in dataclasses.fields(Theorem)})
fragile_scenarios = [GaussianLinear(m=40, delta="0.001"), GaussianLinear(m=30, delta="0.001")]
"""


def _write(tmp_path, text: str):
    f = tmp_path / "mine.py"
    f.write_text(textwrap.dedent(text))
    return f


# -- the scenario that makes PAC-Bayes bounds nearly tight ------------------------------------------------------


def test_random_class_draws_the_exact_law_of_the_minimum():
    """Frequencies of the ERM's error count against the exact law ``1 - P[Bin(m,1/2) > k]^n`` (Fractions): each
    count passes a two-sided exact binomial test at 1e-6 (a wrong law, e.g. the max or n_hyp off by one, fails)."""
    m, n_hyp, trials = 10, 3, 40_000
    draws = RandomClass(m=m, delta="0.1", n_hyp=n_hyp).draw(trials, np.random.default_rng(7))
    assert np.all(draws.true_risk == 0.5) and draws.shared["m"] == m
    counts = np.bincount([int(Fraction(e) * m) for e in draws.inputs["emp_risk"]], minlength=m + 1)
    sf = [Fraction(sum(comb(m, j) for j in range(k + 1, m + 1)), 2**m) for k in range(m + 1)]
    cdf = [1 - s**n_hyp for s in sf]
    pmf = [cdf[0]] + [cdf[k] - cdf[k - 1] for k in range(1, m + 1)]
    assert sum(pmf) == 1
    for k, (c, p) in enumerate(zip(counts, pmf)):
        p = float(p)
        two_sided = 2 * min(binom.cdf(c, trials, p), binom.sf(c - 1, trials, p)) if p > 0 else float(c == 0)
        assert two_sided > 1e-6, (k, c, p * trials)
    assert theorems.get("pac_bayes.kl").evaluate(m=m, emp_risk=draws.inputs["emp_risk"][0], kl=draws.shared["kl"],
                                                 delta="0.1").hi > 0


def test_random_class_kl_is_an_upper_bound_on_ln_n():
    import mpmath

    kl = RandomClass(m=5, delta="0.5", n_hyp=10**6).draw(1, np.random.default_rng(0)).shared["kl"]
    with mpmath.workprec(300):
        assert mpmath.mpf(kl) >= mpmath.log(10**6)


def test_default_scenarios_include_the_tight_class_in_quick_mode():
    names = [s.name for s in default_scenarios(theorems.get("pac_bayes.mcallester"), quick=True)]
    assert "RandomClass" in names


# -- acceptance: a factor 2 inside the square root is caught, the right constant passes -------------------------


def test_mcallester_with_4m_is_flagged_and_2m_passes(tmp_path, capsys):
    f = _write(tmp_path, MCALLESTER)
    assert main(["test-theorem", f"{f}:wrong", "--quick", "--examples", "5"]) == 1
    out = capsys.readouterr().out
    assert "FLAGGED RandomClass(m=100, delta=0.001" in out and "counterexample: m=100" in out
    assert "< true risk 0.5" in out and out.strip().splitlines()[-1].startswith("FAIL")
    assert main(["test-theorem", f"{f}:right", "--quick", "--examples", "5"]) == 0
    assert capsys.readouterr().out.strip().endswith("PASS")


@pytest.mark.parametrize("tid", ["pac_bayes.mcallester", "test_set.hoeffding"])
def test_registered_bound_with_m_doubled_inside_the_sqrt_is_flagged(tid):
    """``m -> 2m`` in the whole statement: ``sqrt(x / 2m)`` becomes ``sqrt(x / 4m)`` (and ln sqrt(m) moves by
    ln sqrt 2, which only weakens the bound further)."""
    from theorems.testing import scale_quantity

    th = theorems.get(tid)
    assert validate(th, trials=5000, quick=True, seed=1).passed
    assert not validate(scale_quantity(th, "m", 2), trials=5000, quick=True, seed=1).passed


# -- every failure comes with its inputs -------------------------------------------------------------------------


def test_statement_undefined_on_a_scenario_input_is_a_failure_with_inputs(tmp_path, capsys):
    f = _write(tmp_path, CRASHING)
    assert main(["test-theorem", f"{f}:pole", "--examples", "5"]) == 1
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if "counterexample:" in x)
    assert "m=30" in line and "delta=0.001" in line and "k=" in line
    assert "evaluating the theorem raised InvalidInput: division by exactly 0" in line


def test_zero_division_in_users_theorem_is_printed_with_inputs(tmp_path, capsys):
    f = _write(tmp_path, CRASHING)
    assert main(["test-theorem", f"{f}:fragile", "--examples", "5"]) == 1
    out = capsys.readouterr().out
    assert "ok      GaussianLinear(m=40" in out
    assert "FLAGGED GaussianLinear(m=30, delta=0.001" in out
    line = next(x for x in out.splitlines() if "counterexample:" in x)
    assert line.strip().startswith("counterexample: m=30, delta=0.001, k=")
    assert line.endswith("raised ZeroDivisionError: division by zero")


def test_error_in_json_output_has_inputs_and_null_bound(tmp_path, capsys):
    f = _write(tmp_path, CRASHING)
    assert main(["test-theorem", f"{f}:fragile", "--examples", "5", "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    bad = [s for s in out["validity"]["scenarios"] if s["flagged"]]
    assert len(bad) == 1 and bad[0]["error"] == "ZeroDivisionError: division by zero"
    cx = bad[0]["counterexample"]
    assert cx["bound"] is None and cx["inputs"]["m"] == "30" and cx["error"] == bad[0]["error"]


def test_crash_inside_a_property_check_names_the_inputs(tmp_path, capsys):
    """A statement that is negative under the sqrt for small m: the enclosure check raises; the line says where."""
    f = tmp_path / "neg.py"
    f.write_text(textwrap.dedent("""
        import sympy
        from theorems.testing import make_bound, GaussianLinear
        m, k, delta = sympy.symbols("m k delta")
        neg = make_bound("user.neg", k / m + sympy.sqrt(sympy.log(1 / delta) / (2 * m) - 1 / m))
        neg_scenarios = [GaussianLinear(m=200, delta="0.3")]
    """))
    assert main(["test-theorem", f"{f}:neg", "--examples", "10"]) == 1
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("  FAILED enclosure"))
    assert "InvalidInput on valid input: sqrt of a negative number" in line
    assert "(inputs: " in line and "m=" in line and "delta=" in line and "k=" in line


def test_confidence_that_cannot_be_evaluated_is_a_failure_with_inputs(tmp_path, capsys):
    f = _write(tmp_path, """
        import sympy
        from theorems.testing import make_bound, GaussianLinear
        m, k, delta = sympy.symbols("m k delta")
        badconf = make_bound("user.badconf", k / m + sympy.sqrt(sympy.log(1 / delta) / (2 * m)),
                             confidence="1 - delta / (m - 30)")
        badconf_scenarios = [GaussianLinear(m=30, delta="0.001")]
    """)
    assert main(["test-theorem", f"{f}:badconf", "--examples", "5"]) == 1
    line = next(x for x in capsys.readouterr().out.splitlines() if "counterexample:" in x)
    assert "m=30" in line and "delta=0.001" in line and line.endswith("(in the confidence, not the statement)")
