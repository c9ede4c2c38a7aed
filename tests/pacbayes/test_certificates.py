"""End-to-end PAC-Bayes and compression certificates of the library's MLP (one torch module on the module path) in
tiny configurations: the data path is straight (the KL in the certificate is recomputed from the stored posterior
file), the delta split adds up, counts are exact; the library MLP's seeded initialisation is the MLP one bit for bit."""

import json
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest

import theorems
from certify.models.codec import Code
from certify.models.hashing import file_sha256, weights_sha256
from certify.models.compressed import ModuleDecoder
from certify.models.module_posterior import load_module_posterior, seeded_init
from certify.models.posterior import library_mlp, mlp_init
from certify.training.compress import CompressionConfig, run_compression
from certify.data.splits import load_xy
from certify.training.pacbayes import (PacBayesConfig, PriorVariance, kl_enclosure, mc_emp_upper, run_pacbayes,
                                       split_indices)


@pytest.fixture(scope="module")
def mnist1d():
    return load_xy("digits")


@pytest.mark.parametrize("prior", ["data_dependent", "data_independent"])
def test_pacbayes_certificate_is_straight(tmp_path, mnist1d, prior):
    train, test, info = mnist1d
    cfg = PacBayesConfig(sizes=(64, 16, 10), prior=prior, objective="f_quad" if prior == "data_dependent"
                         else "dziugaite_roy", prior_epochs=1, posterior_epochs=1, mc_passes=2)
    r = run_pacbayes(cfg, train, test, tmp_path, data_info=info, progress=False)
    d = json.loads(r.certificate_path.read_text())
    post = load_module_posterior(r.posterior_path, library_mlp(cfg.sizes))
    assert post.meta["sampler"] == "local_reparameterisation" and d["options"]["model"]["name"] == "model.pt"
    assert d["model"]["sha256"] == file_sha256(r.posterior_path) == post.sha256
    # the KL input is the enclosure recomputed from the stored file
    pv = (PriorVariance(sigma=cfg.sigma_prior) if prior == "data_dependent"
          else PriorVariance(c=cfg.grid_c, b=cfg.grid_b, j=int(Fraction(d["inputs"]["j"]["lo_decimal"]))))
    kl = kl_enclosure(post, pv)
    assert d["inputs"]["kl"]["lo"] == theorems.exact_hex(kl.lo) and d["inputs"]["kl"]["hi"] == theorems.exact_hex(kl.hi)
    # delta split adds up to the total; both deltas recorded
    split = d["delta"]["split"]
    assert len(split) == 2 and sum(Decimal(s["delta"]) for s in split) == Decimal(d["delta"]["total"])
    rec = d["extra"]["emp_risk_derivation"]
    m = d["inputs"]["m"]["lo_decimal"]
    if prior == "data_dependent":
        n_prior, n_bound = d["data"]["split"]["n_prior"], d["data"]["split"]["n_bound"]
        assert n_prior + n_bound == len(train[1]) and int(Decimal(m)) == n_bound
        pi, bi = split_indices(len(train[1]), n_prior, cfg.split_seed)
        assert not set(pi) & set(bi)
    # the emp_risk input is the proven kl upper end: at least the Monte Carlo frequency
    emp = theorems.enclose(d["inputs"]["emp_risk"]["hi"])
    assert theorems.mpf_to_fraction(emp.lo) >= Fraction(rec["errors"], rec["n_passes"] * int(Decimal(m)))
    assert r.certificate.result.hi <= 1 and r.certificate.result.lo <= r.certificate.result.hi
    # the statement re-evaluated from the recorded inputs gives the recorded result
    vals = {k: theorems.Interval(theorems.enclose(v["lo"]).lo, theorems.enclose(v["hi"]).hi)
            for k, v in d["inputs"].items()}
    again = theorems.eval_tree(d["theorem"]["statement_tree"], vals)
    assert theorems.exact_hex(again.hi) == d["result"]["hi_exact"]
    # the independent checker verifies the arithmetic and the delta split
    from certify.checker import check

    assert check(str(r.certificate_path)).verdict == "VERIFIED"


def test_mc_upper_is_above_frequency_and_kl_budget_is_spent():
    for mode in ("per_network", "per_example"):
        up, rec = mc_emp_upper(37, 5, 1000, "0.01", mode)
        q = Fraction(37, 5000)
        assert theorems.mpf_to_fraction(up.lo) >= q
        import mpmath

        from theorems.testing._reference import ref_kl

        with mpmath.workprec(256):
            c = mpmath.log(2 / mpmath.mpf("0.01")) / 5 if mode == "per_network" else mpmath.log(100) / 5000
            assert ref_kl(mpmath.mpf(37) / 5000, up.hi) >= c
    a, _ = mc_emp_upper(37, 5, 1000, "0.01", "per_network")
    b, _ = mc_emp_upper(37, 5, 1000, "0.01", "per_example")
    assert b.hi < a.hi


def test_compression_certificate_counts_exactly(tmp_path, mnist1d):
    train, test, info = mnist1d
    cfg = CompressionConfig(sizes=(64, 16, 10), kind="direct", n_levels=4, prune=0.7, epochs=2, lr=1e-2)
    r = run_compression(cfg, train, test, tmp_path, data_info=info, progress=False)
    d = json.loads(r.certificate_path.read_text())
    bits = d["model"]["code_bits"]
    code = Code(r.code_path.read_bytes(), bits)
    dec = ModuleDecoder.for_module(library_mlp(cfg.sizes), "direct", seed=0, sparse=True,
                                   arch=d["model"]["decoder"]["arch"])
    assert dec.describe() == d["model"]["decoder"]
    w = dec.rebuild(code)
    assert weights_sha256(w) == d["model"]["weights_sha256"]
    assert len(r.code_path.read_bytes()) == (bits + 7) // 8
    k = dec.errors(w, train[0], train[1])
    assert d["extra"]["train_errors"] == k
    er = d["inputs"]["emp_risk"]  # outward-rounded decimals around the exact k/m
    assert theorems.parse_exact(er["lo"]) <= Fraction(k, len(train[1])) <= theorems.parse_exact(er["hi"])
    assert d["inputs"]["code_bits"]["lo_decimal"].startswith(str(bits))
    from certify.checker import check

    assert check(str(r.certificate_path)).verdict == "VERIFIED"


def test_emp_risk_derivation_rechecks_from_its_record():
    up, rec = mc_emp_upper(123, 4, 2500, "0.01", "per_example")
    vals = {k: theorems.enclose(v) for k, v in rec["inputs"].items()}
    again = theorems.eval_tree(rec["tree"], vals)
    assert theorems.exact_hex(again.hi) == rec["result_hi_exact"] == theorems.exact_hex(up.hi)


def test_library_mlp_is_a_module_whose_seeded_init_is_the_mlp_init():
    sizes = (64, 16, 8, 10)
    init, ref = seeded_init(library_mlp(sizes), 7), mlp_init(sizes, 7)
    assert [a.tobytes() for a in init.values()] == [a.tobytes() for a in ref]
