"""``certify landscape``: JSON brackets under eigenvalue names, the flatness certificate VERIFIED by ``certify check``
(and ``--recompute``), figures and data, refusals (exit 2, nothing written)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from fractions import Fraction

import pytest

from certify.cli import main
from landscape_support import arb_eigenvalues


def _run(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_hessian_json_brackets_contain_the_exact_eigenvalues(tiny, capsys, tmp_path):
    code, out, _ = _run(capsys, "landscape", tiny["model"], "--data", tiny["data"], "--hessian", "--blocks", "layers",
                        "--top-k", "2", "--trace-samples", "30", "--out", tmp_path / "o", "--json")
    assert code == 0
    doc = json.loads(out)
    full = doc["hessian"]["blocks"][0]
    assert full["block"] == "all" and {b["block"] for b in doc["hessian"]["blocks"]} == {"all", "0", "2"}
    balls = arb_eigenvalues(tiny["H"])
    for i, name in enumerate(("lambda_1", "lambda_2")):
        e = full["eigenvalues"][name]
        assert float(e["lo"]) <= balls[i][0] and balls[i][1] <= float(e["hi"])
    tr = sum(Fraction(float(v)) for v in tiny["H"].diagonal())
    assert Fraction(float(full["trace"]["lo"])) <= tr <= Fraction(float(full["trace"]["hi"]))
    assert not (tmp_path / "o").exists()  # nothing to write without figures or a certificate


def test_flatness_certificate_verifies(tiny, capsys, tmp_path):
    out_dir = tmp_path / "cert"
    out_dir.mkdir()
    shutil.copy(tiny["init"], out_dir / "init.pt")  # recompute reads the initialisation beside the certificate
    code, out, _ = _run(capsys, "landscape", tiny["model"], "--data", tiny["data"], "--flatness-certificate",
                        "--init", out_dir / "init.pt", "--sigmas", "0.5,0.1,0.02", "--mc-passes", "3", "--out",
                        out_dir, "--json")
    assert code == 0, out
    doc = json.loads(out)
    cert = json.loads((out_dir / "certificate.json").read_text())
    assert cert["options"]["kind"] == "flatness" and cert["theorem"]["id"] == "pac_bayes.kl"
    split = {s["use"]: s["delta"] for s in cert["delta"]["split"]}
    assert split["pac_bayes.kl"] == "1/60"  # 0.05 / |grid| with |grid| = 3: the union over the grid is paid
    assert sum(Fraction(v) for v in split.values()) == Fraction("0.06")
    assert doc["certificate"]["sigma"] in ("0.5", "0.1", "0.02")
    code, out, _ = _run(capsys, "check", out_dir / "certificate.json")
    assert (code, out.strip()) == (0, "VERIFIED")
    code, out, _ = _run(capsys, "check", out_dir / "certificate.json", "--recompute")
    assert code == 1 and "--model" in out  # the model is recorded by its bare name, not beside the certificate
    fresh = subprocess.run([sys.executable, "-m", "certify", "check", str(out_dir / "certificate.json"),
                            "--recompute", "--model", str(tiny["model"]), "--data", str(tiny["data"])],
                           capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert (fresh.returncode, fresh.stdout.strip()) == (0, "VERIFIED"), fresh.stdout + fresh.stderr  # a new process
    code, out, _ = _run(capsys, "check", out_dir / "certificate.json", "--recompute", "--model", tiny["init"],
                        "--data", tiny["data"])
    assert code == 1 and out.startswith("NOT VERIFIED")  # another model: its hash differs
    forged = json.loads((out_dir / "certificate.json").read_text())
    forged["inputs"]["kl"]["hi"] = forged["inputs"]["kl"]["lo"] = "0"
    (tmp_path / "forged.json").write_text(json.dumps(forged))
    code, out, _ = _run(capsys, "check", tmp_path / "forged.json")
    assert code == 1 and out.startswith("NOT VERIFIED")


def test_figures_and_data(tiny, capsys, tmp_path):
    out_dir = tmp_path / "fig"
    code, out, _ = _run(capsys, "landscape", tiny["model"], "--data", tiny["data"], "--plot", "2d", "--path",
                        tiny["init"], "--density", "--trace-samples", "30", "--out", out_dir)
    assert code == 0
    for name in ("slice_2d.png", "linear_path.png", "hessian_density_all.png", "landscape.json"):
        assert (out_dir / name).stat().st_size > 0, name
    doc = json.loads((out_dir / "landscape.json").read_text())
    s = doc["slice_2d"]
    assert len(s["loss"]) == len(s["a"]) and len(s["loss"][0]) == len(s["b"])
    mid = len(s["a"]) // 2
    assert s["loss"][mid][mid] == pytest.approx(min(min(r) for r in s["loss"]), abs=0.5)
    assert doc["linear_path"]["t"][0] == 0.0 and doc["linear_path"]["t"][-1] == 1.0


def test_sharpness_measures(tiny, capsys):
    code, out, _ = _run(capsys, "landscape", tiny["model"], "--data", tiny["data"], "--sharpness", "--json")
    assert code == 0
    sh = json.loads(out)["sharpness"]
    assert sh["pacbayes_flatness_estimate"] == pytest.approx(1 / sh["sigma_estimate"] ** 2)
    assert sh["sharpness_flatness_estimate"] == pytest.approx(1 / sh["alpha_estimate"] ** 2)
    # the worst case in a box of half-width a moves the error at least as much as most Gaussian draws of std a
    assert sh["alpha_estimate"] <= sh["sigma_estimate"] * 10


@pytest.mark.parametrize("args, words", [
    (["--top-k", "0"], "--top-k"),
    (["--delta", "1.5"], "--delta"),
    (["--flatness-certificate", "--sigmas", "0.1,-1"], "sigma"),
    (["--flatness-certificate", "--sigmas", "0.1,0.1"], "repeated"),
    (["--path", "missing.pt"], "missing.pt"),
])
def test_refusals_exit_2_and_write_nothing(tiny, capsys, tmp_path, args, words):
    code, out, err = _run(capsys, "landscape", tiny["model"], "--data", tiny["data"], "--out", tmp_path / "o", *args)
    assert code == 2 and words in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_bad_data_refused(tiny, capsys, tmp_path):
    import numpy as np

    np.savez(tmp_path / "bad.npz", x=np.zeros((4, 7), dtype=np.float32), y=np.zeros(4, dtype=np.int64))
    code, _, err = _run(capsys, "landscape", tiny["model"], "--data", tmp_path / "bad.npz")
    assert code == 2 and "input shape" in err
