"""Certificates of the MLP-only path (before the library MLP became a module on the one module path): written by
``certify optimize|compress --data digits --arch 64,8,10`` at commit 3ae4a4d (posterior format
``boundcert-gaussian-mlp-v1``, the MLP decoder of :class:`certify.models.compressed.Decoder`), kept under
``mlp_v1/``. They still verify and replay (``certify check --recompute``: the KL, the Monte Carlo count with the
recorded seed, the rebuilt network's exact errors), and a forged seed still fails."""

import json
import shutil
from pathlib import Path

import pytest

from certify.checker.verify import check

HERE = Path(__file__).parent / "mlp_v1"


@pytest.mark.parametrize("name", ["optimize_data_dependent", "optimize_data_independent", "compress_direct",
                                  "compress_subspace"])
def test_an_mlp_v1_certificate_still_verifies_and_replays(name):
    cert = HERE / name / "certificate.json"
    d = json.loads(cert.read_text())
    assert d["options"].get("family") is None and "sizes" in d["options"]["config"]  # the old format indeed
    assert check(str(cert)).verdict == "VERIFIED"
    assert check(str(cert), recompute=True).verdict == "VERIFIED"


def test_a_forged_seed_of_an_mlp_v1_certificate_fails_the_replay(tmp_path):
    src = HERE / "optimize_data_dependent"
    for f in src.iterdir():
        shutil.copy(f, tmp_path / f.name)
    d = json.loads((tmp_path / "certificate.json").read_text())
    d["options"]["config"]["seed"] += 1
    (tmp_path / "certificate.json").write_text(json.dumps(d))
    assert check(str(tmp_path / "certificate.json"), recompute=True).verdict.startswith(
        "NOT VERIFIED: recompute: input emp_risk")
