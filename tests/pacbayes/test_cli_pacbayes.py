"""`certify optimize` and `certify compress`: exit 0 with a certificate, exit 2 with one line on bad input."""

import json

from certify.cli import main


def test_optimize_and_compress_json(tmp_path, capsys):
    assert main(["optimize", "--data", "digits", "--arch", "64,8,10", "--prior-epochs", "1", "--posterior-epochs",
                 "1", "--mc-passes", "1", "--out", str(tmp_path / "pb"), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["theorem"]["id"] == "pac_bayes.kl" and d["delta"]["total"] == "0.035"
    assert (tmp_path / "pb" / "posterior.safetensors").exists()
    assert main(["compress", "--data", "digits", "--arch", "64,8,10", "--decoder", "direct", "--prune", "0.5",
                 "--epochs", "1", "--out", str(tmp_path / "cz"), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["theorem"]["id"] == "compression.occam_catoni" and d["model"]["code_bits"] > 0


def test_bad_arch_is_a_usage_error(tmp_path, capsys):
    assert main(["optimize", "--data", "digits", "--arch", "64,x", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "--arch" in err and len(err.strip().splitlines()) == 1
