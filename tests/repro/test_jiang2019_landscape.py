"""paper_repro/jiang2019_landscape.py --quick: the results follow the format, every tau/Psi it reports is the exact
Kendall tau / granulated Psi of the measures and gaps it records, and its saved certificate is VERIFIED by
``certify check`` (and ``--recompute``)."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest

from certify import repro
from certify.cli import main
from certify.sweep import granulated_kendall, kendall_tau

NAMES = {"pacbayes.flatness", "pacbayes.mag.flatness", "sharpness.flatness", "sharpness.mag.flatness",
         "pacbayes.orig", "pacbayes.init", "pacbayes.mag.orig", "pacbayes.mag.init", "sharpness.orig",
         "sharpness.init", "sharpness.mag.orig", "sharpness.mag.init", "hessian.lambda_max (Ritz value)",
         "hessian.trace (Hutchinson estimate)", "pacbayes_flatness_bound.isotropic (certified)",
         "pacbayes_flatness_bound.mag (certified)"}


@pytest.mark.slow
def test_quick_ranking_is_exact_and_its_certificate_verifies(tmp_path, capsys):
    path = repro.run("jiang2019_landscape", quick=True, out=tmp_path)
    res = json.loads(path.read_text())
    assert repro.validate_results(res) == [] and (tmp_path / "jiang2019_landscape.png").is_file()
    data = res["data"]
    meas, gaps = data["measures"], [Fraction(g) for g in data["gaps"]]
    hparams = [m["hparams"] for m in data["models"]]
    assert len(meas) == 8 and set(meas[0]) == NAMES and len(res["rows"]) == len(NAMES)
    for r in data["models"]:
        assert Fraction(r["gap_exact"]) == Fraction(r["test_error"]).limit_denominator(597) - \
            Fraction(r["train_error"]).limit_denominator(1200)
        assert float(r["lambda_max_bracket"][0]) <= float(r["lambda_max_bracket"][1])
    for k in NAMES:
        assert Fraction(data["tau"][k]) == kendall_tau([m[k] for m in meas], gaps)
        psi = granulated_kendall([m[k] for m in meas], gaps, hparams).psi
        assert data["psi"][k]["psi"] == (None if psi is None else f"{psi.numerator}/{psi.denominator}")
    for m in meas:  # certified bounds are upper ends of risks: in (0, 1]
        assert 0 < m["pacbayes_flatness_bound.mag (certified)"] <= 1
    entry = res["certificates"][0]
    cert = tmp_path / "jiang2019_landscape" / "certificate.json"
    assert json.loads(cert.read_text())["options"]["posterior"] == "mag"
    capsys.readouterr()
    assert main(["check", str(cert)]) == 0
    assert main(["check", str(cert), "--recompute", "--arch", entry["arch"]]) == 0
    assert capsys.readouterr().out.split() == ["VERIFIED", "VERIFIED"]
