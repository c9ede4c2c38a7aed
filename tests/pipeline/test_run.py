"""End to end: an MLP and a small CNN trained in the test on digits, saved as safetensors, state dict and
TorchScript, certified with test_set.binomial_tail and a norm-based bound; `certify check` says VERIFIED; two runs
are byte-identical apart from `created`; every bad input is one line on stderr, exit 2, no certificate."""

from __future__ import annotations

import json
import os
import pickle
import subprocess

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from pipeline_support import ROOT, save_all, save_npz, trained  # noqa: E402
from pipeline_support import run_in_process as run  # noqa: E402

NORM = "norm.neyshabur2015_frobenius_multiclass"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    out = {}
    for kind in ("mlp", "cnn"):
        d = tmp_path_factory.mktemp(kind)
        model, train, test = trained(kind)
        out[kind] = {**save_all(model, d), "test": save_npz(test, d / "test.npz"),
                     "train": save_npz(train, d / "train.npz"), "dir": d}
    return out


ARCH = {"mlp": "certify.zoo:digits_mlp", "cnn": "certify.zoo:digits_cnn"}


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
@pytest.mark.parametrize("fmt", ["safetensors", "state_dict", "torchscript"])
def test_end_to_end_certify_and_check(capsys, files, kind, fmt, tmp_path):
    f = files[kind]
    arch = [] if fmt == "torchscript" else ["--arch", ARCH[kind]]
    for theorem, data in (("test_set.binomial_tail", f["test"]), (NORM, f["train"])):
        out = tmp_path / theorem
        code, stdout, err = run(capsys, "run", f[fmt], "--data", data, "--theorem", theorem, "--out", out, *arch)
        assert code == 0, err
        names = {p.name for p in out.iterdir()}
        assert {"certificate.json", "reproduce.sh", "report.html", "report.md"} <= names
        cert = json.loads((out / "certificate.json").read_text())
        assert cert["theorem"]["id"] == theorem and cert["model"]["file_sha256"] and cert["data"]["file_sha256"]
        code, stdout, _ = run(capsys, "check", out / "certificate.json", "--model", f[fmt], "--data", data)
        assert (code, stdout.strip()) == (0, "VERIFIED")
        if theorem == NORM:
            import jsonschema

            jsonschema.validate(cert, json.loads((ROOT / "docs" / "certificate.schema.json").read_text()))
            assert "data:image/png;base64," in (out / "report.html").read_text()
            assert "Assumed, not checked" in (out / "report.md").read_text()


def test_recompute_and_narrowed_input(capsys, files, tmp_path):
    f = files["mlp"]
    out = tmp_path / "o"
    assert run(capsys, "run", f["safetensors"], "--data", f["train"], "--theorem", NORM, "--out", out,
               "--arch", ARCH["mlp"])[0] == 0
    cert = out / "certificate.json"
    code, stdout, _ = run(capsys, "check", cert, "--model", f["safetensors"], "--data", f["train"], "--recompute")
    assert (code, stdout.strip()) == (0, "VERIFIED")
    d = json.loads(cert.read_text())
    d["inputs"]["prod_frob"]["hi"] = d["inputs"]["prod_frob"]["lo"]
    bad = tmp_path / "narrowed.json"
    bad.write_text(json.dumps(d))
    assert run(capsys, "check", bad)[0] == 0  # the arithmetic still holds (documented)
    code, stdout, _ = run(capsys, "check", bad, "--model", f["safetensors"], "--data", f["train"], "--recompute")
    assert code == 1 and stdout.startswith("NOT VERIFIED: recompute: input prod_frob")


def test_two_runs_are_byte_identical_but_for_created(capsys, files, tmp_path):
    f = files["cnn"]
    texts = []
    for i in range(2):
        out = tmp_path / f"o{i}"
        assert run(capsys, "run", f["torchscript"], "--data", f["train"], "--theorem", NORM, "--out", out)[0] == 0
        lines = (out / "certificate.json").read_text().splitlines()
        texts.append([ln for ln in lines if not ln.lstrip().startswith('"created"')])
    assert texts[0] == texts[1]


