"""The magnitude-aware PAC-Bayes flatness certificate (posterior N(w, diag(fl32(sqrt(sigma^2 w_i^2 + eps^2))^2)),
prior N(w0, tau^2 I) on a second grid): its KL against mpmath at 250 bits, the union over sigma x tau paid in delta,
VERIFIED by ``certify check`` and ``--recompute``, tampered certificates refused; the new Jiang et al. measures
against an independent mpmath evaluation of their formulas."""

from __future__ import annotations

import json
import math
import shutil
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from boundcert.errors import InvalidInput
from certify.cli import main
from certify.landscape import FlatnessOptions, flat_model
from certify.landscape.flatness import DEFAULT_PRIOR_SIGMAS, _DiagonalPosterior
from certify.quantities.pacbayes import PriorVariance, kl_enclosure
from landscape_support import tiny_mlp
from theorems import parse_exact
from theorems._interval import mpf_to_fraction


def _run(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def _kl_mpmath(w: np.ndarray, s: np.ndarray, w0: np.ndarray, tau: str) -> mpmath.mpf:
    """KL(N(w, diag s^2) || N(w0, tau^2 I)) of the stored floats, term by term at 250 bits."""
    with mpmath.workprec(250):
        lam = mpmath.mpf(Fraction(tau).numerator) / Fraction(tau).denominator
        lam = lam * lam
        total = mpmath.mpf(0)
        for wi, si, w0i in zip(w.tolist(), s.tolist(), w0.tolist()):
            si, d = mpmath.mpf(si), mpmath.mpf(wi) - mpmath.mpf(w0i)
            total += (si * si + d * d) / lam - 1 + mpmath.log(lam) - 2 * mpmath.log(si)
        return total / 2


@pytest.fixture(scope="module")
def mag_cert(tiny, tmp_path_factory):
    import torch

    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("mag")
    shutil.copy(tiny["init"], out / "init.pt")
    code = main(["landscape", str(tiny["model"]), "--data", str(tiny["data"]), "--flatness-certificate", "mag",
                 "--init", str(out / "init.pt"), "--sigmas", "0.5,0.1,0.02", "--prior-sigmas", "1,0.5,0.25,0.125",
                 "--mc-passes", "3", "--out", str(out), "--json"])
    assert code == 0
    return out, json.loads((out / "certificate.json").read_text())


def test_mag_kl_contains_the_mpmath_value(tiny, mag_cert, capsys):
    capsys.readouterr()
    _, cert = mag_cert
    fl = cert["extra"]["flatness"]
    assert fl["posterior"] == "mag" and fl["prior_sigma"] in ("1", "0.5", "0.25", "0.125")
    opts = FlatnessOptions(**{k: v for k, v in cert["options"].items() if k != "kind"})
    w = flat_model(tiny["net"], tiny["x"][:1], tiny["y"][:1], dtype="float32").numpy_w()
    w0 = flat_model(tiny_mlp(tiny["x"], tiny["y"], steps=0, seed=1), tiny["x"][:1], tiny["y"][:1],
                    dtype="float32").numpy_w()
    s = opts.std(w, fl["sigma"])
    assert s.dtype == np.float32
    with mpmath.workprec(100):  # the stored s is the float32 rounding of sqrt(sigma^2 w^2 + eps^2)
        for wi, si in zip(w.tolist(), s.tolist()):
            exact = mpmath.sqrt(mpmath.mpf(Fraction(fl["sigma"]).numerator) ** 2
                                / Fraction(fl["sigma"]).denominator ** 2 * mpmath.mpf(wi) ** 2 + mpmath.mpf("1e-6"))
            assert abs(mpmath.mpf(si) / exact - 1) <= 2.0**-23
    ref = mpf_to_fraction(_kl_mpmath(w, s, w0, fl["prior_sigma"]))
    kl = cert["inputs"]["kl"]
    assert parse_exact(kl["lo"]) <= ref <= parse_exact(kl["hi"])
    # the chosen prior scale is the grid point with the smallest KL
    others = {t: _kl_mpmath(w, s, w0, t) for t in ("1", "0.5", "0.25", "0.125")}
    assert min(others, key=others.get) == fl["prior_sigma"]


_f32 = st.floats(-4.0, 4.0, allow_nan=False, width=32)


@settings(max_examples=40, deadline=None)
@given(w=st.lists(_f32, min_size=1, max_size=20), w0=st.lists(_f32, min_size=20, max_size=20),
       sigma=st.sampled_from(["1", "0.5", "0.1", "0.01"]), eps=st.sampled_from(["0.001", "0.1"]),
       tau=st.sampled_from(["2", "1", "0.3", "0.01"]))
def test_mag_kl_encloses_mpmath_property(w, w0, sigma, eps, tau):
    """For any stored weights, the magnitude-aware posterior's KL enclosure contains the 250-bit value."""
    w_a = np.asarray(w, dtype=np.float32)
    w0_a = np.asarray(w0[: len(w)], dtype=np.float32)
    s = FlatnessOptions(posterior="mag", mag_eps=eps).std(w_a, sigma)
    assert np.all(s > 0)
    kl = kl_enclosure(_DiagonalPosterior(w_a, s, w0_a), PriorVariance(sigma=tau))
    ref = mpf_to_fraction(_kl_mpmath(w_a, s, w0_a, tau))
    assert mpf_to_fraction(kl.lo) <= ref <= mpf_to_fraction(kl.hi)


def test_mag_union_over_both_grids_is_paid(mag_cert):
    _, cert = mag_cert
    split = {s["use"]: s["delta"] for s in cert["delta"]["split"]}
    assert split["pac_bayes.kl"] == "1/240"  # 0.05 / (3 sigmas x 4 prior scales)
    assert sum(Fraction(v) for v in split.values()) == Fraction("0.06")
    d = cert["inputs"]["delta"]
    assert parse_exact(d["lo"]) <= Fraction(1, 240) <= parse_exact(d["hi"]) < Fraction(1, 239)


def test_mag_certificate_verifies_and_recomputes(tiny, mag_cert, capsys, tmp_path):
    out, _ = mag_cert
    code, text, _ = _run(capsys, "check", out / "certificate.json")
    assert (code, text.strip()) == (0, "VERIFIED")
    code, text, _ = _run(capsys, "check", out / "certificate.json", "--recompute", "--model", tiny["model"],
                         "--data", tiny["data"])
    assert (code, text.strip()) == (0, "VERIFIED")


@pytest.mark.parametrize("tamper", ["kl", "delta", "prior_sigma", "mag_eps", "posterior"])
def test_tampered_mag_certificate_fails(tiny, mag_cert, capsys, tmp_path, tamper):
    out, cert = mag_cert
    forged = json.loads(json.dumps(cert))
    shutil.copy(out / "init.pt", tmp_path / "init.pt")
    recompute = False
    if tamper == "kl":
        forged["inputs"]["kl"]["lo"] = forged["inputs"]["kl"]["hi"] = "0"
    elif tamper == "delta":  # claim the union was not paid
        forged["inputs"]["delta"]["lo"] = forged["inputs"]["delta"]["hi"] = "0.05"
    elif tamper == "prior_sigma":  # a grid the run did not use: the replayed KL leaves the recorded enclosure
        forged["options"]["prior_sigmas"] = ["3", "5", "7", "9"]  # same size: the delta share is unchanged
        recompute = True
    elif tamper == "mag_eps":  # another posterior: the replayed KL leaves the recorded enclosure
        forged["options"]["mag_eps"] = "0.5"
        recompute = True
    else:  # the isotropic posterior pays a smaller union
        forged["options"]["posterior"], forged["options"]["prior_sigmas"] = "isotropic", []
        recompute = True
    (tmp_path / "forged.json").write_text(json.dumps(forged))
    args = ["check", tmp_path / "forged.json"]
    if recompute:
        args += ["--recompute", "--model", tiny["model"], "--data", tiny["data"]]
    code, text, _ = _run(capsys, *args)
    assert code == 1 and text.startswith("NOT VERIFIED"), text
    if tamper == "prior_sigma":
        assert "input kl " in text, text  # the replayed prior choice changes the KL, nothing else
    if tamper == "mag_eps":
        assert "input kl " in text or "input emp_risk " in text, text  # another posterior: KL and Monte Carlo


@pytest.mark.parametrize("kw, words", [
    ({"posterior": "gauss"}, "posterior"), ({"prior_sigmas": ("0.1",)}, "prior_sigmas is for"),
    ({"posterior": "mag", "prior_sigmas": ("0.1", "0.1")}, "repeated"),
    ({"posterior": "mag", "prior_sigmas": ("0",)}, "prior_sigma"), ({"posterior": "mag", "mag_eps": "0"}, "mag_eps"),
])
def test_mag_options_refused(kw, words):
    with pytest.raises(InvalidInput, match=words):
        FlatnessOptions(**kw)


def test_mag_default_prior_grid():
    opts = FlatnessOptions(posterior="mag")
    assert opts.prior_sigmas == DEFAULT_PRIOR_SIGMAS and len(set(DEFAULT_PRIOR_SIGMAS)) == 40
    assert opts.delta_each() == Fraction("0.05") / 400


def test_cli_refuses_prior_sigmas_without_mag(tiny, capsys, tmp_path):
    code, _, err = _run(capsys, "landscape", tiny["model"], "--data", tiny["data"], "--flatness-certificate",
                        "--prior-sigmas", "0.1", "--out", tmp_path / "o")
    assert code == 2 and "--flatness-certificate mag" in err and not (tmp_path / "o").exists()


def _measure_ref(v, k, scale, m):
    with mpmath.workprec(200):
        sq = mpmath.fsum(mpmath.mpf(float(t)) ** 2 for t in v)
        return k * sq / mpmath.mpf(scale) ** 2 + mpmath.log(m / mpmath.mpf(scale)) + 10


def _mag_ref(num, den, coef, scale, m):
    with mpmath.workprec(200):
        eps2 = mpmath.mpf("1e-3") ** 2
        top = eps2 + coef * mpmath.fsum(mpmath.mpf(float(t)) ** 2 for t in num) / len(num)
        s2 = mpmath.mpf(scale) ** 2
        return (mpmath.fsum(mpmath.log(top / (eps2 + s2 * mpmath.mpf(float(t)) ** 2)) for t in den) / 4
                + mpmath.log(m / mpmath.mpf(scale)) + 10)


def test_new_jiang_measures_match_their_formulas(tiny):
    """sharpness.orig/init, sharpness.mag.orig/init, pacbayes.mag.orig against mpmath from the searched scales."""
    from certify.landscape import sharpness_measures
    from certify.landscape.sharpness import SHARPNESS_DELTA

    init = tiny_mlp(tiny["x"], tiny["y"], steps=0, seed=1)
    sh = sharpness_measures(tiny["net"], tiny["x"], tiny["y"], init=init, n_mc=2, n_ascent=3, n_bisect=6)
    w = flat_model(tiny["net"], tiny["x"][:1], tiny["y"][:1], dtype="float32").numpy_w().astype(np.float64)
    dw = w - flat_model(init, tiny["x"][:1], tiny["y"][:1], dtype="float32").numpy_w().astype(np.float64)
    m, om = len(tiny["y"]), w.size
    k = mpmath.log(2 * om) / 4
    c = 4 * mpmath.log(2 * om / mpmath.mpf(SHARPNESS_DELTA))
    a, am, sm = sh.alpha_estimate, sh.alpha_mag_estimate, sh.sigma_mag_estimate
    refs = {"sharpness_orig": _measure_ref(w, k, a, m), "sharpness_init": _measure_ref(dw, k, a, m),
            "pacbayes_orig": _measure_ref(w, mpmath.mpf(1) / 4, sh.sigma_estimate, m),
            "sharpness_mag_orig": _mag_ref(w, dw, mpmath.mpf(am) ** 2 + c, am, m),
            "sharpness_mag_init": _mag_ref(dw, dw, mpmath.mpf(am) ** 2 + c, am, m),
            "pacbayes_mag_orig": _mag_ref(w, dw, mpmath.mpf(sm) ** 2 + 1, sm, m),
            "pacbayes_mag_init": _mag_ref(dw, dw, mpmath.mpf(sm) ** 2 + 1, sm, m)}
    for name, ref in refs.items():
        got = getattr(sh, f"{name}_estimate")
        assert math.isfinite(got) and abs(got - float(ref)) <= 1e-9 * abs(float(ref)), name  # float64 evaluation
    no_init = sharpness_measures(tiny["net"], tiny["x"], tiny["y"], n_mc=2, n_ascent=3, n_bisect=6)
    assert no_init.sharpness_init_estimate is None and no_init.sharpness_mag_init_estimate is None
    assert no_init.pacbayes_mag_orig_estimate == pytest.approx(
        float(_mag_ref(w, w, mpmath.mpf(no_init.sigma_mag_estimate) ** 2 + 1, no_init.sigma_mag_estimate, m)),
        rel=1e-9)  # without an initialisation the denominator takes w0 = 0
