"""`certify optimize MODEL` and `certify compress MODEL` on the user's own network and data file: a small CNN with
BatchNorm and a grouped convolution, trained here and saved as safetensors with an architecture module of this
test's own; both certificates re-derive (`certify check --recompute` says VERIFIED), a forged option does not, and
bad inputs refuse in one line with exit 2 and nothing written."""

from __future__ import annotations

import json
import sys
from fractions import Fraction

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import theorems  # noqa: E402
from certify.cli import main  # noqa: E402

ARCH_SOURCE = '''
import torch.nn as nn


def bn_cnn():
    return nn.Sequential(nn.Conv2d(1, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU(),
                         nn.Conv2d(6, 8, 3, stride=2, padding=1, groups=2), nn.ReLU(), nn.Flatten(),
                         nn.Linear(128, 10))


def plain_cnn():
    return nn.Sequential(nn.Conv2d(1, 4, 3, stride=2, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(64, 10))


def with_layernorm():
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.LayerNorm(16), nn.ReLU(), nn.Linear(16, 10))
'''
ARCH = "user_bn_cnn_arch:bn_cnn"


@pytest.fixture(scope="module")
def user(tmp_path_factory):
    from safetensors.torch import save_file

    from certify.data import load_builtin
    from certify.jobs.demo import train_classifier

    d = tmp_path_factory.mktemp("user")
    (d / "user_bn_cnn_arch.py").write_text(ARCH_SOURCE)
    sys.path.insert(0, str(d))
    import user_bn_cnn_arch

    tr, te = load_builtin("digits", "train"), load_builtin("digits", "test")
    np.savez(d / "train.npz", x=tr.x.reshape(-1, 1, 8, 8), y=tr.y)
    np.savez(d / "test.npz", x=te.x.reshape(-1, 1, 8, 8), y=te.y)
    np.savez(d / "flat.npz", x=tr.x, y=tr.y)
    torch.manual_seed(0)
    from certify.data import load_data

    model = train_classifier(user_bn_cnn_arch.bn_cnn(), load_data(d / "train.npz"), epochs=3, progress=False)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(d / "model.safetensors"))
    ln = user_bn_cnn_arch.with_layernorm()
    save_file({k: v.contiguous() for k, v in ln.state_dict().items()}, str(d / "ln.safetensors"))
    # the loader rebuilds scripted Sequentials of Linear/Conv2d/activations (BatchNorm stays scripted)
    torch.jit.script(user_bn_cnn_arch.plain_cnn().eval()).save(str(d / "model.ts.pt"))
    yield d
    sys.path.remove(str(d))


