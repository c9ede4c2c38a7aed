"""Options that change a number are recorded in the certificate and replayed by `certify check --recompute`: a
certificate of every theorem family made with non-default options re-derives (VERIFIED), and the same certificate
with one recorded option changed does not (the replay really reads it)."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest

torch = pytest.importorskip("torch")

from pipeline_support import run_in_process as run  # noqa: E402
from pipeline_support import save_all, save_npz, trained  # noqa: E402

from theorems import parse_exact  # noqa: E402

ARCH = "certify.zoo:digits_mlp"


@pytest.fixture(scope="module")
def mlp(tmp_path_factory):
    d = tmp_path_factory.mktemp("mlp")
    model, train, test = trained("mlp")
    return {**save_all(model, d), "test": save_npz(test, d / "test.npz"), "train": save_npz(train, d / "train.npz")}


def _certify(capsys, files, tmp_path, theorem, data, *options):
    out = tmp_path / theorem
    code, _, err = run(capsys, "run", files["safetensors"], "--data", files[data], "--theorem", theorem,
                       "--arch", ARCH, "--out", out, *options)
    assert code == 0, err
    return out / "certificate.json"


def _recompute(capsys, cert, files, data):
    return run(capsys, "check", cert, "--model", files["safetensors"], "--data", files[data], "--recompute")[:2]


def _with_option(cert, tmp_path, key, value):
    d = json.loads(cert.read_text())
    d["options"][key] = value
    bad = tmp_path / f"forged-{key}.json"
    bad.write_text(json.dumps(d))
    return bad


# (theorem, data, options given, recorded option changed, value it is changed to)
RUN_CASES = [
    ("test_set.binomial_tail", "test", ["--delta", "0.01"], "delta", "0.05"),
    ("test_set.kl_chernoff", "test", ["--delta", "1/64"], "delta", "0.05"),
    ("norm.neyshabur2015_frobenius_multiclass", "train", ["--margin", "0.5", "--delta", "0.1"], "margin", "2"),
    ("robust.robust_error_test_set", "test", ["--eps", "0.02"], "eps", "0.1"),
    ("robust.certified_accuracy", "test", ["--eps", "0.005"], "eps", "0.5"),
]


@pytest.mark.parametrize("theorem, data, options, key, forged", RUN_CASES, ids=[c[0] for c in RUN_CASES])
def test_run_options_are_recorded_and_replayed(capsys, mlp, tmp_path, theorem, data, options, key, forged):
    cert = _certify(capsys, mlp, tmp_path, theorem, data, *options)
    recorded = json.loads(cert.read_text())["options"]
    given = dict(zip(options[::2], options[1::2]))
    assert recorded["kind"] == "run"
    for flag, value in given.items():
        assert recorded[flag.lstrip("-")] == value
    assert _recompute(capsys, cert, mlp, data) == (0, "VERIFIED\n")
    code, stdout = _recompute(capsys, _with_option(cert, tmp_path, key, forged), mlp, data)
    assert code == 1 and stdout.startswith("NOT VERIFIED: recompute: input "), stdout


def test_eps_replay_is_the_issue_example(capsys, mlp, tmp_path):
    """`certify run ... --theorem robust.robust_error_test_set --eps 0.02` then `--recompute`: before the options
    were recorded the recompute used eps 0.1 and said NOT VERIFIED."""
    cert = _certify(capsys, mlp, tmp_path, "robust.robust_error_test_set", "test", "--eps", "0.02")
    d = json.loads(cert.read_text())
    assert "eps=0.02" in d["inputs"]["k_uncertified"]["detail"]
    assert _recompute(capsys, cert, mlp, "test") == (0, "VERIFIED\n")


def test_default_options_are_recorded_too(capsys, mlp, tmp_path):
    cert = _certify(capsys, mlp, tmp_path, "robust.certified_accuracy", "test")
    assert json.loads(cert.read_text())["options"] == {"kind": "run", "delta": "0.05", "eps": "0.1", "margin": None}


def test_unknown_recorded_option_is_refused(capsys, mlp, tmp_path):
    cert = _certify(capsys, mlp, tmp_path, "test_set.hoeffding", "test")
    code, stdout = _recompute(capsys, _with_option(cert, tmp_path, "temperature", "2"), mlp, "test")
    assert code == 1 and "unknown fields ['temperature']" in stdout


# ------------------------------------------------------------------------------------- optimize and compress
@pytest.fixture(scope="module")
def digits():
    from certify.data.splits import load_xy

    return load_xy("digits")


def _check(capsys, cert):
    return run(capsys, "check", cert, "--recompute")[:2]


@pytest.mark.parametrize("prior", ["data_dependent", "data_independent"])
def test_pacbayes_certificate_replays_its_configuration(capsys, tmp_path, digits, prior):
    from certify.training.pacbayes import PacBayesConfig, run_pacbayes

    train, test, info = digits
    cfg = PacBayesConfig(sizes=(64, 16, 10), prior=prior, objective="f_lambda" if prior == "data_dependent"
                         else "dziugaite_roy", prior_epochs=1, posterior_epochs=1, mc_passes=3, delta="0.03",
                         delta_mc="0.02", seed=5, split_seed=4, prior_fraction=0.4, mc_mode="per_network")
    r = run_pacbayes(cfg, train, test, tmp_path, data_info=info, progress=False)
    d = json.loads(r.certificate_path.read_text())
    assert d["options"]["kind"] == "optimize" and d["options"]["config"]["seed"] == 5
    assert d["options"]["data"] == {"name": "digits", "binary": False, "n_train": None, "n_test": None}
    assert _check(capsys, r.certificate_path) == (0, "VERIFIED\n")
    d["options"]["config"]["seed"] = 6  # another Monte Carlo seed: other sampled networks, other error count
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(d))
    code, stdout = _check(capsys, forged)
    assert code == 1 and stdout.startswith("NOT VERIFIED: recompute: input emp_risk"), stdout


def test_compression_certificate_replays_its_configuration(capsys, tmp_path, digits):
    from certify.training.compress import CompressionConfig, run_compression

    train, test, info = digits
    cfg = CompressionConfig(sizes=(64, 16, 10), kind="subspace", d=50, n_levels=5, epochs=1, delta="0.02", seed=3)
    r = run_compression(cfg, train, test, tmp_path, data_info=info, progress=False)
    d = json.loads(r.certificate_path.read_text())
    assert d["options"]["kind"] == "compress" and d["options"]["config"]["delta"] == "0.02"
    assert _check(capsys, r.certificate_path) == (0, "VERIFIED\n")
    k_over_m = Fraction(d["extra"]["train_errors"], len(train[1]))
    assert parse_exact(d["inputs"]["emp_risk"]["lo"]) <= k_over_m <= parse_exact(d["inputs"]["emp_risk"]["hi"])
    d["options"]["config"]["delta"] = "0.05"
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(d))
    code, stdout = _check(capsys, forged)
    assert code == 1 and stdout.startswith("NOT VERIFIED: recompute: input delta"), stdout
