"""``certify test-theorem``: exit codes on the example user file, registered ids, bad input; import hygiene."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import theorems.testing
from certify.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "user_theorem.py"


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def test_acceptance_correct_user_bound_exits_0():
    r = subprocess.run([sys.executable, "-m", "certify", "test-theorem", f"{EXAMPLE}:my_hoeffding"],
                       capture_output=True, text=True, env=_env(), cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip().endswith("PASS")


def test_acceptance_broken_user_bound_exits_1_with_counterexample():
    r = subprocess.run([sys.executable, "-m", "certify", "test-theorem", "examples/user_theorem.py:my_hoeffding_broken"],
                       capture_output=True, text=True, env=_env(), cwd=ROOT, timeout=300)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "FLAGGED" in r.stdout and "counterexample: m=" in r.stdout and "p = " in r.stdout
    assert "bound" in r.stdout and "< true risk" in r.stdout


def test_registered_id_passes(capsys):
    assert main(["test-theorem", "test_set.kl_chernoff", "--quick", "--trials", "2000", "--examples", "8"]) == 0
    assert "PASS" in capsys.readouterr().out


def test_json_output(capsys):
    code = main(["test-theorem", f"{EXAMPLE}:my_hoeffding_broken", "--quick", "--json", "--examples", "5"])
    out = json.loads(capsys.readouterr().out)
    assert code == 1 and out["passed"] is False
    flagged = [s for s in out["validity"]["scenarios"] if s["flagged"]]
    assert flagged and all(s["counterexample"]["bound"] < s["counterexample"]["true_risk"] for s in flagged)


@pytest.mark.parametrize(
    "argv",
    [
        ["test-theorem", "examples/user_theorem.py:no_such_name"],
        ["test-theorem", "examples/no_such_file.py:x"],
        ["test-theorem", "no.such.id"],
        ["test-theorem", "test_set.hoeffding", "--trials", "0"],
        ["test-theorem", "test_set.hoeffding", "--alpha", "2"],
    ],
)
def test_bad_input_exits_2(argv, capsys):
    old = os.getcwd()
    os.chdir(ROOT)
    try:
        assert main(argv) == 2
    finally:
        os.chdir(old)
    err = capsys.readouterr().err
    assert err.startswith("certify: error:") and len(err.strip().splitlines()) == 1


def test_user_file_with_own_scenarios_and_fixed_inputs(tmp_path, capsys):
    f = tmp_path / "mine.py"
    f.write_text(textwrap.dedent("""
        import sympy
        from theorems import Quantity
        from theorems._theorem import POSITIVE
        from theorems.testing import make_bound, GaussianLinear

        m, k, delta, c = sympy.symbols("m k delta c")
        scaled = make_bound("user.scaled", k / m + c * sympy.sqrt(sympy.log(1 / delta) / (2 * m)),
                            quantities=[Quantity("c", "safety factor", POSITIVE, "user", "increasing")])
        scaled_scenarios = [GaussianLinear(m=30, delta="0.001")]
        scaled_fixed = {"c": "0.5"}
    """))
    loaded = theorems.testing.load_theorem(f"{f}:scaled")
    assert loaded.fixed == {"c": "0.5"} and len(loaded.scenarios) == 1
    assert main(["test-theorem", f"{f}:scaled", "--examples", "5"]) == 1  # c = 1/2 is ln(1/delta)/4
    out = capsys.readouterr().out
    assert "FLAGGED GaussianLinear(m=30, delta=0.001" in out and "ok     enclosure" in out


def test_import_theorems_and_cli_do_not_import_hypothesis():
    code = ("import sys, theorems, certify.cli; "
            "bad = [m for m in ('hypothesis', 'theorems.testing') if m in sys.modules]; "
            "assert not bad, bad")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env(), cwd=ROOT)
    assert r.returncode == 0, r.stderr


def test_public_names_are_exported():
    import theorems.testing as t

    assert sorted(t.__all__) == sorted(set(t.__all__))
    for name in t.__all__:
        assert hasattr(t, name), name
    public = {n for n in vars(t) if not n.startswith("_") and n not in ("annotations",)}
    modules = {n for n in public if type(getattr(t, n)).__name__ == "module"}
    assert public - modules == set(t.__all__)