def _cli(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def _recompute(capsys, cert, *extra):
    return _cli(capsys, "check", cert, "--recompute", *extra)[:2]


def _forge(cert, tmp_path, key, value):
    d = json.loads(cert.read_text())
    d["options"]["config"][key] = value
    bad = cert.parent / "forged.json"
    bad.write_text(json.dumps(d))
    return bad


def test_optimize_user_cnn_learnt_prior_verifies(capsys, user, tmp_path):
    out = tmp_path / "pb"
    code, stdout, err = _cli(capsys, "optimize", user / "model.safetensors", "--arch", ARCH, "--data",
                             user / "train.npz", "--test-data", user / "test.npz", "--prior-epochs", "2",
                             "--posterior-epochs", "1", "--mc-passes", "2", "--lr", "3e-3", "--batch", "64",
                             "--delta", "0.04", "--out", out, "--json")
    assert code == 0, err
    d = json.loads(stdout)
    assert d["theorem"]["id"] == "pac_bayes.kl" and d["delta"]["total"] == "0.05"
    assert d["options"]["family"] == "module" and d["options"]["data"]["spec"] == str(user / "train.npz")
    names = d["extra"]["posterior"]["names"]
    assert {"1.weight", "1.bias", "3.weight", "6.weight"} <= set(names)  # BatchNorm affine and grouped conv
    # BatchNorm running statistics are fixed, stored beside the posterior: not in the KL's parameter count
    from certify.models.module_posterior import load_module_posterior

    post = load_module_posterior(out / "posterior.safetensors")
    assert set(post.fixed) == {"1.running_mean", "1.running_var", "1.num_batches_tracked"}
    assert post.n_params == 6 * 9 + 6 + 6 + 6 + 8 * 3 * 9 + 8 + 128 * 10 + 10
    # the KL input is the enclosure of the stored file's exact KL, the bound's m is the bound part
    from certify.quantities.pacbayes import PriorVariance, kl_enclosure

    kl = kl_enclosure(post, PriorVariance(sigma="0.03"))
    assert d["inputs"]["kl"]["lo"] == theorems.exact_hex(kl.lo) and d["inputs"]["kl"]["hi"] == theorems.exact_hex(kl.hi)
    assert int(Fraction(d["inputs"]["m"]["lo_decimal"])) == d["data"]["split"]["n_bound"] == 600
    replay = ("--arch", ARCH, "--data", user / "train.npz")
    # a certificate never runs code: the test's own architecture is used only when the user passes it
    assert _recompute(capsys, out / "certificate.json", "--data", user / "train.npz")[0] == 1
    assert _recompute(capsys, out / "certificate.json", *replay) == (0, "VERIFIED\n")
    code, stdout = _recompute(capsys, _forge(out / "certificate.json", tmp_path, "seed", 1), *replay)
    assert code == 1 and stdout.startswith("NOT VERIFIED: recompute: "), stdout


def test_optimize_torchscript_data_independent_verifies(capsys, user, tmp_path):
    out = tmp_path / "di"
    code, _, err = _cli(capsys, "optimize", user / "model.ts.pt", "--data", user / "train.npz", "--prior",
                        "data-independent", "--prior-epochs", "1", "--posterior-epochs", "1", "--mc-passes", "1",
                        "--out", out, "--json")
    assert code == 0, err
    d = json.loads((out / "certificate.json").read_text())
    assert d["theorem"]["id"] == "pac_bayes.dziugaite_roy2017" and d["options"]["model"]["name"] == "model.ts.pt"
    assert (out / "model.ts.pt").is_file()  # the model file is placed beside the certificate
    assert _recompute(capsys, out / "certificate.json")[0] == 1  # the data file is not beside it: --data
    assert _recompute(capsys, out / "certificate.json", "--data", user / "train.npz") == (0, "VERIFIED\n")


@pytest.mark.parametrize("decoder", ["direct", "subspace"])
def test_compress_user_cnn_verifies(capsys, user, tmp_path, decoder):
    out = tmp_path / decoder
    code, stdout, err = _cli(capsys, "compress", user / "model.safetensors", "--arch", ARCH, "--data",
                             user / "train.npz", "--decoder", decoder, "--d", "60", "--epochs", "1", "--levels", "8",
                             "--out", out, "--json")
    assert code == 0, err
    d = json.loads(stdout)
    assert d["theorem"]["id"] == "compression.occam_catoni" and d["model"]["decoder"]["kind"] == f"module-{decoder}"
    k = d["extra"]["train_errors"]
    assert theorems.parse_exact(d["inputs"]["emp_risk"]["lo"]) <= Fraction(k, 1200)
    assert Fraction(k, 1200) <= theorems.parse_exact(d["inputs"]["emp_risk"]["hi"])
    replay = ("--arch", ARCH, "--data", user / "train.npz")
    assert _recompute(capsys, out / "certificate.json", *replay) == (0, "VERIFIED\n")
    code, stdout = _recompute(capsys, _forge(out / "certificate.json", tmp_path, "delta", "0.5"), *replay)
    assert code == 1 and stdout.startswith("NOT VERIFIED: recompute: input delta"), stdout


@pytest.mark.parametrize("case", ["no_posterior_layer", "wrong_shape", "split_too_large", "labels"])
def test_bad_inputs_refuse_in_one_line(capsys, user, tmp_path, case):
    model, arch, data, extra = user / "model.safetensors", ARCH, user / "train.npz", []
    if case == "no_posterior_layer":
        model, arch = user / "ln.safetensors", "user_bn_cnn_arch:with_layernorm"
        data = user / "flat.npz"
    elif case == "wrong_shape":
        data = user / "flat.npz"
    elif case == "split_too_large":
        extra = ["--prior-fraction", "1.5"]
    else:
        np.savez(tmp_path / "bad.npz", x=np.zeros((20, 1, 8, 8), np.float32), y=np.full(20, 12))
        data = tmp_path / "bad.npz"
    out = tmp_path / "out"
    for cmd in ("optimize", "compress"):
        if cmd == "compress" and case == "split_too_large":
            continue
        code, _, err = _cli(capsys, cmd, model, "--arch", arch, "--data", data, *extra, "--prior-epochs", "1",
                            "--out", out) if cmd == "optimize" else _cli(capsys, cmd, model, "--arch", arch,
                                                                          "--data", data, "--out", out)
        assert code == 2 and len(err.strip().splitlines()) == 1, err
        assert not out.exists() or not any(out.iterdir())
    expect = {"no_posterior_layer": "LayerNorm", "wrong_shape": "shape", "split_too_large": "prior_fraction",
              "labels": "label"}[case]
    assert expect in err


def test_a_data_file_without_model_uses_the_library_mlp(capsys, user, tmp_path):
    """The issue's first report: `certify optimize --data digits_train.npz` refused a file."""
    out = tmp_path / "mlp"
    code, _, err = _cli(capsys, "optimize", "--data", user / "flat.npz", "--arch", "64,8,10", "--prior-epochs", "1",
                        "--prior-shift", "2", "--posterior-epochs", "1", "--mc-passes", "1", "--out", out, "--json")
    assert code == 0, err
    d = json.loads((out / "certificate.json").read_text())
    assert d["options"]["model"]["name"] == "model.pt" and (out / "model.pt").is_file()
    assert d["options"]["config"]["prior_shift"] == 2 and d["options"]["config"]["sizes"] == []
    assert _recompute(capsys, out / "certificate.json", "--data", user / "flat.npz") == (0, "VERIFIED\n")


@pytest.mark.parametrize("objective, mc_mode", [("f_lambda", "per_network"), ("f_classic", "per_example")])
def test_objectives_and_monte_carlo_modes_on_a_module(user, tmp_path, objective, mc_mode):
    import user_bn_cnn_arch

    from certify.checker import check
    from certify.data import load_data
    from certify.training.module_pacbayes import ModulePacBayesConfig, run_module_pacbayes

    ds = load_data(user / "train.npz")
    cfg = ModulePacBayesConfig(objective=objective, mc_mode=mc_mode, prior_epochs=1, posterior_epochs=1, mc_passes=2,
                               prior_fraction=0.3, split_seed=5, batch=64)
    r = run_module_pacbayes(cfg, user_bn_cnn_arch.bn_cnn(), (ds.x, ds.y), tmp_path,
                            data_info={"name": "train.npz", "spec": {"spec": "train.npz", "binary": False,
                                                                     "sha256": ds.sha256}},
                            model_info={"arch": ARCH}, progress=False)
    d = json.loads(r.certificate_path.read_text())
    assert d["extra"]["emp_risk_derivation"]["mode"] == mc_mode and d["data"]["split"]["n_prior"] == 360
    assert check(str(r.certificate_path)).verdict == "VERIFIED"
    from certify.checker.recompute import recompute

    assert recompute(str(r.certificate_path), data=str(user / "train.npz"), arch=ARCH).ok
