"""examples/certificates: each (model, certificate, expected verdict) triple, corrupted ones included, checks as
recorded, with the stdlib-only checker run in a subprocess through its own entry point."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from pipeline_support import ROOT

from certify.checker import check

EX = ROOT / "examples" / "certificates"
EXPECTED = json.loads((EX / "expected.json").read_text())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_verdicts(name):
    assert check(str(EX / name), model=str(EX / "model.safetensors")).verdict == EXPECTED[name]


def test_examples_cover_both_verdicts_and_the_subprocess_entry_point():
    assert any(v == "VERIFIED" for v in EXPECTED.values())
    assert sum(v.startswith("NOT VERIFIED: ") for v in EXPECTED.values()) >= 4
    r = subprocess.run([sys.executable, "-m", "certify.checker.core", str(EX / "binomial_tail.json"), "--model",
                        str(EX / "model.safetensors")], capture_output=True, text=True, cwd=ROOT,
                       env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert (r.returncode, r.stdout.strip()) == (0, "VERIFIED")
    r = subprocess.run([sys.executable, "-m", "certify.checker.core", str(EX / "corrupt_delta_changed.json")],
                       capture_output=True, text=True, cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert r.returncode == 1 and r.stdout.startswith("NOT VERIFIED: ")