def test_theorem_all_ranks_and_reproduce_sh_runs(capsys, files, tmp_path):
    f = files["mlp"]
    out = tmp_path / "all"
    code, stdout, err = run(capsys, "run", f["torchscript"], "--data", f["test"], "--theorem", "all", "--out", out)
    assert code == 0, err
    ranking = json.loads((out / "ranking.json").read_text())
    ids = [r["theorem"] for r in ranking["ranking"]]
    assert ids[0] == "test_set.binomial_tail" and NORM in ids and "pac_bayes.kl" in ranking["skipped"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CERTIFY": f"{os.sys.executable} -m certify", "MPLBACKEND": "Agg"}
    single = tmp_path / "one"
    assert run(capsys, "run", f["torchscript"], "--data", f["test"], "--theorem", "test_set.hoeffding",
               "--out", single)[0] == 0
    r = subprocess.run(["sh", str(single / "reproduce.sh")], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0 and r.stdout.strip().endswith("VERIFIED"), r.stderr


def test_analyze(capsys, files):
    f = files["cnn"]
    code, stdout, _ = run(capsys, "analyze", f["torchscript"], "--json")
    rows = json.loads(stdout)
    assert code == 0 and [r["kind"] for r in rows] == ["Conv2d (kernel matrix)"] * 2 + ["Linear"]
    for r in rows:
        assert float(r["spectral_lo"]) <= float(r["spectral_hi"]) <= float(r["frobenius_hi"])
    code, stdout, _ = run(capsys, "analyze", f["safetensors"], "--arch", ARCH["cnn"], "--csv")
    assert code == 0 and stdout.splitlines()[0].startswith("name,kind,shape")
    model, _, _ = trained("cnn")
    W = model[5].weight.detach().double().numpy()
    s = np.linalg.svd(W, compute_uv=False)[0]
    assert float(rows[2]["spectral_lo"]) <= s * (1 + 1e-12) and s <= float(rows[2]["spectral_hi"]) * (1 + 1e-12)


class _Evil:
    def __reduce__(self):
        return (open, (os.environ["BOUNDCERT_MARKER"], "w"))


def _bad_inputs(f, tmp_path):
    mlp = ["--arch", ARCH["mlp"]]
    trunc = tmp_path / "trunc.safetensors"
    trunc.write_bytes(f["safetensors"].read_bytes()[:300])
    evil = tmp_path / "evil.pt"
    os.environ["BOUNDCERT_MARKER"] = str(tmp_path / "marker")
    evil.write_bytes(pickle.dumps({"w": _Evil()}))
    nan_model = tmp_path / "nan.safetensors"
    from safetensors.torch import load_file, save_file

    state = load_file(str(f["safetensors"]))
    state["0.weight"][0, 0] = float("nan")
    save_file(state, str(nan_model))
    x, y = np.load(f["test"])["x"], np.load(f["test"])["y"]
    np.savez(tmp_path / "shape.npz", x=x[:, :10], y=y)
    np.savez(tmp_path / "labels.npz", x=x, y=np.full_like(y, 11))
    np.savez(tmp_path / "empty.npz", x=x[:0], y=y[:0])
    soft = torch.nn.Sequential(torch.nn.Linear(64, 10), torch.nn.Softplus(), torch.nn.Linear(10, 10))
    torch.jit.script(soft).save(str(tmp_path / "softplus.pt"))
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    model = [f["safetensors"], *mlp]
    return {
        "code-running pickle": ([evil, *mlp, "--data", f["test"]], "weights_only"),
        "truncated safetensors": ([trunc, *mlp, "--data", f["test"]], "safetensors"),
        "NaN weights": ([nan_model, *mlp, "--data", f["test"]], "NaN or Inf"),
        "shape mismatch": ([*model, "--data", tmp_path / "shape.npz"], "shape"),
        "labels outside classes": ([*model, "--data", tmp_path / "labels.npz"], "label 11"),
        "empty data": ([*model, "--data", tmp_path / "empty.npz"], "empty"),
        "unsupported layer": ([tmp_path / "softplus.pt", "--data", f["test"], "--theorem", NORM], "Softplus"),
        "delta 0": ([*model, "--data", f["test"], "--delta", "0"], "delta"),
        "delta 1": ([*model, "--data", f["test"], "--delta", "1"], "delta"),
        "unwritable out": ([*model, "--data", f["test"], "--out", blocker / "sub"], "not writable"),
    }


def test_bad_inputs_one_line_exit_2_no_certificate(capsys, files, tmp_path):
    for label, (args, match) in _bad_inputs(files["mlp"], tmp_path).items():
        out = tmp_path / ("out-" + label.replace(" ", "_"))
        argv = ["run", *args]
        if "--theorem" not in argv:
            argv += ["--theorem", "test_set.binomial_tail"]
        if "--out" not in argv:
            argv += ["--out", out]
        code, stdout, err = run(capsys, *argv)
        assert code == 2, (label, err)
        assert len(err.strip().splitlines()) == 1 and match in err, (label, err)
        assert not (out / "certificate.json").exists(), label
    assert not (tmp_path / "marker").exists()


@pytest.mark.parametrize("theorem", ["robust.robust_error_test_set", "robust.certified_accuracy"])
def test_robustness_bounds(capsys, files, tmp_path, theorem):
    f = files["mlp"]
    out = tmp_path / "r"
    code, _, err = run(capsys, "run", f["torchscript"], "--data", f["test"], "--theorem", theorem, "--eps", "0.01",
                       "--out", out)
    assert code == 0, err
    cert = json.loads((out / "certificate.json").read_text())
    statuses = {h["name"]: h["status"] for h in cert["hypotheses"]}
    assert statuses["h_certified_sound"] == "checked" and "eps=0.01" in json.dumps(cert["inputs"])
    assert run(capsys, "check", out / "certificate.json")[0] == 0


def test_analyze_uses_the_certified_kernel_once_it_lands(files):
    kernels = pytest.importorskip("kernels")
    if not hasattr(kernels, "spectral_norm"):
        pytest.skip("kernels.spectral_norm has not landed in main yet (issue 3)")
    from certify.reports.analyze import analyze_network
    from certify.models.loader import load_model

    rows = analyze_network(load_model(files["mlp"]["torchscript"]).network)
    for r in rows:
        assert r.spectral_source == "kernels.spectral_norm"
        assert float(r.spectral_lo) <= float(r.spectral_hi)


@pytest.mark.slow
def test_fashion_mnist_end_to_end(capsys, tmp_path):
    """Fashion-MNIST from the Debian package: an MLP trained 1 epoch, certified on the 10000 test images with the
    test-set bound and a norm bound on 10000 training images, checked."""
    from certify.data import FASHION_MNIST_DIR, Dataset, load_builtin
    from certify.jobs.demo import train_classifier

    if not FASHION_MNIST_DIR.exists():
        pytest.skip("dataset-fashion-mnist is not installed")
    train = load_builtin("fashion-mnist", "train")
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
    sub4d = Dataset.from_arrays(train.x[:10000], train.y[:10000], name="fm-train-10k")
    model = train_classifier(model, sub4d, epochs=1, progress=False)
    torch.jit.script(model).save(str(tmp_path / "fm.pt"))
    np.savez(tmp_path / "train.npz", x=sub4d.x, y=sub4d.y)
    for theorem, data in (("test_set.binomial_tail", "fashion-mnist"), (NORM, tmp_path / "train.npz")):
        out = tmp_path / theorem
        code, _, err = run(capsys, "run", tmp_path / "fm.pt", "--data", data, "--theorem", theorem, "--out", out)
        assert code == 0, err
        assert run(capsys, "check", out / "certificate.json")[0] == 0
