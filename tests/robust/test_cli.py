"""``certify robust`` end to end: verdicts and the JSON key ``certified_accuracy``, the certificate verified by
``certify check`` and re-derived by ``--recompute``, forged options refused, bad input exit 2 on one line, and the
PGD attack never finding a counterexample for a sample the kernel verified."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.pipeline.pipeline_support import run_in_process, save_all, save_npz, trained


@pytest.fixture(scope="module")
def mlp_file(tmp_path_factory):
    model, _, test = trained("mlp")
    return save_all(model, tmp_path_factory.mktemp("robust-mlp"))["state_dict"], test


def test_robust_json_check_and_recompute(capsys, tmp_path, mlp_file):
    path, _ = mlp_file
    out = tmp_path / "out"
    code, stdout, err = run_in_process(capsys, "robust", path, "--arch", "certify.zoo:digits_mlp", "--data",
                                       "digits:test", "--eps", "0.01", "--n", "25", "--out", out, "--json")
    assert code == 0, err
    summary = json.loads(stdout)
    assert 0 <= summary["certified_accuracy"] <= 1
    assert summary["verified"] + summary["attacked"] + summary["not_verified"] == 25
    assert summary["certified_accuracy"] == summary["verified"] / 25
    cert = json.loads((out / "certificate.json").read_text())
    assert cert["options"]["kind"] == "robust" and cert["options"]["eps"] == "0.01"
    assert cert["extra"]["robust"]["verdicts"].count("verified") == summary["verified"]
    assert float.fromhex(cert["inputs"]["k_uncertified"]["lo"]) == summary["k_uncertified"] >= 25 - summary["verified"]
    # the hypothesis the verifier discharged is stated, checked, and names the method and the ball (CROWN, l-inf)
    statuses = {h["name"]: h["status"] for h in cert["hypotheses"]}
    assert statuses["h_certified_sound"] == "checked" and "h_lipschitz_upper" not in statuses
    how = cert["extra"]["robust"]["hypotheses_discharged"][0]
    assert "CROWN" in how and "l-inf ball" in how and how in cert["inputs"]["k_uncertified"]["detail"]
    code, stdout, _ = run_in_process(capsys, "check", out / "certificate.json")
    assert code == 0 and stdout.strip() == "VERIFIED"
    code, stdout, _ = run_in_process(capsys, "check", out / "certificate.json", "--recompute", "--model", path,
                                     "--arch", "certify.zoo:digits_mlp")
    assert code == 0 and stdout.strip() == "VERIFIED", stdout
    # forged options: a radius the recorded k does not come from
    cert["options"]["eps"] = "0"
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(cert))
    code, stdout, _ = run_in_process(capsys, "check", forged, "--recompute", "--model", path, "--arch",
                                     "certify.zoo:digits_mlp")
    assert code == 1 and stdout.startswith("NOT VERIFIED")


@pytest.mark.parametrize("extra, match", [
    (["--eps", "-0.1"], "--eps"),
    (["--eps", "0.01", "--attack-steps", "-1"], "--attack-steps"),
    (["--eps", "0.01", "--delta", "1.5"], "--delta"),
    (["--eps", "0.01", "--domain", "1,0"], "--domain"),
])
def test_bad_input_is_one_line_exit_2(capsys, tmp_path, mlp_file, extra, match):
    path, _ = mlp_file
    code, _, err = run_in_process(capsys, "robust", path, "--arch", "certify.zoo:digits_mlp", "--data", "digits:test",
                                  "--n", "3", "--out", tmp_path / "o", *extra)
    assert code == 2 and match in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o" / "certificate.json").exists()


def test_data_outside_the_domain_is_refused(capsys, tmp_path, mlp_file):
    path, test = mlp_file
    f = save_npz(type(test).from_arrays(test.x[:3] * 2 - 0.5, test.y[:3], split="test"), tmp_path / "d.npz")
    code, _, err = run_in_process(capsys, "robust", path, "--arch", "certify.zoo:digits_mlp", "--data", f,
                                  "--eps", "0.01", "--out", tmp_path / "o")
    assert code == 2 and "--domain none" in err


def test_attack_never_breaks_a_verified_sample():
    """Soundness against the attack: with a strong PGD on every sample, none that the kernel verified falls."""
    from certify.models import load_model
    from certify.robust import RobustOptions
    from certify.robust.attack import pgd
    from kernels.bounds import InputSet, margin_bounds

    model, _, test = trained("cnn")
    loaded = load_model(model)
    x, y = test.x[:30], test.y[:30].astype(np.int64)
    opts = RobustOptions(eps="0.05", norm="linf", attack_steps=40, attack_restarts=2)
    mb = margin_bounds(loaded.network, x, y, InputSet("linf", opts.eps_float), "crown")
    found = pgd(loaded.module, x, y, opts)
    for v, cand in zip(mb.verified, found):
        assert not (v and cand is not None)
    assert any(c is not None for c in found) or np.all(mb.verified)  # the attack does something at this radius


def test_unsupported_layer_is_refused_by_name():
    import torch
    import torch.nn as nn

    from boundcert.errors import InvalidInput
    from certify.models import load_model
    from certify.robust import RobustOptions, verify_samples

    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(64, 16), nn.LayerNorm(16), nn.ReLU(), nn.Linear(16, 10)).eval()

    _, _, test = trained("mlp")
    loaded = load_model(m)
    with pytest.raises(InvalidInput, match="LayerNorm"):
        verify_samples(loaded.network, loaded.module, test.x[:2], test.y[:2].astype(np.int64),
                       RobustOptions(eps="0.01", method="crown"))


def test_alpha_crown_verifies_at_least_what_crown_does():
    from certify.models import load_model
    from certify.robust import RobustOptions, verify_samples

    model, _, test = trained("mlp")
    loaded = load_model(model)
    x, y = test.x[:8], test.y[:8].astype(np.int64)
    crown = verify_samples(loaded.network, loaded.module, x, y, RobustOptions(eps="0.03", norm="l2", attack_steps=0))
    alpha = verify_samples(loaded.network, loaded.module, x, y,
                           RobustOptions(eps="0.03", norm="l2", method="alpha-crown", attack_steps=0))
    assert np.all(alpha.lower >= crown.lower)
    assert alpha.certified_accuracy >= crown.certified_accuracy
