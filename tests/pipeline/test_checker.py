"""The independent checker: stdlib + mpmath only, <= 600 lines, VERIFIED on real certificates, NOT VERIFIED on every
tampering that leaves the claim unproven, and the documented weakening changes accepted."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from fractions import Fraction

import mpmath
import pytest

from pipeline_support import ROOT, trained

from certify.checker import check
from theorems import exact_hex, parse_exact

#: the trusted core of the checker (recompute.py, beside it, imports the library and is not part of it)
CHECKER_CORE = [ROOT / "certify" / "checker" / "__init__.py", ROOT / "certify" / "checker" / "core.py"]
THEOREMS = ["test_set.binomial_tail", "test_set.kl_chernoff", "test_set.hoeffding",
            "norm.neyshabur2015_frobenius_multiclass"]


def test_checker_imports_only_stdlib_and_mpmath():
    code = ("import sys, json; import certify.checker; "
            "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, check=True).stdout
    top = set(json.loads(out))
    assert not top & {"torch", "numpy", "sympy", "theorems", "kernels", "scipy", "numba", "boundcert"}
    third_party = {m for m in top if m not in sys.stdlib_module_names and not m.startswith("_")}
    assert third_party <= {"mpmath", "certify"}, third_party


def test_checker_is_at_most_600_lines():
    lines = sum(len(p.read_text().splitlines()) for p in CHECKER_CORE)
    assert lines <= 600, lines


@pytest.fixture(scope="module")
def certs():
    from certify import certify

    model, train, test = trained("mlp")
    out = {}
    for tid in THEOREMS:
        data = train if tid.startswith("norm") else test
        out[tid] = certify(model, data, theorem=tid, delta="0.05").to_dict()
    return out


@pytest.mark.parametrize("tid", THEOREMS)
def test_real_certificates_verify(certs, tid):
    r = check(copy.deepcopy(certs[tid]))
    assert r.ok, r.step
    assert r.verdict == "VERIFIED"


def _shift(text: str, rel: Fraction, up: bool) -> str:
    """``text`` (exact or decimal) moved by the relative amount ``rel`` (absolute when it is 0): exact hex when the
    result is dyadic, else the exact fraction ``P/Q`` (the checker reads both exactly)."""
    v = parse_exact(text)
    step = abs(v) * rel if v else rel
    w = v + step if up else v - step
    if w.denominator & (w.denominator - 1):
        return str(w)
    with mpmath.workprec(max(64, w.numerator.bit_length() + 8)):
        return exact_hex(mpmath.mpf(w.numerator) / w.denominator)


REL = Fraction(1, 10**9)


@pytest.mark.parametrize("tid", THEOREMS)
def test_every_number_tampered_to_unproven_is_rejected(certs, tid):
    base = certs[tid]
    cases = []
    for key, up in (("hi", False), ("hi_exact", False), ("lo", True), ("lo_exact", True)):
        cases.append((f"result.{key}", lambda c, k=key, u=up: c["result"].__setitem__(k, _shift(c["result"][k], REL, u))))
    for name in base["inputs"]:
        for key, up in (("lo", False), ("hi", True)):  # widen: the recorded evidence no longer proves the result
            cases.append((f"inputs.{name}.{key}",
                          lambda c, n=name, k=key, u=up: c["inputs"][n].__setitem__(k, _shift(c["inputs"][n][k], REL, u))))
    for i, _ in enumerate(base["witnesses"]):  # move each end of a bracket past the true value
        cases.append((f"witnesses[{i}].lo", lambda c, i=i: c["witnesses"][i].__setitem__("lo", c["witnesses"][i]["hi"])))
        cases.append((f"witnesses[{i}].hi", lambda c, i=i: c["witnesses"][i].__setitem__("hi", c["witnesses"][i]["lo"])))
        cases.append((f"witnesses[{i}] widened", lambda c, i=i: c["witnesses"][i].__setitem__(
            "hi", _shift(c["witnesses"][i]["hi"], REL, True))))
    cases.append(("delta.total down", lambda c: (c["delta"].__setitem__("total", "0.01"),
                                                 c["delta"]["split"][0].__setitem__("delta", "0.01"))))
    cases.append(("delta.total up", lambda c: (c["delta"].__setitem__("total", "0.1"),
                                               c["delta"]["split"][0].__setitem__("delta", "0.1"))))
    cases.append(("delta.split", lambda c: c["delta"]["split"][0].__setitem__("delta", "0.04")))
    cases.append(("format_version", lambda c: c.__setitem__("format_version", 2)))
    cases.append(("data.n", lambda c: c["data"].__setitem__("n", c["data"]["n"] + 1)))
    cases.append(("hypothesis status", lambda c: c["hypotheses"][0].__setitem__("status", "ok")))
    if '"num"' in json.dumps(base["theorem"]["statement_tree"]):
        cases.append(("tree number", lambda c: _retree(c)))
    if base["witnesses"]:
        cases.append(("witness dropped", lambda c: c["witnesses"].pop()))
    for label, mutate in cases:
        c = copy.deepcopy(base)
        mutate(c)
        r = check(c)
        assert not r.ok, f"{tid}: {label} was accepted"
        assert r.verdict.startswith("NOT VERIFIED: ")


def _retree(c):
    """Change the first rational constant of the statement (e.g. the 2 of ln(2/delta))."""
    def walk(t):
        if "num" in t:
            t["num"] = str(Fraction(t["num"]) + 1)
            return True
        return any(walk(a) for a in t.get("args", []))

    assert walk(c["theorem"]["statement_tree"])


@pytest.mark.parametrize("tid", THEOREMS)
def test_weakening_changes_are_accepted(certs, tid):
    """A larger claimed hi (or smaller lo) is a weaker, still proven claim: accepted (docs/certificate.rst)."""
    for key, up in (("hi", True), ("hi_exact", True), ("lo", False), ("lo_exact", False)):
        c = copy.deepcopy(certs[tid])
        c["result"][key] = _shift(c["result"][key], REL, up)
        assert check(c).ok, key
    c = copy.deepcopy(certs[tid])
    c["hypotheses"][0]["status"] = "assumed"  # claiming less was checked
    assert check(c).ok


def test_narrowed_non_point_input_is_only_caught_by_recompute(certs):
    """Narrowing a kernel enclosure keeps the arithmetic valid (the core checker accepts it, as documented);
    --recompute re-derives the quantity and rejects it."""
    c = copy.deepcopy(certs["norm.neyshabur2015_frobenius_multiclass"])
    rec = c["inputs"]["prod_frob"]
    rec["hi"] = rec["lo"]
    assert check(c).ok


def test_file_hashes(tmp_path, certs):
    c = copy.deepcopy(certs["test_set.hoeffding"])
    f = tmp_path / "model.bin"
    f.write_bytes(b"weights")
    import hashlib

    c["model"]["file_sha256"] = hashlib.sha256(b"weights").hexdigest()
    assert check(c, model=str(f)).ok
    f.write_bytes(b"weightz")
    r = check(c, model=str(f))
    assert not r.ok and "sha256" in r.step
    assert not check(c, data=str(f)).ok  # no data.file_sha256 recorded


def test_malformed_certificates(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert check(str(bad)).verdict.startswith("NOT VERIFIED: certificate cannot be read")
    assert not check({"format_version": 1}).ok
    assert not check([]).ok
