"""Files and code (issue 15): a certificate never makes the checker import anything; files are written only inside
--out, only by atomic rename of files the run created; a failed or killed run leaves no temp file and no directory
it made; a planted symlink is replaced, never written through."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from checker_fuzz import ROOT, trained
from pipeline_support import run_in_process

ARCH = "certify.zoo:digits_mlp"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A real `certify run` output directory (model file and data file beside the certificate)."""
    import numpy as np
    from safetensors.torch import save_file

    d = tmp_path_factory.mktemp("arch")
    model, _, test = trained("mlp")
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(d / "model.safetensors"))
    np.savez(d / "test.npz", x=test.x, y=test.y)
    from certify.jobs.run import run_job

    run_job(str(d / "model.safetensors"), str(d / "test.npz"), "test_set.binomial_tail", "0.05", out=d / "out",
            arch=ARCH)
    return d


def _forge(run_dir, tmp_path, **model_fields):
    c = json.loads((run_dir / "out" / "certificate.json").read_text())
    c["model"].update(model_fields)
    path = tmp_path / "forged.json"
    path.write_text(json.dumps(c))
    return path


def test_a_forged_arch_is_never_imported(capsys, run_dir, tmp_path, monkeypatch):
    marker = tmp_path / "imported"
    (tmp_path / "evilmod.py").write_text(f"open({str(marker)!r}, 'w').close()\ndef make():\n    raise SystemExit(0)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    forged = _forge(run_dir, tmp_path, arch="evilmod:make")
    files = ["--model", run_dir / "model.safetensors", "--data", run_dir / "test.npz", "--recompute"]
    assert run_in_process(capsys, "check", forged)[:2] == (0, "VERIFIED\n")  # the arch is no part of the claim
    code, out, _ = run_in_process(capsys, "check", forged, *files)
    assert code == 1 and "names the architecture 'evilmod:make'" in out and "pass --arch" in out, out
    assert not marker.exists() and "evilmod" not in sys.modules
    code, out, _ = run_in_process(capsys, "check", forged, *files, "--arch", ARCH)  # the user's choice is used
    assert (code, out) == (0, "VERIFIED\n")


def test_the_sweep_zoos_parsed_archs_pass_the_gate(capsys, run_dir, tmp_path):
    """``certify.sweep.archs:mlp_<sizes>`` is the library's own (parsed, nothing imported by name): the replay uses
    it without --arch; a malformed or oversized name is still refused by the gate."""
    files = ["--model", run_dir / "model.safetensors", "--data", run_dir / "test.npz", "--recompute"]
    ok = _forge(run_dir, tmp_path, arch="certify.sweep.archs:mlp_64_128_10")
    assert run_in_process(capsys, "check", ok, *files)[:2] == (0, "VERIFIED\n")
    for bad in ("certify.sweep.archs:mlp_64_1280000000_10", "certify.sweep.archs:mlp_64", "certify.sweep.archs:os"):
        code, out, _ = run_in_process(capsys, "check", _forge(run_dir, tmp_path, arch=bad), *files)
        assert code == 1 and "pass --arch" in out, (bad, out)


@pytest.mark.parametrize("arch", ["sys:exit", "builtins:quit", "os:getcwd"])
def test_forged_arch_with_a_forged_k_gives_a_verdict(capsys, run_dir, tmp_path, arch):
    c = json.loads((run_dir / "out" / "certificate.json").read_text())
    c["model"]["arch"] = arch
    c["inputs"]["k"]["lo"] = c["inputs"]["k"]["hi"] = "0"
    path = tmp_path / "forged.json"
    path.write_text(json.dumps(c))
    code, out, _ = run_in_process(capsys, "check", path, "--model", run_dir / "model.safetensors", "--data",
                                  run_dir / "test.npz", "--recompute")
    assert code == 1 and out.startswith("NOT VERIFIED: "), out


def test_a_planted_probe_symlink_is_left_alone(capsys, run_dir, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    out = tmp_path / "out"
    out.mkdir()
    (out / ".certify-write-probe").symlink_to(victim)
    (out / "certificate.json").symlink_to(victim)  # a symlink at a target name is replaced, not followed
    code, _, err = run_in_process(capsys, "run", run_dir / "model.safetensors", "--data", run_dir / "test.npz",
                                  "--theorem", "test_set.hoeffding", "--arch", ARCH, "--out", out)
    assert code == 0, err
    assert victim.read_text() == "precious"
    assert not (out / "certificate.json").is_symlink()
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == [".certify-write-probe"]


def test_a_failed_run_leaves_no_directory(capsys, run_dir, tmp_path):
    code, _, _ = run_in_process(capsys, "run", run_dir / "model.safetensors", "--data", run_dir / "test.npz",
                                "--theorem", "no.such_theorem", "--arch", ARCH, "--out", tmp_path / "a" / "b")
    assert code == 2 and not (tmp_path / "a").exists()


def test_a_write_that_fails_removes_what_it_made(run_dir, tmp_path, monkeypatch):
    import certify.jobs.run as job

    calls = []

    def failing(path, text):
        calls.append(path)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real(path, text)

    real = job.atomic_write_text
    monkeypatch.setattr(job, "atomic_write_text", failing)
    with pytest.raises(OSError):
        job.run_job(str(run_dir / "model.safetensors"), str(run_dir / "test.npz"), "test_set.hoeffding", "0.05",
                    out=tmp_path / "made" / "out", arch=ARCH)
    assert len(calls) == 2 and not (tmp_path / "made").exists()


def test_a_killed_write_leaves_no_temp_file(tmp_path):
    """SIGKILL while the bytes are being written (here: at the fsync): nothing is left in the directory."""
    code = ("import os, signal, sys; import certify.certificate.io as io; "
            "os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL); "
            "io.atomic_write_bytes(sys.argv[1], b'x' * 1000000)")
    r = subprocess.run([sys.executable, "-c", code, str(tmp_path / "certificate.json")], capture_output=True,
                       env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert r.returncode == -9
    assert list(tmp_path.iterdir()) == []


def test_a_failed_atomic_write_leaves_the_target_and_no_temp(tmp_path, monkeypatch):
    from certify.certificate import io

    target = tmp_path / "certificate.json"
    target.write_text("old")

    def boom(src, dst):
        raise OSError(5, "I/O error")

    monkeypatch.setattr(io.os, "replace", boom)
    with pytest.raises(OSError):
        io.atomic_write_text(target, "new")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["certificate.json"]
