"""The checker checks the whole claim (issue 15): the words, the hypotheses and their statuses, the confidence tree and
the delta split, the theorem record; malformed certificates get a verdict, never a traceback."""

from __future__ import annotations

import copy
import json
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from checker_fuzz import real_certificate, verdict

from certify.checker import check
from certify.checker.core import _round6, claim_text
from certify.checker.recompute import recompute


@pytest.fixture(scope="module")
def certs():
    return {tid: real_certificate(tid) for tid in ("test_set.kl_chernoff", "pac_bayes.kl", "robust.certified_accuracy")}


def _rejected(c, where: str) -> str:
    ok, step = verdict(c)
    assert not ok, f"accepted: {where}"
    assert step and "\n" not in step
    return step


def test_false_words_are_rejected(certs):
    c = copy.deepcopy(certs["test_set.kl_chernoff"])
    c["claim"] = c["claim"].rsplit(" at most ", 1)[0] + " at most 0.01."
    assert "claim in words" in _rejected(c, "at most 0.01")
    c = copy.deepcopy(certs["test_set.kl_chernoff"])
    c["claim"] = c["claim"].replace("1 - 0.05 = 0.95", "1 - 0.01 = 0.99")
    _rejected(c, "confidence in words")
    c = copy.deepcopy(certs["robust.certified_accuracy"])
    assert " is at least " in c["claim"] and verdict(c)[0]
    c["claim"] = c["claim"].replace(" is at least ", " is at most ")
    _rejected(c, "relation flipped")


def test_hypotheses_are_compared_with_the_registry_and_the_evidence(certs):
    base = certs["test_set.kl_chernoff"]
    c = copy.deepcopy(base)
    c["hypotheses"][1]["status"] = "checked"  # h_iid: nothing can check it
    assert "h_iid" in _rejected(c, "assumed -> checked")
    c = copy.deepcopy(base)
    del c["hypotheses"][2]
    assert "hypotheses" in _rejected(c, "hypothesis deleted")
    c = copy.deepcopy(base)
    c["hypotheses"][0]["statement"] = "$k \\le 2 m$"
    _rejected(c, "statement edited")
    c = copy.deepcopy(base)  # the core proves k <= m from the recorded inputs
    c["inputs"]["k"]["lo"] = c["inputs"]["k"]["hi"] = "100000"
    step = check(c).step
    assert "h_k_le_m" in step and "refute" in step


@pytest.mark.parametrize("field, value", [("bounded", "test error of every classifier"), ("holds_for", "all h"),
                                          ("kind", "measure"), ("title", "x"), ("version", 2)])
def test_theorem_record_fields_are_the_registered_ones(certs, field, value):
    c = copy.deepcopy(certs["test_set.kl_chernoff"])
    c["theorem"][field] = value
    _rejected(c, field)


def test_confidence_tree_and_delta_split(certs):
    base = certs["pac_bayes.kl"]
    c = copy.deepcopy(base)
    c["theorem"]["confidence_tree"] = {"num": "1"}
    assert "confidence_tree" in _rejected(c, "confidence tree edited")
    c = copy.deepcopy(base)
    c["theorem"]["confidence_tree"] = None
    _rejected(c, "confidence tree deleted")
    c = copy.deepcopy(base)
    c["delta"]["split"][0]["delta"], c["delta"]["split"][1]["delta"] = "0.9", "-0.85"
    c["delta"]["total"] = "0.05"
    assert "(0, 1)" in _rejected(c, "negative split")
    c = copy.deepcopy(base)
    c["delta"]["split"][1]["delta"] = "0.02"  # spends 0.045 > 0.035
    assert "more than delta.total" in _rejected(c, "overspent split")
    c = copy.deepcopy(base)
    c["delta"]["split"][0]["use"] = "something else"
    _rejected(c, "no entry for the theorem")


@given(st.fractions(min_value=Fraction(-10**12), max_value=Fraction(10**12), max_denominator=10**15),
       st.booleans())
def test_claim_numbers_are_rounded_outward_to_6_digits(x, up):
    got = Fraction(_round6(x, up))
    assert (got >= x) if up else (got <= x)
    if x:
        e = 0
        while Fraction(10) ** e > abs(x):
            e -= 1
        while Fraction(10) ** (e + 1) <= abs(x):
            e += 1
        unit = Fraction(10) ** (e - 5)
        assert abs(got - x) < unit and (got / unit).denominator == 1  # 6 significant digits, within one unit


def test_claim_text_states_the_exact_confidence():
    text = claim_text("test error", at_least=False, end="0.12345678", delta_total="1/64")
    assert text == "With probability at least 1 - 1/64 = 0.984375 over the sample, the test error is at most 0.123457."
    assert claim_text("radius", at_least=True, end="2.5000001", delta_total=None) == "The radius is at least 2.5."


@pytest.mark.parametrize("drop", [("model", "sha256"), ("data", "sha256"), ("theorem", "id"), ("inputs",),
                                  ("delta",), ("options",)])
def test_recompute_of_a_certificate_with_a_field_deleted_is_a_verdict(tmp_path, certs, drop):
    c = copy.deepcopy(certs["test_set.kl_chernoff"])
    target = c
    for key in drop[:-1]:
        target = target[key]
    del target[drop[-1]]
    path = tmp_path / "c.json"
    path.write_text(json.dumps(c))
    r = recompute(str(path))
    assert not r.ok and r.step and "\n" not in r.step


def test_a_proven_end_above_the_float_range_is_reported_not_raised(certs):
    c = copy.deepcopy(certs["test_set.kl_chernoff"])
    c["theorem"]["statement_tree"] = {"op": "*", "args": [{"var": "m"}, {"num": "0x1p2000"}]}
    c["witnesses"] = []
    r = check(c)
    assert not r.ok and "proven enclosure end" in r.step and "e+" in r.step


def test_the_recorded_bound_part_is_the_replayed_one():
    from checker_fuzz import COMMITTED, ROOT

    from certify.checker.recompute import _bound_part

    c = json.loads((ROOT / "paper_repro" / "results" / COMMITTED["pac_bayes.kl"]).read_text())
    c["options"] = {"kind": "optimize", "config": {"split_seed": c["data"]["split"]["seed"]}}
    assert _bound_part(c).ok
    for edit in (lambda d: d["data"]["split"].__setitem__("seed", 7),
                 lambda d: d["data"]["split"].__setitem__("n_prior", d["data"]["split"]["n_prior"] - 1),
                 lambda d: d["options"]["config"].__setitem__("split_seed", 7),
                 lambda d: d["data"]["split"].__setitem__("bound_indices_sha256", "0" * 64)):
        d = copy.deepcopy(c)
        edit(d)
        assert not _bound_part(d).ok


def test_the_claim_subject_follows_the_theorem_family(certs):
    """A test-set certificate cannot take a compression or posterior subject by adding model fields."""
    from certify.checker.core import claim_subject

    c = copy.deepcopy(certs["test_set.kl_chernoff"])
    c["model"].update({"code_bits": 10, "path": "x.code", "weights_sha256": "0" * 64,
                       "kind": "diagonal Gaussian posterior", "sha256": "0" * 64})
    assert claim_subject(c["theorem"], c["model"])[0] == c["theorem"]["bounded"]
    forged = copy.deepcopy(c)
    forged["claim"] = claim_text(claim_subject({}, {"code_bits": 10, "path": "x.code", "weights_sha256": "0" * 64})[0],
                                 at_least=False, end=c["result"]["hi"], delta_total="0.05", exact=False)
    _rejected(forged, "compression subject on a test-set certificate")
